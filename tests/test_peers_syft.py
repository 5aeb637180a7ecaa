"""syft's own cataloger fixtures (apk, dpkg, Python) and the results syft's tests assert.

Where alpinist deliberately differs, a ``test_differs_from_syft_*`` test asserts our behaviour and
its docstring gives the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alpinist.errors import InventoryError
from alpinist.images.dirview import view_from_directory
from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.apk import ApkCataloger, apk_purl, parse_installed
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
from alpinist.inventory.dpkg import DpkgCataloger, deb_purl, md5sums_paths, parse_stanzas, split_source
from alpinist.inventory.python import PythonCataloger, licenses_of, parse_metadata, pypi_purl
from alpinist.models import OSInfo, Package

from .conftest import PEERS

SYFT = PEERS / "syft"
SELECTOR = selector_for(default_catalogers())
NO_OS = CatalogContext(os=None, env=(), layer_ids=("sha256:layer0",))


def expected(kind: str, name: str) -> Any:
    return json.loads((SYFT / kind / "expected" / f"{name}.json").read_text(encoding="utf-8"))


def one_file_view(path: str, data: bytes) -> FileView:
    entry = FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=0, content=data)
    return FileView(entries={path: entry}, history={path: [entry]})


def apk_packages(fixture: str) -> list[Package]:
    data = (SYFT / "apk" / "fixtures" / fixture).read_bytes()
    return ApkCataloger().catalog(one_file_view("/lib/apk/db/installed", data), NO_OS)


def status_d_packages(fixture: str) -> list[Package]:
    data = (SYFT / "dpkg" / "fixtures" / "status.d" / fixture).read_bytes()
    return DpkgCataloger().catalog(one_file_view(f"/var/lib/dpkg/status.d/{fixture}", data), NO_OS)


def meta(pkg: Package) -> dict[str, str]:
    return dict(pkg.metadata)


# --- apk -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["single", "empty-deps-and-provides", "base", "extra-file-attributes", "multiple-1", "multiple-2"]
)
def test_apk_fixture_packages(name: str) -> None:
    doc = expected("apk", name)
    fixture = Path(doc["input"].split()[0]).name
    packages = apk_packages(fixture)
    assert [p.name for p in packages] == [p["name"] for p in doc["packages"]]
    for pkg, exp in zip(packages, doc["packages"], strict=True):
        assert (pkg.version, pkg.origin) == (exp["version"], exp["origin_package"])
        if exp.get("architecture"):
            assert pkg.arch == exp["architecture"]
        if exp.get("licenses"):
            assert pkg.licenses == tuple(exp["licenses"])
        if "files" in exp:
            assert pkg.files == tuple(f["path"] for f in exp["files"])
        if "dependencies" in exp:
            assert meta(pkg).get("depends", "").split() == exp["dependencies"]
            assert meta(pkg).get("provides", "").split() == exp["provides"]
        if "git_commit" in exp:
            assert meta(pkg)["commit"] == exp["git_commit"]
            assert meta(pkg)["checksum"] == exp["checksum"]
        if "maintainer" in exp:
            assert meta(pkg)["maintainer"] == exp["maintainer"]


def test_apk_old_style_license_list_is_split_like_syft() -> None:
    (pkg,) = apk_packages("single.installed")
    assert (
        pkg.licenses == tuple(expected("apk", "single")["packages"][0]["licenses"]) == ("MIT", "BSD", "GPL2+")
    )


def test_apk_spdx_expression_license_is_one_entry() -> None:
    by_name = {p.name: p for p in apk_packages("multiple-2.installed")}
    # multiple-2.json notes: ca-certificates-bundle 'MPL-2.0 AND MIT'
    assert by_name["ca-certificates-bundle"].licenses == ("MPL-2.0 AND MIT",)


def test_apk_corrupt_database_is_an_error() -> None:
    assert expected("apk", "corrupt")["expect_error"] is True
    with pytest.raises(InventoryError, match="line 1"):
        apk_packages("corrupt.installed")


@pytest.mark.parametrize("case", expected("apk", "purl-and-misc")["purl_cases"])
def test_apk_purl(case: dict[str, str]) -> None:
    os_info = OSInfo(id=case["distro_id"], version_id=case["distro_version"], version=case["distro_version"])
    assert (
        apk_purl(case["name"], case["version"], case["arch"] or None, case.get("origin"), os_info)
        == (case["expected"])
    )


def test_apk_empty_deps_and_provides_are_empty() -> None:
    (pkg,) = apk_packages("empty-deps-and-provides.installed")
    assert "depends" not in meta(pkg) and "provides" not in meta(pkg)
    (record,) = parse_installed((SYFT / "apk/fixtures/empty-deps-and-provides.installed").read_text())
    assert (record.depends, record.provides) == ((), ())


# --- dpkg ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["single", "installed-size-4KB", "deinstall"])
def test_dpkg_status_d_fixture(name: str) -> None:
    doc = expected("dpkg", f"status.d-{name}")
    packages = status_d_packages(name)
    assert [(p.name, p.version, p.origin, p.arch) for p in packages] == [
        (e["name"], e["version"], e["source"], e["architecture"]) for e in doc["packages"]
    ]
    for pkg, exp in zip(packages, doc["packages"], strict=True):
        assert pkg.files == tuple(f["path"] for f in exp["files"])
        assert meta(pkg)["depends"] == ", ".join(exp["depends"])
        assert meta(pkg)["maintainer"] == exp["maintainer"]


def test_dpkg_deinstall_config_files_stanza_is_dropped() -> None:
    excluded = expected("dpkg", "status.d-deinstall")["excluded"]
    names = {p.name for p in status_d_packages("deinstall")}
    assert excluded and not names & {e["name"] for e in excluded}


def test_dpkg_multiple_keeps_named_stanzas_with_versions() -> None:
    doc = expected("dpkg", "status.d-multiple")
    versioned = [e for e in doc["packages"] if e["version"]]
    packages = status_d_packages("multiple")
    assert [(p.name, p.version, p.arch) for p in packages] == [
        (e["name"], e["version"], e["architecture"]) for e in versioned
    ]
    util_linux = packages[-1]
    assert util_linux.files == tuple(f["path"] for f in versioned[-1]["files"])
    assert meta(util_linux)["pre-depends"] == ", ".join(versioned[-1]["pre_depends"])


def test_differs_from_syft_dpkg_stanza_without_version() -> None:
    """syft's raw parser returns ``no-version`` with an empty version; a package without a version can
    be matched against nothing and is no evidence of an installed package, so we skip it (as trivy and
    osv-scalibr do)."""
    names = [e["name"] for e in expected("dpkg", "status.d-multiple")["packages"]]
    assert "no-version" in names
    assert "no-version" not in {p.name for p in status_d_packages("multiple")}


def test_differs_from_syft_dpkg_source_defaults_to_the_binary() -> None:
    """syft leaves ``source`` empty when a stanza has no ``Source:``; Debian's rule is that the source
    package then has the binary's name and version, and advisories are keyed by source, so we fill both."""
    util = next(e for e in expected("dpkg", "status.d-multiple")["packages"] if e["name"] == "util-linux")
    assert util["source"] == ""
    pkg = next(p for p in status_d_packages("multiple") if p.name == "util-linux")
    assert (pkg.origin, pkg.source_version) == ("util-linux", "2.33.1-0.1")


