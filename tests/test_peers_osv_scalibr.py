"""osv-scalibr's extractor fixtures (apk, dpkg, Python wheel/egg metadata) and its expected results.

Where alpinist deliberately differs, a ``test_differs_from_osv_scalibr_*`` test asserts our behaviour
and its docstring gives the reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.catalog import run_catalogers
from alpinist.inventory.dpkg import DpkgCataloger, deb_purl
from alpinist.inventory.python import PythonCataloger, parse_metadata
from alpinist.models import OSInfo, Package

from .conftest import PEERS

SCALIBR = PEERS / "osv-scalibr"


def expected(kind: str) -> Any:
    return json.loads((SCALIBR / kind / "expected.json").read_text(encoding="utf-8"))


def view_of(files: dict[str, bytes]) -> FileView:
    entries = {
        path: FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=0, content=data)
        for path, data in files.items()
    }
    return FileView(entries=entries, history={p: [e] for p, e in entries.items()})


def os_release_file(doc: dict[str, Any], key: str) -> dict[str, bytes]:
    if not key:
        return {}
    text = doc.get(f"os_release_{key}", key)
    return {"/etc/os-release": text.encode()}


def catalog(files: dict[str, bytes]) -> tuple[OSInfo | None, tuple[Package, ...]]:
    return run_catalogers(view_of(files), (), ("sha256:layer0",))


# --- apk -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", expected("apk")["cases"], ids=lambda c: c["input"])
def test_apk_cases(case: dict[str, Any]) -> None:
    doc = expected("apk")
    files = {"/lib/apk/db/installed": (SCALIBR / "apk" / case["input"]).read_bytes()}
    files |= os_release_file(doc, case["os_release"])
    os_info, packages = catalog(files)
    assert [(p.name, p.version, p.arch) for p in packages] == [
        (e["name"], e["version"], e["arch"]) for e in case["expected"]
    ]
    for pkg, exp in zip(packages, case["expected"], strict=True):
        assert pkg.licenses == tuple(exp["licenses"])
        assert dict(pkg.metadata).get("commit") == exp.get("source_commit")
        assert dict(pkg.metadata).get("maintainer", "") == exp["maintainer"]
        assert (os_info.id if os_info else "", os_info.version_id if os_info else "") == (
            exp["os_id"],
            exp["os_version_id"],
        )
        if exp["origin"]:
            assert pkg.origin == exp["origin"]


def test_differs_from_osv_scalibr_apk_missing_origin() -> None:
    """osv-scalibr reports a missing ``o:`` as origin ""; apk's own rule is that such a package is its
    own origin, and advisories are looked up by origin, so we report ``origin = name``."""
    (exp,) = next(c for c in expected("apk")["cases"] if c["input"] == "no-origin")["expected"]
    assert exp["origin"] == ""
    _, (pkg,) = catalog({"/lib/apk/db/installed": (SCALIBR / "apk/no-origin").read_bytes()})
    assert pkg.origin == pkg.name == "pkgname"
    assert "upstream=" not in pkg.purl


def test_apk_alpine_3_18_0_installed_database() -> None:
    """The 15-package Alpine 3.18.0 expectation, read from the saved ``fixtures-extra/apk-installed``."""
    doc = expected("apk")
    case = doc["cases_without_saved_fixture"][0]
    files = {
        "/lib/apk/db/installed": (SCALIBR / "fixtures-extra/apk-installed").read_bytes(),
        "/etc/os-release": doc["os_release_alpine_3_18"].encode(),
    }
    _, packages = catalog(files)
    got = sorted(
        (
            p.name,
            p.origin,
            p.version,
            p.arch,
            p.licenses,
            dict(p.metadata)["commit"],
            dict(p.metadata)["maintainer"],
        )
        for p in packages
    )
    want = sorted(
        (
            e["name"],
            e["origin"],
            e["version"],
            e["arch"],
            tuple(e["licenses"]),
            e["source_commit"],
            e["maintainer"],
        )
        for e in case["expected"]
    )
    assert len(want) == 15 and got == want
    assert all("distro=alpine-3.18.0" in p.purl for p in packages)


def test_apk_openwrt_os_release() -> None:
    """osv-scalibr accepts an OpenWrt os-release for an apk database; the purl namespace follows ID."""
    case = expected("apk")["cases_without_saved_fixture"][1]
    assert "openwrt" in case["expected"]
    files = {
        "/lib/apk/db/installed": (SCALIBR / "apk/different-arch").read_bytes(),
        "/etc/os-release": b"ID=openwrt\nVERSION_ID=1.2.3\n",
    }
    os_info, (pkg,) = catalog(files)
    assert os_info is not None and (os_info.id, os_info.version_id) == ("openwrt", "1.2.3")
    assert pkg.purl.startswith("pkg:apk/openwrt/alpine-baselayout-data@3.4.3-r1?")
    assert "distro=openwrt-1.2.3" in pkg.purl


def test_apk_empty_database_has_no_packages() -> None:
    assert catalog({"/lib/apk/db/installed": b""})[1] == ()


# --- dpkg ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", expected("dpkg")["cases"], ids=lambda c: c["input"])
def test_dpkg_cases(case: dict[str, Any]) -> None:
    doc = expected("dpkg")
    files = {"/var/lib/dpkg/status": (SCALIBR / "dpkg" / case["input"]).read_bytes()}
    files |= os_release_file(doc, case["os_release"])
    os_info, packages = catalog(files)
    assert os_info is not None
    assert [(p.name, p.version) for p in packages] == sorted(
        (e["name"], e["version"]) for e in case["expected"]
    )
    by_name = {p.name: p for p in packages}
    for exp in case["expected"]:
        pkg = by_name[exp["name"]]
        assert pkg.origin == exp.get("source_name", exp["name"])
        if exp.get("source_version"):
            assert pkg.source_version == exp["source_version"]
        if "architecture" in exp:
            assert pkg.arch == exp["architecture"]
        assert dict(pkg.metadata)["status"] == exp["status"]
        assert dict(pkg.metadata).get("maintainer") == exp.get("maintainer")
        assert (os_info.id, os_info.codename, os_info.version_id) == (
            exp["os_id"],
            exp["os_version_codename"],
            exp["os_version_id"],
        )


def test_differs_from_osv_scalibr_dpkg_source_version_defaults_to_version() -> None:
    """osv-scalibr leaves the source version empty for ``Source: acl``; Debian's rule is that the
    source version is then the binary's, and the advisory comparison needs one, so we fill it."""
    case = next(c for c in expected("dpkg")["cases"] if c["input"] == "valid")
    libacl1 = next(e for e in case["expected"] if e["name"] == "libacl1")
    assert libacl1["source_name"] == "acl" and "source_version" not in libacl1
    _, packages = catalog({"/var/lib/dpkg/status": (SCALIBR / "dpkg/valid").read_bytes()})
    pkg = next(p for p in packages if p.name == "libacl1")
    assert (pkg.origin, pkg.source_version) == ("acl", "2.3.1-3")


