"""Matching semantics of DESIGN.md, one by one, against a small in-memory index.

The advisory rows are written by hand from the corpus feeds (../shared/corpus/advisories/feeds: secdb
v3.18-v3.20 main.json, the Debian tracker JSON, the PyPA OSV export, the NVD subset); rows that the
corpus lacks (CPython CPE ranges, an end-of-life entry, conflicting secfixes) are marked "constructed"
with the real-world shape they imitate. Packages are those of the corpus images (expected/*/packages.tsv,
python.tsv).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import pytest

from alpinist.advisories.feeds.alpine import alpine_namespace
from alpinist.advisories.feeds.debian import debian_namespace
from alpinist.advisories.feeds.nvd import cpe_products
from alpinist.advisories.model import Affected, CvssScore, Status, VersionRange, Vulnerability
from alpinist.models import ImageFacts, Inventory, OSInfo, Package
from alpinist.scan.matching import match, preferred_id
from alpinist.scan.model import Finding, MatchResult

# ---------------------------------------------------------------------------------------------- fixtures


class MemoryIndex:
    """The AdvisoryIndex protocol over lists: ``affected`` and ``vulnerability`` only."""

    def __init__(
        self, affected: Iterable[Affected] = (), vulnerabilities: Iterable[Vulnerability] = ()
    ) -> None:
        self.rows: dict[tuple[str, str], list[Affected]] = {}
        for row in affected:
            self.rows.setdefault((row.namespace, row.package), []).append(row)
        self.vulns = {v.id: v for v in vulnerabilities}
        self.queries = 0

    def affected(self, namespace: str, package: str) -> list[Affected]:
        self.queries += 1
        return list(self.rows.get((namespace, package), ()))

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        return self.vulns.get(vuln_id)


class ListingIndex(MemoryIndex):
    """Also says which namespaces it holds (as a store can)."""

    def __init__(
        self,
        affected: Iterable[Affected] = (),
        vulnerabilities: Iterable[Vulnerability] = (),
        extra_namespaces: Iterable[str] = (),
    ) -> None:
        super().__init__(affected, vulnerabilities)
        self.extra = set(extra_namespaces)

    def namespaces(self) -> set[str]:
        return {ns for ns, _ in self.rows} | self.extra


def facts() -> ImageFacts:
    return ImageFacts(
        reference="test",
        transport="oci",
        name=None,
        manifest_digest=None,
        config_digest=None,
        media_type=None,
        platform=None,
        created=None,
        layers=(),
        user="",
        healthcheck=None,
        entrypoint=None,
        cmd=None,
        env=(),
        exposed_ports=(),
        working_dir="/",
        labels=(),
    )


ALPINE_320 = OSInfo(id="alpine", version_id="3.20.3", version="3.20.3", pretty_name="Alpine Linux v3.20")
ALPINE_319 = OSInfo(id="alpine", version_id="3.19.4", version="3.19.4")
BOOKWORM = OSInfo(id="debian", version_id="12", version="12.15", codename="bookworm")


def inventory(os: OSInfo | None, *packages: Package) -> Inventory:
    return Inventory(image=facts(), os=os, packages=packages)


def apk(name: str, version: str, origin: str | None = None) -> Package:
    return Package(name, version, "apk", f"pkg:apk/alpine/{name}@{version}", origin=origin)


def deb(name: str, version: str, source: str | None = None, source_version: str | None = None) -> Package:
    return Package(
        name, version, "deb", f"pkg:deb/debian/{name}@{version}", origin=source, source_version=source_version
    )


def py(
    name: str, version: str, *, owner: str | None = None, vendored: bool = False, where: str = ""
) -> Package:
    location = where or f"/opt/venv/lib/python3.11/site-packages/{name}-{version}.dist-info"
    return Package(
        name,
        version,
        "python",
        f"pkg:pypi/{name.lower()}@{version}",
        owner=owner,
        vendored=vendored,
        locations=(location,),
    )


def secfix(branch: str, package: str, vuln_id: str, fixed: str) -> Affected:
    """One secdb secfixes entry as the Alpine feed stores it (key ``0`` = not affected)."""
    if fixed == "0":
        return Affected(vuln_id, "alpine", f"alpine:{branch}", package, "not-affected")
    return Affected(vuln_id, "alpine", f"alpine:{branch}", package, "fixed", fixed_version=fixed)


def tracker(
    package: str, vuln_id: str, status: Status, fixed: str | None = None, severity: str | None = None
) -> Affected:
    """One Debian tracker bookworm entry as the Debian feed stores it."""
    return Affected(
        vuln_id,
        "debian",
        "debian:bookworm",
        package,
        status,
        fixed_version=fixed,
        severity=severity,  # type: ignore[arg-type]
        severity_note=None if severity is None else severity.lower(),
    )


def osv(vuln_id: str, package: str, *ranges: VersionRange, versions: tuple[str, ...] = ()) -> Affected:
    fixes = [r.end for r in ranges if r.end and not r.end_inclusive]
    return Affected(
        vuln_id,
        "osv",
        "pypi",
        package,
        "fixed" if fixes else "open",
        fixed_version=min(fixes) if fixes else None,
        ranges=ranges,
        versions=versions,
    )


def summary(result: MatchResult) -> set[tuple[str, str, str | None, str]]:
    """(package, id, fixed version, status) of every finding."""
    return {(f.package.name, f.id, f.fixed_version, f.status) for f in result.findings}


def only(result: MatchResult, package: str, vuln_id: str) -> Finding:
    found = [f for f in result.findings if f.package.name == package and f.id == vuln_id]
    assert len(found) == 1, result.findings
    return found[0]


# ---------------------------------------------------------------------------------------------- namespaces


def test_alpine_namespace_from_alpine_release() -> None:
    assert alpine_namespace(ALPINE_320) == "alpine:3.20"
    assert alpine_namespace(OSInfo("alpine", "3.18.9", "3.18.9")) == "alpine:3.18"
    assert alpine_namespace(OSInfo("alpine", "3.21_alpha20240807", "3.21_alpha20240807")) == "alpine:edge"
    assert alpine_namespace(BOOKWORM) is None
    assert alpine_namespace(None) is None


def test_debian_namespace_from_codename_or_version() -> None:
    assert debian_namespace(BOOKWORM) == "debian:bookworm"
    assert debian_namespace(OSInfo("debian", "12", "12.15")) == "debian:bookworm"
    assert debian_namespace(OSInfo("debian", "11", "11.9")) == "debian:bullseye"
    assert debian_namespace(OSInfo("debian", "13", "13.1")) == "debian:trixie"
    assert debian_namespace(OSInfo("debian", "", "")) is None
    assert debian_namespace(ALPINE_320) is None


# ---------------------------------------------------------------------------------------------- Alpine

# secdb v3.20 main.json (corpus feed), openssl: 3.3.2-r0 CVE-2024-6119, 3.3.2-r1 CVE-2024-9143,
# 3.3.2-r2 CVE-2024-13176, 0: CVE-2023-4807; busybox: 1.36.1-r29 CVE-2023-42364/42365, 1.36.1-r31
# CVE-2024-58251/CVE-2025-46394, 0: CVE-2021-42373; zlib: 0 CVE-2023-45853, 1.2.12-r2 CVE-2022-37434;
# musl: 1.2.2_pre2-r0 CVE-2020-28928, 1.2.5-r1 CVE-2025-26519.
SECDB_320 = [
    secfix("3.20", "openssl", "CVE-2024-6119", "3.3.2-r0"),
    secfix("3.20", "openssl", "CVE-2024-9143", "3.3.2-r1"),
    secfix("3.20", "openssl", "CVE-2024-13176", "3.3.2-r2"),
    secfix("3.20", "openssl", "CVE-2023-4807", "0"),
    secfix("3.20", "busybox", "CVE-2023-42364", "1.36.1-r29"),
    secfix("3.20", "busybox", "CVE-2023-42365", "1.36.1-r29"),
    secfix("3.20", "busybox", "CVE-2024-58251", "1.36.1-r31"),
    secfix("3.20", "busybox", "CVE-2025-46394", "1.36.1-r31"),
    secfix("3.20", "busybox", "CVE-2021-42373", "0"),
    secfix("3.20", "zlib", "CVE-2023-45853", "0"),
    secfix("3.20", "zlib", "CVE-2022-37434", "1.2.12-r2"),
    secfix("3.20", "musl", "CVE-2020-28928", "1.2.2_pre2-r0"),
    secfix("3.20", "musl", "CVE-2025-26519", "1.2.5-r1"),
]
# alpine:3.20.3's packages (expected/alpine_3.20.3/packages.tsv)
ALPINE_3203_PACKAGES = (
    apk("busybox", "1.36.1-r29", "busybox"),
    apk("busybox-binsh", "1.36.1-r29", "busybox"),
    apk("libcrypto3", "3.3.2-r0", "openssl"),
    apk("libssl3", "3.3.2-r0", "openssl"),
    apk("musl", "1.2.5-r0", "musl"),
    apk("musl-utils", "1.2.5-r0", "musl"),
    apk("ssl_client", "1.36.1-r29", "busybox"),
    apk("zlib", "1.3.1-r1", "zlib"),
)


def test_alpine_matches_by_origin_and_reports_each_binary_package() -> None:
    result = match(inventory(ALPINE_320, *ALPINE_3203_PACKAGES), MemoryIndex(SECDB_320))
    expected = set()
    for name in ("libcrypto3", "libssl3"):  # origin openssl 3.3.2-r0: below r1 and r2, at r0
        expected |= {
            (name, "CVE-2024-9143", "3.3.2-r1", "fixed"),
            (name, "CVE-2024-13176", "3.3.2-r2", "fixed"),
        }
    for name in ("busybox", "busybox-binsh", "ssl_client"):  # origin busybox 1.36.1-r29: below r31 only
        expected |= {
            (name, "CVE-2024-58251", "1.36.1-r31", "fixed"),
            (name, "CVE-2025-46394", "1.36.1-r31", "fixed"),
        }
    for name in ("musl", "musl-utils"):  # 1.2.5-r0 < 1.2.5-r1
        expected.add((name, "CVE-2025-26519", "1.2.5-r1", "fixed"))
    assert summary(result) == expected
    assert result.warnings == ()
    libssl = only(result, "libssl3", "CVE-2024-9143")
    assert (libssl.namespace, libssl.advisory_package, libssl.source) == ("alpine:3.20", "openssl", "alpine")
    assert libssl.installed_version == libssl.matched_version == "3.3.2-r0"


def test_alpine_secfixes_zero_is_never_affected() -> None:
    # zlib CVE-2023-45853 and openssl CVE-2023-4807 are listed under "0" on v3.20
    result = match(inventory(ALPINE_320, apk("zlib", "1.3.1-r1", "zlib")), MemoryIndex(SECDB_320))
    assert result.findings == ()
    # an id under "0" and under a version of the same branch (constructed): the real fix wins, as the
    # feed parser (advisories/feeds/alpine/secdb.py) decides before storing; a conflicting "0" must not hide it
    rows = [
        secfix("3.20", "zlib", "CVE-2023-45853", "0"),
        secfix("3.20", "zlib", "CVE-2023-45853", "1.3.1-r2"),
    ]
    conflict = match(inventory(ALPINE_320, apk("zlib", "1.3.1-r1", "zlib")), MemoryIndex(rows))
    assert summary(conflict) == {("zlib", "CVE-2023-45853", "1.3.1-r2", "fixed")}


def test_alpine_one_id_under_several_versions_the_first_fix_decides() -> None:
    # constructed: an id listed under two versions of one branch; secfixes name the version that first
    # fixed it, so the lowest decides (the same rule as advisories/feeds/alpine/secdb.py, which stores one row)
    rows = [
        secfix("3.20", "busybox", "CVE-2023-42366", "1.36.1-r25"),
        secfix("3.20", "busybox", "CVE-2023-42366", "1.36.1-r31"),
    ]
    between = match(inventory(ALPINE_320, apk("busybox", "1.36.1-r29", "busybox")), MemoryIndex(rows))
    assert between.findings == ()
    above = match(inventory(ALPINE_320, apk("busybox", "1.36.1-r31", "busybox")), MemoryIndex(rows))
    assert above.findings == ()
    below = match(inventory(ALPINE_320, apk("busybox", "1.36.1-r20", "busybox")), MemoryIndex(rows))
    assert summary(below) == {("busybox", "CVE-2023-42366", "1.36.1-r25", "fixed")}


def test_alpine_uses_the_image_branch_own_fixed_version() -> None:
    # busybox CVE-2023-42366: fixed in 1.36.1-r16 on v3.19, 1.36.1-r25 on v3.20, 1.36.1-r6 on v3.18
    rows = [
        secfix("3.18", "busybox", "CVE-2023-42366", "1.36.1-r6"),
        secfix("3.19", "busybox", "CVE-2023-42366", "1.36.1-r16"),
        secfix("3.20", "busybox", "CVE-2023-42366", "1.36.1-r25"),
    ]
    box = apk("busybox", "1.36.1-r20", "busybox")
    assert match(inventory(ALPINE_319, box), MemoryIndex(rows)).findings == ()
    on_320 = match(inventory(ALPINE_320, box), MemoryIndex(rows))
    assert summary(on_320) == {("busybox", "CVE-2023-42366", "1.36.1-r25", "fixed")}


def test_alpine_git_snapshot_versions() -> None:
    # v3.19 musl: 1.2.4_git20230717-r5 fixes CVE-2025-26519
    rows = [secfix("3.19", "musl", "CVE-2025-26519", "1.2.4_git20230717-r5")]
    old = match(inventory(ALPINE_319, apk("musl", "1.2.4_git20230717-r4", "musl")), MemoryIndex(rows))
    assert summary(old) == {("musl", "CVE-2025-26519", "1.2.4_git20230717-r5", "fixed")}
    new = match(inventory(ALPINE_319, apk("musl", "1.2.4_git20230717-r5", "musl")), MemoryIndex(rows))
    assert new.findings == ()


def test_alpine_package_without_origin_matches_by_name() -> None:
    result = match(inventory(ALPINE_320, apk("zlib", "1.2.12-r1")), MemoryIndex(SECDB_320))
    assert summary(result) == {("zlib", "CVE-2022-37434", "1.2.12-r2", "fixed")}


@pytest.mark.parametrize("index_class", [MemoryIndex, ListingIndex])
def test_alpine_branch_missing_from_the_database_warns_and_never_falls_back(
    index_class: type[MemoryIndex],
) -> None:
    # an image on 3.21 against a database holding 3.20 and edge: no findings, a warning naming the branch
    rows = [*SECDB_320, secfix("edge", "openssl", "CVE-2024-9143", "3.3.2-r1")]
    image = inventory(OSInfo("alpine", "3.21.0", "3.21.0"), apk("libssl3", "3.3.2-r0", "openssl"))
    result = match(image, index_class(rows))
    assert result.findings == ()
    assert len(result.warnings) == 1
    assert "alpine:3.21" in result.warnings[0]


def test_alpine_branch_present_but_clean_gives_no_warning_when_the_index_lists_namespaces() -> None:
    index = ListingIndex(SECDB_320, extra_namespaces={"alpine:3.20"})
    result = match(inventory(ALPINE_320, apk("alpine-baselayout", "3.6.5-r0", "alpine-baselayout")), index)
    assert result.findings == () and result.warnings == ()


def test_apk_packages_without_alpine_release_are_reported_not_guessed() -> None:
    result = match(inventory(None, apk("libssl3", "3.3.2-r0", "openssl")), MemoryIndex(SECDB_320))
    assert result.findings == ()
    assert any("apk" in w and "not matched" in w for w in result.warnings)


def test_unparseable_versions_are_skipped_with_a_warning_never_a_crash() -> None:
    rows = [
        secfix("3.20", "openssl", "CVE-2099-0001", "3.3.2-r1_bogus"),  # a secfixes key apk rejects
        secfix("3.20", "openssl", "CVE-2024-9143", "3.3.2-r1"),
    ]
    result = match(
        inventory(
            ALPINE_320, apk("libssl3", "3.3.2-r0", "openssl"), apk("weird", "not a version", "openssl")
        ),
        MemoryIndex(rows),
    )
    assert summary(result) == {("libssl3", "CVE-2024-9143", "3.3.2-r1", "fixed")}
    assert any("CVE-2099-0001" in w and "3.3.2-r1_bogus" in w for w in result.warnings)
    assert any("weird" in w and "not a version" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------- Debian

# Debian tracker JSON of the corpus (bookworm entries)
TRACKER = [
    tracker("bash", "TEMP-0841856-B18BAF", "unimportant", severity="NEGLIGIBLE"),
    tracker("glibc", "CVE-2023-4911", "fixed", "2.36-9+deb12u3"),
    tracker("glibc", "CVE-2025-8058", "fixed", "2.36-9+deb12u13"),
    tracker("glibc", "CVE-2019-1010022", "unimportant", severity="NEGLIGIBLE"),
    tracker("xz-utils", "CVE-2024-3094", "not-affected"),
    tracker("coreutils", "CVE-2025-5278", "open"),
    tracker("expat", "CVE-2023-52425", "no-dsa"),
    tracker("zlib", "CVE-2023-45853", "ignored"),
    tracker("zlib", "CVE-2022-37434", "fixed", "1:1.2.11.dfsg-4.1"),
    tracker("openssl", "CVE-2024-4603", "postponed"),
    tracker("openssl", "CVE-2024-6119", "fixed", "3.0.14-1~deb12u2"),
    tracker("apt", "CVE-2011-3374", "unimportant", severity="NEGLIGIBLE"),
]


def test_debian_matches_the_source_package_and_reports_the_binary() -> None:
    # bash 5.2.15-2+b13 is a binNMU of source bash 5.2.15-2 (python-app:debian packages.tsv)
    result = match(inventory(BOOKWORM, deb("bash", "5.2.15-2+b13", "bash", "5.2.15-2")), MemoryIndex(TRACKER))
    finding = only(result, "bash", "TEMP-0841856-B18BAF")
    assert (finding.installed_version, finding.matched_version) == ("5.2.15-2+b13", "5.2.15-2")
    assert (finding.status, finding.fixed_version, finding.severity, finding.severity_source) == (
        "unimportant",
        None,
        "NEGLIGIBLE",
        "debian",
    )
    # libc6 from source glibc: the advisories of glibc, the binary package reported
    libc = match(inventory(BOOKWORM, deb("libc6", "2.36-9+deb12u10", "glibc")), MemoryIndex(TRACKER))
    assert summary(libc) == {
        ("libc6", "CVE-2025-8058", "2.36-9+deb12u13", "fixed"),
        ("libc6", "CVE-2019-1010022", None, "unimportant"),
    }
    assert only(libc, "libc6", "CVE-2025-8058").advisory_package == "glibc"


def test_debian_compares_the_source_version_not_the_binary_version() -> None:
    # constructed on the classic libgcc1 case: the binary carries an epoch its source (gcc-8) has not,
    # so 1:8.3.0-6 (binary) > 8.3.0-7 (fix) although the installed source 8.3.0-6 is below the fix
    rows = [Affected("CVE-2019-15847", "debian", "debian:buster", "gcc-8", "fixed", fixed_version="8.3.0-7")]
    buster = OSInfo("debian", "10", "10.13", codename="buster")
    result = match(inventory(buster, deb("libgcc1", "1:8.3.0-6", "gcc-8", "8.3.0-6")), MemoryIndex(rows))
    finding = only(result, "libgcc1", "CVE-2019-15847")
    assert (finding.installed_version, finding.matched_version, finding.fixed_version) == (
        "1:8.3.0-6",
        "8.3.0-6",
        "8.3.0-7",
    )


def test_debian_fixed_entries() -> None:
    # glibc CVE-2023-4911 fixed in 2.36-9+deb12u3: the corpus' libc6 2.36-9+deb12u14 is past it
    current = match(inventory(BOOKWORM, deb("libc6", "2.36-9+deb12u14", "glibc")), MemoryIndex(TRACKER))
    assert {f.id for f in current.findings} == {"CVE-2019-1010022"}
    old = match(inventory(BOOKWORM, deb("libc6", "2.36-9+deb12u1", "glibc")), MemoryIndex(TRACKER))
    assert ("libc6", "CVE-2023-4911", "2.36-9+deb12u3", "fixed") in summary(old)
    # zlib CVE-2022-37434: fixed in 1:1.2.11.dfsg-4.1, bookworm ships 1:1.2.13.dfsg-1 -> ignored entry only
    zlib = match(inventory(BOOKWORM, deb("zlib1g", "1:1.2.13.dfsg-1", "zlib")), MemoryIndex(TRACKER))
    assert summary(zlib) == {("zlib1g", "CVE-2023-45853", None, "ignored")}


def test_debian_not_affected_and_fixed_version_zero_never_match() -> None:
    # xz-utils CVE-2024-3094: [bookworm] <not-affected>; the tracker's fixed_version "0" says the same
    zero = Affected("CVE-2024-3094", "debian", "debian:bookworm", "xz-utils", "fixed", fixed_version="0")
    for rows in ([tracker("xz-utils", "CVE-2024-3094", "not-affected")], [zero]):
        result = match(inventory(BOOKWORM, deb("liblzma5", "5.4.1-1+deb12u2", "xz-utils")), MemoryIndex(rows))
        assert result.findings == ()


@pytest.mark.parametrize(
    ("package", "source", "version", "vuln_id", "status"),
    [
        ("coreutils", "coreutils", "9.1-1", "CVE-2025-5278", "open"),
        ("libexpat1", "expat", "2.5.0-1+deb12u5", "CVE-2023-52425", "no-dsa"),
        ("zlib1g", "zlib", "1:1.2.13.dfsg-1", "CVE-2023-45853", "ignored"),
        ("libssl3", "openssl", "3.0.22-1~deb12u2", "CVE-2024-4603", "postponed"),
        ("apt", "apt", "2.6.2", "CVE-2011-3374", "unimportant"),
    ],
)
def test_debian_unfixed_statuses_are_reported_with_their_status(
    package: str, source: str, version: str, vuln_id: str, status: str
) -> None:
    result = match(inventory(BOOKWORM, deb(package, version, source)), MemoryIndex(TRACKER))
    finding = only(result, package, vuln_id)
    assert (finding.status, finding.fixed_version) == (status, None)


def test_debian_end_of_life_is_reported() -> None:
    # constructed: a package whose security support ended in the release
    rows = [Affected("CVE-2024-0001", "debian", "debian:bookworm", "oldlib", "end-of-life")]
    result = match(inventory(BOOKWORM, deb("liboldlib1", "1.0-1", "oldlib")), MemoryIndex(rows))
    assert summary(result) == {("liboldlib1", "CVE-2024-0001", None, "end-of-life")}


def test_debian_release_without_codename_or_version_warns() -> None:
    result = match(
        inventory(OSInfo("debian", "", ""), deb("bash", "5.2.15-2+b13", "bash")), MemoryIndex(TRACKER)
    )
    assert result.findings == ()
    assert any("deb" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------- PyPI

# PyPA OSV export of the corpus (PYSEC records; ECOSYSTEM ranges) and the one GitHub advisory of the corpus
PYPI = [
    osv("PYSEC-2023-74", "requests", VersionRange("2.3.0", end="2.31.0")),
    osv("GHSA-j8r2-6x86-q33q", "requests", VersionRange("2.3.0", end="2.31.0")),
    osv("PYSEC-2015-17", "requests", VersionRange("2.1.0", end="2.6.0")),
    osv("PYSEC-2021-59", "urllib3", VersionRange("1.26.0", end="1.26.4")),
    osv("PYSEC-2021-108", "urllib3", VersionRange(None, end="1.26.5")),
    osv("PYSEC-2023-192", "urllib3", VersionRange("2.0.0", end="2.0.6"), VersionRange(None, end="1.26.17")),
    osv("PYSEC-2021-66", "jinja2", VersionRange(None, end="2.11.3")),
    osv("PYSEC-2023-228", "pip", VersionRange(None, end="23.3")),
    osv("PYSEC-2023-73", "redis", VersionRange(None)),  # withdrawn
]
PYPI_VULNS = [
    Vulnerability("PYSEC-2023-74", aliases=("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")),
    Vulnerability(
        "GHSA-j8r2-6x86-q33q",
        aliases=("CVE-2023-32681",),
        summary="Unintended leak of Proxy-Authorization header in requests",
        cvss=(CvssScore("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1, "MEDIUM", "osv:GHSA"),),
    ),
    Vulnerability("PYSEC-2021-108", aliases=("CVE-2021-33503", "GHSA-q2q7-5pp4-w6pg")),
    Vulnerability("PYSEC-2023-192", aliases=("CVE-2023-43804", "GHSA-v845-jxx5-vc9f")),
    Vulnerability(
        "PYSEC-2021-66", aliases=("CVE-2020-28493", "SNYK-PYTHON-JINJA2-1012994", "GHSA-g3rq-g295-4j3m")
    ),
    Vulnerability("PYSEC-2023-228", aliases=("CVE-2023-5752",)),
    Vulnerability("PYSEC-2023-73", aliases=("CVE-2023-31655",), withdrawn="2023-06-06T10:37:00Z"),
]


def test_pypi_ranges_fixed_version_is_the_end_of_the_range_that_holds_the_version() -> None:
    result = match(
        inventory(BOOKWORM, py("requests", "2.25.1"), py("urllib3", "1.26.4")), MemoryIndex(PYPI, PYPI_VULNS)
    )
    assert summary(result) == {
        ("requests", "CVE-2023-32681", "2.31.0", "fixed"),  # PYSEC-2023-74 + GHSA: one finding
        ("urllib3", "CVE-2021-33503", "1.26.5", "fixed"),  # [0, 1.26.5)
        ("urllib3", "CVE-2023-43804", "1.26.17", "fixed"),  # the 1.x range, not 2.0.6
        # PYSEC-2021-59 [1.26.0, 1.26.4): 1.26.4 is the fix; PYSEC-2015-17 [2.1.0, 2.6.0): above it
    }
    assert len(result.findings) == 3


def test_pypi_names_are_pep503_normalized() -> None:
    result = match(inventory(BOOKWORM, py("Jinja2", "2.11.2")), MemoryIndex(PYPI, PYPI_VULNS))
    finding = only(result, "Jinja2", "CVE-2020-28493")
    assert (finding.advisory_package, finding.fixed_version) == ("jinja2", "2.11.3")


def test_pypi_explicit_versions() -> None:
    rows = [osv("PYSEC-2099-1", "flask", versions=("0.12", "0.12.1"))]  # constructed: versions only
    assert summary(match(inventory(None, py("flask", "0.12.1")), MemoryIndex(rows))) == {
        ("flask", "PYSEC-2099-1", None, "open")
    }
    assert match(inventory(None, py("flask", "0.12.2")), MemoryIndex(rows)).findings == ()


def test_pypi_invalid_range_is_skipped_with_a_warning() -> None:
    rows = [
        osv("PYSEC-2099-2", "demo", VersionRange(None, end="1.0-bulbasaur"), VersionRange("2.0", end="2.5")),
        osv("PYSEC-2099-3", "demo", VersionRange("not a version")),
    ]
    result = match(inventory(None, py("demo", "2.1")), MemoryIndex(rows))
    assert summary(result) == {("demo", "PYSEC-2099-2", "2.5", "fixed")}
    assert any("PYSEC-2099-2" in w and "1.0-bulbasaur" in w for w in result.warnings)
    assert any("PYSEC-2099-3" in w for w in result.warnings)


def test_python_packages_owned_by_the_os_are_left_to_the_os_feed() -> None:
    # python-app:debian: pip 23.0.1 in the venv and pip 23.0.1 of python3-pip in /usr/lib/python3/dist-packages
    venv_pip = py("pip", "23.0.1")
    deb_pip = py(
        "pip", "23.0.1", owner="deb:python3-pip", where="/usr/lib/python3/dist-packages/pip-23.0.1.dist-info"
    )
    result = match(inventory(BOOKWORM, venv_pip, deb_pip), MemoryIndex(PYPI, PYPI_VULNS))
    assert [(f.package, f.id, f.fixed_version) for f in result.findings] == [
        (venv_pip, "CVE-2023-5752", "23.3")
    ]


def test_vendored_copies_are_matched_and_flagged() -> None:
    vendored = py(
        "urllib3", "1.26.4", vendored=True, where="/opt/venv/lib/python3.11/site-packages/pip/_vendor/urllib3"
    )
    result = match(inventory(None, vendored), MemoryIndex(PYPI, PYPI_VULNS))
    assert {f.id for f in result.findings} == {"CVE-2021-33503", "CVE-2023-43804"}
    for finding in result.findings:
        assert finding.vendored
        assert any("vendored" in note and "pip/_vendor" in note for note in finding.notes)


def test_withdrawn_advisories_never_match() -> None:
    # PYSEC-2023-73 (redis, introduced 0, no fix) was withdrawn
    assert match(inventory(None, py("redis", "4.5.4")), MemoryIndex(PYPI, PYPI_VULNS)).findings == ()


def test_aliases_are_one_finding_with_the_preferred_id() -> None:
    result = match(inventory(None, py("requests", "2.25.1")), MemoryIndex(PYPI, PYPI_VULNS))
    finding = only(result, "requests", "CVE-2023-32681")
    assert finding.aliases == ("GHSA-j8r2-6x86-q33q", "PYSEC-2023-74")
    assert (finding.severity, finding.severity_source, finding.cvss_score) == ("MEDIUM", "ghsa:cvss3.1", 6.1)
    assert finding.description == "Unintended leak of Proxy-Authorization header in requests"
    # without a CVE: GHSA before PYSEC (constructed)
    rows = [
        osv("PYSEC-2099-4", "demo", VersionRange(None, end="2.0")),
        osv("GHSA-aaaa-bbbb-cccc", "demo", VersionRange(None, end="2.0")),
    ]
    vulns = [Vulnerability("PYSEC-2099-4", aliases=("GHSA-aaaa-bbbb-cccc",))]
    merged = match(inventory(None, py("demo", "1.0")), MemoryIndex(rows, vulns))
    assert [(f.id, f.aliases) for f in merged.findings] == [("GHSA-aaaa-bbbb-cccc", ("PYSEC-2099-4",))]


def test_aliases_merge_only_within_one_package() -> None:
    rows = [
        osv("PYSEC-2099-5", "one", VersionRange(None, end="2.0")),
        osv("PYSEC-2099-5", "two", VersionRange(None, end="2.0")),
    ]
    vulns = [Vulnerability("PYSEC-2099-5", aliases=("CVE-2099-5",))]
    result = match(inventory(None, py("one", "1.0"), py("two", "1.0")), MemoryIndex(rows, vulns))
    assert summary(result) == {("one", "CVE-2099-5", "2.0", "fixed"), ("two", "CVE-2099-5", "2.0", "fixed")}


def test_preferred_id() -> None:
    assert preferred_id(["PYSEC-2023-74", "GHSA-j8r2-6x86-q33q", "CVE-2023-32681"]) == "CVE-2023-32681"
    assert (
        preferred_id(["PYSEC-2021-66", "SNYK-PYTHON-JINJA2-1012994", "GHSA-g3rq-g295-4j3m"])
        == "GHSA-g3rq-g295-4j3m"
    )
    assert preferred_id(["PYSEC-2021-9", "PYSEC-2021-10"]) == "PYSEC-2021-9"
    assert preferred_id(["CVE-2021-10000", "CVE-2021-9999"]) == "CVE-2021-9999"


# ---------------------------------------------------------------------------------------------- CPython

CPYTHON = Package(
    "python",
    "3.11.2",
    "binary",
    "pkg:generic/python@3.11.2",
    cpes=("cpe:2.3:a:python:python:3.11.2:*:*:*:*:*:*:*",),
    locations=("/usr/local/bin/python3.11",),
)


def cpe(vuln_id: str, *ranges: VersionRange, versions: tuple[str, ...] = ()) -> Affected:
    fixed = any(r.end and not r.end_inclusive for r in ranges)
    return Affected(
        vuln_id, "nvd", "cpe", "python:python", "fixed" if fixed else "open", ranges=ranges, versions=versions
    )


# constructed in the shape of NVD's CPE configurations for cpe:2.3:a:python:python (one range per branch)
CPE_ROWS = [
    # per-branch ranges, 3.11 fixed in 3.11.9
    cpe(
        "CVE-2099-1001",
        VersionRange(None, end="3.10.14"),
        VersionRange("3.11.0", end="3.11.9"),
        VersionRange("3.12.0", end="3.12.4"),
    ),
    # one range ending on another branch: fixed first on main in 3.13.0, nothing said about 3.11
    cpe("CVE-2099-1002", VersionRange(None, end="3.13.0")),
    # 3.11 fixed in 3.11.1: 3.11.2 is not affected, the later branch's end must not make it so
    cpe(
        "CVE-2099-1003",
        VersionRange(None, end="3.10.10"),
        VersionRange("3.11.0", end="3.11.1"),
        VersionRange("3.12.0", end="3.12.2"),
    ),
    # only 3.12 affected
    cpe("CVE-2099-1004", VersionRange("3.12.0", end="3.12.5")),
    # a wide range and a 3.11 range that excludes 3.11.2: the branch's own range decides
    cpe("CVE-2099-1005", VersionRange(None, end="3.13.0"), VersionRange("3.11.0", end="3.11.2")),
    # a 3.11 range with an inclusive end: affected, no fixed version known
    cpe("CVE-2099-1006", VersionRange("3.11.0", end="3.11.4", end_inclusive=True)),
    # one exact version
    cpe("CVE-2099-1007", versions=("3.11.2",)),
]


def test_cpe_products() -> None:
    assert cpe_products(CPYTHON) == ["python:python"]
    assert cpe_products(Package("python", "3.11.2", "binary", "pkg:generic/python@3.11.2")) == [
        "python:python"
    ]
    assert cpe_products(Package("x", "1", "binary", "p", cpes=("cpe:/a:openssl:openssl:3.0.2",))) == [
        "openssl:openssl"
    ]


def test_cpython_is_compared_within_its_release_branch() -> None:
    result = match(inventory(ALPINE_320, CPYTHON), MemoryIndex(CPE_ROWS))
    assert summary(result) == {
        ("python", "CVE-2099-1001", "3.11.9", "fixed"),
        ("python", "CVE-2099-1002", None, "open"),
        ("python", "CVE-2099-1006", None, "open"),
        ("python", "CVE-2099-1007", None, "open"),
    }
    main_only = only(result, "python", "CVE-2099-1002")
    assert main_only.notes == (
        "NVD range <3.13.0: fixed in 3.13.0 on the 3.13 branch; no fix known for the 3.11 branch",
    )
    assert main_only.rule == "nvd-cpe:cross-branch"
    assert only(result, "python", "CVE-2099-1001").rule == "nvd-cpe:branch"
    assert only(result, "python", "CVE-2099-1007").rule == "nvd-cpe:version"
    assert (main_only.namespace, main_only.advisory_package, main_only.source) == (
        "cpe",
        "python:python",
        "nvd",
    )


def test_cpython_fixed_on_its_branch_is_not_affected() -> None:
    fixed = Package("python", "3.11.9", "binary", "pkg:generic/python@3.11.9", cpes=CPYTHON.cpes)
    result = match(inventory(ALPINE_320, fixed), MemoryIndex(CPE_ROWS))
    # 3.11.9 is past CVE-2099-1001's 3.11 fix and past 1006's range; 1002 (< 3.13.0) still holds it
    assert summary(result) == {("python", "CVE-2099-1002", None, "open")}


# ---------------------------------------------------------------------------------------------- result


def test_findings_are_sorted_by_severity_then_package_then_id() -> None:
    scores = {
        "CVE-2024-9143": CvssScore(
            "3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", 4.3, "MEDIUM", "nvd@nist.gov"
        ),
        "CVE-2024-13176": CvssScore(
            "3.1", "CVSS:3.1/AV:L/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 4.1, "MEDIUM", "nvd@nist.gov"
        ),
        "CVE-2025-26519": CvssScore(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1, "HIGH", "nvd@nist.gov"
        ),
    }
    vulns = [Vulnerability(i, cvss=(s,)) for i, s in scores.items()]
    result = match(inventory(ALPINE_320, *ALPINE_3203_PACKAGES), MemoryIndex(SECDB_320, vulns))
    order = [(f.severity, f.package.name, f.id) for f in result.findings]
    assert order == [
        ("HIGH", "musl", "CVE-2025-26519"),
        ("HIGH", "musl-utils", "CVE-2025-26519"),
        ("MEDIUM", "libcrypto3", "CVE-2024-13176"),
        ("MEDIUM", "libcrypto3", "CVE-2024-9143"),
        ("MEDIUM", "libssl3", "CVE-2024-13176"),
        ("MEDIUM", "libssl3", "CVE-2024-9143"),
        ("UNKNOWN", "busybox", "CVE-2024-58251"),
        ("UNKNOWN", "busybox", "CVE-2025-46394"),
        ("UNKNOWN", "busybox-binsh", "CVE-2024-58251"),
        ("UNKNOWN", "busybox-binsh", "CVE-2025-46394"),
        ("UNKNOWN", "ssl_client", "CVE-2024-58251"),
        ("UNKNOWN", "ssl_client", "CVE-2025-46394"),
    ]
    assert only(result, "musl", "CVE-2025-26519").severity_source == "nvd:cvss3.1"


def test_finding_carries_purl_and_layer() -> None:
    pkg = Package(
        "libssl3",
        "3.3.2-r0",
        "apk",
        "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64",
        layer="sha256:abc",
        origin="openssl",
    )
    finding = only(match(inventory(ALPINE_320, pkg), MemoryIndex(SECDB_320)), "libssl3", "CVE-2024-9143")
    assert (finding.purl, finding.layer) == ("pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64", "sha256:abc")


def test_index_errors_propagate() -> None:
    class Broken(MemoryIndex):
        def affected(self, namespace: str, package: str) -> list[Affected]:
            raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError, match="locked"):
        match(inventory(ALPINE_320, apk("libssl3", "3.3.2-r0", "openssl")), Broken())


def test_matching_500_packages_is_cheap() -> None:
    """500 packages x 10 advisories each: one index query per advisory package, parsed versions cached.

    Asserts the work done (queries), not wall time; the time is printed for the record (bench/ measures).
    """
    rows = [
        secfix("3.20", f"pkg{i}", f"CVE-2099-{i * 10 + j}", f"1.{j}.0-r{i % 5}")
        for i in range(250)
        for j in range(10)
    ]
    packages = [apk(f"pkg{i}-libs", f"1.{i % 10}.0-r0", f"pkg{i}") for i in range(250)]
    packages += [apk(f"pkg{i}-doc", f"1.{i % 10}.0-r0", f"pkg{i}") for i in range(250)]
    index = MemoryIndex(rows)
    started = time.perf_counter()
    result = match(inventory(ALPINE_320, *packages), index)
    elapsed = time.perf_counter() - started
    assert index.queries == 250  # one per origin, not per binary package
    # pkg i at 1.(i%10).0-r0 is below 1.j.0-r(i%5) for j > i%10, and for j == i%10 when i%5 > 0
    expected = sum(2 * (9 - i % 10 + (1 if i % 5 else 0)) for i in range(250))
    assert len(result.findings) == expected
    print(f"matched 500 packages in {elapsed * 1000:.1f} ms")


# ---------------------------------------------------------------------------------------------- CNA ranges


def cpython(version: str) -> Package:
    return Package(
        "python",
        version,
        "binary",
        f"pkg:generic/python@{version}",
        cpes=(f"cpe:2.3:a:python:python:{version}:*:*:*:*:*:*:*",),
    )


def cna(vuln_id: str, *ranges: VersionRange, versions: tuple[str, ...] = ()) -> Affected:
    fixed = any(r.end and not r.end_inclusive for r in ranges)
    return Affected(
        vuln_id, "nvd", "cna", "python:python", "fixed" if fixed else "open", ranges=ranges, versions=versions
    )


# the PSF's ranges of CVE-2026-15310 (record in the corpus NVD feed): one lessThan per branch
PSF_15310 = cna(
    "CVE-2026-15310",
    VersionRange(None, end="3.10.22"),
    VersionRange("3.11.0", end="3.11.17"),
    VersionRange("3.12.0", end="3.12.15"),
    VersionRange("3.13.0", end="3.13.16"),
    VersionRange("3.14.0", end="3.14.8"),
    VersionRange("3.15.0a1", end="3.15.0rc2"),
)


def test_cna_range_of_the_installed_branch_gives_its_fix() -> None:
    result = match(inventory(ALPINE_320, cpython("3.11.2")), MemoryIndex([PSF_15310]))
    finding = only(result, "python", "CVE-2026-15310")
    assert (finding.fixed_version, finding.status, finding.rule) == ("3.11.17", "fixed", "cna")
    assert finding.notes == ("CNA range >=3.11.0,<3.11.17",)


def test_a_patched_release_that_the_cna_marks_fixed_reports_nothing() -> None:
    # 3.11.17 is the 3.11 fix of CVE-2026-15310; a literal reading of a wide NVD range (here < 3.13.16, the
    # kind of range grype reads literally) must not bring it back while the CNA has spoken
    nvd_wide = cpe("CVE-2026-15310", VersionRange(None, end="3.13.16"))
    for version in ("3.11.17", "3.11.20", "3.12.15", "3.14.8"):
        result = match(inventory(ALPINE_320, cpython(version)), MemoryIndex([PSF_15310, nvd_wide]))
        assert result.findings == (), version
    # without the CNA block the same NVD range is all there is: affected, no fix known for the branch
    result = match(inventory(ALPINE_320, cpython("3.11.17")), MemoryIndex([nvd_wide]))
    assert only(result, "python", "CVE-2026-15310").rule == "nvd-cpe:cross-branch"


def test_cna_range_ending_on_another_branch_is_open_for_the_installed_one() -> None:
    # CVE-2026-0864: 0 <= v < 3.13.15, 3.14.0 <= v < 3.14.7 (no 3.11 range: the 3.11 branch has no fix)
    rows = [cna("CVE-2026-0864", VersionRange(None, end="3.13.15"), VersionRange("3.14.0", end="3.14.7"))]
    result = match(inventory(ALPINE_320, cpython("3.11.2")), MemoryIndex(rows))
    finding = only(result, "python", "CVE-2026-0864")
    assert (finding.fixed_version, finding.status, finding.rule) == (None, "open", "cna")
    assert finding.notes == (
        "CNA range <3.13.15: fixed in 3.13.15 on the 3.13 branch; no fix known for the 3.11 branch",
    )
    assert only(match(inventory(ALPINE_320, cpython("3.13.2")), MemoryIndex(rows)), "python", "CVE-2026-0864")
    assert match(inventory(ALPINE_320, cpython("3.14.7")), MemoryIndex(rows)).findings == ()


def test_cna_ranges_win_over_nvd_cpe_ranges_both_ways() -> None:
    # CVE-2026-7210: NVD says < 3.13.14 (3.11.16 read literally: affected); the PSF says 3.11.0 <= v < 3.11.16
    nvd = cpe("CVE-2026-7210", VersionRange(None, end="3.13.14"), VersionRange("3.14.0", end="3.14.6"))
    psf = cna("CVE-2026-7210", VersionRange(None, end="3.10.22"), VersionRange("3.11.0", end="3.11.16"))
    result = match(inventory(ALPINE_320, cpython("3.11.2")), MemoryIndex([nvd, psf]))
    assert (only(result, "python", "CVE-2026-7210").fixed_version, result.findings[0].rule) == (
        "3.11.16",
        "cna",
    )
    assert match(inventory(ALPINE_320, cpython("3.11.16")), MemoryIndex([nvd, psf])).findings == ()


def test_an_exact_version_listed_by_the_cna() -> None:
    rows = [cna("CVE-2099-2001", versions=("3.11.2",))]
    assert only(match(inventory(ALPINE_320, cpython("3.11.2")), MemoryIndex(rows)), "python", "CVE-2099-2001")
    assert match(inventory(ALPINE_320, cpython("3.11.3")), MemoryIndex(rows)).findings == ()


def test_a_two_part_inclusive_bound_names_the_whole_branch() -> None:
    # CVE-2023-27043: cpe:2.3:a:python:python, versionStartIncluding 3.0, versionEndIncluding 3.11
    rows = [
        cpe(
            "CVE-2023-27043",
            VersionRange(None, end="2.7.18", end_inclusive=True),
            VersionRange("3.0", end="3.11", end_inclusive=True),
        )
    ]
    for version in ("3.11.0", "3.11.2", "3.11.14"):
        finding = only(
            match(inventory(ALPINE_320, cpython(version)), MemoryIndex(rows)), "python", "CVE-2023-27043"
        )
        assert (finding.fixed_version, finding.status, finding.rule) == (None, "open", "nvd-cpe:branch")
        assert finding.notes == ("NVD range >=3.0,<=3.11: 3.11 names the whole 3.11 branch",)
    assert match(inventory(ALPINE_320, cpython("3.12.0")), MemoryIndex(rows)).findings == ()
    # a three-part inclusive end is read literally
    literal = [cpe("CVE-2099-2002", VersionRange("3.11.0", end="3.11.4", end_inclusive=True))]
    assert match(inventory(ALPINE_320, cpython("3.11.5")), MemoryIndex(literal)).findings == ()


def test_pre_release_cpes_never_match_a_final_release() -> None:
    # CVE-2022-45061: exact CPEs 3.11.0:alpha1..rc2 and 3.11.0:- (the update field joined: 3.11.0rc2)
    rows = [cpe("CVE-2022-45061", versions=("3.11.0alpha1", "3.11.0beta5", "3.11.0rc2"))]
    assert match(inventory(ALPINE_320, cpython("3.11.0")), MemoryIndex(rows)).findings == ()
    assert match(inventory(ALPINE_320, cpython("3.11.2")), MemoryIndex(rows)).findings == ()
    assert only(
        match(inventory(ALPINE_320, cpython("3.11.0rc2")), MemoryIndex(rows)), "python", "CVE-2022-45061"
    )


def test_a_rejected_record_never_matches_cna_or_cpe() -> None:
    rows = [PSF_15310, cpe("CVE-2026-15310", VersionRange(None, end="3.13.16"))]
    vulns = [Vulnerability("CVE-2026-15310", withdrawn="2026-10-01")]
    assert match(inventory(ALPINE_320, cpython("3.11.2")), MemoryIndex(rows, vulns)).findings == ()


def test_a_database_with_cna_ranges_but_no_cpe_rows_still_matches_cpython() -> None:
    # most 2026 CPython records are "Awaiting Analysis": CNA ranges, no CPE configuration
    result = match(inventory(ALPINE_320, cpython("3.11.2")), ListingIndex([PSF_15310]))
    assert only(result, "python", "CVE-2026-15310").fixed_version == "3.11.17"
    assert not any("CPE" in w for w in result.warnings)


def test_cna_ranges_never_replace_a_distro_verdict() -> None:
    """OpenSSL's own ranges (CVE-2026-28387: 3.3.0 <= v < 3.3.7) name a product the image has as apk packages:
    the secdb verdict on Alpine's openssl stays the only one (the CNA rows apply to binaries without a package
    database, never to an OS package)."""
    openssl = Affected(
        "CVE-2026-28387",
        "nvd",
        "cna",
        "openssl:openssl",
        "fixed",
        ranges=(VersionRange("3.3.0", end="3.3.7"),),
    )
    packages = (apk("libssl3", "3.3.7-r0", "openssl"), apk("libcrypto3", "3.3.2-r0", "openssl"))
    secdb = [secfix("3.20", "openssl", "CVE-2026-28387", "3.3.7-r0")]
    result = match(inventory(ALPINE_320, *packages), MemoryIndex([*secdb, openssl]))
    assert summary(result) == {("libcrypto3", "CVE-2026-28387", "3.3.7-r0", "fixed")}
    assert {(f.source, f.namespace, f.rule) for f in result.findings} == {("alpine", "alpine:3.20", None)}
