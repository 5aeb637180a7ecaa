"""NVD API 2.0: paged from the loopback feed server, rate-limited on a fake clock, parsed.

The corpus NVD file holds 169 CVEs: 72 derived rows with CVSS only, whose expectations are the rows of
``raw/severity/nvd-cvss-subset.csv`` (transcribed from NVD records), and 97 complete real records, each also
kept as ``raw/nvd/<id>.json`` (listed in ``raw/nvd/SOURCES.tsv``): their expectations are read from those
files. CPE configurations are also checked on a small hand-written fixture.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.feeds.nvd.api import (
    NvdSource,
    RateLimiter,
    cpe_affected,
    nvd_timestamp,
    split_cpe,
    windows,
)
from alpinist.advisories.model import Affected, CvssScore, VersionRange, Vulnerability
from alpinist.errors import FeedError
from tests.feed_server import NVD_PATH, FeedServer, feed_server_fixture  # noqa: F401 - registers the fixture

CSV_PATH = (
    Path(__file__).resolve().parents[1].parent / "shared/corpus/advisories/raw/severity/nvd-cvss-subset.csv"
)
NVD_FILE = "services.nvd.nist.gov/rest/json/cves/2.0/all.json"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RAW_DIR = CSV_PATH.parents[1] / "nvd"


class FakeClock:
    """Monotonic time that only moves when someone sleeps: rate limits cost no wall time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class TimedFetcher(Fetcher):
    """The real Fetcher, noting the fake clock's time of every request."""

    def __init__(self, clock: FakeClock, **kwargs: Any) -> None:
        super().__init__(sleep=clock.sleep, **kwargs)
        self.clock = clock
        self.times: list[float] = []

    def get_to_file(self, *args: Any, **kwargs: Any) -> Path:
        self.times.append(self.clock.now)
        return super().get_to_file(*args, **kwargs)


def run(
    server: FeedServer,
    workdir: Path,
    *,
    since: str | None = None,
    page_size: int = 2000,
    api_key: str | None = None,
) -> tuple[NvdSource, TimedFetcher, list[Path], list[Affected], list[Vulnerability]]:
    clock = FakeClock()
    source = NvdSource(api_key=api_key, page_size=page_size, clock=clock, now=lambda: NOW)
    with TimedFetcher(clock, mirror=server.url) as fetcher:
        files = source.fetch(fetcher, workdir, since)
    affected: list[Affected] = []
    vulns: list[Vulnerability] = []
    for batch in source.parse(files):
        affected.extend(batch.affected)
        vulns.extend(batch.vulnerabilities)
    return source, fetcher, files, affected, vulns


def csv_rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def raw_records() -> dict[str, Any]:
    """The 97 complete records, by id, from raw/nvd/ (SOURCES.tsv lists them)."""
    lines = (RAW_DIR / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]
    ids = [line.split("\t")[0] for line in lines if line]
    return {i: json.loads((RAW_DIR / f"{i}.json").read_text(encoding="utf-8")) for i in ids}


def all_ids() -> set[str]:
    return {r["cve_id"] for r in csv_rows()} | set(raw_records())


def test_paging_makes_several_requests(feed_server: FeedServer, tmp_path: Path) -> None:
    source, _, files, affected, vulns = run(feed_server, tmp_path, page_size=20)
    requests = feed_server.requests_to(NVD_PATH)
    assert [(r.param("startIndex"), r.param("resultsPerPage")) for r in requests] == [
        ("0", "20"),
        ("20", "20"),
        ("40", "20"),
        ("60", "20"),
        ("80", "20"),
        ("100", "20"),
        ("120", "20"),
        ("140", "20"),
        ("160", "20"),
    ]
    assert all(r.param("lastModStartDate") is None for r in requests)  # a full download
    assert len(files) == 9
    assert len(vulns) == len({v.id for v in vulns}) == 169  # README: 72 derived rows + 97 records
    assert {v.id for v in vulns} == all_ids()
    assert source.stats.records == 169
    # rows come only from records with CPE configurations or a CNA block (the derived rows have neither)
    records = raw_records()
    with_ranges = {i for i, r in records.items() if r.get("configurations") or r.get("affected")}
    assert {a.vuln_id for a in affected} <= with_ranges
    assert {a.namespace for a in affected} == {"cpe", "cna"}


