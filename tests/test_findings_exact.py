"""The exact findings of three corpus images against a database built from the corpus feeds.

The expectations are ``tests/expected_findings/<tag>.tsv``, written by hand from the advisory records (the secdb,
tracker, OSV and NVD files under ../shared/corpus/advisories, with INDEX.csv for the bookworm verdicts); each
file's header says how, and ``# note:`` lines explain every decision that needed one. Nothing here is computed
by alpinist's matching, version or severity code: the test only reads the TSV files and compares.

The database is built once per module by the real update code (all four sources) from a real HTTP server on
127.0.0.1 serving the corpus feeds in their mirror layout (``tests/feed_server.py``); any attempt to reach
another host fails the build. The inventories come from the real OCI layout (``build_inventory``).

Comparison: the multiset of ``(id, package, type, installed, fixed, status, severity)`` over all findings, so a
finding reported twice (the dpkg-owned pip next to the venv's) is a difference too.

When the code and a record disagree, the expectation is not changed to fit the code: the case gets its own
``xfail(strict=True)`` test (with the record, the package, what is expected and what is reported) and its rows
are set aside in ``test_findings_exact``. At the time of writing there is no such case: all 289 rows agree.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.sources import all_sources
from alpinist.advisories.store import Store
from alpinist.advisories.update import update
from alpinist.inventory.build import build_inventory
from alpinist.scan.matching import match
from alpinist.scan.model import Finding, MatchResult
from tests.conftest import _is_loopback, oci_ref
from tests.feed_server import FeedServer

EXPECTED_DIR = Path(__file__).parent / "expected_findings"
TAGS = ("python-app:debian", "python-app:alpine", "alpine:3.20.3")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
COLUMNS = ("id", "package", "type", "installed", "fixed", "status", "severity")

Row = tuple[str, str, str, str, str, str, str]


def expected_path(tag: str) -> Path:
    return EXPECTED_DIR / f"{tag.replace(':', '_')}.tsv"


def read_expected(tag: str) -> list[Row]:
    """The rows of a hand-written expectation file (``#`` lines are comments; the first other line is the header)."""
    lines = [ln for ln in expected_path(tag).read_text(encoding="utf-8").splitlines() if ln and ln[0] != "#"]
    assert tuple(lines[0].split("\t")) == COLUMNS, f"{expected_path(tag)}: header {lines[0]!r}"
    rows: list[Row] = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        assert len(cells) == len(COLUMNS), (
            f"{expected_path(tag)}: row {number} has {len(cells)} cells: {line!r}"
        )
        rows.append((cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]))
    return rows


def as_row(finding: Finding) -> Row:
    pkg = finding.package
    return (
        finding.id,
        pkg.name,
        pkg.type,
        finding.installed_version,
        finding.fixed_version or "",
        finding.status,
        finding.severity,
    )


