"""Matching's merge rules: several rows for one advisory and one package, decided together.

When one id has several rows for one package in one namespace (two tracker entries after a re-triage,
an OSV record with two ``affected`` blocks for one package, NVD and CNA rows of one CVE, secfixes listing
an id under two versions), the rules are (``scan/matching.py``, ``_Evaluator.group``/``first_fix``):

* any row that says "not affected" wins: no finding;
* else, of the rows that make the package affected, the highest fixed version (the version that fixes
  every row), or an unfixed row when none has a fix;
* secdb (``first-fix``): a real fix beats a ``0`` key; the lowest fixed version is the first fix; fixed
  versions that cannot be ordered give a warning and the first row;
* a ``fixed`` row without a fixed version is skipped with a warning, never guessed;
* a fixed version the scheme rejects skips that row with a warning, never a crash.

The rows are constructed in the shapes the feeds store (``tests/test_matching.py`` builds them from the
corpus records); each case is the smallest that tells the rule apart from its plausible mistakes (first
row wins, last row wins, lowest fix wins, a not-affected row ignored).
"""

from __future__ import annotations

import pytest

from alpinist.advisories.model import Affected, VersionRange
from alpinist.scan.matching import match
from tests.test_matching import (
    ALPINE_320,
    BOOKWORM,
    MemoryIndex,
    apk,
    deb,
    inventory,
    osv,
    py,
    secfix,
    summary,
    tracker,
)

CVE = "CVE-2024-0001"


def deb_rows(*rows: Affected) -> set[tuple[str, str, str | None, str]]:
    return summary(match(inventory(BOOKWORM, deb("libfoo1", "1.3-1", "foo")), MemoryIndex(rows)))


# ---------------------------------------------------------------------------------------------- Debian


@pytest.mark.parametrize("order", [1, -1])
def test_debian_a_not_affected_row_wins_in_any_order(order: int) -> None:
    rows = [tracker("foo", CVE, "fixed", "1.5-1"), tracker("foo", CVE, "not-affected")][::order]
    assert deb_rows(*rows) == set()


@pytest.mark.parametrize("order", [1, -1])
def test_debian_fixed_version_zero_row_wins_in_any_order(order: int) -> None:
    zero = Affected(CVE, "debian", "debian:bookworm", "foo", "fixed", fixed_version="0")
    rows = [tracker("foo", CVE, "open"), zero][::order]
    assert deb_rows(*rows) == set()


@pytest.mark.parametrize("order", [1, -1])
def test_debian_the_highest_fix_decides_in_any_order(order: int) -> None:
    rows = [tracker("foo", CVE, "fixed", "1.4-1"), tracker("foo", CVE, "fixed", "1.6-1")][::order]
    assert deb_rows(*rows) == {("libfoo1", CVE, "1.6-1", "fixed")}


def test_debian_a_fix_the_package_is_past_does_not_hide_a_later_one() -> None:
    # installed 1.3-1: the 1.2-1 row alone is no finding, the 1.5-1 row is
    rows = [tracker("foo", CVE, "fixed", "1.2-1"), tracker("foo", CVE, "fixed", "1.5-1")]
    assert deb_rows(*rows) == {("libfoo1", CVE, "1.5-1", "fixed")}
    assert deb_rows(*rows[:1]) == set()


def test_debian_unfixed_rows_only_give_the_first_unfixed_status() -> None:
    rows = [tracker("foo", CVE, "no-dsa"), tracker("foo", CVE, "postponed")]
    assert deb_rows(*rows) == {("libfoo1", CVE, None, "no-dsa")}


def test_debian_a_fixed_row_beats_an_unfixed_one() -> None:
    rows = [tracker("foo", CVE, "open"), tracker("foo", CVE, "fixed", "1.5-1")]
    assert deb_rows(*rows) == {("libfoo1", CVE, "1.5-1", "fixed")}


def test_fixed_status_without_a_version_is_skipped_with_a_warning() -> None:
    row = tracker("foo", CVE, "fixed")  # fixed, no version, no ranges
    result = match(inventory(BOOKWORM, deb("libfoo1", "1.3-1", "foo")), MemoryIndex([row]))
    assert result.findings == ()
    assert any("status 'fixed' without a fixed version; skipped" in w for w in result.warnings)
    # beside a real row it is skipped alone: the real row still decides
    both = match(
        inventory(BOOKWORM, deb("libfoo1", "1.3-1", "foo")),
        MemoryIndex([row, tracker("foo", CVE, "fixed", "1.5-1")]),
    )
    assert summary(both) == {("libfoo1", CVE, "1.5-1", "fixed")}


def test_a_fixed_version_the_scheme_rejects_skips_that_row_only() -> None:
    bad = tracker("foo", CVE, "fixed", "not a version!")
    result = match(
        inventory(BOOKWORM, deb("libfoo1", "1.3-1", "foo")),
        MemoryIndex([bad, tracker("foo", CVE, "fixed", "1.4-1")]),
    )
    assert summary(result) == {("libfoo1", CVE, "1.4-1", "fixed")}
    assert any(CVE in w and "skipped" in w for w in result.warnings)


# ------------------------------------------------------------------------------------------------ PyPI


def pypi(*rows: Affected, version: str = "2.0.0") -> set[tuple[str, str, str | None, str]]:
    return summary(match(inventory(None, py("requests", version)), MemoryIndex(rows)))


GHSA = "GHSA-aaaa-bbbb-cccc"


