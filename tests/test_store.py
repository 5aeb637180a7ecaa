"""The advisory store: what goes in comes out, queries by package and by id, status, refusal of bad files.

The database is built by the real update code from the hand-copied corpus records of ``store_records``;
expected values are those records (and counts made by hand from them), never the store's own output.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alpinist.advisories.model import AdvisoryIndex, CvssScore, VersionRange
from alpinist.advisories.store import SCHEMA_VERSION, Store, StoreWriter, default_db_path
from alpinist.advisories.update import update
from alpinist.errors import DatabaseError
from tests import store_records as rec


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "advisories.db"
    update(path, rec.sources(2), None)
    return path


@pytest.fixture
def store(db_file: Path) -> Store:
    s = Store.open(db_file)
    yield s  # type: ignore[misc]
    s.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_affected_returns_the_rows_of_one_package(store: Store) -> None:
    # zlib in secdb v3.20: two ids under "0", one fixed in 1.2.11-r4, one in 1.2.12-r2
    rows = store.affected("alpine:3.20", "zlib")
    assert [(a.vuln_id, a.status, a.fixed_version) for a in rows] == [
        ("CVE-2023-45853", "not-affected", None),
        ("CVE-2023-6992", "not-affected", None),
        ("CVE-2018-25032", "fixed", "1.2.11-r4"),
        ("CVE-2022-37434", "fixed", "1.2.12-r2"),
    ]
    assert all(a.source == "alpine" and a.namespace == "alpine:3.20" and a.package == "zlib" for a in rows)
    assert store.affected("alpine:3.20", "busybox") == []
    # the namespace is part of the key: zlib exists in debian:bookworm, not in alpine:3.18
    assert store.affected("alpine:3.18", "zlib") == []
    assert [a.vuln_id for a in store.affected("debian:bookworm", "zlib")] == [
        "CVE-2022-37434",
        "CVE-2023-45853",
    ]


def test_every_field_of_an_affected_row_round_trips(store: Store) -> None:
    (jinja_2021,) = [a for a in store.affected("pypi", "jinja2") if a.vuln_id == "PYSEC-2021-66"]
    assert jinja_2021 == rec.OSV_V1_AFFECTED[0]
    assert jinja_2021.ranges == (
        VersionRange(start="0", start_inclusive=True, end="2.11.3", end_inclusive=False),
    )
    assert len(jinja_2021.versions) == 37 and jinja_2021.versions[0] == "2.0rc1"
    postponed = [a for a in store.affected("debian:bookworm", "openssl") if a.status == "postponed"]
    assert postponed == rec.DEBIAN_V2_EXTRA
    assert postponed[0].severity_note == "Minor issue, fix along with next update round"


def test_affected_many_answers_for_every_package_asked(store: Store) -> None:
    result = store.affected_many("alpine:3.20", ["openssl", "zlib", "busybox", "zlib"])
    assert list(result) == ["openssl", "zlib", "busybox"]
    # openssl v2: CVE-2023-4807 (0), CVE-2023-5363, CVE-2024-5535, CVE-2024-6119
    assert sorted(a.vuln_id for a in result["openssl"]) == [
        "CVE-2023-4807",
        "CVE-2023-5363",
        "CVE-2024-5535",
        "CVE-2024-6119",
    ]
    assert result["zlib"] == store.affected("alpine:3.20", "zlib")
    assert result["busybox"] == []


def test_affected_many_with_more_names_than_one_statement_takes(store: Store) -> None:
    names = [f"pkg{i}" for i in range(2500)] + ["zlib"] + [f"other{i}" for i in range(10)]
    result = store.affected_many("alpine:3.20", names)
    assert len(result) == 2511
    assert len(result["zlib"]) == 4
    assert sum(len(v) for v in result.values()) == 4


def test_vulnerability_merges_what_each_feed_says(store: Store) -> None:
    # CVE-2022-37434: Debian gives the description, NVD the modification time and the CVSS score
    vuln = store.vulnerability("CVE-2022-37434")
    assert vuln is not None
    assert vuln.summary == "zlib through 1.2.12 has a heap-based buffer over-read or buffer overfl ..."
    assert vuln.modified == "2023-07-19T00:56:46.373"
    assert vuln.cvss == (
        CvssScore(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "nvd@nist.gov", True
        ),
    )
    assert vuln.aliases == ()


def test_vulnerability_keeps_every_cvss_score_and_who_gave_it(store: Store) -> None:
    vuln = store.vulnerability("CVE-2020-28493")
    assert vuln is not None
    assert set(vuln.cvss) == set(rec.CVE_2020_28493.cvss)
    assert {(c.source, c.primary) for c in vuln.cvss if c.version == "3.1"} == {
        ("nvd@nist.gov", True),
        ("report@snyk.io", False),
    }


def test_vulnerability_aliases_and_aliases_of_both_directions(store: Store) -> None:
    vuln = store.vulnerability("PYSEC-2021-66")
    assert vuln is not None
    assert vuln.aliases == ("CVE-2020-28493", "SNYK-PYTHON-JINJA2-1012994", "GHSA-g3rq-g295-4j3m")
    assert vuln.summary is not None and vuln.summary.startswith("This affects the package jinja2 from 0.0.0")
    assert vuln.published == "2021-02-01T20:15:00Z"
    assert vuln.references[1] == "https://github.com/pallets/jinja/pull/1343"
    assert vuln.withdrawn is None
    assert store.aliases_of("PYSEC-2021-66") == [
        "CVE-2020-28493",
        "GHSA-g3rq-g295-4j3m",
        "SNYK-PYTHON-JINJA2-1012994",
    ]
    # and backwards: the CVE is an alias in the OSV record
    assert store.aliases_of("CVE-2020-28493") == ["PYSEC-2021-66"]
    assert store.aliases_of("GHSA-8r7q-cvjq-x353") == ["PYSEC-2014-8"]
    assert store.aliases_of("CVE-1999-0001") == []


def test_vulnerability_of_an_id_no_feed_describes(store: Store) -> None:
    # Alpine's secdb names ids without describing them; nothing else has CVE-2018-25032 here
    assert store.vulnerability("CVE-2018-25032") is None
    assert store.vulnerability("CVE-1999-0001") is None


def test_status_counts_distinct_ids_per_source(store: Store) -> None:
    now = datetime.now(UTC) + timedelta(hours=2)
    rows = {s.name: s for s in store.status(now=now)}
    # by hand from store_records version 2:
    #   alpine: zlib 4 ids + openssl 4 ids (4807, 5363, 5535, 6119) = 8
    #   debian: CVE-2022-37434, CVE-2023-45853, CVE-2023-5363, CVE-2024-4603 = 4
    #   osv: PYSEC-2021-66, PYSEC-2014-8 = 2;  nvd: CVE-2020-28493, CVE-2022-37434, CVE-2024-3094 = 3
    assert {n: s.records for n, s in rows.items()} == {"alpine": 8, "debian": 4, "osv": 2, "nvd": 3}
    for s in rows.values():
        assert s.updated_at.tzinfo is not None
        assert timedelta(hours=2) <= s.age < timedelta(hours=3)
    assert rows["alpine"].feed_urls == ("https://feeds.invalid/alpine.json",)
    # only the incremental feed (nvd) keeps a cursor
    assert rows["nvd"].last_modified_cursor is not None and rows["alpine"].last_modified_cursor is None
    assert store.meta()["schema_version"] == str(SCHEMA_VERSION)


def test_store_is_an_advisory_index(store: Store) -> None:
    index: AdvisoryIndex = store  # mypy checks the protocol; this checks the behaviour through it
    assert len(index.affected("pypi", "jinja2")) == 2
    assert index.vulnerability("PYSEC-2014-8") == rec.PYSEC_2014_8


def test_package_queries_use_the_index(store: Store) -> None:
    plan = store._conn.execute(
        "EXPLAIN QUERY PLAN SELECT vuln_id FROM affected WHERE namespace = ? AND package IN (?, ?)",
        ("alpine:3.20", "zlib", "openssl"),
    ).fetchall()
    assert "USING INDEX affected_by_package" in " ".join(str(row[-1]) for row in plan)


def test_reading_never_modifies_the_file(db_file: Path) -> None:
    before = sha256(db_file)
    with Store.open(db_file) as s:
        s.affected_many("alpine:3.20", ["zlib", "openssl"])
        s.vulnerability("CVE-2022-37434")
        s.status()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            s._conn.execute("DELETE FROM affected")
    assert sha256(db_file) == before


def test_open_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"does not exist; run `alpinist db update`"):
        Store.open(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()  # read-only open creates nothing


def test_open_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "advisories.db"
    path.write_text('{"this": "is JSON, not SQLite"}\n' * 100, encoding="utf-8")
    with pytest.raises(DatabaseError) as info:
        Store.open(path)
    assert str(info.value) == f"{path}: file is not a database (not an SQLite file, or damaged)"


def test_open_an_sqlite_file_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(DatabaseError, match="not an alpinist advisory database"):
        Store.open(path)
    empty = tmp_path / "empty.db"
    empty.touch()  # a zero-byte file is a valid, empty SQLite database
    with pytest.raises(DatabaseError, match=r"not an alpinist advisory database \(no meta table\)"):
        Store.open(empty)


def test_open_a_database_of_another_schema_version(tmp_path: Path, db_file: Path) -> None:
    path = tmp_path / "future.db"
    path.write_bytes(db_file.read_bytes())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(DatabaseError) as info:
        Store.open(path)
    assert f"database schema version 99, this alpinist reads version {SCHEMA_VERSION}" in str(info.value)


def test_open_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="not a regular file"):
        Store.open(tmp_path)


def test_writer_refuses_a_record_of_another_source(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "w.db")
    writer.begin_source("debian", incremental=False)
    with pytest.raises(DatabaseError, match="feed 'debian' produced a record of source 'alpine'"):
        writer.add([rec.ALPINE_V1[0]], [])
    writer.close()


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALPINIST_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("ALPINIST_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "alpinist" / "advisories.db"


def test_namespaces_lists_every_namespace_once(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from alpinist.advisories.model import Affected
    from alpinist.advisories.store import Store, StoreWriter

    db = tmp_path / "ns.db"
    writer = StoreWriter(db)
    by_source = {
        "alpine": [
            Affected("CVE-2024-1", "alpine", "alpine:3.20", "openssl", "fixed", fixed_version="3.3.2-r0"),
            Affected("CVE-2024-1", "alpine", "alpine:3.18", "openssl", "fixed", fixed_version="3.1.7-r0"),
        ],
        "debian": [
            Affected("CVE-2024-2", "debian", "debian:bookworm", "glibc", "open"),
            Affected("CVE-2024-3", "debian", "debian:bookworm", "curl", "open"),
        ],
        "osv": [Affected("GHSA-x", "osv", "pypi", "jinja2", "open")],
    }
    for name, rows in by_source.items():
        writer.begin_source(name, False)
        writer.add(rows, [])
        writer.finish_source([], None, datetime.now(UTC))
    writer.close()
    with Store.open(db) as store:
        assert store.namespaces() == ["alpine:3.18", "alpine:3.20", "debian:bookworm", "pypi"]
