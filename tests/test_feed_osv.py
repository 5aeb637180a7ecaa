"""OSV PyPI export: fetched from the loopback feed server, members read from the zip one at a time.

Expected values are read by hand from the corpus records (PYSEC-2021-66, PYSEC-2022-42969, PYSEC-2022-15,
PYSEC-2020-341 in ``feeds/.../PyPI/all.zip``; ``raw/severity/ghsa/GHSA-j8r2-6x86-q33q.json``) and CVSS
scores from ``raw/severity/nvd-cvss-subset.csv`` (NVD's and the CNAs' own base scores).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.feeds.osv.records import OsvSource, cvss_score, ranges_from_events
from alpinist.advisories.model import Affected, CvssScore, VersionRange, Vulnerability
from alpinist.errors import FeedError
from tests.feed_server import FeedServer, feed_server_fixture, fetch_and_parse_source  # noqa: F401 - registers the fixture

RAW = Path(__file__).resolve().parents[1].parent / "shared/corpus/advisories/raw"
ZIP_PATH = "osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
WITHDRAWN = {  # the 10 records of the snapshot with "withdrawn" set
    "PYSEC-2019-144", "PYSEC-2020-221", "PYSEC-2021-125", "PYSEC-2021-13", "PYSEC-2022-15",
    "PYSEC-2022-43055", "PYSEC-2022-43059", "PYSEC-2023-101", "PYSEC-2023-141", "PYSEC-2023-73",
}  # fmt: skip


def fetch_and_parse(
    server: FeedServer, workdir: Path
) -> tuple[OsvSource, list[Affected], list[Vulnerability]]:
    source = OsvSource()
    affected, vulns = fetch_and_parse_source(source, server, workdir)
    return source, affected, vulns


def zip_of(records: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(name="parsed")
def parsed_fixture(
    feed_server: FeedServer, tmp_path: Path
) -> tuple[OsvSource, list[Affected], list[Vulnerability]]:
    return fetch_and_parse(feed_server, tmp_path)


def test_the_pypi_export_is_fetched_and_parsed(
    feed_server: FeedServer, parsed: tuple[OsvSource, list[Affected], list[Vulnerability]]
) -> None:
    source, affected, vulns = parsed
    assert [r.path for r in feed_server.requests] == [f"/{ZIP_PATH}"]
    assert source.stats.records == 2661  # README: 2,661 OSV records
    assert source.stats.skipped["withdrawn"] == 10
    ids = {v.id for v in vulns}
    assert len(vulns) == len(ids) == 2651
    assert not ids & WITHDRAWN
    assert not {r.vuln_id for r in affected} & WITHDRAWN
    assert {r.namespace for r in affected} == {"pypi"} and {r.source for r in affected} == {"osv"}


def test_jinja2_record(parsed: tuple[OsvSource, list[Affected], list[Vulnerability]]) -> None:
    _, affected, vulns = parsed
    (row,) = [r for r in affected if r.vuln_id == "PYSEC-2021-66"]
    assert row.package == "jinja2" and row.status == "fixed" and row.fixed_version == "2.11.3"
    assert row.ranges == (VersionRange(start=None, start_inclusive=True, end="2.11.3", end_inclusive=False),)
    assert len(row.versions) == 37 and row.versions[0] == "2.0rc1" and row.versions[-1] == "2.11.2"
    assert row.severity is None
    (vuln,) = [v for v in vulns if v.id == "PYSEC-2021-66"]
    assert vuln.aliases == ("CVE-2020-28493", "SNYK-PYTHON-JINJA2-1012994", "GHSA-g3rq-g295-4j3m")
    assert vuln.modified == "2021-03-22T16:34:00Z" and vuln.published == "2021-02-01T20:15:00Z"
    assert vuln.summary is not None and vuln.summary.startswith("This affects the package jinja2")
    assert "https://github.com/advisories/GHSA-g3rq-g295-4j3m" in vuln.references
    assert vuln.cvss == ()


def test_aliases_link_pysec_to_ghsa_and_cve(
    parsed: tuple[OsvSource, list[Affected], list[Vulnerability]],
) -> None:
    _, affected, vulns = parsed
    by_id = {v.id: v for v in vulns}
    assert by_id["PYSEC-2023-74"].aliases == ("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")
    assert by_id["PYSEC-2023-135"].aliases == ("CVE-2023-37920", "GHSA-xqr8-7jwr-rhp7")
    (certifi,) = [r for r in affected if r.vuln_id == "PYSEC-2023-135"]
    assert certifi.ranges == (VersionRange(start="2015.4.28", end="2023.7.22"),)


def test_last_affected_is_an_inclusive_end(
    parsed: tuple[OsvSource, list[Affected], list[Vulnerability]],
) -> None:
    _, affected, _ = parsed
    (row,) = [r for r in affected if r.vuln_id == "PYSEC-2022-42969"]
    assert row.package == "py"
    assert row.ranges == (VersionRange(start=None, end="1.11.0", end_inclusive=True),)
    assert row.status == "open" and row.fixed_version is None  # no fix event: nothing to upgrade to


def test_names_are_pep503_normalized(parsed: tuple[OsvSource, list[Affected], list[Vulnerability]]) -> None:
    _, affected, _ = parsed
    (row,) = [r for r in affected if r.vuln_id == "PYSEC-2020-341"]
    assert row.package == "jw-util"  # the record says "jw.util"


def test_cvss_vectors_are_scored(parsed: tuple[OsvSource, list[Affected], list[Vulnerability]]) -> None:
    _, _, vulns = parsed
    (vuln,) = [v for v in vulns if v.id == "PYSEC-2023-246"]
    # CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N is the vector GitHub gave CVE-2023-37920 in the CSV: 7.5 HIGH
    assert vuln.cvss == (
        CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 7.5, "HIGH", "osv:PYSEC", True),
    )
    # raw/severity/README.md: 202 of the 2,661 records carry a CVSS_V3 vector; 3 of those are withdrawn
    assert sum(1 for v in vulns if v.cvss) == 199


def test_every_csv_vector_scores_as_nvd_says() -> None:
    rows = [
        r
        for r in csv.DictReader((RAW / "severity/nvd-cvss-subset.csv").open(encoding="utf-8"))
        if r["vector"]
    ]
    assert len(rows) > 90
    kinds = {"2.0": "CVSS_V2", "3.0": "CVSS_V3", "3.1": "CVSS_V3", "4.0": "CVSS_V4"}
    for row in rows:
        score = cvss_score(kinds[row["cvss_version"]], row["vector"], "test")
        assert score.version == row["cvss_version"], row
        if row["base_score"]:
            assert score.base_score == float(row["base_score"]), row
            assert score.severity == row["base_severity"], row


def test_ghsa_record_severity_and_v3_score(feed_server: FeedServer, tmp_path: Path) -> None:
    ghsa = (RAW / "severity/ghsa/GHSA-j8r2-6x86-q33q.json").read_bytes()
    feed_server.put(ZIP_PATH, zip_of({"GHSA-j8r2-6x86-q33q.json": ghsa}))
    _, affected, vulns = fetch_and_parse(feed_server, tmp_path)
    (row,) = affected
    assert (row.package, row.status, row.fixed_version) == ("requests", "fixed", "2.31.0")
    assert row.ranges == (VersionRange(start="2.3.0", end="2.31.0"),)
    assert (row.severity, row.severity_note) == ("MEDIUM", "ghsa")  # database_specific.severity MODERATE
    (vuln,) = vulns
    assert vuln.aliases == ("CVE-2023-32681",)
    assert vuln.summary == "Unintended leak of Proxy-Authorization header in requests"
    # hand-computed from the CVSS 3.1 formulas: scope changed, 1.08 x (3.99 + 1.62) rounded up = 6.1
    assert vuln.cvss == (
        CvssScore("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1, "MEDIUM", "osv:GHSA", True),
    )


# Hand-written OSV records for the event-order rules and ecosystem filtering.
def osv(vuln_id: str, affected: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps(
        {"id": vuln_id, "modified": "2024-01-01T00:00:00Z", "affected": affected, **extra}
    ).encode()


def test_events_ranges_and_other_ecosystems(feed_server: FeedServer, tmp_path: Path) -> None:
    records = {
        "A.json": osv(
            "PYSEC-TEST-1",
            [
                {
                    "package": {"ecosystem": "PyPI", "name": "Some_Package"},
                    "ranges": [
                        {"type": "GIT", "repo": "https://example.invalid/x", "events": [{"introduced": "abc123"}]},
                        # events out of order, two intervals, the last one open-ended
                        {"type": "ECOSYSTEM", "events": [{"fixed": "1.4"}, {"introduced": "2.0"}, {"introduced": "1.0"}]},
                    ],
                },
                {"package": {"ecosystem": "PyPI", "name": "some-package"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.1.0"}, {"fixed": "0.2.0"}]}]},
                {"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]},
            ],
        ),
        "B.json": osv("PYSEC-TEST-2", [{"package": {"ecosystem": "PyPI", "name": "only-git"}, "ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]}]),
        "docs/": b"",
    }  # fmt: skip
    feed_server.put(ZIP_PATH, zip_of(records))
    source, affected, vulns = fetch_and_parse(feed_server, tmp_path)
    (row,) = affected
    assert row.package == "some-package" and row.status == "fixed" and row.fixed_version == "0.2.0"
    assert row.ranges == (
        VersionRange(start="1.0", end="1.4"),
        VersionRange(start="2.0"),
        VersionRange(start="0.1.0", end="0.2.0"),
    )
    assert [v.id for v in vulns] == ["PYSEC-TEST-1", "PYSEC-TEST-2"]
    assert source.stats.skipped == {"affected entry without usable ranges or versions": 1}


def test_ranges_from_events_rules() -> None:
    assert ranges_from_events([{"introduced": "0"}], "PyPI") == ([VersionRange()], [])
    assert ranges_from_events([{"introduced": "1.0"}, {"last_affected": "1.2"}], "PyPI") == (
        [VersionRange(start="1.0", end="1.2", end_inclusive=True)],
        [],
    )
    # not PEP 440: the feed's order is kept
    assert ranges_from_events([{"introduced": "0"}, {"fixed": "not a version!"}], "PyPI") == (
        [VersionRange(end="not a version!")],
        ["not a version!"],
    )


def test_not_a_zip_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put(ZIP_PATH, b'{"this": "is JSON, not a zip"}')
    with pytest.raises(FeedError, match=r"osv-PyPI\.zip: not a zip archive"):
        fetch_and_parse(feed_server, tmp_path)


def test_truncated_zip_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.truncate(f"/{ZIP_PATH}", keep=200_000)
    with pytest.raises(FeedError, match="not a zip archive"):
        fetch_and_parse(feed_server, tmp_path)


def test_member_that_is_not_json_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put(ZIP_PATH, zip_of({"PYSEC-X.json": b"<html>oops</html>"}))
    with pytest.raises(FeedError, match=r"osv-PyPI.zip:PYSEC-X.json: not valid JSON"):
        fetch_and_parse(feed_server, tmp_path)


def test_zip_bomb_member_is_refused(feed_server: FeedServer, tmp_path: Path) -> None:
    bomb = zip_of({"BOMB.json": b"[" + b" " * (17 * 1024 * 1024) + b"]"})
    assert len(bomb) < 100_000
    feed_server.put(ZIP_PATH, bomb)
    with pytest.raises(FeedError, match=r"BOMB.json: \d+ bytes, more than the limit of 16777216"):
        fetch_and_parse(feed_server, tmp_path)


def test_too_many_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "all.zip"
    path.write_bytes(zip_of({f"R{i}.json": osv(f"R{i}", []) for i in range(6)}))
    source = OsvSource()
    source.max_members = 5
    with pytest.raises(FeedError, match="6 members, more than the limit of 5"):
        list(source.parse([path]))


def test_record_without_id_is_a_feed_error(tmp_path: Path) -> None:
    path = tmp_path / "all.zip"
    path.write_bytes(zip_of({"X.json": b'{"affected": []}'}))
    with pytest.raises(FeedError, match="not an OSV record"):
        list(OsvSource().parse([path]))


def test_unsupported_ecosystem_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="unsupported OSV ecosystem npm"):
        OsvSource(ecosystems=("PyPI", "npm"))