def test_dpkg_status_d_without_status_field_is_installed() -> None:
    """osv-scalibr: a ``status.d`` file with no Status field is accepted (distroless)."""
    case = expected("dpkg")["cases_without_saved_fixture"][2]
    (exp,) = case["expected"]
    stanza = f"Package: {exp['name']}\nVersion: {exp['version']}\nMaintainer: {exp['maintainer']}\n"
    stanza += f"Architecture: {exp['architecture']}\n"
    (pkg,) = DpkgCataloger().catalog(
        view_of({"/var/lib/dpkg/status.d/foo": stanza.encode()}),
        CatalogContext(os=None, env=(), layer_ids=()),
    )
    assert (pkg.name, pkg.version, pkg.arch) == (exp["name"], exp["version"], exp["architecture"])


def test_dpkg_status_field_rules() -> None:
    """osv-scalibr's statusfield case (fixture not saved): the want word is ignored, only installed
    packages count; the stanzas are written here from the names in its expectation."""
    case = expected("dpkg")["cases_without_saved_fixture"][0]
    statuses = {
        "wantinstall_installed": "install ok installed",
        "wantdeinstall_installed": "deinstall reinstreq installed",
        "wantpurge_installed": "purge ok installed",
        "wantdeinstall_configfiles": "deinstall ok config-files",
        "wantinstall_unpacked": "install ok unpacked",
        "wantinstall_halfinstalled": "install reinstreq half-installed",
        "wantnostatus": None,
    }
    text = "".join(
        f"Package: {name}\n" + (f"Status: {status}\n" if status else "") + "Version: 1.0\n\n"
        for name, status in statuses.items()
    )
    _, packages = catalog({"/var/lib/dpkg/status": text.encode()})
    assert sorted(p.name for p in packages) == sorted(e.split()[0] for e in case["expected_default"])
    excluded = {e.split()[0] for e in case["expected_include_not_installed_adds"]}
    assert not excluded & {p.name for p in packages}


