"""trivy's analyzer fixtures (apk, dpkg, Python packaging) and the results trivy's tests assert.

Where alpinist deliberately differs, a ``test_differs_from_trivy_*`` test asserts our behaviour and
its docstring gives the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alpinist.images.dirview import view_from_directory
from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.apk import ApkCataloger
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
from alpinist.inventory.python import PythonCataloger, licenses_of, parse_metadata
from alpinist.models import Package

from .conftest import PEERS

TRIVY = PEERS / "trivy"
SELECTOR = selector_for(default_catalogers())
NO_OS = CatalogContext(os=None, env=(), layer_ids=())


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def one_file_view(path: str, data: bytes) -> FileView:
    entry = FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=0, content=data)
    return FileView(entries={path: entry})


def deb_version(epoch: int | None, version: str | None, release: str | None) -> str:
    """trivy splits a Debian version into epoch, version and release; put it back together."""
    text = f"{epoch}:" if epoch else ""
    text += version or ""
    return f"{text}-{release}" if release else text


# --- apk -------------------------------------------------------------------------------------------


def apk_packages() -> list[Package]:
    data = (TRIVY / "apk/installed").read_bytes()
    return ApkCataloger().catalog(one_file_view("/lib/apk/db/installed", data), NO_OS)


def test_apk_installed() -> None:
    doc = load(TRIVY / "apk/expected.json")
    packages = apk_packages()
    assert [(p.name, p.version, p.origin, p.arch) for p in packages] == [
        (e["name"], e["version"], e["src_name"], e["arch"]) for e in doc["packages"]
    ]
    assert all(e["src_version"] == e["version"] for e in doc["packages"])
    assert [dict(p.metadata)["maintainer"] for p in packages] == [e["maintainer"] for e in doc["packages"]]


def test_apk_installed_files_plus_directories() -> None:
    """trivy lists the R: files (relative); we list them absolute, with the F: directories too."""
    doc = load(TRIVY / "apk/expected.json")
    text = (TRIVY / "apk/installed").read_text(encoding="utf-8")
    dirs_by_stanza = [
        {"/" + line[2:] for line in stanza.splitlines() if line.startswith("F:")}
        for stanza in text.split("\n\n")
        if "\nV:" in "\n" + stanza
    ]
    for pkg, exp, dirs in zip(apk_packages(), doc["packages"], dirs_by_stanza, strict=True):
        assert set(pkg.files) == {"/" + f for f in exp["installed_files"]} | dirs
    total = sum(len(e["installed_files"]) for e in doc["packages"])
    assert total == len(doc["all_files"]) == 76


def test_apk_stanza_without_version_is_skipped() -> None:
    assert "invalidPackageWithoutAVersion" in (TRIVY / "apk/installed").read_text()
    assert "invalidPackageWithoutAVersion" not in {p.name for p in apk_packages()}
    assert len(apk_packages()) == 15


def test_differs_from_trivy_apk_license_normalisation() -> None:
    """trivy rewrites apk licences (``GPL2`` -> ``GPL-2.0-only``, ``MIT BSD GPL2+`` -> SPDX ids); the
    meaning of Alpine's old free-form names is a guess, so we keep what the package says."""
    doc = load(TRIVY / "apk/expected.json")
    raw = {
        stanza.split("P:", 1)[1].split("\n", 1)[0]: stanza.split("\nL:", 1)[1].split("\n", 1)[0]
        for stanza in (TRIVY / "apk/installed").read_text().split("\n\n")
        if "\nL:" in stanza and "P:" in stanza
    }
    by_name = {p.name: p for p in apk_packages()}
    musl_trivy = next(e for e in doc["packages"] if e["name"] == "musl")["licenses"]
    assert raw["musl"] == "MIT" and musl_trivy == ["MIT"] and by_name["musl"].licenses == ("MIT",)
    changed = [
        e for e in doc["packages"] if e["licenses"] and tuple(e["licenses"]) != by_name[e["name"]].licenses
    ]
    assert changed  # trivy rewrote some
    for e in changed:  # the words as written, whether kept as one expression or split as a list
        assert " ".join(by_name[e["name"]].licenses) == " ".join(raw[e["name"]].split())
    assert by_name["musl-utils"].licenses == ("MIT", "BSD", "GPL2+")


