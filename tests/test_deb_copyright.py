"""Debian package licences from ``/usr/share/doc/<pkg>/copyright`` (``inventory/deb_copyright.py``).

syft's and trivy's copyright fixtures with what their tests assert, then the real copyright files of
the corpus images. Where alpinist deliberately differs, a ``test_differs_from_*`` test asserts our
behaviour and its docstring gives the reason.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from alpinist.images.dirview import view_from_directory
from alpinist.images.layers import build_view
from alpinist.images.oci import OCILayoutSource
from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
from alpinist.inventory.deb_copyright import (
    GNU_FAMILIES,
    MAX_PARSE_BYTES,
    SPDX_FAMILIES,
    SPDX_NAMES,
    copyright_licenses,
    is_machine_readable,
    license_names,
    spdx_id,
    split_expression,
    with_copyright_licenses,
)
from alpinist.inventory.dpkg import DpkgCataloger
from alpinist.models import ImageFacts, Inventory, OSInfo, Package, Platform
from alpinist.reports.sbom.cyclonedx import render_cyclonedx
from alpinist.reports.sbom.spdx import render_spdx

from .conftest import OCI_LAYOUT, PEERS, REPO, expected_dir, oci_ref, read_tsv

SYFT = PEERS / "syft" / "dpkg"
TRIVY = PEERS / "trivy" / "dpkg"
SELECTOR = selector_for(default_catalogers())
DEBIAN = OSInfo(id="debian", version_id="12", version="12.15", codename="bookworm")
CONTEXT = CatalogContext(os=DEBIAN, env=(), layer_ids=("sha256:l0",))
HEADER = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"


def syft_cases() -> Any:
    return json.loads((SYFT / "expected" / "copyright-licenses.json").read_text(encoding="utf-8"))


def trivy_cases() -> dict[str, Any]:
    doc = json.loads((TRIVY / "expected-copyright.json").read_text(encoding="utf-8"))
    return {Path(c["input"]).name: c for c in doc["cases"]}


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def field_names(text: str) -> set[str]:
    """Every whitespace-separated word on the first line of a ``License:`` field (no splitting rules)."""
    words: set[str] = set()
    for line in text.splitlines():
        if line.startswith("License:"):
            words.update(w.strip(",()") for w in line[len("License:") :].split())
    return words


def file_entry(path: str, data: bytes) -> FileEntry:
    return FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=0, content=data)


def dpkg_view(files: dict[str, bytes], links: dict[str, str] | None = None) -> FileView:
    entries = {p: file_entry(p, d) for p, d in files.items()}
    for path, target in (links or {}).items():
        entries[path] = FileEntry(path=path, kind="symlink", size=0, mode=0o777, layer=0, linkname=target)
    return FileView(entries=entries, history={})


def status(*names: str) -> bytes:
    return "".join(
        f"Package: {n}\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n" for n in names
    ).encode()


# --- syft's fixtures -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), syft_cases()["format_header_cases"])
def test_format_header_like_syft(text: str, expected: bool) -> None:
    assert is_machine_readable(text) is expected


@pytest.mark.parametrize(
    "case", [c for c in syft_cases()["cases"] if c["expected"] is None], ids=lambda c: Path(c["input"]).name
)
def test_files_without_format_header_give_no_licences_like_syft(case: dict[str, Any]) -> None:
    data = (SYFT / case["input"]).read_bytes()
    assert license_names(data.decode("utf-8", "replace")) is None
    assert copyright_licenses(data) == ()


def test_trilicense_without_header_is_not_read_although_it_has_license_fields() -> None:
    text = text_of(SYFT / "fixtures/copyright/trilicense")
    assert field_names(text) >= {"MPL-1.1", "GPL-2", "LGPL-2.1"}  # the fields are there...
    assert copyright_licenses(text) == ()  # ...but without the Format: header the file is free text


@pytest.mark.parametrize("name", ["liblzma5", "libaudit-common"])
def test_machine_readable_names_as_written_are_syfts_minus_common_licenses_mentions(name: str) -> None:
    (case,) = [c for c in syft_cases()["cases"] if c["input"].endswith(f"/{name}")]
    text = text_of(SYFT / case["input"])
    names = license_names(text)
    assert names is not None
    assert set(names) <= set(case["expected"])
    assert set(names) == field_names(text) - {"none"}


def test_differs_from_syft_dpkg_common_licenses_mentions() -> None:
    """syft also counts every ``/usr/share/common-licenses/<X>`` mention as a licence. Such a mention
    says where a licence text lives: liblzma5's ``GPL-3`` is the text behind an Autoconf exception,
    its ``LGPL-2`` and ``LGPL-2.1`` the texts its ``LGPL-2.1+`` paragraphs point at, and libaudit-common's ``GPL-1``
    sits in the body of a paragraph whose licence is ``GPL-2``. Only ``License:`` fields count."""
    missing = {
        "liblzma5": {"GPL-3", "LGPL-2", "LGPL-2.1"},
        "libaudit-common": {"GPL-1"},
    }  # read from the files
    for case in syft_cases()["cases"]:
        name = Path(case["input"]).name
        if name not in missing:
            continue
        text = text_of(SYFT / case["input"])
        names = license_names(text)
        assert names is not None
        assert set(case["expected"]) - set(names) == missing[name]
        for lic in missing[name]:
            assert f"/usr/share/common-licenses/{lic}" in text
            assert lic not in field_names(text)


def test_differs_from_syft_dpkg_license_spelling_image_dpkg() -> None:
    """syft's package keeps the Debian short names (``GPL-2``, ``LGPL-2.1``); alpinist writes the SPDX
    id a DEP-5 name stands for, which is what syft itself puts in its CycloneDX output for the same
    file (libaudit-common's in python-app:debian). ``GPL-1`` is only a common-licenses mention (above)."""
    (exp,) = json.loads((SYFT / "expected/rootfs-image-dpkg.json").read_text(encoding="utf-8"))["packages"]
    assert exp["licenses"] == ["GPL-1", "GPL-2", "LGPL-2.1"]
    view = view_from_directory(SYFT / "fixtures/rootfs/image-dpkg", SELECTOR)
    _, (pkg,) = run_catalogers(view, (), ())
    assert pkg.licenses == ("GPL-2.0-only", "LGPL-2.1-only")
    assert "/usr/share/doc/libpam-runtime/copyright" in exp["locations"]["supporting"]
    assert pkg.locations[-1] == "/usr/share/doc/libpam-runtime/copyright"

    cdx = json.loads((expected_dir("python-app:debian") / "syft.cdx.json").read_text(encoding="utf-8"))
    (audit,) = [c for c in cdx["components"] if c["name"] == "libaudit-common"]
    syft_ids = [lic["license"]["id"] for lic in audit["licenses"]]
    assert syft_ids == ["GPL-1.0-only", "GPL-2.0-only", "LGPL-2.1-only"]
    assert set(pkg.licenses) == set(syft_ids) - {"GPL-1.0-only"}


def test_differs_from_syft_dpkg_distroless_gpl2_mention() -> None:
    """libsqlite3-0's ``debian/*`` paragraph is ``GPL-2+``; its body names ``common-licenses/GPL-2``
    as the text. syft reports ``GPL-2`` as well, which reads as "version 2 only": not what the file says."""
    (exp,) = json.loads((SYFT / "expected/rootfs-image-distroless-deb.json").read_text(encoding="utf-8"))[
        "packages"
    ]
    assert exp["licenses"] == ["public-domain", "GPL-2+", "GPL-2"]
    view = view_from_directory(SYFT / "fixtures/rootfs/image-distroless-deb", SELECTOR)
    _, (pkg,) = run_catalogers(view, (), ())
    assert pkg.licenses == ("public-domain", "GPL-2.0-or-later")
    assert set(exp["locations"]["supporting"]) >= set(pkg.locations[1:])
    assert pkg.locations[-1] == "/usr/share/doc/libsqlite3-0/copyright"


# --- trivy's fixtures ------------------------------------------------------------------------------


def trivy_package(case: dict[str, Any]) -> Package:
    """The fixture placed where trivy's test puts it, beside a dpkg status naming the package."""
    data = (TRIVY / case["input"]).read_bytes()
    view = dpkg_view({"/var/lib/dpkg/status": status(case["pkg_name"]), "/" + case["as_path"]: data})
    (pkg,) = DpkgCataloger().catalog(view, CONTEXT)
    assert pkg.name == case["pkg_name"]
    return pkg


def test_no_license_copyright_like_trivy() -> None:
    case = trivy_cases()["no-license-copyright"]
    assert case["expected"] is None
    assert trivy_package(case).licenses == ()


def test_differs_from_trivy_dpkg_artistic_version() -> None:
    """trivy turns Debian's unversioned ``Artistic`` into ``Artistic-2.0``. In Debian it is Perl's
    Artistic License 1.0 (base-files' copyright: the Artistic License in /usr/share/common-licenses
    "is the one coming from Perl"), and DEP-5 gives it no version: kept as written. The rest of
    trivy's expectation (split ``or``/``and``/comma, order, SPDX ids) is reproduced."""
    case = trivy_cases()["license-pattern-and-classifier-copyright"]
    assert case["expected"] == ["GPL-1.0-or-later", "Artistic-2.0", "BSD-4-clause-POWERDOG", "Zlib"]
    pkg = trivy_package(case)
    assert pkg.licenses == ("GPL-1.0-or-later", "Artistic", "BSD-4-clause-POWERDOG", "Zlib")
    assert pkg.locations[-1] == "/" + case["as_path"]


@pytest.mark.parametrize("name", ["common-license-copyright", "all-patterns-copyright"])
def test_differs_from_trivy_dpkg_copyright_without_format_header(name: str) -> None:
    """trivy reads free-text copyright files too: ``License:`` lines and common-licenses mentions.
    adduser's says "either version 2 of the License, or (at your option) any later version" and
    trivy reports ``GPL-2.0-only`` from the mention of the GPL-2 text. Without the DEP-5 header
    alpinist reports nothing rather than a wrong licence (syft does the same)."""
    case = trivy_cases()[name]
    text = text_of(TRIVY / case["input"])
    assert not text.startswith("Format:")
    assert "GPL-2.0-only" in case["expected"]
    assert "any later version" in " ".join(text.split())
    assert trivy_package(case).licenses == ()


# --- parsing rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("GPL-1+ or Artistic, and BSD-4-clause-POWERDOG", ("GPL-1+", "Artistic", "BSD-4-clause-POWERDOG")),
        (
            "GPL-2+ with Libtool exception and GPL-3+ with Libtool exception and GPL-3+",
            ("GPL-2+ with Libtool exception", "GPL-3+ with Libtool exception", "GPL-3+"),
        ),
        ("ISC and/or LGPL-2.1+", ("ISC", "LGPL-2.1+")),
        ("Apache-2.0 OR BSD-2", ("Apache-2.0", "BSD-2")),
        ("REGCOMP, and GPL-1+ or Artistic", ("REGCOMP", "GPL-1+", "Artistic")),
        ("(MIT or X11) and BSD-3-clause", ("MIT", "X11", "BSD-3-clause")),
        ("Zlib,", ("Zlib",)),
        ("MIT/X11", ("MIT/X11",)),
        ("none", ()),
        ("", ()),
        ("The main library is licensed under GNU Lesser", ()),  # prose, not a name
    ],
)
def test_split_expression(value: str, names: tuple[str, ...]) -> None:
    assert split_expression(value) == names


