"""Alpine secdb and OSV inputs of the shapes the other feed tests do not cover (issue 13).

secdb files are modelled on ``feeds/secdb.alpinelinux.org/v3.20/main.json`` (``{"distroversion",
"reponame", "packages": [{"pkg": {"name", "secfixes"}}]}``), OSV records on the corpus' GitHub advisory
``raw/severity/ghsa/GHSA-j8r2-6x86-q33q.json``; both are served by the loopback feed server and fetched
through the real ``Fetcher``. Each test pins the rows, the skip counters, or the exact warning or error.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.feed import Source
from alpinist.advisories.feeds.alpine import secdb
from alpinist.advisories.feeds.alpine.secdb import AlpineSecdbSource
from alpinist.advisories.feeds.osv.records import OsvSource, ranges_from_events
from alpinist.advisories.model import Affected, CvssScore, VersionRange, Vulnerability
from alpinist.advisories.update import update
from alpinist.errors import FeedError
from tests.conftest import CORPUS
from tests.feed_server import FEEDS, FeedServer, feed_server_fixture  # noqa: F401 - registers the fixture
from tests.test_feed_osv import zip_of

SECDB_LOGGER = "alpinist.advisories.feeds.alpine.secdb"
OSV_LOGGER = "alpinist.advisories.feeds.osv.records"
COMMUNITY_320 = "secdb.alpinelinux.org/v3.20/community.json"
ZIP_PATH = "osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
GHSA = json.loads((CORPUS / "advisories/raw/severity/ghsa/GHSA-j8r2-6x86-q33q.json").read_bytes())
GHSA_VECTOR = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"


def fetch_and_parse(
    source: Source, server: FeedServer, workdir: Path
) -> tuple[list[Path], list[Affected], list[Vulnerability]]:
    """Fetch ``source``'s files from the loopback feed server and parse them all."""
    with Fetcher(mirror=server.url, sleep=lambda s: None) as fetcher:
        files = source.fetch(fetcher, workdir, None)
    affected: list[Affected] = []
    vulns: list[Vulnerability] = []
    for batch in source.parse(files):
        affected.extend(batch.affected)
        vulns.extend(batch.vulnerabilities)
    return files, affected, vulns


# -- Alpine secdb ----------------------------------------------------------------------------------------------


def secdb_file(*packages: tuple[str, dict[str, Any]]) -> str:
    return json.dumps(
        {
            "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
            "archs": ["aarch64", "x86_64"],
            "reponame": "community",
            "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
            "distroversion": "v3.20",
            "packages": [{"pkg": {"name": name, "secfixes": fixes}} for name, fixes in packages],
        }
    )


