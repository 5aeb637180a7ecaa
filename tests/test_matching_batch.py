"""Matching through the store's batch reads: the work a match does (SQL statements) is a small constant per
namespace, never one statement per package or per advisory id, and the findings are those of the one-by-one
protocol path. Also the version semantics that matching evaluates on cached sort keys (PEP 440 local labels,
listed versions equal as versions, the order of range checks), written by hand from PEP 440 and the records.

The database is built once per module by the real update code from the corpus feeds served on 127.0.0.1
(as in ``test_findings_exact``); the inventories come from the real OCI layout.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.model import Affected, CvssScore, VersionRange, Vulnerability
from alpinist.advisories.sources import all_sources
from alpinist.advisories.store import Store
from alpinist.advisories.update import update
from alpinist.inventory.build import build_inventory
from alpinist.models import Inventory, Package
from alpinist.scan.matching import match
from alpinist.scan.model import MatchResult
from tests.conftest import oci_ref
from tests.feed_server import FeedServer
from tests.test_findings_exact import _guard_loopback
from tests.test_matching import (
    ALPINE_320,
    BOOKWORM,
    MemoryIndex,
    deb,
    inventory,
    osv,
    py,
    summary,
    tracker,
)

TAGS = ("python-app:debian", "python-app:alpine", "alpine:3.20.3")


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("batch-db") / "advisories.db"
    with pytest.MonkeyPatch.context() as mp:
        _guard_loopback(mp)
        server = FeedServer().start()
        try:
            with Fetcher(mirror=server.url, attempts=1) as fetcher:
                update(db, all_sources(), fetcher)
        finally:
            server.stop()
    return db


@pytest.fixture(scope="module")
def inventories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Inventory]:
    from alpinist.images.open import PullOptions

    cache = tmp_path_factory.mktemp("batch-cache")
    return {tag: build_inventory(oci_ref(tag), PullOptions(cache_dir=cache), use_cache=False) for tag in TAGS}


@pytest.fixture
def store(corpus_db: Path) -> Iterator[Store]:
    with Store.open(corpus_db) as s:
        yield s


def statements(store: Store, inv: Inventory) -> tuple[MatchResult, Counter[str]]:
    """The result of one match and the statements it ran, counted by the table they read."""
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    try:
        result = match(inv, store)
    finally:
        store._conn.set_trace_callback(None)
    tables: Counter[str] = Counter()
    for sql in seen:
        found = re.search(r"\bFROM\s+(\w+)", sql)
        tables[found.group(1) if found else sql] += 1
    return result, tables


def widened(inv: Inventory, copies: int) -> Inventory:
    """The inventory with every package present ``copies`` times under other names (same sources/versions)."""
    packages = [
        dataclasses.replace(p, name=f"{p.name}-copy{n}") if n else p
        for n in range(copies)
        for p in inv.packages
        if not (p.type == "python" and n)  # a PyPI package's name is its advisory package
    ]
    return dataclasses.replace(inv, packages=tuple(packages))


def older(inv: Inventory) -> Inventory:
    """Every OS package at a source version below every fix, every PyPI package at 0.1: many findings, and
    many aliases to merge (PYSEC/GHSA/CVE of one issue)."""
    packages = []
    for p in inv.packages:
        if p.type == "deb":
            p = dataclasses.replace(p, source_version="0.1-1")
        elif p.type == "apk":
            p = dataclasses.replace(p, version="0.1-r0")
        elif p.type == "python":
            p = dataclasses.replace(p, version="0.1")
        packages.append(p)
    return dataclasses.replace(inv, packages=tuple(packages))


# ---------------------------------------------------------------------------------------------- statements


@pytest.mark.parametrize("tag", TAGS)
def test_statements_per_match_are_a_small_constant_per_namespace(
    store: Store, inventories: dict[str, Inventory], tag: str
) -> None:
    result, tables = statements(store, inventories[tag])
    assert result.findings  # 158, 75 and 56 (tests/expected_findings)
    # one statement per namespace for the affected rows (plus the namespace listing), then per batch of
    # ids: vulnerabilities, aliases and cvss of the affecting ids, the links of those ids in both directions,
    # and the records of the aliases met (the code before batching ran ~1,600 statements for 500 packages);
    # the cpe namespace reads the CNA's ranges of the same products too: one statement more
    assert tables["affected"] <= 1 + len(result.namespaces) + ("cpe" in result.namespaces)
    assert tables["vulnerabilities"] <= 2
    assert tables["cvss"] <= 2
    assert tables["aliases"] <= 2 + 2
    assert sum(tables.values()) <= 1 + len(result.namespaces) + 8


@pytest.mark.parametrize("tag", TAGS)
def test_statements_do_not_grow_with_packages_or_findings(
    store: Store, inventories: dict[str, Inventory], tag: str
) -> None:
    store.namespaces()  # listed once per store: not part of what a match costs
    base, base_tables = statements(store, inventories[tag])
    wide, wide_tables = statements(store, widened(inventories[tag], 4))
    old, old_tables = statements(store, older(inventories[tag]))
    assert len(wide.findings) >= len(base.findings)
    assert len(old.findings) > len(base.findings)
    assert wide_tables == base_tables
    assert sum(old_tables.values()) <= sum(base_tables.values()) + 3  # at most one more batch of records


# ---------------------------------------------------------------------------------------------- batch vs one by one


class OneByOne:
    """The store behind the protocol path only (affected, vulnerability, aliases_of, namespaces)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def affected(self, namespace: str, package: str) -> list[Affected]:
        self.calls["affected"] += 1
        return self._store.affected(namespace, package)

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        self.calls["vulnerability"] += 1
        return self._store.vulnerability(vuln_id)

    def aliases_of(self, vuln_id: str) -> list[str]:
        self.calls["aliases_of"] += 1
        return self._store.aliases_of(vuln_id)

    def namespaces(self) -> list[str]:
        return self._store.namespaces()


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("variant", ["as built", "older"])
def test_batch_and_one_by_one_give_the_same_result(
    store: Store, inventories: dict[str, Inventory], tag: str, variant: str
) -> None:
    inv = inventories[tag] if variant == "as built" else older(inventories[tag])
    one_by_one = OneByOne(store)
    expected = match(inv, one_by_one)
    assert one_by_one.calls["vulnerability"] > 0 or not expected.findings
    assert match(inv, store) == expected