def test_dpkg_corrupt_status_is_an_error() -> None:
    assert expected("dpkg", "status.d-corrupt")["expect_error"] is True
    with pytest.raises(InventoryError, match=r"status\.d/corrupt: line 5"):
        status_d_packages("corrupt")


def test_dpkg_image_rootfs() -> None:
    (exp,) = expected("dpkg", "rootfs-image-dpkg")["packages"]
    view = view_from_directory(SYFT / "dpkg/fixtures/rootfs/image-dpkg", SELECTOR)
    os_info, packages = run_catalogers(view, (), ("sha256:layer0",))
    assert os_info is not None and (os_info.id, os_info.version_id, os_info.codename) == (
        "debian",
        "12",
        "bookworm",
    )
    (pkg,) = packages
    assert (pkg.name, pkg.version, pkg.origin, pkg.arch, pkg.purl) == (
        exp["name"],
        exp["version"],
        exp["source"],
        exp["architecture"],
        exp["purl"],
    )
    assert pkg.files == tuple(f["path"] for f in exp["files"])  # conffiles, then the md5sums paths
    assert pkg.locations[0] == exp["locations"]["primary"][0]
    assert "/var/lib/dpkg/info/libpam-runtime.md5sums" in exp["locations"]["supporting"]
    assert "/var/lib/dpkg/info/libpam-runtime.md5sums" in pkg.locations
    assert (pkg.layer, pkg.layer_index) == ("sha256:layer0", 0)