# --- dpkg ------------------------------------------------------------------------------------------

DPKG_CASES = ["valid", "corrupsed", "only-apt", "digest", "md5sums", "third-party"]


@pytest.mark.parametrize("case", DPKG_CASES)
def test_dpkg_cases(case: str) -> None:
    doc = load(TRIVY / f"dpkg/expected-{case}.json")
    view = view_from_directory(TRIVY / "dpkg/rootfs" / case, SELECTOR)
    _, packages = run_catalogers(view, (), ())
    got = sorted((p.name, p.version, p.origin, p.source_version, p.arch) for p in packages)
    want = sorted(
        (
            e["name"],
            deb_version(e.get("epoch"), e["version"], e.get("release")),
            e["src_name"],
            deb_version(e.get("src_epoch"), e["src_version"], e.get("src_release")),
            e["arch"],
        )
        for e in doc["packages"]
    )
    assert got == want
    by_name = {p.name: p for p in packages}
    for e in doc["packages"]:
        assert dict(by_name[e["name"]].metadata).get("maintainer") == e["maintainer"]
        if "installed_files" in e:
            assert by_name[e["name"]].files == tuple(e["installed_files"])


def test_dpkg_valid_drops_the_deinstalled_stanza() -> None:
    status = (TRIVY / "dpkg/rootfs/valid/var/lib/dpkg/status").read_text()
    assert status.count("\nPackage: ") + status.startswith("Package: ") == 91
    assert "Status: deinstall ok config-files" in status
    assert len(load(TRIVY / "dpkg/expected-valid.json")["packages"]) == 90


# --- python ----------------------------------------------------------------------------------------


def _parser_cases() -> list[dict[str, Any]]:
    return [c for c in load(TRIVY / "python/expected.json")["parser_cases"] if c["expected"] != "error"]


_DELIBERATE = {
    "parser/setuptools-51.3.3-py3.8.egg-info.PKG-INFO",
    "parser/unidecode-egg-info.PKG-INFO",
    "parser/networkx-3.0.METADATA",
    "parser/distlib-0.3.1.METADATA",
}


@pytest.mark.parametrize("case", _parser_cases(), ids=lambda c: c["input"])
def test_python_parser_cases(case: dict[str, Any]) -> None:
    msg = parse_metadata((TRIVY / "python" / case["input"]).read_bytes())
    (exp,) = case["expected"]
    assert (msg["Name"].strip(), msg["Version"]) == (exp["name"], exp["version"])
    licenses = list(licenses_of(msg))
    if case["input"] in _DELIBERATE:
        return  # see the test_differs_from_trivy_python_* tests
    assert licenses == (exp["licenses"] or [])


def test_differs_from_trivy_python_unknown_license() -> None:
    """trivy reports the literal ``UNKNOWN`` (setuptools' placeholder); it is no licence, so we fall
    back to the licence classifiers, and report nothing when there are none."""
    cases = {c["input"]: c for c in _parser_cases()}
    setuptools = cases["parser/setuptools-51.3.3-py3.8.egg-info.PKG-INFO"]
    assert setuptools["expected"][0]["licenses"] == ["UNKNOWN"]
    assert licenses_of(parse_metadata((TRIVY / "python" / setuptools["input"]).read_bytes())) == (
        "MIT License",
    )
    unidecode = cases["parser/unidecode-egg-info.PKG-INFO"]
    assert unidecode["expected"][0]["licenses"] == ["UNKNOWN"]
    assert licenses_of(parse_metadata((TRIVY / "python" / unidecode["input"]).read_bytes())) == ()