def test_cvss_rows_match_the_csv(feed_server: FeedServer, tmp_path: Path) -> None:
    *_, vulns = run(feed_server, tmp_path)
    by_id = {v.id: v for v in vulns}
    expected: dict[str, set[CvssScore]] = {}
    for row in csv_rows():
        scores = expected.setdefault(row["cve_id"], set())
        # one row is GitHub's vector for CVE-2023-32681 (an OSV record, not NVD's): NVD's record has none
        if row["vector"] and row["repo"] == "aquasecurity/vuln-list-nvd":
            scores.add(
                CvssScore(
                    version=row["cvss_version"],
                    vector=row["vector"],
                    base_score=float(row["base_score"]),
                    severity=row["base_severity"],  # type: ignore[arg-type]
                    source=row["source"],
                    primary=row["source"] == "nvd@nist.gov",  # severity/README.md: nvd@nist.gov = Primary
                )
            )
    # the complete records: every cvssMetricV2/V30/V31/V40 entry, read from the raw files
    keys = ("cvssMetricV2", "cvssMetricV30", "cvssMetricV31", "cvssMetricV40")
    for cve_id, record in raw_records().items():
        scores = expected.setdefault(cve_id, set())
        for key in keys:
            for metric in record.get("metrics", {}).get(key, ()):
                data = metric["cvssData"]
                scores.add(
                    CvssScore(
                        version=data["version"],
                        vector=data["vectorString"],
                        base_score=float(data["baseScore"]),
                        severity=(data.get("baseSeverity") or metric["baseSeverity"]),
                        source=metric["source"],
                        primary=metric["type"] == "Primary",
                    )
                )
    assert {cve: set(v.cvss) for cve, v in by_id.items()} == expected


def test_specific_cvss_cases(feed_server: FeedServer, tmp_path: Path) -> None:
    *_, vulns = run(feed_server, tmp_path)
    by_id = {v.id: v for v in vulns}
    # v2 only, severity beside cvssData: 10.0 HIGH (v2 has no CRITICAL)
    assert by_id["CVE-2005-2541"].cvss == (
        CvssScore("2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "HIGH", "nvd@nist.gov", True),
    )
    # v4.0 only, from a CNA
    (v4,) = by_id["CVE-2025-7458"].cvss
    assert (v4.version, v4.base_score, v4.severity, v4.source, v4.primary) == (
        "4.0",
        6.9,
        "MEDIUM",
        "cve-coordination@google.com",
        False,
    )
    # v3.0 and v2 from NVD
    assert {(s.version, s.base_score, s.severity) for s in by_id["CVE-2016-2781"].cvss} == {
        ("3.0", 6.5, "MEDIUM"),
        ("2.0", 2.1, "LOW"),
    }
    # "metrics": {} (Awaiting Analysis): no score at all
    assert by_id["CVE-2024-22365"].cvss == () and by_id["CVE-2024-2379"].cvss == ()
    assert by_id["CVE-2024-22365"].modified == "2024-02-06T13:53:38.513"


def test_public_rate_limit_is_five_requests_per_30_seconds(feed_server: FeedServer, tmp_path: Path) -> None:
    _, fetcher, files, _, vulns = run(feed_server, tmp_path, page_size=5)
    assert len(files) == 34 and len(vulns) == 169  # 169 CVEs by 5
    assert fetcher.clock.sleeps == [30.0] * 6  # 34 requests: 5 in each 30 s
    times = fetcher.times
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 30.0) <= 5
    assert "apikey" not in feed_server.requests[0].headers


def test_api_key_raises_the_limit_and_rides_in_a_header(feed_server: FeedServer, tmp_path: Path) -> None:
    _, fetcher, files, _, _ = run(feed_server, tmp_path, page_size=5, api_key="secret-key")
    assert len(files) == 34
    assert fetcher.clock.sleeps == []
    for request in feed_server.requests_to(NVD_PATH):
        assert request.headers["apikey"] == "secret-key"
        assert "secret-key" not in json.dumps(request.query)