def _diff(expected: Counter[Row], got: Counter[Row]) -> str:
    missing = sorted((expected - got).elements())
    extra = sorted((got - expected).elements())
    lines = [f"missing ({len(missing)}):", *("  " + "\t".join(r) for r in missing)]
    lines += [f"unexpected ({len(extra)}):", *("  " + "\t".join(r) for r in extra)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- fixtures


def _guard_loopback(mp: pytest.MonkeyPatch) -> None:
    """The conftest guard is per test; the module-scoped database build gets the same one."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise AssertionError(f"the database build tried to reach {address!r}: only loopback is allowed")
        real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "localhost") and not _is_loopback((host,)):
            raise AssertionError(f"the database build tried to resolve {host!r}: only loopback is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    mp.setattr(socket.socket, "connect", guarded_connect)
    mp.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database of all four corpus feeds, made by ``update`` through ``Fetcher(mirror=...)``."""
    db = tmp_path_factory.mktemp("findings-db") / "advisories.db"
    with pytest.MonkeyPatch.context() as mp:
        _guard_loopback(mp)
        server = FeedServer().start()
        try:
            with Fetcher(mirror=server.url, attempts=1) as fetcher:
                report = update(db, all_sources(), fetcher)
        finally:
            server.stop()
    assert [s.name for s in report.sources] == ["alpine", "debian", "osv", "nvd"]
    # every feed came from the mirror: the secdb branch of the images, the tracker, the OSV zip, NVD
    paths = {r.path for r in server.requests}
    assert "/secdb.alpinelinux.org/v3.20/main.json" in paths
    assert "/security-tracker.debian.org/tracker/data/json" in paths
    assert "/osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip" in paths
    assert "/services.nvd.nist.gov/rest/json/cves/2.0" in paths
    yield db


@pytest.fixture(scope="module")
def results(corpus_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, MatchResult]:
    from alpinist.images.open import PullOptions

    cache = tmp_path_factory.mktemp("findings-cache")
    out: dict[str, MatchResult] = {}
    with Store.open(corpus_db) as store:
        for tag in TAGS:
            inventory = build_inventory(oci_ref(tag), PullOptions(cache_dir=cache), use_cache=False)
            out[tag] = match(inventory, store)
    return out


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("tag", TAGS)
def test_expectation_files_are_well_formed(tag: str) -> None:
    rows = read_expected(tag)
    assert rows
    for row in rows:
        assert row[2] in ("apk", "deb", "python", "binary"), row
        assert row[5] in ("fixed", "open", "no-dsa", "ignored", "postponed", "unimportant", "end-of-life"), (
            row
        )
        assert row[6] in SEVERITIES, row
        assert (row[4] != "") == (row[5] == "fixed"), f"a fixed version goes with status fixed: {row}"
    assert len(set(rows)) == len(rows), "a row written twice"


@pytest.mark.parametrize("tag", TAGS)
def test_findings_exact(results: dict[str, MatchResult], tag: str) -> None:
    """Every finding and nothing else."""
    expected = Counter(read_expected(tag))
    got = Counter(as_row(f) for f in results[tag].findings)
    assert got == expected, f"{tag}:\n{_diff(expected, got)}"


def test_warnings(results: dict[str, MatchResult]) -> None:
    """Every branch and version of these images is known to the database, and the NVD file has CPE
    configurations and CNA ranges for the CPython of python-app:alpine: nothing is skipped."""
    assert results["python-app:debian"].warnings == ()
    assert results["alpine:3.20.3"].warnings == ()
    assert results["python-app:alpine"].warnings == ()


def test_alpine_images_share_their_apk_findings() -> None:
    """python-app:alpine adds only PyPI packages (none affected) and CPython (19 rows) to alpine:3.20.3."""
    rows = read_expected("python-app:alpine")
    assert Counter(r for r in rows if r[2] == "apk") == Counter(read_expected("alpine:3.20.3"))
    assert len([r for r in rows if r[2] == "binary"]) == 19 and len(rows) == 56 + 19


def test_cpython_rule_of_each_finding(results: dict[str, MatchResult]) -> None:
    """Which rule decided each CPython finding, and the range behind it (the TSV's notes say which record)."""
    cpython = {f.id: f for f in results["python-app:alpine"].findings if f.package.type == "binary"}
    rules = Counter(f.rule for f in cpython.values())
    assert rules == {"cna": 16, "nvd-cpe:branch": 1, "nvd-cpe:cross-branch": 2}
    assert cpython["CVE-2026-15310"].notes == ("CNA range >=3.11.0,<3.11.17",)
    assert cpython["CVE-2023-27043"].notes == ("NVD range >=3.0,<=3.11: 3.11 names the whole 3.11 branch",)
    assert cpython["CVE-2024-6232"].rule == "nvd-cpe:cross-branch"
    assert cpython["CVE-2026-7210"].rule == "cna"  # the CNA block decides although NVD has a configuration


# The headline of python-app:debian, counted from the TSV: 158 findings (84 distinct ids) in 61 packages.
HEADLINE: dict[str, Any] = {
    "vulnerabilities": 158,
    "packages": 61,
    "by_severity": {"CRITICAL": 6, "HIGH": 25, "MEDIUM": 44, "LOW": 11, "NEGLIGIBLE": 60, "UNKNOWN": 12},
}


def _headline(rows: list[Row]) -> dict[str, Any]:
    """``N vulnerabilities found in M packages``: N findings (package x id), M distinct affected packages."""
    by_severity = Counter(r[6] for r in rows)
    return {
        "vulnerabilities": len(rows),
        "packages": len({(r[1], r[2], r[3]) for r in rows}),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
    }


def test_headline_of_the_expectation() -> None:
    assert _headline(read_expected("python-app:debian")) == HEADLINE


def test_headline_python_app_debian(results: dict[str, MatchResult]) -> None:
    findings = results["python-app:debian"].findings
    packages = {(f.package.name, f.package.type, f.package.version, f.package.locations) for f in findings}
    by_severity = Counter(str(f.severity) for f in findings)
    assert {
        "vulnerabilities": len(findings),
        "packages": len(packages),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
    } == HEADLINE


def test_no_finding_for_dpkg_owned_or_whited_out_python(results: dict[str, MatchResult]) -> None:
    """pip 23.0.1 exists twice (venv, dpkg-owned): PYSEC-2023-228 applies to the venv copy only; the venv's
    setuptools is deleted by a whiteout and /usr/lib/python3/dist-packages belongs to Debian's feed."""
    python = [f for f in results["python-app:debian"].findings if f.package.type == "python"]
    assert [f.package.locations[0] for f in python if f.package.name == "pip"] == [
        "/opt/venv/lib/python3.11/site-packages/pip-23.0.1.dist-info"
    ]
    assert not [f for f in python if f.package.owner or f.package.name in ("setuptools", "wheel")]


# From the PyPA records (PyPI/all.zip): each matched PYSEC record and its aliases; the finding's id is the CVE.
PYSEC_ALIASES = {
    "CVE-2023-32681": {"PYSEC-2023-74", "GHSA-j8r2-6x86-q33q"},
    "CVE-2021-33503": {"PYSEC-2021-108", "GHSA-q2q7-5pp4-w6pg"},
    "CVE-2023-43804": {"PYSEC-2023-192", "GHSA-v845-jxx5-vc9f"},
    "CVE-2023-45803": {"PYSEC-2023-212", "GHSA-g4mx-q9vg-27p4"},
    "CVE-2020-28493": {"PYSEC-2021-66", "GHSA-g3rq-g295-4j3m", "SNYK-PYTHON-JINJA2-1012994"},
    "CVE-2022-23491": {"PYSEC-2022-42986", "GHSA-43fp-rhv2-5gv8"},
    "CVE-2023-37920": {"PYSEC-2023-135", "GHSA-xqr8-7jwr-rhp7"},
    "CVE-2024-3651": {"PYSEC-2024-60"},
    "CVE-2023-5752": {"PYSEC-2023-228"},
}


def test_python_findings_carry_the_record_ids_as_aliases(results: dict[str, MatchResult]) -> None:
    python = [f for f in results["python-app:debian"].findings if f.package.type == "python"]
    assert {f.id: set(f.aliases) for f in python} == PYSEC_ALIASES