def test_dpkg_distroless_rootfs() -> None:
    (exp,) = expected("dpkg", "rootfs-image-distroless-deb")["packages"]
    view = view_from_directory(SYFT / "dpkg/fixtures/rootfs/image-distroless-deb", SELECTOR)
    os_info, (pkg,) = run_catalogers(view, (), ())
    assert os_info is None
    assert (pkg.name, pkg.version, pkg.origin, pkg.arch) == (
        exp["name"],
        exp["version"],
        exp["source"],
        exp["architecture"],
    )
    assert pkg.files == tuple(f["path"] for f in exp["files"])
    assert pkg.locations == (
        *exp["locations"]["primary"],
        "/var/lib/dpkg/status.d/libsqlite3-0.md5sums",
        "/usr/share/doc/libsqlite3-0/copyright",  # licences: tests/test_deb_copyright.py
    )


def test_differs_from_syft_dpkg_purl_without_os_release() -> None:
    """Without os-release syft emits no purl at all; an SBOM consumer still gets more from
    ``pkg:deb/debian/...`` with arch and upstream, so we emit that without a ``distro`` qualifier."""
    (exp,) = expected("dpkg", "rootfs-image-distroless-deb")["packages"]
    assert exp["purl"] == ""
    view = view_from_directory(SYFT / "dpkg/fixtures/rootfs/image-distroless-deb", SELECTOR)
    _, (pkg,) = run_catalogers(view, (), ())
    assert pkg.purl == "pkg:deb/debian/libsqlite3-0@3.34.1-3?arch=arm64&upstream=sqlite3"


def _purl_cases() -> list[dict[str, Any]]:
    return [c for c in expected("dpkg", "purl-and-misc")["purl_cases"] if c["distro_id"]]


@pytest.mark.parametrize("case", _purl_cases())
def test_dpkg_purl(case: dict[str, Any]) -> None:
    os_info = OSInfo(id=case["distro_id"], version_id=case["distro_version"], version=case["distro_version"])
    purl = deb_purl(
        case["name"],
        case["version"],
        case.get("arch"),
        case.get("source"),
        case.get("source_version"),
        os_info,
    )
    assert purl == case["expected"]


@pytest.mark.parametrize(("value", "parts"), expected("dpkg", "purl-and-misc")["source_field_split"])
def test_dpkg_source_field_split(value: str, parts: list[str]) -> None:
    assert split_source(value) == tuple(parts)


def test_dpkg_negative_cases() -> None:
    cases = {c["input"]: c for c in expected("dpkg", "purl-and-misc")["negative_cases"]}
    with pytest.raises(InventoryError, match="given twice"):
        parse_stanzas("Package: apt\nPackage: apt-get\n\n", "status")
    assert "duplicate key" in cases["Package: apt\nPackage: apt-get\n\n"]["expect"]
    with pytest.raises(InventoryError, match="continuation"):
        parse_stanzas("  Package: apt\n\n", "status")
    assert "continuation" in cases["  Package: apt\n\n"]["expect"]


def test_differs_from_syft_dpkg_last_stanza_without_trailing_newline() -> None:
    """syft fails on a file whose last stanza has no trailing blank line; dpkg writes one, but a
    missing final newline loses no information, so we parse the stanza."""
    case = expected("dpkg", "purl-and-misc")["negative_cases"][0]
    assert case["input"] == "Package: apt" and case["expect"].startswith("error")
    assert parse_stanzas("Package: apt", "status") == [{"package": "apt"}]


