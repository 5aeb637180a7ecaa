"""``alpinist db update|status|export|import`` through the real entry point (exit codes, messages).

The end-to-end test runs the real download and parse code of all four feeds against the corpus feeds served
on 127.0.0.1 (``tests/feed_server.py``) through ``--mirror``; the loopback guard of conftest fails it if any
code tries another host.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import click
import pytest

from alpinist.advisories.store import Store
from alpinist.advisories.update import update
from alpinist.cli.db import db
from alpinist.scan.scanning import format_duration
from tests import store_records as rec
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (the fixture)

SECDB = "/secdb.alpinelinux.org"
TRACKER = "/security-tracker.debian.org/tracker/data/json"
OSV_ZIP = "/osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
NVD_API = "/services.nvd.nist.gov/rest/json/cves/2.0"

# Counted by hand from ../shared/corpus/advisories/feeds, independently of alpinist's parsers:
#   alpine: every id string in every secfixes list of secdb.alpinelinux.org/v{3.18,3.19,3.20,3.22,3.23}/
#           {main,community}.json (community files are empty; no string holds two ids): 1,123 (package, id)
#           rows, 419 distinct ids:
#           jq -r '.packages[].pkg.secfixes[][]' v*/main.json | wc -l ; ... | sort -u | wc -l
#   debian: the tracker JSON has 34 source packages and 97 (package, id) entries, each with one release
#           (bookworm), over 91 distinct ids:  jq -r 'to_entries[].value | keys[]' json | sort -u | wc -l
#   osv:    2,661 records in PyPI/all.zip, 10 of them withdrawn (skipped): 2,651 ids
#   nvd:    169 CVEs in all.json (72 derived CVSS rows + 97 real records); 88 affected rows: 64 (CVE, CPE
#           vendor:product) pairs of vulnerable application CPEs with a version in the configurations, and
#           24 (CVE, product) pairs of CNA blocks naming a product of cna.PRODUCTS: CPython (16 records),
#           OpenSSL (6), musl (2: "musl"/"libc" in CVE-2026-6042, "musl-libc"/"musl" in CVE-2026-40200)
EXPECTED_RECORDS = {"alpine": 419, "debian": 91, "osv": 2651, "nvd": 169}
EXPECTED_ALPINE_ROWS = 1123
EXPECTED_DEBIAN_ROWS = 97
EXPECTED_NVD_ROWS = {"cpe": 64, "cna": 24}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``alpinist ARGS`` through ``alpinist.cli.app.main``: (exit code, stdout, stderr)."""
    from alpinist.cli.app import app, main

    if "db" not in app.commands:  # until cli.py registers the group itself
        app.add_command(db)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as stopped:
            main(list(args))
        out = capsys.readouterr()
        code = stopped.value.code
        return (code if isinstance(code, int) else 1), out.out, out.err

    return run


@pytest.fixture
def fake_db(tmp_path: Path) -> Path:
    path = tmp_path / "advisories.db"
    update(path, rec.sources(2), None)
    return path


def test_source_choices_are_the_feeds_update_runs() -> None:
    """``db update --source`` offers exactly the feeds a full update runs, in update order."""
    from alpinist.advisories.sources import all_sources

    update_command = db.commands["update"]
    (source,) = (p for p in update_command.params if p.name == "only")
    assert isinstance(source.type, click.Choice)
    sources = all_sources()
    assert tuple(source.type.choices) == tuple(sources)
    assert [feed.name for feed in sources.values()] == list(sources)