def test_secdb_entries_alpinist_cannot_read_are_skipped_and_conflicts_resolved(
    feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A secfixes key whose value is not a list, or an empty key, is skipped and counted; an id listed both
    as never affected (``0``) and fixed keeps the fix; of two keys apk-tools cannot order, the first
    listed counts, with a warning."""
    feed_server.put(
        COMMUNITY_320,
        secdb_file(
            (
                "py3-example",
                {
                    "1.0.1-r0": "CVE-2024-0001",  # a string, not a list
                    " ": ["CVE-2024-0002"],  # no version
                    "0": ["CVE-2024-0003"],
                    "1.0.2-r0": ["CVE-2024-0003"],
                    "1.0.3-r0": ["CVE-2024-0004"],
                    "1.0.3-rc1": ["CVE-2024-0004"],  # not apk-tools syntax (a release candidate is "_rc1")
                },
            ),
            ("py3-other", {"1.1-r0": ["CVE-2024-0005"], "0": ["CVE-2024-0005"]}),
        ),
    )
    source = AlpineSecdbSource(("3.20",), repositories=("community",))
    with caplog.at_level(logging.WARNING, logger=SECDB_LOGGER):
        _, rows, vulns = fetch_and_parse(source, feed_server, tmp_path)
    assert vulns == []
    assert {(r.package, r.vuln_id): (r.status, r.fixed_version) for r in rows} == {
        ("py3-example", "CVE-2024-0003"): ("fixed", "1.0.2-r0"),
        ("py3-example", "CVE-2024-0004"): ("fixed", "1.0.3-r0"),
        ("py3-other", "CVE-2024-0005"): ("fixed", "1.1-r0"),
    }
    assert source.stats.skipped == {"malformed secfixes entry": 2}
    assert [r.getMessage() for r in caplog.records if r.name == SECDB_LOGGER] == [
        "secdb: cannot compare versions '1.0.3-r0' and '1.0.3-rc1'; keeping '1.0.3-r0'"
    ]


def test_a_secdb_file_without_packages_gives_no_batch(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put(COMMUNITY_320, secdb_file())
    source = AlpineSecdbSource(("3.20",), repositories=("community",))
    with Fetcher(mirror=feed_server.url, sleep=lambda s: None) as fetcher:
        files = source.fetch(fetcher, tmp_path, None)
    assert list(source.parse(files)) == []
    assert source.stats.records == 0


def test_a_branch_the_server_refuses_fails_the_update_unlike_a_missing_one(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Only 404/410 mean "the mirror lacks this branch" and are skipped; a 403 is a broken mirror: the
    update fails with the URL and status, and no database is left."""
    feed_server.fail(403, path=f"/{COMMUNITY_320}")
    db = tmp_path / "advisories.db"
    with Fetcher(mirror=feed_server.url, sleep=lambda s: None) as fetcher, pytest.raises(FeedError) as info:
        update(db, {"alpine": AlpineSecdbSource(("3.20",))}, fetcher)
    assert str(info.value) == f"feed {feed_server.url}/{COMMUNITY_320}: HTTP 403 Forbidden"
    assert info.value.status == 403
    assert not db.exists()
    assert [r.path for r in feed_server.requests] == [
        "/secdb.alpinelinux.org/v3.20/main.json",
        f"/{COMMUNITY_320}",
    ]


def test_a_secdb_file_over_the_bound_or_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``db import`` and a re-parse read files already on disk: a directory in a file's place is named; a
    file over the size bound (1 MB here, against a bound lowered to 1,000 bytes) is refused unread."""
    directory = tmp_path / "alpine-v3.20-main.json"
    directory.mkdir()
    with pytest.raises(FeedError) as info:
        list(AlpineSecdbSource(("3.20",)).parse([directory]))
    assert str(info.value) == f"feed {directory}: cannot read: Is a directory"
    monkeypatch.setattr(secdb, "MAX_SECDB_BYTES", 1000)
    real = FEEDS / "secdb.alpinelinux.org" / "v3.20" / "main.json"
    size = real.stat().st_size
    with pytest.raises(FeedError) as info:
        list(AlpineSecdbSource(("3.20",)).parse([real]))
    assert str(info.value) == f"feed {real}: {size} bytes, more than the limit of 1000; refused"


# -- OSV -------------------------------------------------------------------------------------------------------


def ghsa(**changes: Any) -> bytes:
    return json.dumps({**GHSA, **changes}).encode()


def test_osv_severities_alpinist_cannot_score_are_skipped_with_a_warning(
    feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real GHSA record with its CVSS vector, plus a vector cut short and a severity type OSV allows
    but alpinist does not score (``Ubuntu``): those two are warned about and counted; entries without a
    score string are ignored silently."""
    severity = [
        {"type": "CVSS_V3", "score": GHSA_VECTOR},
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H"},
        {"type": "Ubuntu", "score": "medium"},
        {"type": "CVSS_V3"},
        "CVSS:3.1/AV:N",
    ]
    feed_server.put(ZIP_PATH, zip_of({"GHSA-j8r2-6x86-q33q.json": ghsa(severity=severity)}))
    source = OsvSource()
    with caplog.at_level(logging.WARNING, logger=OSV_LOGGER):
        _, affected, vulns = fetch_and_parse(source, feed_server, tmp_path)
    (vuln,) = vulns
    assert vuln.cvss == (CvssScore("3.1", GHSA_VECTOR, 6.1, "MEDIUM", "osv:GHSA", True),)
    messages = [r.getMessage() for r in caplog.records if r.name == OSV_LOGGER]
    assert len(messages) == 2
    assert messages[0].startswith("OSV GHSA-j8r2-6x86-q33q: bad CVSS_V3 vector 'CVSS:3.1/AV:N/AC:H': ")
    assert messages[0].endswith("; score ignored")
    assert messages[1] == "OSV GHSA-j8r2-6x86-q33q: unsupported severity type 'Ubuntu'; score ignored"
    assert source.stats.skipped == {"unscorable severity": 2}
    assert [r.package for r in affected] == ["requests"]


def test_osv_affected_entries_without_a_package_object_are_ignored(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    affected_entries = ["requests", {"package": "requests", "ranges": []}, *GHSA["affected"]]
    feed_server.put(ZIP_PATH, zip_of({"GHSA-j8r2-6x86-q33q.json": ghsa(affected=affected_entries)}))
    source = OsvSource()
    _, affected, _ = fetch_and_parse(source, feed_server, tmp_path)
    assert [(r.package, r.ranges) for r in affected] == [
        ("requests", (VersionRange(start="2.3.0", end="2.31.0"),))
    ]
    assert source.stats.skipped == {}


def test_an_archive_without_records_gives_no_batch(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put(ZIP_PATH, zip_of({"README.md": b"PyPI advisories\n", "PYSEC/": b""}))
    source = OsvSource()
    with Fetcher(mirror=feed_server.url, sleep=lambda s: None) as fetcher:
        files = source.fetch(fetcher, tmp_path, None)
    assert list(source.parse(files)) == []
    assert source.stats.records == 0


def test_an_archive_that_decompresses_beyond_the_total_bound_is_refused(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    record = ghsa()
    feed_server.put(ZIP_PATH, zip_of({"a.json": record, "b.json": record}))
    source = OsvSource()
    source.max_total_bytes = len(record) + 1  # the first record fits, the second does not
    with pytest.raises(FeedError) as info:
        fetch_and_parse(source, feed_server, tmp_path)
    path = tmp_path / "osv-PyPI.zip"
    assert str(info.value) == f"feed {path}: more than {len(record) + 1} bytes uncompressed; refused"


def patch_zip(
    data: bytes, central: Callable[[bytearray, int], None], local: Callable[[bytearray, int], None]
) -> bytes:
    """``data`` with its (only) member's central directory and local headers edited in place."""
    edited = bytearray(data)
    central(edited, edited.find(b"PK\x01\x02"))
    local(edited, edited.find(b"PK\x03\x04"))
    return bytes(edited)


def set_encrypted(offset: int) -> Callable[[bytearray, int], None]:
    def edit(data: bytearray, header: int) -> None:
        (flags,) = struct.unpack_from("<H", data, header + offset)
        struct.pack_into("<H", data, header + offset, flags | 0x1)

    return edit


def set_size(offset: int, size: int) -> Callable[[bytearray, int], None]:
    def edit(data: bytearray, header: int) -> None:
        struct.pack_into("<I", data, header + offset, size)

    return edit


def test_an_encrypted_member_is_named_and_refused(feed_server: FeedServer, tmp_path: Path) -> None:
    """One line naming the member and why (not zipfile's message, which embeds the ``ZipInfo`` repr)."""
    data = patch_zip(zip_of({"GHSA-j8r2-6x86-q33q.json": ghsa()}), set_encrypted(8), set_encrypted(6))
    feed_server.put(ZIP_PATH, data)
    with pytest.raises(FeedError) as info:
        fetch_and_parse(OsvSource(), feed_server, tmp_path)
    assert str(info.value) == (
        f"feed {tmp_path / 'osv-PyPI.zip'}:GHSA-j8r2-6x86-q33q.json: "
        "unreadable zip member: encrypted (a password is required)"
    )


def test_a_member_whose_header_understates_its_size_is_refused(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """A header claiming 100 bytes for a ~4 KB record: the bound check trusts the header, but the read stops
    at the claimed size and the CRC no longer matches, so the lie cannot slip more bytes through."""
    data = patch_zip(zip_of({"GHSA-j8r2-6x86-q33q.json": ghsa()}), set_size(24, 100), set_size(22, 100))
    feed_server.put(ZIP_PATH, data)
    source = OsvSource()
    source.max_member_bytes = 1000
    with pytest.raises(FeedError) as info:
        fetch_and_parse(source, feed_server, tmp_path)
    assert str(info.value) == (
        f"feed {tmp_path / 'osv-PyPI.zip'}:GHSA-j8r2-6x86-q33q.json: "
        "corrupt zip member: Bad CRC-32 for file 'GHSA-j8r2-6x86-q33q.json'"
    )


def test_an_archive_path_that_is_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "osv-PyPI.zip"
    directory.mkdir()
    with pytest.raises(FeedError) as info:
        list(OsvSource().parse([directory]))
    assert str(info.value) == f"feed {directory}: cannot read: Is a directory"


def test_events_of_an_ecosystem_without_a_version_order_keep_the_feeds_order() -> None:
    """Only PyPI's events are sorted (PEP 440); for any other ecosystem the feed's order is the order."""
    events = [{"introduced": "2.0.0"}, {"fixed": "2.1.0"}, {"introduced": "1.0.0"}, {"fixed": "1.2.0"}]
    assert ranges_from_events(events, "npm") == (
        [VersionRange(start="2.0.0", end="2.1.0"), VersionRange(start="1.0.0", end="1.2.0")],
        ["2.1.0", "1.2.0"],
    )
    assert ranges_from_events(events, "PyPI") == (
        [VersionRange(start="1.0.0", end="1.2.0"), VersionRange(start="2.0.0", end="2.1.0")],
        ["1.2.0", "2.1.0"],
    )