def test_dpkg_md5sums_info_file() -> None:
    case = expected("dpkg", "info-files")["cases"][0]
    text = (SYFT / "dpkg" / case["input"]).read_text(encoding="utf-8")
    assert md5sums_paths(text) == tuple(f["path"] for f in case["expected"])


# --- python ----------------------------------------------------------------------------------------


def python_packages(root: Path) -> list[Package]:
    return PythonCataloger().catalog(view_from_directory(root, SELECTOR), NO_OS)


def _location(syft_location: str) -> str:
    """syft lists the METADATA file relative to the scan root; we give the dist-info path, absolute."""
    return "/" + syft_location.rsplit("/", 1)[0] if "/" in syft_location else "/" + syft_location


@pytest.mark.parametrize(("name", "root"), [("nested", "nested"), ("uppercase", "uppercase")])
def test_python_site_packages(name: str, root: str) -> None:
    doc = expected("python", name)
    packages = python_packages(SYFT / "python/fixtures/site-packages" / root)
    found = {(p.name, p.version, p.locations[0]) for p in packages}
    assert found == {
        (e["metadata_name"], e["version"], _location(e["locations"][0])) for e in doc["packages"]
    }
    for pkg in packages:
        exp = next(e for e in doc["packages"] if e["metadata_name"] == pkg.name)
        assert pkg.licenses == tuple(exp["licenses"])
        assert meta(pkg)["author"] == exp["author"]
        assert meta(pkg)["requires_python"] == exp["requires_python"]
        assert meta(pkg)["normalized_name"] == exp["name"]


@pytest.mark.parametrize("name", ["malformed-record", "egg-info-file", "no-version"])
def test_python_single_distribution(name: str) -> None:
    doc = expected("python", name)
    (exp,) = doc["packages"]
    root = SYFT / "python/fixtures/site-packages" / doc["input"].split()[0].split("site-packages/")[1]
    (pkg,) = python_packages(root)
    assert (canonical(pkg.name), pkg.version, pkg.locations[0]) == (
        exp["name"],
        exp["version"],
        _location(exp["locations"][0]),
    )
    if "purl" in exp and "vcs_url" not in exp["purl"]:
        assert pkg.purl == exp["purl"]
    if "licenses" in exp:
        assert pkg.licenses == tuple(exp["licenses"])


def canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def test_python_partial_dist_info_without_record() -> None:
    (exp,) = expected("python", "partial-dist-info")["packages"]
    packages = python_packages(SYFT / "python/fixtures/site-packages")
    (pkg,) = [p for p in packages if p.locations[0] == "/partial.dist-info"]
    assert (pkg.name, pkg.version, pkg.purl, pkg.licenses) == (
        exp["metadata_name"],
        exp["version"],
        exp["purl"],
        tuple(exp["licenses"]),
    )


@pytest.mark.parametrize("case", expected("python", "ignored")["cases"])
def test_python_ignored(case: dict[str, Any], tmp_path: Path) -> None:
    source = SYFT / "python" / case["input"]
    site = tmp_path / "usr/lib/python2.7/site-packages"
    site.mkdir(parents=True)
    (site / source.name).write_bytes(source.read_bytes())
    assert len(python_packages(tmp_path)) == case["expected_count"] == 0


def _metadata_cases() -> list[dict[str, Any]]:
    return [c for c in expected("python", "metadata-parse")["metadata_cases"] if "INVALID" not in c["input"]]


@pytest.mark.parametrize("case", _metadata_cases())
def test_python_metadata_parse(case: dict[str, Any]) -> None:
    msg = parse_metadata((SYFT / "python" / case["input"]).read_bytes())
    exp = case["expected"]
    got = {
        "name": msg.get("Name", ""),
        "version": msg.get("Version", ""),
        "license": msg.get("License", ""),
        "platform": msg.get("Platform", ""),
        "author": msg.get("Author", ""),
        "author_email": msg.get("Author-email", ""),
    }
    assert got == {k: exp[k] for k in got}
    if "requires_dist" in exp:
        assert msg.get_all("Requires-Dist") == exp["requires_dist"]
    if "provides_extra" in exp:
        assert msg.get_all("Provides-Extra") == exp["provides_extra"]