def test_update_all_feeds_from_a_mirror(cli, feed_server: FeedServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db_path = tmp_path / "data" / "advisories.db"
    code, out, err = cli("db", "update", "--db", str(db_path), "--mirror", feed_server.url)
    assert code == 0, err
    for name, count in EXPECTED_RECORDS.items():
        assert re.search(rf"^{name}: {count:,} records \(full", out, re.M), out
    assert f"updated {db_path}" in out

    with Store.open(db_path) as store:
        assert {s.name: s.records for s in store.status()} == EXPECTED_RECORDS
        conn = store._conn
        assert (
            conn.execute("SELECT COUNT(*) FROM affected WHERE source = 'alpine'").fetchone()[0]
            == EXPECTED_ALPINE_ROWS
        )
        assert (
            conn.execute("SELECT COUNT(*) FROM affected WHERE source = 'debian'").fetchone()[0]
            == EXPECTED_DEBIAN_ROWS
        )
        nvd_rows = conn.execute(
            "SELECT namespace, COUNT(*) FROM affected WHERE source = 'nvd' GROUP BY namespace"
        ).fetchall()
        assert dict(nvd_rows) == EXPECTED_NVD_ROWS
        # spot checks against the files: secdb v3.20 zlib "1.2.12-r2": ["CVE-2022-37434"]
        zlib = {a.vuln_id: a for a in store.affected("alpine:3.20", "zlib")}
        assert (zlib["CVE-2022-37434"].status, zlib["CVE-2022-37434"].fixed_version) == ("fixed", "1.2.12-r2")
        # tracker: zlib CVE-2023-45853 bookworm open, nodsa_reason ignored
        assert [
            a.status for a in store.affected("debian:bookworm", "zlib") if a.vuln_id == "CVE-2023-45853"
        ] == ["ignored"]
        # NVD CVE-2022-37434: one v3.1 score, 9.8 by nvd@nist.gov
        vuln = store.vulnerability("CVE-2022-37434")
        assert vuln is not None and [(c.version, c.base_score, c.source) for c in vuln.cvss] == [
            ("3.1", 9.8, "nvd@nist.gov")
        ]
        assert "PYSEC-2021-66" in store.aliases_of("CVE-2020-28493")
        urls = {s.name: s.feed_urls for s in store.status()}
    assert "https://security-tracker.debian.org/tracker/data/json" in urls["debian"]

    # every feed was read from the mirror, and only from it
    assert feed_server.requests_to(f"{SECDB}/v3.20/main.json")
    assert len(feed_server.requests_to(TRACKER)) == 1
    assert len(feed_server.requests_to(OSV_ZIP)) == 1
    first_nvd = feed_server.requests_to(NVD_API)
    assert first_nvd and all(r.param("lastModStartDate") is None for r in first_nvd)

    # a second update of NVD alone is incremental: it asks for what changed since the first one
    code, out, err = cli("db", "update", "--db", str(db_path), "--mirror", feed_server.url, "--source", "nvd")
    assert code == 0, err
    assert "nvd: 169 records (incremental" in out
    later = feed_server.requests_to(NVD_API)[len(first_nvd) :]
    assert later and all(r.param("lastModStartDate") for r in later)
    assert len(feed_server.requests_to(TRACKER)) == 1  # the others were not fetched again
    with Store.open(db_path) as store:
        assert {s.name: s.records for s in store.status()} == EXPECTED_RECORDS
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["advisories.db", "advisories.db.lock"]


def test_a_truncated_feed_leaves_the_database(
    cli, feed_server: FeedServer, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    db_path = tmp_path / "advisories.db"
    monkeypatch.setenv("ALPINIST_DB", str(db_path))
    monkeypatch.setenv("ALPINIST_MIRROR", feed_server.url)
    code, _, err = cli("db", "update", "--source", "debian", "--source", "alpine", "--alpine-branch", "3.20")
    assert code == 0, err
    before = sha256(db_path)
    feed_server.truncate(TRACKER, 5000)
    code, _, err = cli("db", "update", "--source", "debian")
    assert code == 1
    assert err.startswith(
        "alpinist: error: feed debian https://security-tracker.debian.org/tracker/data/json: "
    )
    assert "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1
    assert sha256(db_path) == before
    with Store.open(db_path) as store:
        # v3.20/main.json alone: 358 id strings, all distinct (jq -r '.packages[].pkg.secfixes[][]' | sort -u)
        assert {s.name: s.records for s in store.status()} == {"alpine": 358, "debian": 91}


def test_status_table(cli, fake_db: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("db", "status", "--db", str(fake_db))
    assert code == 0, err
    cells = [
        [c.strip() for c in re.split("[│┃]", line)[1:-1]]
        for line in out.splitlines()
        if re.match("[│┃]", line)
    ]
    rows = {row[0]: row for row in cells}
    assert set(rows) == {"source", "alpine", "debian", "osv", "nvd"}
    assert rows["source"] == ["source", "records", "last update (UTC)", "age"]
    # counted by hand in test_store: 8, 4, 2 and 3 ids
    assert [rows[n][1] for n in ("alpine", "debian", "osv", "nvd")] == ["8", "4", "2", "3"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows["alpine"][2])
    assert re.fullmatch(r"\d+ s", rows["alpine"][3])
    assert "schema version 1" in out
    assert "never updated" not in out


def test_status_json(cli, fake_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    code, out, err = cli("db", "status", "--db", str(fake_db), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["database"] == str(fake_db) and doc["schema_version"] == "1"
    # counted by hand in test_store: 8, 4, 2 and 3 ids
    assert {s["name"]: s["records"] for s in doc["sources"]} == {"alpine": 8, "debian": 4, "osv": 2, "nvd": 3}
    assert all(s["age_seconds"] >= 0 and "T" in s["updated_at"] for s in doc["sources"])
    assert doc["never_updated"] == []
    partial = tmp_path / "partial.db"
    update(partial, rec.sources(1), None, only=["osv"])
    code, out, _ = cli("db", "status", "--db", str(partial), "-f", "json")
    assert json.loads(out)["never_updated"] == ["alpine", "debian", "nvd"]


def test_status_names_feeds_never_updated(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "partial.db"
    update(path, rec.sources(1), None, only=["osv"])
    code, out, _ = cli("db", "status", "--db", str(path))
    assert code == 0
    assert "never updated: alpine, debian, nvd" in out


def test_status_of_a_missing_database(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("db", "status", "--db", str(tmp_path / "none.db"))
    assert code == 1 and out == ""
    assert (
        err
        == f"alpinist: error: {tmp_path / 'none.db'}: advisory database does not exist; run `alpinist db update` first\n"
    )


def test_export_and_import(cli, fake_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exported = tmp_path / "transfer.db"
    code, out, err = cli("db", "export", "--db", str(fake_db), str(exported))
    assert code == 0, err
    digest = sha256(exported)
    assert out == f"exported {exported} (sha256 {digest}; checksum in {exported}.sha256)\n"
    target = tmp_path / "airgapped" / "advisories.db"
    code, out, err = cli("db", "import", "--db", str(target), str(exported))
    assert code == 0, err
    assert out.splitlines()[0] == f"imported {exported} into {target} (sha256 {digest}, checksum verified)"
    assert sorted(line.split(":")[0] for line in out.splitlines()[1:]) == ["alpine", "debian", "nvd", "osv"]
    assert sha256(target) == digest


def test_import_of_a_file_that_is_not_sqlite(cli, fake_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "all.zip"
    bogus.write_bytes(b"PK\x03\x04 this is a zip header, not SQLite" * 20)
    before = sha256(fake_db)
    code, out, err = cli("db", "import", "--db", str(fake_db), str(bogus))
    assert code == 1 and out == ""
    assert err == f"alpinist: error: {bogus}: file is not a database (not an SQLite file, or damaged)\n"
    assert sha256(fake_db) == before


def test_unknown_source_is_a_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("db", "update", "--db", str(tmp_path / "x.db"), "--source", "redhat")
    assert code == 64
    assert "'redhat' is not one of 'alpine', 'debian', 'osv', 'nvd'" in err
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (7200, "2 h"), (200000, "2 d"), (-5, "0 s")],
)
def test_status_ages_read_in_the_largest_whole_unit(seconds: int, text: str) -> None:
    """``db status`` prints ages with the scan stage's ``format_duration`` (as its staleness warnings do)."""
    from datetime import timedelta

    assert format_duration(timedelta(seconds=seconds)) == text