def test_differs_from_trivy_python_license_field_before_classifiers() -> None:
    """trivy prefers the ``License ::`` classifiers to the ``License:`` field (distlib: 'Python
    Software Foundation License'); syft takes the field. We take the field: it is the author's own,
    usually more precise statement; the classifiers are the fallback."""
    case = next(c for c in _parser_cases() if c["input"] == "parser/distlib-0.3.1.METADATA")
    assert case["expected"][0]["licenses"] == ["Python Software Foundation License"]
    assert licenses_of(parse_metadata((TRIVY / "python" / case["input"]).read_bytes())) == ("Python license",)


def test_differs_from_trivy_python_license_file_reference() -> None:
    """trivy reports ``file://LICENSE.txt`` when only License-File is given; a file name is not a
    licence, so we report none rather than a pseudo-identifier."""
    case = next(c for c in _parser_cases() if c["input"] == "parser/networkx-3.0.METADATA")
    assert case["expected"][0]["licenses"] == ["file://LICENSE.txt"]
    assert licenses_of(parse_metadata((TRIVY / "python" / case["input"]).read_bytes())) == ()


def test_python_invalid_file_yields_no_package() -> None:
    """trivy's parser errors on a JSON file; as a METADATA it has no Name, so it is no distribution."""
    case = next(c for c in load(TRIVY / "python/expected.json")["parser_cases"] if c["expected"] == "error")
    data = (TRIVY / "python" / case["input"]).read_bytes()
    view = one_file_view("/usr/lib/python3/site-packages/invalid.dist-info/METADATA", data)
    assert PythonCataloger().catalog(view, NO_OS) == []


def _analyzer_cases() -> list[dict[str, Any]]:
    return load(TRIVY / "python/expected.json")["analyzer_cases"]


@pytest.mark.parametrize("case", _analyzer_cases(), ids=lambda c: c["root"])
def test_python_analyzer_cases(case: dict[str, Any]) -> None:
    (exp,) = case["expected"]
    (pkg,) = PythonCataloger().catalog(view_from_directory(TRIVY / "python" / case["root"], SELECTOR), NO_OS)
    assert (pkg.name, pkg.version) == (exp["name"], exp["version"])
    assert dict(pkg.metadata)["metadata_file"] == "/" + exp["file_path"]
    if case["root"] != "analyzer/license-file-dist":
        assert list(pkg.licenses) == exp["licenses"]


def test_differs_from_trivy_python_license_file_classification() -> None:
    """trivy classifies the text of the dist-info's LICENSE file; we do not guess licences from
    file contents, and this METADATA declares none."""
    case = next(c for c in _analyzer_cases() if c["root"] == "analyzer/license-file-dist")
    assert case["expected"][0]["licenses"] == [
        "BeOpen",
        "CNRI-Python-GPL-Compatible",
        "LicenseRef-MIT-Lucent",
        "Python-2.0",
    ]
    (pkg,) = PythonCataloger().catalog(view_from_directory(TRIVY / "python" / case["root"], SELECTOR), NO_OS)
    assert pkg.licenses == ()


@pytest.mark.parametrize(("path", "wanted"), load(TRIVY / "python/expected.json")["required_paths"])
def test_python_metadata_paths_are_selected(path: str, wanted: bool) -> None:
    """trivy's path table; two rows differ on purpose: a dist-info LICENSE is not read (no licence
    guessing) and ``*.egg-info/METADATA`` is not a metadata file name (PKG-INFO is)."""
    deliberate = {
        "python3.8/site-packages/wrapt-1.12.1.dist-info/LICENSE": False,
        "Amazon/AWSCLIV2/cryptography-3.3.2-py3.8.egg-info/METADATA": False,
    }
    assert PythonCataloger.selector.compile().wants("/" + path) == deliberate.get(path, wanted)