@pytest.mark.parametrize("order", [1, -1])
def test_pypi_two_affected_blocks_the_highest_fix_decides(order: int) -> None:
    rows = [
        osv(GHSA, "requests", VersionRange(end="2.1.0")),
        osv(GHSA, "requests", VersionRange(start="1.0", end="2.5.0")),
    ][::order]
    assert pypi(*rows) == {("requests", GHSA, "2.5.0", "fixed")}


@pytest.mark.parametrize("order", [1, -1])
def test_pypi_a_not_affected_block_wins(order: int) -> None:
    not_affected = Affected(GHSA, "osv", "pypi", "requests", "not-affected")
    rows = [osv(GHSA, "requests", VersionRange(end="2.5.0")), not_affected][::order]
    assert pypi(*rows) == set()


def test_pypi_a_block_that_does_not_hold_the_version_does_not_lend_its_fix() -> None:
    rows = [
        osv(GHSA, "requests", VersionRange(start="2.0.0", end="2.1.0")),
        osv(GHSA, "requests", VersionRange(start="3.0.0", end="3.9.0")),  # not this version: no say
    ]
    assert pypi(*rows) == {("requests", GHSA, "2.1.0", "fixed")}
    assert pypi(*rows, version="2.2.0") == set()


def test_pypi_an_open_block_and_a_fixed_block() -> None:
    rows = [osv(GHSA, "requests", VersionRange(start="0")), osv(GHSA, "requests", VersionRange(end="2.1.0"))]
    assert pypi(*rows) == {("requests", GHSA, "2.1.0", "fixed")}
    assert pypi(rows[0]) == {("requests", GHSA, None, "open")}


# ------------------------------------------------------------------------------------------------- CPE


def cpython(version: str, *rows: Affected) -> set[tuple[str, str, str | None, str]]:
    from alpinist.models import Package

    pkg = Package(
        "python",
        version,
        "binary",
        f"pkg:generic/python@{version}",
        cpes=(f"cpe:2.3:a:python:python:{version}:*:*:*:*:*:*:*",),
    )
    return summary(match(inventory(ALPINE_320, pkg), MemoryIndex(rows)))


def cpe_row(*ranges: VersionRange, status: str = "fixed") -> Affected:
    fixes = [r.end for r in ranges if r.end and not r.end_inclusive]
    return Affected(
        CVE,
        "nvd",
        "cpe",
        "python:python",
        status,
        fixed_version=min(fixes) if fixes else None,
        ranges=ranges,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("order", [1, -1])
def test_cpe_a_not_affected_row_wins(order: int) -> None:
    rows = [cpe_row(VersionRange(start="3.11.0", end="3.11.9")), cpe_row(status="not-affected")][::order]
    assert cpython("3.11.2", *rows) == set()


def test_cpe_several_rows_of_one_branch_the_branch_rule_decides() -> None:
    rows = [
        cpe_row(VersionRange(start="3.11.0", end="3.11.4")),
        cpe_row(VersionRange(start="3.11.0", end="3.11.9")),
    ]
    found = cpython("3.11.2", *rows)
    assert len(found) == 1
    [(_, vuln_id, fixed, status)] = found
    assert (vuln_id, status) == (CVE, "fixed") and fixed in {"3.11.4", "3.11.9"}
    assert cpython("3.11.5", *rows) == {("python", CVE, "3.11.9", "fixed")}


# ---------------------------------------------------------------------------------------------- Alpine


def alpine(*rows: Affected, version: str = "3.3.1-r0") -> set[tuple[str, str, str | None, str]]:
    return summary(match(inventory(ALPINE_320, apk("libssl3", version, "openssl")), MemoryIndex(rows)))


def test_alpine_rows_with_no_real_fix_are_not_affected() -> None:
    assert alpine(secfix("3.20", "openssl", CVE, "0")) == set()
    assert alpine(secfix("3.20", "openssl", CVE, "0"), secfix("3.20", "openssl", CVE, "0")) == set()


@pytest.mark.parametrize("order", [1, -1])
def test_alpine_a_real_fix_beats_zero_and_the_lowest_fix_is_the_first(order: int) -> None:
    rows = [
        secfix("3.20", "openssl", CVE, "0"),
        secfix("3.20", "openssl", CVE, "3.3.2-r0"),
        secfix("3.20", "openssl", CVE, "3.3.5-r0"),
    ][::order]
    assert alpine(*rows) == {("libssl3", CVE, "3.3.2-r0", "fixed")}
    # past the first fix: the later re-statement does not re-open it
    assert alpine(*rows, version="3.3.3-r0") == set()
    # a key "0" stored as a fixed version (not as a not-affected status) is still no fix
    zero = Affected(CVE, "alpine", "alpine:3.20", "openssl", "fixed", fixed_version="0")
    both = [zero, secfix("3.20", "openssl", CVE, "3.3.2-r0")][::order]
    assert alpine(*both) == {("libssl3", CVE, "3.3.2-r0", "fixed")}


def test_alpine_fixed_versions_that_cannot_be_ordered_warn_and_use_the_first() -> None:
    rows = [secfix("3.20", "openssl", CVE, "3.3.2-r0"), secfix("3.20", "openssl", CVE, "not-a-version")]
    result = match(inventory(ALPINE_320, apk("libssl3", "3.3.1-r0", "openssl")), MemoryIndex(rows))
    assert summary(result) == {("libssl3", CVE, "3.3.2-r0", "fixed")}
    assert any("cannot order its fixed versions" in w for w in result.warnings)