@pytest.mark.parametrize(
    ("name", "spdx"),
    [
        ("GPL-2", "GPL-2.0-only"),
        ("GPL-2+", "GPL-2.0-or-later"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("gpl-3", "GPL-3.0-only"),
        ("GPLv2+", "GPL-2.0-or-later"),
        ("GPL-1", "GPL-1.0-only"),
        ("LGPL-2", "LGPL-2.0-only"),
        ("LGPL-2.1+", "LGPL-2.1-or-later"),
        ("LGPL-3.0+", "LGPL-3.0-or-later"),
        ("AGPL-3+", "AGPL-3.0-or-later"),
        ("GFDL-1.3", "GFDL-1.3-only"),
        ("GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"),
        ("Apache-2", "Apache-2.0"),
        ("Apache-2.0", "Apache-2.0"),
        ("MPL-1.1", "MPL-1.1"),
        ("CC-BY-3", "CC-BY-3.0"),
        ("CC-BY-SA-3.0", "CC-BY-SA-3.0"),
        ("CC0", "CC0-1.0"),
        ("CC0-1.0", "CC0-1.0"),
        ("Expat", "MIT"),
        ("BSD-3-clause", "BSD-3-Clause"),
        ("zlib", "Zlib"),
        ("Zope-2.1", "ZPL-2.1"),
        ("BSL-1", "BSL-1.0"),
        ("LPPL-1.3c", "LPPL-1.3c"),
        ("Python-2.0", "Python-2.0"),
        # kept as written: no single SPDX meaning, or no SPDX id for that version
        ("GPL", "GPL"),
        ("LGPL", "LGPL"),
        ("Artistic", "Artistic"),
        ("Perl", "Perl"),
        ("Python", "Python"),
        ("GPL-4", "GPL-4"),
        ("MPL-2.0+", "MPL-2.0+"),
        ("GPL-2+ with OpenSSL exception", "GPL-2+ with OpenSSL exception"),
        ("public-domain", "public-domain"),
        ("BSD-3-clause-Cambridge", "BSD-3-clause-Cambridge"),
        ("MIT/X11", "MIT/X11"),
    ],
)
def test_spdx_id(name: str, spdx: str) -> None:
    assert spdx_id(name) == spdx


def test_every_id_the_table_can_produce_is_a_canonical_spdx_id() -> None:
    from license_expression import get_spdx_licensing  # type: ignore[import-untyped]

    licensing = get_spdx_licensing()
    produced = set(SPDX_NAMES.values())
    for family, (_, versions) in {**GNU_FAMILIES, **SPDX_FAMILIES}.items():
        for version in versions:
            for suffix in ("", "+"):
                name = f"{family}-{version}{suffix}"
                if spdx_id(name) != name:
                    produced.add(spdx_id(name))
    assert len(produced) > 60
    for spdx in sorted(produced):
        info = licensing.validate(spdx, strict=True)
        assert info.errors == [] and info.normalized_expression == spdx, spdx


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ufeff" + HEADER, True),
        ("\r\n \t\r\n" + HEADER.replace("\n", "\r\n"), True),
        ("Format: http://dep.debian.net/deps/dep5\n", True),
        ("format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n", True),
        (" " + HEADER, False),  # a continuation line, not a field
        ("Format: https://example.org/copyright-format/1.0/\n", False),
    ],
)
def test_format_header_variants(text: str, expected: bool) -> None:
    assert is_machine_readable(text) is expected