def test_differs_from_syft_python_headers_after_blank_lines_in_old_metadata() -> None:
    """mxnet's PKG-INFO (Metadata-Version 1.1) has a Summary running on over unindented lines and
    blank lines; syft stops there and keeps only Name/Version. Metadata before 2.1 has no body, so
    the Author/License/Classifier headers after those lines are still headers, and we read them."""
    case = next(c for c in expected("python", "metadata-parse")["metadata_cases"] if "INVALID" in c["input"])
    assert case["expected"]["author"] == case["expected"]["license"] == ""
    msg = parse_metadata((SYFT / "python" / case["input"]).read_bytes())
    assert (msg["Name"], msg["Version"]) == (case["expected"]["name"], case["expected"]["version"])
    assert (msg["Author"], msg["License"], msg["Platform"]) == ("UNKNOWN", "UNKNOWN", "UNKNOWN")
    assert licenses_of(msg) == ("Apache Software License",)


def test_python_rfc822_plural_fields() -> None:
    case = expected("python", "metadata-parse")["rfc822_cases"][0]
    msg = parse_metadata(case["input"].lstrip("\n").encode())
    assert (msg["Name"], msg["Version"]) == (case["expected"]["Name"], case["expected"]["Version"])
    assert msg.get_all("Requires-Dist") == case["expected"]["RequiresDist"]


def test_differs_from_syft_python_repeated_version_keeps_the_first() -> None:
    """A single-use field given twice is malformed metadata; syft keeps the last value, we keep the
    first, which is what ``importlib.metadata`` (so ``pip list``) reports for the same file."""
    case = expected("python", "metadata-parse")["rfc822_cases"][1]
    assert case["expected"]["Version"] == "1.9.0"
    assert parse_metadata(case["input"].lstrip("\n").encode())["Version"] == "1.8.0"


def test_python_purl_and_name_normalization() -> None:
    doc = expected("python", "metadata-parse")
    plain = doc["purl_cases"][0]
    assert pypi_purl(plain["name"], plain["version"]) == plain["expected"]
    norm = doc["name_normalization"]
    assert {pypi_purl(n, "1") for n in norm["inputs"]} == {f"pkg:pypi/{norm['expected']}@1"}


def test_differs_from_syft_python_name_case() -> None:
    """syft reports the lower-cased name (``pygments``); we keep the name as written in METADATA
    (``Pygments``, which is what the corpus' truth lists) and normalise only in the purl."""
    (exp, _) = expected("python", "nested")["packages"]
    assert (exp["name"], exp["metadata_name"]) == ("pygments", "Pygments")
    packages = python_packages(SYFT / "python/fixtures/site-packages/nested")
    pkg = next(p for p in packages if p.version == "2.6.1")
    assert pkg.name == "Pygments" and pkg.purl == "pkg:pypi/pygments@2.6.1"


def test_differs_from_syft_python_vcs_url_qualifier() -> None:
    """syft adds ``vcs_url`` from ``direct_url.json``; alpinist does not read that file (the purl is
    used to match PyPI advisories, where the PyPI name and version are what count)."""
    (exp, _) = expected("python", "nested")["packages"]
    assert "vcs_url=" in exp["purl"]
    packages = python_packages(SYFT / "python/fixtures/site-packages/nested")
    assert next(p for p in packages if p.version == "2.6.1").purl == "pkg:pypi/pygments@2.6.1"


def test_differs_from_syft_python_license_file_classification() -> None:
    """syft classifies the text of LICENSE.txt (BSD-3-Clause, 'concluded'); alpinist reports only the
    declared licence from METADATA and does not guess licences from file contents."""
    doc = expected("python", "license")
    assert {lic["value"] for e in doc["packages"] for lic in e["licenses"]} == {"BSD-3-Clause"}
    packages = python_packages(SYFT / "python/fixtures/site-packages/license")
    assert len(packages) == len(doc["packages"]) == 2
    assert {p.licenses for p in packages} == {("BSD License",)}