def test_differs_from_osv_scalibr_dpkg_purl_form() -> None:
    """osv-scalibr writes ``distro=<codename>&source=..&source_version=..``; we follow syft's form
    (``arch``, ``distro=<id>-<VERSION_ID>``, ``upstream=<src>[@<version>]``), which is also what the
    corpus' syft output for the real images shows."""
    case = expected("dpkg")["purl_cases"][0]
    assert (
        case["expected"] == "pkg:deb/debian/pkgname@1.2.3?distro=jammy&source=sourcename&source_version=1.2.4"
    )
    os_info = OSInfo(
        id=case["os_id"], version_id=case["version_id"], version=case["version_id"], codename="jammy"
    )
    assert deb_purl(case["name"], case["version"], None, case["source"], case["source_version"], os_info) == (
        "pkg:deb/debian/pkgname@1.2.3?distro=debian-22.04&upstream=sourcename%401.2.4"
    )


def test_dpkg_ubuntu_purl_namespace() -> None:
    case = next(c for c in expected("dpkg")["cases"] if c["input"] == "trailingnewlines")
    files = {
        "/var/lib/dpkg/status": (SCALIBR / "dpkg/trailingnewlines").read_bytes(),
        "/etc/os-release": case["os_release"].encode(),
    }
    _, (pkg,) = catalog(files)
    assert pkg.purl == "pkg:deb/ubuntu/acl@2.3.1-3?arch=amd64&distro=ubuntu-22.04"


# --- python ----------------------------------------------------------------------------------------

_AS_PATH = {
    "malformed_pkginfo": "/usr/lib/python3/dist-packages/passlib-1.7.4.egg-info/PKG-INFO",
    "egginfo": "/usr/lib/python3/dist-packages/pycups-2.0.1.egg-info",
    "pkginfo": "/usr/lib/python3/dist-packages/httplib2-0.20.4.egg-info/PKG-INFO",
}


@pytest.mark.parametrize("case", expected("python")["cases"], ids=lambda c: c["input"])
def test_python_cases(case: dict[str, Any]) -> None:
    path = _AS_PATH[case["input"]]
    view = view_of({path: (SCALIBR / "python" / case["input"]).read_bytes()})
    (pkg,) = PythonCataloger().catalog(view, CatalogContext(os=None, env=(), layer_ids=()))
    exp = case["expected"]
    assert (pkg.name, pkg.version, dict(pkg.metadata)["author"]) == (
        exp["name"],
        exp["version"],
        exp["author"],
    )
    assert pkg.purl == f"pkg:pypi/{exp['name'].lower()}@{exp['version']}"
    assert pkg.locations == (path.removesuffix("/PKG-INFO"),)


def test_python_malformed_continuation_keeps_later_headers() -> None:
    """The Keywords: value runs on over lines without indentation; the headers after it (Platform,
    Classifier) must still be headers, not body text."""
    msg = parse_metadata((SCALIBR / "python/malformed_pkginfo").read_bytes())
    assert msg["Keywords"].split() == [
        "password",
        "secret",
        "hash",
        "security",
        "crypt",
        "md5-crypt",
        "sha256-crypt",
        "sha512-crypt",
        "pbkdf2",
        "argon2",
        "scrypt",
        "bcrypt",
        "apache",
        "htpasswd",
        "htdigest",
        "totp",
        "2fa",
    ]
    assert msg["Platform"] == "UNKNOWN"
    assert "License :: OSI Approved :: BSD License" in msg.get_all("Classifier", [])