def test_crlf_file_and_order_of_first_appearance() -> None:
    text = (
        HEADER + "\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n text\n\n"
        "Files: debian/*\nLicense: Expat or GPL-2+\n\nLicense: GPL-2+\n text\n"
    ).replace("\n", "\r\n")
    assert license_names(text) == ("GPL-2+", "Expat")
    assert copyright_licenses(text.encode()) == ("GPL-2.0-or-later", "MIT")


def test_indented_license_lines_are_licence_text_not_fields() -> None:
    text = HEADER + "\nFiles: *\nLicense: MIT\n License: GPL-3\n Comment: License: BSD\n"
    assert license_names(text) == ("MIT",)


def test_only_the_first_max_parse_bytes_are_read() -> None:
    line = " " + "x" * 99 + "\n"
    padding = "Comment:\n" + line * (MAX_PARSE_BYTES // len(line) + 1)
    data = (HEADER + "\nFiles: *\nLicense: MIT\n\n" + padding + "\nFiles: b/*\nLicense: GPL-2\n").encode()
    assert len(data) > MAX_PARSE_BYTES
    assert license_names(data.decode()) == ("MIT", "GPL-2")
    assert copyright_licenses(data) == ("MIT",)


# --- attaching licences to packages ----------------------------------------------------------------


def test_doc_dir_symlink_is_followed_and_the_requested_path_recorded() -> None:
    gcc = (HEADER + "\nFiles: *\nLicense: GPL-3+\n").encode()
    view = dpkg_view(
        {"/var/lib/dpkg/status": status("libstdc++6"), "/usr/share/doc/gcc-12-base/copyright": gcc},
        links={"/usr/share/doc/libstdc++6": "gcc-12-base"},
    )
    (pkg,) = DpkgCataloger().catalog(view, CONTEXT)
    assert pkg.licenses == ("GPL-3.0-or-later",)
    assert pkg.locations == ("/var/lib/dpkg/status", "/usr/share/doc/libstdc++6/copyright")


def test_doc_dir_symlink_out_of_the_root_stays_inside_it() -> None:
    view = dpkg_view(
        {"/var/lib/dpkg/status": status("evil"), "/copyright": (HEADER + "License: MIT\n").encode()},
        links={"/usr/share/doc/evil": "../../../../../../.."},
    )
    (pkg,) = DpkgCataloger().catalog(view, CONTEXT)
    assert pkg.licenses == ("MIT",)  # the link ends at the image root: /copyright inside the image


def test_package_unchanged_without_a_usable_copyright() -> None:
    pkg = Package(name="a", version="1", type="deb", purl="pkg:deb/debian/a@1", locations=("/s",))
    free_text = dpkg_view({"/usr/share/doc/a/copyright": b"License: GPL-2\n"})
    only_none = dpkg_view({"/usr/share/doc/a/copyright": (HEADER + "License: none\n").encode()})
    for view in (dpkg_view({}), free_text, only_none):
        assert with_copyright_licenses(view, pkg) is pkg
    declared = Package(name="a", version="1", type="deb", purl="p", licenses=("MIT",))
    assert (
        with_copyright_licenses(dpkg_view({"/usr/share/doc/a/copyright": HEADER.encode()}), declared)
        is declared
    )


def test_not_selected_copyright_gives_nothing() -> None:
    entry = FileEntry(
        path="/usr/share/doc/a/copyright", kind="file", size=10, mode=0o644, layer=0, content=None
    )
    view = FileView(entries={entry.path: entry}, history={})
    pkg = Package(name="a", version="1", type="deb", purl="p")
    assert with_copyright_licenses(view, pkg) is pkg


# --- the corpus images ----------------------------------------------------------------------------


@functools.cache
def corpus(tag: str) -> tuple[FileView, dict[str, Package]]:
    source = OCILayoutSource(str(OCI_LAYOUT), tag, archive=False, platform=Platform(), reference=oci_ref(tag))
    try:
        resolved = source.resolve()
        view, layers = build_view(source, resolved, SELECTOR)
    finally:
        source.close()
    _, packages = run_catalogers(view, (), tuple(layer.diff_id or layer.digest for layer in layers))
    return view, {p.name: p for p in packages if p.type == "deb"}


def starts_with_format(view: FileView, name: str) -> bool:
    data = view.read(f"/usr/share/doc/{name}/copyright")
    return data is not None and data.decode("utf-8", "replace").lstrip().startswith("Format: http")


@pytest.mark.parametrize("tag", ["python-app:debian", "debian:12-slim"])
def test_corpus_every_deb_with_a_machine_readable_copyright_has_licences(tag: str) -> None:
    view, debs = corpus(tag)
    assert sorted(debs) == sorted(r["name"] for r in read_tsv(expected_dir(tag) / "packages.tsv"))
    for name, pkg in debs.items():
        path = f"/usr/share/doc/{name}/copyright"
        if starts_with_format(view, name):
            assert pkg.licenses, name
            assert pkg.locations[-1] == path
        else:
            assert pkg.licenses == () and path not in pkg.locations, name


def test_corpus_python_app_debian_licences() -> None:
    """Read from the image's files: 127 copyright files, of which 28 have no Format: header and one is
    an example inside ca-certificates' doc dir; libncursesw6's doc dir is a link to libtinfo6's."""
    view, debs = corpus("python-app:debian")
    files = [p for p in view.paths() if p.startswith("/usr/share/doc/") and p.endswith("/copyright")]
    assert len(files) == 127
    assert sum(1 for p in debs.values() if p.licenses) == 127 - 28 - 1 + 1
    assert {
        n: debs[n].licenses for n in ("zlib1g", "tzdata", "libssl3", "libncursesw6", "ca-certificates")
    } == {
        "zlib1g": ("Zlib",),
        "tzdata": ("public-domain",),
        "libssl3": ("Apache-2.0", "Artistic", "GPL-1.0-or-later"),
        "libncursesw6": ("MIT/X11", "X11", "BSD-3-Clause"),
        "ca-certificates": ("GPL-2.0-or-later", "MPL-2.0"),
    }
    for name in ("libc6", "python3.11", "libstdc++6", "libpython3.11-stdlib", "libgnutls30"):
        assert debs[name].licenses == (), name  # free-text files (libstdc++6 -> gcc-12-base)


def test_corpus_names_map_like_syfts_spdx_expressions() -> None:
    """Where syft (corpus syft.json, python-app:debian) gives a Debian name an SPDX expression, our id
    for that name is the same (SPDX ids compare case-insensitively). One exception: syft maps
    ``BSD-2-clause-NetBSD`` (a deprecated SPDX id) to plain ``BSD-2-Clause``; we keep it as written."""
    view, _ = corpus("python-app:debian")
    doc = json.loads((expected_dir("python-app:debian") / "syft.json").read_text(encoding="utf-8"))
    syft: dict[str, str] = {}
    for art in doc["artifacts"]:
        if art["type"] == "deb":
            syft.update({lic["value"]: lic["spdxExpression"] for lic in art.get("licenses", [])})
    ours: set[str] = set()
    for path in view.paths():
        if path.startswith("/usr/share/doc/") and path.endswith("/copyright"):
            ours.update(license_names(view.read_text(path) or "") or ())
    compared = {n for n in ours if syft.get(n)}
    assert len(compared) > 40
    differ = {n for n in compared if spdx_id(n).lower() != syft[n].lower()}
    assert differ == {"BSD-2-clause-NetBSD"}


def _inventory(tag: str) -> Inventory:
    _, debs = corpus(tag)
    facts = ImageFacts(
        reference=oci_ref(tag),
        transport="oci",
        name=None,
        manifest_digest=None,
        config_digest=None,
        media_type=None,
        platform=Platform(),
        created=None,
        layers=(),
        user="",
        healthcheck=None,
        entrypoint=None,
        cmd=None,
        env=(),
        exposed_ports=(),
        working_dir="",
        labels=(),
    )
    return Inventory(facts, DEBIAN, tuple(sorted(debs.values(), key=lambda p: p.name)))


def test_corpus_cyclonedx_with_debian_names_is_valid_1_6() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_cyclonedx(_inventory("python-app:debian"))
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, [str(e) for e in errors] if errors else None
    comps = {c["name"]: c for c in json.loads(text)["components"]}
    assert comps["zlib1g"]["licenses"] == [{"license": {"id": "Zlib"}}]
    assert {"license": {"name": "Artistic"}} in comps["libssl3"]["licenses"]
    assert {"license": {"id": "GPL-1.0-or-later"}} in comps["libssl3"]["licenses"]


def test_corpus_spdx_with_debian_names_is_valid_2_3(tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    text = render_spdx(_inventory("python-app:debian"))
    schema = json.loads((REPO / "src/alpinist/schemas/spdx-2.3.schema.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads(text))
    path = tmp_path / "sbom.spdx.json"
    path.write_text(text, encoding="utf-8")
    messages = validate_full_spdx_document(parse_file(str(path)))
    assert messages == [], [m.validation_message for m in messages]
    pkgs = {p["name"]: p for p in json.loads(text)["packages"]}
    assert pkgs["libaudit-common"]["licenseDeclared"] == "GPL-2.0-only AND LGPL-2.1-only"
    assert pkgs["libssl3"]["licenseDeclared"] == "NOASSERTION"  # "Artistic" is not SPDX
    assert re.search(r"\bArtistic\b", pkgs["libssl3"]["licenseComments"])
