"""The store's batch reads: ``vulnerabilities_many`` and ``aliases_many`` answer many ids in a few statements,
with the same records as the one-id reads.

The database is built by the real update code from the hand-copied corpus records of ``store_records``
(version 2); expected values are those records, never the store's own output.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpinist.advisories.model import Vulnerability
from alpinist.advisories.store import Store
from alpinist.advisories.update import update
from alpinist.scan.index_cache import CachingIndex
from tests import store_records as rec


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store-batch") / "advisories.db"
    update(path, rec.sources(2), None)
    return path


@pytest.fixture
def store(db_file: Path) -> Iterator[Store]:
    with Store.open(db_file) as s:
        yield s


class Statements:
    """The SQL statements a connection runs (parameters expanded), through ``set_trace_callback``."""

    def __init__(self, store: Store) -> None:
        self.sql: list[str] = []
        self._store = store

    def __enter__(self) -> Statements:
        self._store._conn.set_trace_callback(self.sql.append)
        return self

    def __exit__(self, *exc: object) -> None:
        self._store._conn.set_trace_callback(None)


# CVE-2022-37434 as the store merges it: Debian's description, NVD's modification time and score
CVE_2022_37434_MERGED = Vulnerability(
    "CVE-2022-37434",
    summary=rec.DEBIAN_VULNS[0].summary,
    modified=rec.CVE_2022_37434.modified,
    cvss=rec.CVE_2022_37434.cvss,
)


def test_vulnerabilities_many_returns_each_described_id_merged(store: Store) -> None:
    found = store.vulnerabilities_many(
        [
            "PYSEC-2021-66",
            "CVE-2022-37434",
            "CVE-2018-25032",
            "PYSEC-2014-8",
            "PYSEC-2021-66",
            "CVE-1999-0001",
        ]
    )
    # CVE-2018-25032 is only named by Alpine's secdb (no record), CVE-1999-0001 by nobody: both absent
    assert set(found) == {"PYSEC-2021-66", "CVE-2022-37434", "PYSEC-2014-8"}
    assert found["PYSEC-2021-66"] == rec.PYSEC_2021_66
    assert found["PYSEC-2014-8"] == rec.PYSEC_2014_8
    assert found["CVE-2022-37434"] == CVE_2022_37434_MERGED


def test_vulnerabilities_many_agrees_with_vulnerability(store: Store) -> None:
    ids = [
        "CVE-2020-28493",  # NVD: three scores, two scorers
        "CVE-2022-37434",  # Debian + NVD
        "CVE-2023-45853",
        "CVE-2023-5363",
        "CVE-2024-4603",
        "CVE-2024-3094",
        "PYSEC-2021-66",
        "PYSEC-2014-8",
    ]
    found = store.vulnerabilities_many(ids)
    assert set(found) == set(ids)
    for vuln_id in ids:
        assert found[vuln_id] == store.vulnerability(vuln_id)
    assert set(found["CVE-2020-28493"].cvss) == set(rec.CVE_2020_28493.cvss)
    assert found["CVE-2024-3094"].cvss == rec.CVE_2024_3094.cvss


def test_vulnerabilities_many_without_references_is_the_same_record_without_them(store: Store) -> None:
    ids = ["CVE-2020-28493", "CVE-2022-37434", "CVE-2024-3094", "PYSEC-2021-66", "PYSEC-2014-8", "CVE-1999-0001"]
    full = store.vulnerabilities_many(ids)
    brief = store.vulnerabilities_many(ids, references=False)
    assert set(brief) == set(full)
    assert full["PYSEC-2021-66"].references == rec.PYSEC_2021_66.references != ()  # the record has some
    for vuln_id, record in full.items():
        assert brief[vuln_id] == dataclasses.replace(record, references=())


def test_a_caching_index_answers_in_full_after_a_read_without_references(store: Store) -> None:
    index = CachingIndex(store)
    assert index.vulnerabilities_many(["PYSEC-2021-66"], references=False)["PYSEC-2021-66"].references == ()
    assert index.vulnerability("PYSEC-2021-66") == rec.PYSEC_2021_66
    assert index.vulnerabilities_many(["PYSEC-2021-66"])["PYSEC-2021-66"] == rec.PYSEC_2021_66


def test_vulnerabilities_many_with_more_ids_than_one_statement_takes(store: Store) -> None:
    ids = [f"CVE-2099-{i}" for i in range(2000)] + ["PYSEC-2014-8"] + [f"GHSA-none-{i}" for i in range(10)]
    with Statements(store) as seen:
        found = store.vulnerabilities_many(ids)
    assert found == {"PYSEC-2014-8": rec.PYSEC_2014_8}
    # three chunks; only the one holding a described id reads its aliases and scores
    assert len(seen.sql) == 3 + 2


def test_vulnerabilities_many_statements_per_chunk_of_ids(store: Store) -> None:
    ids = ["PYSEC-2021-66", "PYSEC-2014-8", "CVE-2022-37434", "CVE-2020-28493", "CVE-2024-3094"]
    with Statements(store) as seen:
        assert len(store.vulnerabilities_many(ids)) == 5
    assert len(seen.sql) == 3  # vulnerabilities, aliases, cvss: not three per id
    with Statements(store) as seen:
        assert store.vulnerabilities_many([]) == {}
        assert store.aliases_many([]) == {}
    assert seen.sql == []


def test_aliases_many_links_both_directions(store: Store) -> None:
    linked = store.aliases_many(
        ["PYSEC-2021-66", "CVE-2020-28493", "GHSA-8r7q-cvjq-x353", "CVE-2014-1402", "CVE-1999-0001"]
    )
    assert linked == {
        # PYSEC-2021-66 lists three aliases (sorted here)
        "PYSEC-2021-66": ["CVE-2020-28493", "GHSA-g3rq-g295-4j3m", "SNYK-PYTHON-JINJA2-1012994"],
        # backwards: the OSV records list these as their aliases
        "CVE-2020-28493": ["PYSEC-2021-66"],
        "GHSA-8r7q-cvjq-x353": ["PYSEC-2014-8"],
        "CVE-2014-1402": ["PYSEC-2014-8"],
        # every requested id is a key
        "CVE-1999-0001": [],
    }
    for vuln_id, ids in linked.items():
        assert store.aliases_of(vuln_id) == ids


def test_records_aliases_and_aliased_by_are_aliases_many(store: Store) -> None:
    ids = [
        "PYSEC-2021-66",
        "CVE-2020-28493",
        "GHSA-8r7q-cvjq-x353",
        "CVE-2014-1402",
        "PYSEC-2014-8",
        "GHSA-g3rq-g295-4j3m",
        "CVE-2022-37434",
        "CVE-1999-0001",
    ]
    backwards = store.aliased_by_many(ids)
    assert backwards["CVE-2020-28493"] == ["PYSEC-2021-66"]  # the OSV record lists it
    assert backwards["PYSEC-2021-66"] == [] and backwards["CVE-1999-0001"] == []
    records = store.vulnerabilities_many(ids, references=False)
    both = store.aliases_many(ids)
    for vuln_id in ids:
        own = set(records[vuln_id].aliases) if vuln_id in records else set()
        assert own | set(backwards[vuln_id]) == set(both[vuln_id]), vuln_id


def test_aliases_many_with_more_ids_than_one_statement_takes(store: Store) -> None:
    ids = [f"CVE-2099-{i}" for i in range(1900)] + ["PYSEC-2014-8"]
    with Statements(store) as seen:
        linked = store.aliases_many(ids)
    assert len(linked) == 1901
    assert linked["PYSEC-2014-8"] == ["CVE-2014-1402", "GHSA-8r7q-cvjq-x353"]
    assert not any(linked[i] for i in ids[:-1])
    assert len(seen.sql) == 2 * math.ceil(1901 / 900)  # one statement per direction and chunk


def test_batch_reads_search_by_index_never_scan_a_table(store: Store) -> None:
    with Statements(store) as seen:
        store.vulnerabilities_many(["PYSEC-2021-66", "CVE-2022-37434", "CVE-2099-1"])
        store.aliases_many(["PYSEC-2021-66", "CVE-2020-28493"])
    assert len(seen.sql) == 5
    for sql in seen.sql:
        plan = " | ".join(str(row[-1]) for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SEARCH" in plan and "SCAN" not in plan, f"{sql}\n  {plan}"