def test_rate_limit_answers_are_retried(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.fail(403, times=1, path=NVD_PATH)
    feed_server.fail(503, times=1, path=NVD_PATH, headers={"Retry-After": "12"})
    _, fetcher, files, _, vulns = run(feed_server, tmp_path)
    assert len(files) == 1 and len(vulns) == 169
    assert fetcher.clock.sleeps == [1.0, 12.0]  # backoff, then the server's Retry-After
    assert len(feed_server.requests_to(NVD_PATH)) == 3


def test_incremental_update_by_last_modified_windows(feed_server: FeedServer, tmp_path: Path) -> None:
    since = "2026-06-01T00:00:00+00:00"  # 178 days before NOW: two windows of at most 120 days
    *_, vulns = run(feed_server, tmp_path, since=since)
    requests = feed_server.requests_to(NVD_PATH)
    spans = [(r.param("lastModStartDate"), r.param("lastModEndDate")) for r in requests]
    assert spans == [
        ("2026-06-01T00:00:00.000+00:00", "2026-09-29T00:00:00.000+00:00"),
        ("2026-09-29T00:00:00.000+00:00", "2026-11-26T12:00:00.000+00:00"),
    ]
    expected = {r["cve_id"] for r in csv_rows() if r["nvd_last_modified"] >= "2026-06-01"}
    expected |= {i for i, r in raw_records().items() if r["lastModified"] >= "2026-06-01"}
    assert {v.id for v in vulns} == expected
    assert len(expected) == 46  # 13 derived rows, 33 records


def test_windows_split_long_spans() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    parts = windows(start, start + timedelta(days=250))
    assert [(b - a).days for a, b in parts] == [120, 120, 10]
    assert parts[0][0] == start and parts[-1][1] == start + timedelta(days=250)
    assert nvd_timestamp(datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)) == "2024-01-02T03:04:05.678+00:00"


def test_rate_limiter_sliding_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 4
    limiter.acquire()
    limiter.acquire()  # the first call leaves the window at +10: wait 6 s
    assert clock.sleeps == [6.0]
    clock.now += 10
    limiter.acquire()
    assert clock.sleeps == [6.0]


def test_bad_since_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="not an ISO-8601 time: 'yesterday'"):
        run(feed_server, tmp_path, since="yesterday")


def test_truncated_page_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.truncate(NVD_PATH, keep=3000)
    with pytest.raises(FeedError) as info:
        run(feed_server, tmp_path)
    assert str(info.value).startswith(  # the page's URL, not the downloaded file (issue 12, item 7)
        "feed https://services.nvd.nist.gov/rest/json/cves/2.0?startIndex=0&resultsPerPage=2000: "
        "not valid JSON (truncated or corrupt?)"
    )


def test_non_json_page_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.garbage(NVD_PATH)
    with pytest.raises(FeedError, match="not valid JSON"):
        run(feed_server, tmp_path)