# ---------------------------------------------------------------------------------------------- in-memory batch index


class BatchMemoryIndex(MemoryIndex):
    """An in-memory index with the batch reads; the one-id reads fail, to show they are not used."""

    def __init__(
        self,
        affected: Iterable[Affected] = (),
        vulnerabilities: Iterable[Vulnerability] = (),
        links: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(affected, vulnerabilities)
        self.links = links or {}
        self.batches: list[tuple[str, list[str]]] = []

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        raise AssertionError(f"vulnerability({vuln_id!r}) called although vulnerabilities_many exists")

    def aliases_of(self, vuln_id: str) -> list[str]:
        raise AssertionError(f"aliases_of({vuln_id!r}) called although aliases_many exists")

    def vulnerabilities_many(
        self, vuln_ids: Iterable[str], *, references: bool = True
    ) -> dict[str, Vulnerability]:
        ids = list(vuln_ids)
        self.batches.append(("vulnerabilities", ids))
        found = {i: self.vulns[i] for i in ids if i in self.vulns}
        return found if references else {i: dataclasses.replace(v, references=()) for i, v in found.items()}

    def aliases_many(self, vuln_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(vuln_ids)
        self.batches.append(("aliases", ids))
        return {i: sorted(self.links.get(i, [])) for i in ids}


# PyPA record PYSEC-2021-66 and GitHub's GHSA-g3rq-g295-4j3m: jinja2 before 2.11.3, CVE-2020-28493; only the
# GHSA lists the CVE (constructed: the PYSEC record is linked to the GHSA by the GHSA's alias list, backwards)
JINJA_ROWS = [
    osv("PYSEC-2021-66", "jinja2", VersionRange("0", end="2.11.3")),
    osv("GHSA-g3rq-g295-4j3m", "jinja2", VersionRange("0", end="2.11.3")),
]
JINJA_VULNS = [
    Vulnerability("PYSEC-2021-66"),
    Vulnerability("GHSA-g3rq-g295-4j3m", aliases=("CVE-2020-28493", "PYSEC-2021-66")),
    Vulnerability(
        "CVE-2020-28493",
        summary="This affects the package jinja2 from 0.0.0 and before 2.11.3.",
        cvss=(
            CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, "MEDIUM", "nvd@nist.gov"),
        ),
    ),
]
JINJA_LINKS = {
    "PYSEC-2021-66": ["GHSA-g3rq-g295-4j3m"],
    "GHSA-g3rq-g295-4j3m": ["CVE-2020-28493", "PYSEC-2021-66"],
    "CVE-2020-28493": ["GHSA-g3rq-g295-4j3m"],
}


def test_an_index_with_batch_reads_is_read_in_batches() -> None:
    index = BatchMemoryIndex(JINJA_ROWS, JINJA_VULNS, JINJA_LINKS)
    result = match(inventory(BOOKWORM, py("Jinja2", "2.11.2"), py("jinja2", "2.10")), index)
    # sorted by package name: "Jinja2" before "jinja2"
    assert [(f.package.version, f.id, f.aliases, f.fixed_version) for f in result.findings] == [
        ("2.11.2", "CVE-2020-28493", ("GHSA-g3rq-g295-4j3m", "PYSEC-2021-66"), "2.11.3"),
        ("2.10", "CVE-2020-28493", ("GHSA-g3rq-g295-4j3m", "PYSEC-2021-66"), "2.11.3"),
    ]
    # the CVE's own record gives the severity and the description
    assert {(f.severity, f.severity_source, f.description) for f in result.findings} == {
        ("MEDIUM", "nvd:cvss3.1", "This affects the package jinja2 from 0.0.0 and before 2.11.3.")
    }
    # the two affecting ids with their links, then the alias met on the way: three calls for two packages
    assert [(kind, sorted(ids)) for kind, ids in index.batches] == [
        ("vulnerabilities", ["GHSA-g3rq-g295-4j3m", "PYSEC-2021-66"]),
        ("aliases", ["GHSA-g3rq-g295-4j3m", "PYSEC-2021-66"]),
        ("vulnerabilities", ["CVE-2020-28493"]),
    ]


def test_batch_and_protocol_indexes_agree_on_withdrawn_and_aliases() -> None:
    rows = [*JINJA_ROWS, osv("PYSEC-2023-73", "redis", VersionRange(None))]
    vulns = [*JINJA_VULNS, Vulnerability("PYSEC-2023-73", withdrawn="2023-06-06T10:37:00Z")]

    class ProtocolIndex(MemoryIndex):
        def aliases_of(self, vuln_id: str) -> list[str]:
            return sorted(JINJA_LINKS.get(vuln_id, []))

    inv = inventory(BOOKWORM, py("jinja2", "2.10"), py("redis", "4.5.4"))
    batch = match(inv, BatchMemoryIndex(rows, vulns, JINJA_LINKS))
    assert batch == match(inv, ProtocolIndex(rows, vulns))
    assert [f.id for f in batch.findings] == ["CVE-2020-28493"]  # the withdrawn redis record never matches


# ---------------------------------------------------------------------------------------------- version semantics


def test_pep440_local_label_is_ignored_against_a_bound_without_one() -> None:
    # PEP 440: ``<=2.0.0`` admits 2.0.0+cu118, ``<2.0.0`` does not (a local build of 2.0.0 is 2.0.0 there)
    rows = [
        osv("PYSEC-2099-10", "torch", VersionRange(None, end="2.0.0")),
        osv("PYSEC-2099-11", "torch", VersionRange("2.0.0", end="2.0.1")),
        osv("PYSEC-2099-12", "torch", VersionRange(None, end="2.0.0", end_inclusive=True)),
        # a bound with a local label compares the whole version: cu118 < cu121
        osv("PYSEC-2099-13", "torch", VersionRange("2.0.0+cu121", end="2.1")),
        osv("PYSEC-2099-14", "torch", VersionRange("2.0.0+cu117", end="2.1")),
    ]
    result = match(inventory(None, py("torch", "2.0.0+cu118")), MemoryIndex(rows))
    assert summary(result) == {
        ("torch", "PYSEC-2099-11", "2.0.1", "fixed"),
        ("torch", "PYSEC-2099-12", None, "open"),
        ("torch", "PYSEC-2099-14", "2.1", "fixed"),
    }


def test_listed_versions_match_as_versions_not_as_strings() -> None:
    # constructed: records that list affected versions (OSV ``versions``)
    rows = [
        osv("PYSEC-2099-20", "flask", versions=("0.12", "1.0.0a1")),
        osv("PYSEC-2099-21", "flask", versions=("not/a version", "0.13")),
        # listed below a range: the fix is the lowest range end above the version
        osv("PYSEC-2099-22", "flask", VersionRange("1.0", end="1.1"), VersionRange("2.0", end="2.1"), versions=("0.12",)),
    ]  # fmt: skip
    zero = match(inventory(None, py("flask", "0.12.0")), MemoryIndex(rows))  # 0.12.0 == 0.12
    assert summary(zero) == {
        ("flask", "PYSEC-2099-20", None, "open"),
        ("flask", "PYSEC-2099-22", "1.1", "fixed"),
    }
    assert zero.warnings == ()  # an unparseable listed version can only match as the same string: no warning
    alpha = match(inventory(None, py("flask", "1.0.0-alpha1")), MemoryIndex(rows))  # normalizes to 1.0.0a1
    assert summary(alpha) == {("flask", "PYSEC-2099-20", None, "open")}


def test_a_listed_version_without_local_label_matches_a_local_build_of_it() -> None:
    # PEP 440 (and packaging's SpecifierSet("==2.0.0")): a public version ignores the candidate's local
    # label, as the range bounds above do; a listed local version still needs the same label
    rows = [
        osv("PYSEC-2099-40", "torch", versions=("1.13.1", "2.0.0")),
        osv("PYSEC-2099-41", "torch", versions=("2.0.0+cu117",)),
    ]
    result = match(inventory(None, py("torch", "2.0.0+cu118")), MemoryIndex(rows))
    assert summary(result) == {("torch", "PYSEC-2099-40", None, "open")}


def test_a_range_start_above_the_version_decides_before_a_bad_end_is_read() -> None:
    # versions.in_range checks the start first: below it, the (invalid) end is never compared
    rows = [osv("PYSEC-2099-30", "demo", VersionRange("2.0", end="2.5-bulbasaur"))]
    below = match(inventory(None, py("demo", "1.0")), MemoryIndex(rows))
    assert (below.findings, below.warnings) == ((), ())
    inside = match(inventory(None, py("demo", "2.1")), MemoryIndex(rows))
    assert inside.findings == ()
    assert len(inside.warnings) == 1 and "PYSEC-2099-30" in inside.warnings[0]
    assert "2.5-bulbasaur" in inside.warnings[0]


def test_binary_packages_of_one_source_at_different_versions_get_their_own_verdicts() -> None:
    # openssl CVE-2024-6119 fixed in 3.0.14-1~deb12u2 (tracker, bookworm): a stale libssl3 from an older
    # source version next to an upgraded openssl binary
    rows = [tracker("openssl", "CVE-2024-6119", "fixed", "3.0.14-1~deb12u2")]
    stale = deb("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2")
    fresh = deb("openssl", "3.0.15-1~deb12u1", "openssl", "3.0.15-1~deb12u1")
    same = deb("libssl-dev", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2")
    result = match(inventory(BOOKWORM, stale, fresh, same), MemoryIndex(rows))
    assert summary(result) == {
        ("libssl3", "CVE-2024-6119", "3.0.14-1~deb12u2", "fixed"),
        ("libssl-dev", "CVE-2024-6119", "3.0.14-1~deb12u2", "fixed"),
    }


def test_alpine_origin_shared_by_binaries_at_different_versions() -> None:
    rows = [
        Affected("CVE-2024-9143", "alpine", "alpine:3.20", "openssl", "fixed", fixed_version="3.3.2-r1"),
    ]
    pkgs = [
        Package("libssl3", "3.3.2-r0", "apk", "pkg:apk/alpine/libssl3@3.3.2-r0", origin="openssl"),
        Package("libcrypto3", "3.3.2-r1", "apk", "pkg:apk/alpine/libcrypto3@3.3.2-r1", origin="openssl"),
    ]
    result = match(inventory(ALPINE_320, *pkgs), MemoryIndex(rows))
    assert summary(result) == {("libssl3", "CVE-2024-9143", "3.3.2-r1", "fixed")}
