"""Other scanners' matching expectations (../shared/corpus/peers), reproduced.

trivy's detector fixtures (``peers/trivy/detector``): the trivy-db fixture records (``alpine.yaml``,
``debian.yaml``) are converted into ``Affected`` rows here, the packages of each test case into an
inventory, and the findings compared with ``alpine-expected.json`` / ``debian-expected.json``.
Deliberate differences are named tests with the reason.

grype's matcher cases and trivy's integration goldens (``peers/grype``, ``peers/trivy/integration``),
which PROVENANCE.md lists, are not in this corpus snapshot; the two ``must_not_report`` negatives that
PROVENANCE.md spells out are reproduced from its text at the end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alpinist.advisories.model import Affected, Severity, Status, VersionRange
from alpinist.models import OSInfo, Package
from alpinist.scan.matching import match
from alpinist.versions import compare
from tests.conftest import PEERS
from tests.test_matching import MemoryIndex, inventory

DETECTOR = PEERS / "trivy" / "detector"

# trivy-db enums (detector/debian-expected.json "enums") -> alpinist
TRIVY_SEVERITY: dict[int, Severity] = {0: "UNKNOWN", 1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}
# trivy's statuses come from the tracker's kinds (advisories/raw/debian-vuln-list/scan-reports/README.md):
# <ignored> -> will_not_fix, <postponed> -> fix_deferred, <no-dsa>/<unfixed> -> affected
TRIVY_STATUS: dict[int, Status] = {2: "open", 5: "ignored", 6: "postponed", 7: "end-of-life"}
DEBIAN_CODENAME = {"9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm"}


def load_fixture(path: Path) -> list[Affected]:
    """trivy-db fixture buckets ``"<distro> <release>" -> source package -> id -> advisory`` as Affected rows."""
    rows: list[Affected] = []
    for bucket in yaml.safe_load(path.read_text(encoding="utf-8")):
        distro, release = bucket["bucket"].split()
        namespace = f"alpine:{release}" if distro == "alpine" else f"debian:{DEBIAN_CODENAME[release]}"
        for package in bucket["pairs"]:
            for entry in package["pairs"]:
                value: dict[str, Any] = entry["value"]
                fixed = value.get("FixedVersion")
                if not isinstance(fixed, str):
                    raise ValueError(f"{entry['key']}: FixedVersion is {type(fixed).__name__}, not a version")
                severity = TRIVY_SEVERITY.get(value["Severity"]) if "Severity" in value else None
                if fixed:
                    status: Status = "fixed"
                else:
                    status = TRIVY_STATUS.get(value.get("Status", 2), "open")
                # AffectedVersion (trivy's unfixed Alpine entries): versions below it are not affected
                ranges = (
                    (VersionRange(start=value["AffectedVersion"]),) if value.get("AffectedVersion") else ()
                )
                rows.append(
                    Affected(
                        entry["key"],
                        distro,
                        namespace,
                        package["bucket"],
                        status,
                        fixed_version=fixed or None,
                        ranges=ranges,
                        severity=severity,
                    )
                )
    return rows


def expected_cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((DETECTOR / name).read_text(encoding="utf-8"))["cases"]
    return cases


def packages(case: dict[str, Any], kind: str) -> list[Package]:
    out = []
    for p in case["packages"]:
        out.append(
            Package(
                p["name"],
                p["version"],
                kind,  # type: ignore[arg-type]
                f"pkg:{kind}/{p['name']}@{p['version']}",
                origin=p["src_name"] or None,
                source_version=p["src_version"] if kind == "deb" else None,
            )
        )
    return out


def os_for(case: dict[str, Any], distro: str) -> OSInfo:
    version = case["os_version"]
    return OSInfo(id=distro, version_id=version, version=version)


def as_trivy(result_findings: Any) -> set[tuple[str, str, str, str]]:
    return {(f.id, f.package.name, f.installed_version, f.fixed_version or "") for f in result_findings}


def trivy_expected(case: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(e["id"], e["pkg_name"], e["installed_version"], e["fixed_version"]) for e in case["expected"]}


ALPINE_CASES = {c["name"]: c for c in expected_cases("alpine-expected.json")}
DEBIAN_CASES = {c["name"]: c for c in expected_cases("debian-expected.json")}


def test_the_detector_fixtures_hold_the_cases_this_file_knows() -> None:
    assert set(ALPINE_CASES) == {
        "happy path",
        "contain rc",
        "contain pre",
        "repository is newer than OS version",
        "No src name",
        "Get returns an error",
    }
    assert set(DEBIAN_CASES) == {"happy path", "invalid bucket"}


@pytest.mark.parametrize("name", ["happy path", "contain rc", "contain pre", "No src name"])
def test_trivy_alpine_detector(name: str) -> None:
    case = ALPINE_CASES[name]
    index = MemoryIndex(load_fixture(DETECTOR / "alpine.yaml"))
    if "repository_release" in case:
        # trivy reads the branch from /etc/apk/repositories; alpinist from /etc/alpine-release: give the
        # inventory the repository's branch (the deliberate difference has its own test below)
        os = OSInfo("alpine", case["repository_release"], case["repository_release"])
    else:
        os = os_for(case, "alpine")
    result = match(inventory(os, *packages(case, "apk")), index)
    assert as_trivy(result.findings) == trivy_expected(case)


def test_trivy_alpine_happy_path_warns_about_what_it_skipped() -> None:
    # trivy: "CVE-2019-INVALID fixed 'invalid' unparsable -> no; package with version 'invalid' skipped"
    case = ALPINE_CASES["happy path"]
    result = match(
        inventory(os_for(case, "alpine"), *packages(case, "apk")),
        MemoryIndex(load_fixture(DETECTOR / "alpine.yaml")),
    )
    assert any("CVE-2019-INVALID" in w for w in result.warnings)
    assert any("invalid" in w and "not matched" in w for w in result.warnings)
    # CVE-2020-1740 is unfixed but AffectedVersion 2.6.5 > 2.6.4; CVE-2021-20191 unfixed without one
    assert {(f.id, f.status) for f in result.findings} == {
        ("CVE-2019-10217", "fixed"),
        ("CVE-2021-20191", "open"),
    }


def test_deliberate_difference_repository_release_does_not_override_alpine_release() -> None:
    """trivy matches an Alpine 3.9.3 image whose /etc/apk/repositories point at v3.10 against the 3.10
    secdb. alpinist takes the branch from /etc/alpine-release (DESIGN.md), so it asks for alpine:3.9,
    which the fixture database lacks: no findings and a warning naming the branch, never a silent
    fallback to another branch."""
    case = ALPINE_CASES["repository is newer than OS version"]
    assert trivy_expected(case) == {("CVE-2020-1234", "jq", "1.6-r0", "1.6-r1")}
    result = match(
        inventory(os_for(case, "alpine"), *packages(case, "apk")),
        MemoryIndex(load_fixture(DETECTOR / "alpine.yaml")),
    )
    assert result.findings == ()
    assert any("alpine:3.9" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("cases", "fixture", "error"),
    [
        (ALPINE_CASES, "alpine-invalid.yaml", "Get returns an error"),
        (DEBIAN_CASES, "debian-invalid.yaml", "invalid bucket"),
    ],
)
def test_trivy_malformed_advisory_database_is_an_error(
    cases: dict[str, Any], fixture: str, error: str
) -> None:
    """trivy fails ("failed to get ... advisories") on a FixedVersion that is a list. In alpinist such a
    record is refused when the database is built (a FixedVersion that is no string cannot become an
    Affected row); and an index that fails while matching makes match() fail, never return no findings."""
    assert cases[error]["expected_error"].startswith("failed to get")
    with pytest.raises(ValueError, match="FixedVersion is list"):
        load_fixture(DETECTOR / fixture)

    class Failing(MemoryIndex):
        def affected(self, namespace: str, package: str) -> list[Affected]:
            raise OSError(f"failed to get advisories for {namespace} {package}")

    kind = "apk" if cases is ALPINE_CASES else "deb"
    case = cases[error]
    with pytest.raises(OSError, match="failed to get"):
        match(
            inventory(os_for(case, "alpine" if kind == "apk" else "debian"), *packages(case, kind)), Failing()
        )


def test_trivy_debian_detector() -> None:
    case = DEBIAN_CASES["happy path"]
    # os_version 9.1 -> debian 9 -> stretch (no codename in the case: from the major version)
    result = match(
        inventory(os_for(case, "debian"), *packages(case, "deb")),
        MemoryIndex(load_fixture(DETECTOR / "debian.yaml")),
    )
    assert as_trivy(result.findings) == trivy_expected(case)
    unfixed = next(f for f in result.findings if f.id == "CVE-2021-31618")
    expected = next(e for e in case["expected"] if e["id"] == "CVE-2021-31618")
    assert expected["status"] == "will_not_fix"
    # trivy's will_not_fix is the tracker's <ignored>; the vendor's severity, with its source
    assert (unfixed.status, unfixed.severity, unfixed.severity_source) == (
        "ignored",
        expected["severity"],
        expected["severity_source"],
    )
    # binary htpasswd matched through its source apache2
    assert {f.advisory_package for f in result.findings} == {"apache2"}


def test_deliberate_difference_vendor_ids_are_not_carried() -> None:
    """trivy attaches the fix's DSA (VendorIDs) to CVE-2020-11985; the Debian tracker JSON alpinist reads
    has no DSA per release entry, so findings carry the CVE and its aliases only."""
    case = DEBIAN_CASES["happy path"]
    expected = next(e for e in case["expected"] if e["id"] == "CVE-2020-11985")
    assert expected["vendor_ids"] == ["DSA-4884-1"]
    result = match(
        inventory(os_for(case, "debian"), *packages(case, "deb")),
        MemoryIndex(load_fixture(DETECTOR / "debian.yaml")),
    )
    finding = next(f for f in result.findings if f.id == "CVE-2020-11985")
    assert "DSA-4884-1" not in finding.aliases


# trivy integration, must_not_report (PROVENANCE.md section 2: "musl 1.1.22-r3 vs fix 1.1.20-r5; ubuntu bash
# 4.4.18-2ubuntu1.2 vs fix 4.4-5ubuntu1"): installed above the fix, never reported.


def test_must_not_report_musl_above_its_fix() -> None:
    rows = [Affected("CVE-2019-14697", "alpine", "alpine:3.10", "musl", "fixed", fixed_version="1.1.20-r5")]
    alpine_310 = OSInfo("alpine", "3.10.9", "3.10.9")
    result = match(
        inventory(
            alpine_310, Package("musl", "1.1.22-r3", "apk", "pkg:apk/alpine/musl@1.1.22-r3", origin="musl")
        ),
        MemoryIndex(rows),
    )
    assert result.findings == ()


def test_must_not_report_ubuntu_bash_above_its_fix() -> None:
    # alpinist has no Ubuntu feed; the comparison that must not report is dpkg's
    assert compare("deb", "4.4.18-2ubuntu1.2", "4.4-5ubuntu1") > 0