def test_api_refusal_shows_nvds_message(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.fail(404, path=NVD_PATH, headers={"message": "Invalid apiKey"})
    with pytest.raises(FeedError) as info:
        run(feed_server, tmp_path, api_key="wrong")
    assert "HTTP 404" in str(info.value) and "Invalid apiKey" in str(info.value)
    assert "wrong" not in str(info.value)


# Hand-written, following the documented NVD API 2.0 shape (https://nvd.nist.gov/developers/vulnerabilities):
# configurations[].nodes[] with operator/negate/cpeMatch[{vulnerable, criteria, versionStart*/versionEnd*,
# matchCriteriaId}]. The ranges mimic how NVD lists CPython fixes per release branch.
CPE_FIXTURE = {
    "resultsPerPage": 2,
    "startIndex": 0,
    "totalResults": 2,
    "format": "NVD_CVE",
    "version": "2.0",
    "timestamp": "2026-11-26T00:00:00.000",
    "vulnerabilities": [
        {
            "cve": {
                "id": "CVE-2099-1001",
                "published": "2099-01-01T00:00:00.000",
                "lastModified": "2099-02-01T00:00:00.000",
                "vulnStatus": "Analyzed",
                "descriptions": [{"lang": "es", "value": "Una falla"}, {"lang": "en", "value": "A flaw in CPython."}],
                "references": [{"url": "https://example.invalid/advisory", "source": "x"}],
                "metrics": {},
                "configurations": [
                    {
                        "operator": "AND",
                        "nodes": [
                            {
                                "operator": "OR",
                                "negate": False,
                                "cpeMatch": [
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:python:python:*:*:*:*:*:*:*:*", "versionEndExcluding": "3.8.18", "matchCriteriaId": "A"},
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:python:python:*:*:*:*:*:*:*:*", "versionStartIncluding": "3.11.0", "versionEndExcluding": "3.11.5", "matchCriteriaId": "B"},
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:python:python:*:*:*:*:*:*:*:*", "versionStartIncluding": "3.9.0", "versionEndExcluding": "3.9.18", "matchCriteriaId": "C"},
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:python:python:3.12.0:alpha1:*:*:*:*:*:*", "matchCriteriaId": "D"},
                                    {"vulnerable": True, "criteria": "cpe:2.3:o:debian:debian_linux:11.0:*:*:*:*:*:*:*", "matchCriteriaId": "E"},
                                ],
                            },
                            {
                                "operator": "OR",
                                "negate": False,
                                "cpeMatch": [
                                    {"vulnerable": False, "criteria": "cpe:2.3:a:some:platform:*:*:*:*:*:*:*:*", "matchCriteriaId": "F"},
                                ],
                            },
                        ],
                    },
                    {
                        "nodes": [
                            {
                                "operator": "OR",
                                "negate": False,
                                "cpeMatch": [
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:example\\:corp:tool\\:kit:*:*:*:*:*:*:*:*", "versionStartExcluding": "1.0", "versionEndIncluding": "1.4", "matchCriteriaId": "G"},
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:example:nover:-:*:*:*:*:*:*:*", "matchCriteriaId": "H"},
                                    {"vulnerable": True, "criteria": "cpe:2.3:a:example:every:*:*:*:*:*:*:*:*", "matchCriteriaId": "I"},
                                ],
                            }
                        ]
                    },
                ],
            }
        },
        {
            "cve": {
                "id": "CVE-2099-1002",
                "lastModified": "2099-03-01T00:00:00.000",
                "vulnStatus": "Rejected",
                "descriptions": [{"lang": "en", "value": "Rejected reason: not a vulnerability."}],
                "metrics": {},
            }
        },
    ],
}  # fmt: skip


def test_cpe_configurations(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put(NVD_FILE, json.dumps(CPE_FIXTURE))
    _, _, _, affected, vulns = run(feed_server, tmp_path)
    by_product = {r.package: r for r in affected}
    assert set(by_product) == {"python:python", "example:corp:tool:kit", "example:every"}
    python = by_product["python:python"]
    assert (python.vuln_id, python.source, python.namespace, python.status) == (
        "CVE-2099-1001",
        "nvd",
        "cpe",
        "fixed",
    )
    assert python.ranges == (
        VersionRange(start=None, end="3.8.18"),
        VersionRange(start="3.11.0", end="3.11.5"),
        VersionRange(start="3.9.0", end="3.9.18"),
    )
    assert python.versions == ("3.12.0alpha1",)
    assert python.fixed_version == "3.8.18"  # the lowest end, for display; matching uses each branch's range
    kit = by_product["example:corp:tool:kit"]
    assert kit.ranges == (VersionRange(start="1.0", start_inclusive=False, end="1.4", end_inclusive=True),)
    assert kit.status == "open" and kit.fixed_version is None  # no exclusive end: no known fixed version
    assert by_product["example:every"].ranges == (VersionRange(),)

    by_id = {v.id: v for v in vulns}
    first = by_id["CVE-2099-1001"]
    assert first.summary == "A flaw in CPython." and first.published == "2099-01-01T00:00:00.000"
    assert first.references == ("https://example.invalid/advisory",) and first.withdrawn is None
    assert by_id["CVE-2099-1002"].withdrawn == "2099-03-01T00:00:00.000"


def _running_on(platforms: list[str]) -> list[dict[str, Any]]:
    """A "running on/with" configuration as NVD writes one: CPython vulnerable AND one of ``platforms``
    (not vulnerable themselves)."""
    python = {
        "vulnerable": True,
        "criteria": "cpe:2.3:a:python:python:*:*:*:*:*:*:*:*",
        "versionEndExcluding": "3.12.4",
        "matchCriteriaId": "P",
    }
    return [
        {
            "operator": "AND",
            "nodes": [
                {"operator": "OR", "negate": False, "cpeMatch": [python]},
                {
                    "operator": "OR",
                    "negate": False,
                    "cpeMatch": [
                        {"vulnerable": False, "criteria": cpe, "matchCriteriaId": f"O{i}"}
                        for i, cpe in enumerate(platforms)
                    ],
                },
            ],
        }
    ]


def test_a_cpe_that_is_only_vulnerable_on_windows_or_macos_does_not_apply_to_an_image() -> None:
    # NVD's "running on" form (CVE-2018-25032 lists CPython only running on Windows): images are Linux, so
    # such a configuration gives no row (anchore/vulnerability-match-labels#156 labels that match a false
    # positive)
    windows_only = _running_on(["cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"])
    assert cpe_affected("CVE-2099-2001", windows_only) == []
    apple = _running_on(["cpe:2.3:o:apple:macos:-:*:*:*:*:*:*:*", "cpe:2.3:o:apple:mac_os_x:*:*:*:*:*:*:*:*"])
    assert cpe_affected("CVE-2099-2002", apple) == []
    # a Linux platform (or one that is not an operating system) still applies
    for platform in (
        "cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*",
        "cpe:2.3:o:debian:debian_linux:12.0:*:*:*:*:*:*:*",
        "cpe:2.3:a:some:platform:*:*:*:*:*:*:*:*",
    ):
        rows = cpe_affected(
            "CVE-2099-2003", _running_on(["cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*", platform])
        )
        assert [(r.package, r.ranges) for r in rows] == [("python:python", (VersionRange(end="3.12.4"),))]


def test_split_cpe_honours_escapes() -> None:
    assert split_cpe("cpe:2.3:a:example\\:corp:tool:1.0:*:*:*:*:*:*:*")[3:6] == [
        "example\\:corp",
        "tool",
        "1.0",
    ]


def test_a_cursor_ahead_of_the_clock_asks_for_an_empty_window(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    *_, vulns = run(feed_server, tmp_path, since="2027-01-01T00:00:00+00:00")
    (request,) = feed_server.requests_to(NVD_PATH)
    assert (
        request.param("lastModStartDate")
        == request.param("lastModEndDate")
        == "2026-11-26T12:00:00.000+00:00"
    )
    assert vulns == []


def test_real_records_give_cna_and_cpe_rows(feed_server: FeedServer, tmp_path: Path) -> None:
    *_, affected, _ = run(feed_server, tmp_path)
    rows = {(a.vuln_id, a.namespace, a.package): a for a in affected}
    # CVE-2026-15310: Awaiting Analysis, no configuration; the PSF's ranges, one per branch
    assert ("CVE-2026-15310", "cpe", "python:python") not in rows
    psf = rows[("CVE-2026-15310", "cna", "python:python")]
    assert VersionRange("3.11.0", end="3.11.17") in psf.ranges and psf.source == "nvd"
    # CVE-2023-27043: NVD's configuration only, 3.0 <= v <= 3.11
    nvd = rows[("CVE-2023-27043", "cpe", "python:python")]
    assert VersionRange("3.0", end="3.11", end_inclusive=True) in nvd.ranges
    assert ("CVE-2023-27043", "cna", "python:python") not in rows
    # CVE-2026-7210 has both; CVE-2026-28387 has OpenSSL's own ranges
    assert ("CVE-2026-7210", "cna", "python:python") in rows and (
        "CVE-2026-7210",
        "cpe",
        "python:python",
    ) in rows
    assert ("CVE-2026-28387", "cna", "openssl:openssl") in rows
    # CVE-2022-45061: pre-release CPEs keep their update field (3.11.0rc2), the final 3.11.0 its own
    versions = rows[("CVE-2022-45061", "cpe", "python:python")].versions
    assert "3.11.0" in versions and "3.11.0rc2" in versions and "3.11.0alpha1" in versions
