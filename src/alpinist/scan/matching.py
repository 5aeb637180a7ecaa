"""Matching: an inventory against the advisory index -> findings, with each ecosystem's own semantics.

Which packages go to which advisories
=====================================

Each feed's profile (``advisories/feeds/<name>/``, listed by ``advisories/registry.py``) says which
package type it matches, the namespace of an OS, the advisory package name, the version compared and its
scheme, and how the rows of one id are decided (``PackageRule.decide``); this module evaluates those
rules. With the default registry:

==========================  =========================  ==============================  =================
package                     namespace                  advisory package                version compared
==========================  =========================  ==============================  =================
apk                         ``alpine:<major.minor>``   origin (``o:``), else the name  the apk version
deb                         ``debian:<codename>``      source package, else the name   the source version
python (not OS-owned)       ``pypi``                   PEP 503 name                    the PEP 440 version
binary (CPython in /usr/…)  ``cpe``                    ``vendor:product`` of its CPEs  the version
==========================  =========================  ==============================  =================

- **Alpine**: the branch comes from ``/etc/alpine-release`` (``3.20.3`` -> ``alpine:3.20``; an
  ``_alpha`` release is edge). A branch the database does not have is reported in ``warnings`` and its
  packages are not matched: never another branch silently. ``libssl3`` and ``libcrypto3`` both match
  ``openssl``'s advisories and each binary package is reported (as grype and trivy do: each is a
  separately installed, separately upgradable file set). secdb rows: installed < fixed version ->
  affected; ``not-affected`` (secfixes key ``0``) -> never affected. One id under several keys of a
  branch follows the feed's own rule (``advisories/feeds/alpine/secdb.py``, which already collapses such rows
  before they are stored): a real fix beats ``0``, and the lowest version is the first fix (secfixes
  list the version that first fixed an id; a later listing is a re-statement, e.g. at an upstream
  upgrade after a backport).
- **Debian**: the codename comes from os-release (``VERSION_CODENAME``; else 12 -> bookworm, ...). The
  **source** version is compared (``bash 5.2.15-2+b13`` is a binNMU of source ``5.2.15-2``).
  ``not-affected`` (and a fixed version ``0``) -> never; ``fixed`` -> affected below the fixed version;
  ``open``, ``no-dsa``, ``ignored``, ``postponed``, ``unimportant``, ``end-of-life`` -> a finding with
  that status and no fixed version: reported, not dropped.
- **PyPI**: affected when the version lies in one of the record's ranges or is one of its listed
  versions; the fixed version is the end of the range that holds it. A range whose bounds are not PEP
  440 versions is skipped with a warning. Python packages owned by an OS package (``owner`` set) are
  left to the OS feed; vendored copies are matched and say so in ``notes``. Withdrawn records never
  match (checked against ``index.vulnerability``).
- **CPE (CPython)**, in this order (``Finding.rule`` says which decided):
  1. ``cna``: the CNA's own ranges of the record (namespace ``cna``, ``advisories/feeds/nvd/cna.py``), when it has
     them for the product: a range holding the version and ending on its release branch gives that end as
     the fix (the PSF's ``3.11.0 <= v < 3.11.17``); a range ending on another branch (``0 <= v < 3.13.15``)
     makes it ``open`` with no fixed version; in no range -> not affected, whatever NVD's CPEs say.
  2. ``nvd-cpe:branch``: NVD's CPE ranges, one per release branch: a range ending in the installed
     version's branch (``< 3.11.9`` for 3.11.2) decides, and its end is the fixed version. An inclusive end
     of two parts (``<= 3.11``) names that whole branch, patch releases included.
     ``nvd-cpe:version``: an exact-version CPE (``3.11.0``; ``3.11.0:rc1`` is the pre-release 3.11.0rc1 and
     never matches the final release).
     ``nvd-cpe:cross-branch``: when no range ends in that branch, a range that still contains the version
     (``< 3.13.0``: fixed on another branch first) makes it affected with status ``open`` and no fixed
     version: 3.13.0 is not a fix for 3.11.
  3. A withdrawn (Rejected) record never matches; configurations that need Windows or macOS give no row
     (``advisories/feeds/nvd/api.py``). The same rules apply to every ``cpe`` product.
- **Aliases**: findings of one package whose ids or aliases meet (a GHSA and a PYSEC record of the same
  CVE) are one finding; its id is the CVE if there is one, else the GHSA, else the PYSEC id, and the
  other ids are its aliases.
- **Severity**: ``severity.assess`` with the CVSS of the vulnerability and of its aliases.

A record that cannot be evaluated (a version the scheme rejects) is skipped with a warning, never a
crash, never a silent miss. Errors of the index itself (a broken database) propagate.
"""

from __future__ import annotations

import gc
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any, NamedTuple, Protocol, runtime_checkable

from alpinist.advisories import registry
from alpinist.advisories.model import (
    SEVERITIES,
    AdvisoryIndex,
    Affected,
    CvssScore,
    Status,
    VersionRange,
    Vulnerability,
    rank,
)
from alpinist.advisories.profile import PackageRule, Profile
from alpinist.models import Inventory, Package
from alpinist.scan.model import Finding, FindingTemplate, MatchResult, finding_template, stamp
from alpinist.scan.severity import SeverityChoice, assess
from alpinist.versions import Scheme, VersionError, key_set, pep440_may_equal, release_branch, sort_key


@runtime_checkable
class NamespaceListing(Protocol):
    """An index that can say which namespaces it holds (to report a branch missing from the database)."""

    def namespaces(self) -> Collection[str]: ...


@runtime_checkable
class BatchIndex(Protocol):
    """An index that answers many packages of one namespace at once (the SQLite store does)."""

    def affected_many(self, namespace: str, packages: Iterable[str]) -> Mapping[str, list[Affected]]: ...


@runtime_checkable
class AliasIndex(Protocol):
    """An index that knows aliases in both directions (an id that others list as their alias)."""

    def aliases_of(self, vuln_id: str) -> list[str]: ...


@runtime_checkable
class VulnerabilityBatchIndex(Protocol):
    """An index that describes many ids at once (the SQLite store does: a few statements, not a few per id).

    ``vulnerabilities_many(ids)[id]`` must equal ``vulnerability(id)``; an id it does not describe is absent.
    With ``references=False`` the records' references may be left out (matching reads none).
    """

    def vulnerabilities_many(
        self, vuln_ids: Iterable[str], *, references: bool = True
    ) -> Mapping[str, Vulnerability]: ...


@runtime_checkable
class ReverseAliasBatchIndex(Protocol):
    """An index that says, for many ids, which ids' records list them as an alias. With the records' own
    ``aliases`` this is ``aliases_many`` (the SQLite store: an aliases row is written with its record)."""

    def aliased_by_many(self, vuln_ids: Iterable[str]) -> Mapping[str, list[str]]: ...


@runtime_checkable
class AliasBatchIndex(Protocol):
    """:class:`AliasIndex` for many ids at once: ``aliases_many(ids)[id]`` equals ``aliases_of(id)``."""

    def aliases_many(self, vuln_ids: Iterable[str]) -> Mapping[str, list[str]]: ...


# ---------------------------------------------------------------------------------------------- verdicts


class _Verdict(NamedTuple):  # a tuple: built for every affecting row, so it must be cheap to make
    status: Status
    fixed_version: str | None
    row: Affected
    notes: tuple[str, ...] = ()
    rule: str | None = None  # Finding.rule


class _Keys:
    """The sort keys of one scheme's version strings, each string parsed once per ``match()``.

    ``versions.sort_key`` is cached too, but reaching its cache costs a call and a dispatch on the scheme;
    matching looks up tens of thousands of versions (every bound of every row, every listed version of an
    OSV record), so after the first time a version costs one dict lookup here. An invalid string is
    remembered with its reason and raises the same :class:`VersionError` every time.
    """

    __slots__ = ("_reasons", "known", "scheme")

    def __init__(self, scheme: Scheme) -> None:
        self.scheme: Scheme = scheme
        self.known: dict[str, Any] = {}  # version -> key (never None)
        self._reasons: dict[str, str] = {}

    def of(self, version: str) -> Any:
        """The key of ``version``; :class:`VersionError` when the scheme rejects it."""
        key = self.known.get(version)
        if key is None:
            reason = self._reasons.get(version)
            if reason is not None:
                raise VersionError(self.scheme, version, reason)
            try:
                key = sort_key(self.scheme, version)
            except VersionError as exc:
                self._reasons[version] = exc.reason
                raise
            self.known[version] = key
        return key

    def maybe(self, version: str) -> Any:
        """The key of ``version``, or None when the scheme rejects it."""
        key = self.known.get(version)
        if key is not None:
            return key
        try:
            return self.of(version)
        except VersionError:
            return None


class _Query(NamedTuple):
    package_index: int
    package: Package
    namespace: str
    scheme: Scheme
    name: str  # advisory package
    version: str  # compared version
    rule: PackageRule  # the feed's rule that asked (how its rows are decided)
    notes: tuple[str, ...] = ()
    # (the two keys last: ``valid`` makes a query of the first eight fields and them)
    key: Any = None  # sort key of ``version`` (set once the version is known to be valid)
    # PEP 440: the key of the public version when ``version`` has a local label (2.0.0+cu118 -> 2.0.0),
    # compared against bounds without a local label (as ``versions.satisfies`` does); else None
    public_key: Any = None


# a finding template, its severity's sort order and its id
_Entry = tuple[FindingTemplate, int, str]


class _Plan:
    """The findings of every package with one signature: candidate groups, then finding templates; and a
    slice of the shared templates of ids decided by a fixed version (``_Slice``), when it has one."""

    __slots__ = ("entries", "groups", "part", "templates")

    def __init__(self, groups: list[list[_Candidate]]) -> None:
        self.groups = groups
        self.part: tuple[_Slice, _Query, int] | None = None  # (slice, query, start index)
        self.entries: list[_Entry] = []  # the slice's templates, for the version its query compared
        # ((template, severity order, id), version compared): what each package's findings are made and sorted by
        self.templates: list[tuple[_Entry, str]] = []


class _Fixes:
    """The ids of one advisory package (and scheme, and rule) decided by a fixed version alone, sorted by that
    version (``_Evaluator.fixes``): those affecting an installed version are the suffix above it."""

    __slots__ = ("ids", "items", "keys")

    def __init__(self, keys: list[Any], items: list[tuple[str, _Verdict]]) -> None:
        self.keys = keys  # the fixed versions' sort keys, ascending
        self.items = items  # (vuln_id, verdict), in the same order
        self.ids = frozenset(vuln_id for vuln_id, _ in items)

    def start(self, installed: Any) -> int:
        """The index of the first id whose fixed version is above ``installed``."""
        return bisect_right(self.keys, installed)


# What affects one (namespace, scheme, advisory package, version): the (vuln_id, verdict) of the ids decided
# otherwise, and the ids of a ``_Fixes`` from an index on
_Found = tuple[list[tuple[str, _Verdict]], _Fixes, int]


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _affecting(found: _Found) -> list[tuple[str, _Verdict]]:
    others, fixes, start = found
    return others + fixes.items[start:] if start < len(fixes.items) else others


class _Slice:
    """The ids of a ``_Fixes`` from the lowest index any query of a match asks, checked once: withdrawn
    records dropped, whether their ids and aliases are pairwise disjoint (then each is a finding of its own
    for every version that meets it), their templates made once per (advisory package, notes)."""

    __slots__ = ("_entries", "_kept", "_matcher", "disjoint", "ids", "items", "start", "used")

    def __init__(self, matcher: _Matcher, fixes: _Fixes, start: int) -> None:
        self._matcher = matcher
        self.start = start
        self._kept: list[int] = []  # positions (from ``start``) of the ids whose record is not withdrawn
        self.items: list[tuple[str, _Verdict]] = []  # those ids, with their verdicts
        every: list[frozenset[str]] = []
        for position, (vuln_id, verdict) in enumerate(fixes.items[start:]):
            if matcher.withdrawn(vuln_id):
                continue
            self._kept.append(position)
            self.items.append((vuln_id, verdict))
            every.append(matcher.ids_of(vuln_id))
        self.ids: frozenset[str] = frozenset().union(*every)
        self.disjoint = len(self.ids) == sum(len(ids) for ids in every)
        self._entries: dict[tuple[str, str, tuple[str, ...]], list[_Entry]] = {}
        self.used = False  # a plan takes a part of it (its ids' aliases are then read)

    def entries(self, q: _Query, start: int) -> list[_Entry]:
        """The templates of the ids from index ``start`` of the fixes on, for ``q``'s advisory package and
        notes."""
        key = (q.namespace, q.name, q.notes)
        made = self._entries.get(key)
        if made is None:
            template, ids_of = self._matcher.template, self._matcher.ids_of
            made = self._entries[key] = [
                template([_Candidate(q, vuln_id, verdict, ids_of(vuln_id))])[0]
                for vuln_id, verdict in self.items
            ]
        return made[bisect_left(self._kept, start - self.start) :]


class _Candidate(NamedTuple):  # one per affecting (query, id): a tuple, cheap to make
    query: _Query
    vuln_id: str
    verdict: _Verdict
    ids: frozenset[str]  # the id and every id linked to it (``ids_of``)


def _fmt_range(rng: VersionRange) -> str:
    parts = []
    if rng.start is not None:
        parts.append(f"{'>=' if rng.start_inclusive else '>'}{rng.start}")
    if rng.end is not None:
        parts.append(f"{'<=' if rng.end_inclusive else '<'}{rng.end}")
    return ",".join(parts) or "all versions"


def _names_a_branch(rng: VersionRange) -> bool:
    """An inclusive end with two parts (``<= 3.11``): NVD's way of naming that whole branch, patch releases
    included (3.11.2 is "3.11"), though 3.11.2 > 3.11 when read literally."""
    return rng.end is not None and rng.end_inclusive and _TWO_PARTS.fullmatch(rng.end) is not None


_TWO_PARTS = re.compile(r"\d+\.\d+")


class _Evaluator:
    """Verdicts of advisory rows for one query, on sort keys: the semantics of ``versions.compare``,
    ``versions.in_range`` and ``versions.satisfies`` (including PEP 440's local-label rule), with every
    version string parsed once per match."""

    def __init__(self, warn: Callable[[str], None], os_feeds: frozenset[str]) -> None:
        self.warn = warn
        self._keys: dict[str, _Keys] = {}
        self.os_feeds = os_feeds
        self._verdicts: dict[tuple[int, Status, str | None], _Verdict] = {}

    def verdict(self, status: Status, fixed: str | None, row: Affected) -> _Verdict:
        """``_Verdict(status, fixed, row)``, one object per distinct value: every version a row affects gets
        the same verdict, so the findings it makes share one template (``_Matcher.template``)."""
        key = (id(row), status, fixed)
        found = self._verdicts.get(key)
        if found is None or found.row is not row:
            found = self._verdicts[key] = _Verdict(status, fixed, row)
        return found

    def not_affected(self, row: Affected) -> bool:
        if row.status == "not-affected":
            return True
        # an OS feed's fixed version "0" (Debian's, a secdb key "0") means "never affected", whatever the
        # status says
        return row.source in self.os_feeds and row.fixed_version == "0" and not row.ranges

    def keys(self, scheme: Scheme) -> _Keys:
        keys = self._keys.get(scheme)
        if keys is None:
            keys = self._keys[scheme] = _Keys(scheme)
        return keys

    def _where(self, row: Affected) -> str:
        return f"{row.vuln_id} ({row.namespace} {row.package})"

    def _in_range(self, q: _Query, row: Affected, rng: VersionRange) -> bool | None:
        """``versions.in_range`` (the start first: a version below it is out whatever the end says)."""
        keys = self.keys(q.scheme)
        try:
            if rng.start is not None:
                bound = keys.of(rng.start)
                version = q.public_key if q.public_key is not None and bound.local is None else q.key
                if not (version >= bound if rng.start_inclusive else version > bound):
                    return False
            if rng.end is None:
                return True
            bound = keys.of(rng.end)
        except VersionError as exc:
            self.warn(f"{self._where(row)}: range {_fmt_range(rng)} skipped: {exc}")
            return None
        version = q.public_key if q.public_key is not None and bound.local is None else q.key
        return bool(version <= bound if rng.end_inclusive else version < bound)

    def _listed(self, q: _Query, row: Affected) -> bool:
        versions = row.versions
        if not versions:
            return False
        if q.version in versions:
            return True
        if q.scheme == "pep440":
            # only the listed strings with the installed version's digits can equal it: parse those
            keys = self.keys("pep440")
            for listed in pep440_may_equal(q.version, versions):
                if keys.maybe(listed) == q.key:
                    return True
            # a listed public version ignores the installed version's local label (== 2.0.0 admits
            # 2.0.0+cu118), as range bounds do; a listed key equal to the public one has no label itself
            if q.public_key is not None:
                for listed in pep440_may_equal(str(q.public_key), versions):
                    if keys.maybe(listed) == q.public_key:
                        return True
            return False
        # other schemes (the CPE rows' generic versions): the listed keys as a set, else one by one
        every = key_set(q.scheme, versions)
        if every is not None:
            return q.key in every
        keys = self.keys(q.scheme)
        # (a listed legacy version can only match as the same string, tested above)
        return any(keys.maybe(listed) == q.key for listed in versions)

    def _lowest_fix_above(self, q: _Query, ranges: Iterable[VersionRange]) -> str | None:
        keys = self.keys(q.scheme)
        fixes = []
        for rng in ranges:
            if rng.end is None or rng.end_inclusive:
                continue
            end = keys.maybe(rng.end)
            if end is not None and end > q.key:
                fixes.append((end, rng.end))
        return min(fixes)[1] if fixes else None

    def row(self, q: _Query, row: Affected) -> _Verdict | None:
        if row.ranges or row.versions:
            hit: VersionRange | None = None
            for rng in row.ranges:
                if self._in_range(q, row, rng):
                    hit = rng
                    break
            listed = hit is None and self._listed(q, row)
            if hit is None and not listed:
                return None
            fixed = hit.end if hit is not None and hit.end is not None and not hit.end_inclusive else None
            if fixed is None and listed:
                fixed = self._lowest_fix_above(q, row.ranges)
            status: Status = "fixed" if fixed else ("open" if row.status == "fixed" else row.status)
            return self.verdict(status, fixed, row)
        if row.fixed_version:
            try:
                if not q.key < self.keys(q.scheme).of(row.fixed_version):
                    return None
            except VersionError as exc:
                self.warn(f"{self._where(row)}: skipped: {exc}")
                return None
            return self.verdict(row.status, row.fixed_version, row)
        if row.status == "fixed":
            self.warn(f"{self._where(row)}: status 'fixed' without a fixed version; skipped")
            return None
        return self.verdict(row.status, None, row)

    def fixes(self, scheme: Scheme, decide: str, by_id: Mapping[str, Sequence[Affected]]) -> _Fixes:
        """The ids that ``group`` decides by one row's fixed version alone (no range, no listed version, not
        "not affected", a version the scheme reads), in the order of those versions: any installed version
        below one is affected by it, with that verdict. Most OS rows are so; ``_Matcher.verdicts`` finds the
        ones above a version by bisection, without a call per (version, id)."""
        items: list[tuple[Any, str, _Verdict]] = []
        if decide != "cpe":
            keys = self.keys(scheme)
            for vuln_id, rows in by_id.items():
                if len(rows) != 1:
                    continue
                row = rows[0]
                if row.ranges or row.versions or not row.fixed_version or self.not_affected(row):
                    continue
                fixed = keys.maybe(row.fixed_version)
                if fixed is not None:  # else ``row`` warns, once per query, as before
                    items.append((fixed, vuln_id, self.verdict(row.status, row.fixed_version, row)))
        items.sort(key=_first)  # (stable: ids of one fixed version keep the rows' order)
        return _Fixes([fixed for fixed, _, _ in items], [(vuln_id, verdict) for _, vuln_id, verdict in items])

    def group(self, q: _Query, rows: Sequence[Affected]) -> _Verdict | None:
        """The verdict of one advisory id for one package, from all its rows."""
        decide = q.rule.decide
        if len(rows) == 1:  # the common case: one row per id
            if self.not_affected(rows[0]):
                return None
            return self.cpe_rule(q, rows) if decide == "cpe" else self.row(q, rows[0])
        if decide == "first-fix":
            return self.first_fix(q, rows)
        if any(self.not_affected(r) for r in rows):
            return None
        if decide == "cpe":
            return self.cpe_rule(q, rows)
        verdicts = [v for v in (self.row(q, r) for r in rows) if v is not None]
        if not verdicts:
            return None
        with_fix = [v for v in verdicts if v.fixed_version]
        if not with_fix:
            return verdicts[0]
        keys = self.keys(q.scheme)
        return max(with_fix, key=lambda v: keys.of(v.fixed_version or ""))

    def first_fix(self, q: _Query, rows: Sequence[Affected]) -> _Verdict | None:
        """Several rows naming one id (secfixes keys): a real fix beats ``0``; the lowest version decides."""
        fixes = [r for r in rows if not self.not_affected(r) and r.fixed_version]
        if not fixes:
            return None
        keys = self.keys(q.scheme)
        try:
            first = min(fixes, key=lambda r: keys.of(r.fixed_version or ""))
        except VersionError as exc:
            self.warn(f"{self._where(fixes[0])}: cannot order its fixed versions ({exc}); using the first")
            first = fixes[0]
        return self.row(q, first)

    def cpe_rule(self, q: _Query, rows: Sequence[Affected]) -> _Verdict | None:
        """A ``cpe`` query: the CNA's own ranges (the rule's companion namespace) when the record has them for
        this product, else NVD's CPE configurations with the branch rule (see module docstring)."""
        companions = q.rule.companions
        cna = [row for row in rows if row.namespace in companions]
        if cna:
            return self.cna_rule(q, cna)
        return self.branch_rule(q, rows)

    def _branch_of(self, q: _Query, version: str | None) -> tuple[int, int] | None:
        if version is None:
            return None
        try:
            return release_branch(q.scheme, version)
        except VersionError:
            return None

    def cna_rule(self, q: _Query, rows: Sequence[Affected]) -> _Verdict | None:
        """The CNA's ranges decide: in none of them (nor listed) -> not affected, whatever NVD's CPEs say. A
        range that holds the version gives its end as the fix when the end is on the installed branch; a
        range ending on another branch (``0 <= v < 3.13.15`` for 3.11.2) leaves the version open."""
        branch = self._branch_of(q, q.version)
        hits = [(rng, row) for row in rows for rng in row.ranges if self._in_range(q, row, rng)]
        for rng, row in hits:
            if rng.end is not None and not rng.end_inclusive and self._branch_of(q, rng.end) == branch:
                return _Verdict("fixed", rng.end, row, (f"CNA range {_fmt_range(rng)}",), "cna")
        if hits:
            rng, row = hits[0]
            note = f"CNA range {_fmt_range(rng)}: {self._cross_branch_note(rng, branch)}"
            return _Verdict("open", None, row, (note,), "cna")
        listed = next((row for row in rows if self._listed(q, row)), None)
        if listed is not None:
            return _Verdict("open", None, listed, ("listed as affected by the CNA",), "cna")
        return None

    def branch_rule(self, q: _Query, rows: Sequence[Affected]) -> _Verdict | None:
        """NVD's CPE ranges compared within the installed version's release branch (see module docstring)."""
        ranges: list[tuple[VersionRange, Affected]] = []
        for row in rows:
            ranges.extend((rng, row) for rng in row.ranges)
            if not row.ranges and row.fixed_version and row.status == "fixed":
                ranges.append((VersionRange(end=row.fixed_version), row))
        branch = self._branch_of(q, q.version)
        own = [
            (rng, row)
            for rng, row in ranges
            if self._branch_of(q, rng.end) == branch
            or (rng.end is None and self._branch_of(q, rng.start) == branch)
        ]
        for rng, row in own:
            if self._in_range(q, row, rng) or (
                _names_a_branch(rng) and self._in_range(q, row, VersionRange(rng.start, rng.start_inclusive))
            ):
                fixed = rng.end if rng.end is not None and not rng.end_inclusive else None
                notes: tuple[str, ...] = (f"NVD range {_fmt_range(rng)}",)
                if _names_a_branch(rng):
                    notes = (f"NVD range {_fmt_range(rng)}: {rng.end} names the whole {rng.end} branch",)
                return _Verdict("fixed" if fixed else "open", fixed, row, notes, "nvd-cpe:branch")
        listed = next((row for row in rows if self._listed(q, row)), None)
        if listed is not None:
            return _Verdict("open", None, listed, (f"NVD lists {q.version} as affected",), "nvd-cpe:version")
        if own:
            return None  # the branch's own range says this version is outside it
        for rng, row in ranges:
            if self._in_range(q, row, rng):
                note = f"NVD range {_fmt_range(rng)}: {self._cross_branch_note(rng, branch)}"
                return _Verdict("open", None, row, (note,), "nvd-cpe:cross-branch")
        return None

    @staticmethod
    def _cross_branch_note(rng: VersionRange, branch: tuple[int, int] | None) -> str:
        own = f"the {branch[0]}.{branch[1]} branch" if branch else "this branch"
        if rng.end is None:
            return f"the advisory gives no fixed version; no fix known for {own}"
        try:
            end_branch = release_branch("generic", rng.end)
        except VersionError:
            end_branch = None
        where = f"the {end_branch[0]}.{end_branch[1]} branch" if end_branch else "another branch"
        if rng.end_inclusive:
            return f"affected up to {rng.end} ({where}); no fix known for {own}"
        return f"fixed in {rng.end} on {where}; no fix known for {own}"


# ---------------------------------------------------------------------------------------------- ids


_ID_PREFERENCE = ("CVE-", "GHSA-", "PYSEC-")


@lru_cache(maxsize=65536)
def _id_key(vuln_id: str) -> tuple[int, tuple[int, ...], str]:
    upper = vuln_id.upper()
    kind = next((i for i, p in enumerate(_ID_PREFERENCE) if upper.startswith(p)), len(_ID_PREFERENCE))
    numbers = tuple(int(n) for n in re.findall(r"\d+", vuln_id)) if kind in (0, 2) else ()
    return kind, numbers, vuln_id


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def preferred_id(ids: Iterable[str]) -> str:
    """CVE if any (the oldest), else GHSA, else PYSEC, else the first in sorted order."""
    return min(ids, key=_id_key)


# ---------------------------------------------------------------------------------------------- matcher


_SEVERITY_ORDER: dict[str, int] = {s: -rank(s) for s in SEVERITIES}

# (namespace, scheme, advisory package, compared version): every query with the same key gets the same
# verdicts (the binary packages of one Debian source, libssl3 and libcrypto3 of openssl)
_VerdictKey = tuple[str, str, str, str]


# (best id, aliases, severity, description, (id, page) links): what findings of one advisory share
_Description = tuple[str, tuple[str, ...], SeverityChoice, str | None, tuple[tuple[str, str], ...]]


class _Matcher:
    def __init__(self, inventory: Inventory, index: AdvisoryIndex) -> None:
        self.inventory = inventory
        self.index = index
        self._warnings: dict[str, None] = {}
        self._vulns: dict[str, Vulnerability | None] = {}
        self._links: dict[str, list[str]] = {}  # aliases_many answers, when the index has it
        self._aliases: dict[str, frozenset[str]] = {}
        # keyed by the severity row's identity: the rows live as long as the match, and hashing an Affected
        # hashes every listed version of it
        self._shared: dict[tuple[str, frozenset[str], int], _Description] = {}
        # (id(verdict), vuln id, namespace, advisory package, query notes) -> template (``template``)
        self._templates: dict[tuple[int, str, str, str, tuple[str, ...]], _Entry] = {}
        # the warnings dict's own setter, not a bound method of this matcher: no reference cycle keeps a
        # finished matcher (its rows, records and candidates) alive until the next full collection
        self.evaluator = _Evaluator(self._add_warning, registry.os_feeds())
        self._vendor_feeds = registry.vendor_feeds()
        self._rules = registry.rules_by_type()
        self._rule_of: dict[
            str, tuple[Profile, PackageRule]
        ] = {}  # namespace -> the feed and rule that asked
        # capabilities checked once: isinstance against a runtime-checkable Protocol is slow
        self._listing: NamespaceListing | None = index if isinstance(index, NamespaceListing) else None
        self._batch: BatchIndex | None = index if isinstance(index, BatchIndex) else None
        self._alias_index: AliasIndex | None = index if isinstance(index, AliasIndex) else None
        self._vuln_batch: VulnerabilityBatchIndex | None = (
            index if isinstance(index, VulnerabilityBatchIndex) else None
        )
        self._alias_batch: AliasBatchIndex | None = index if isinstance(index, AliasBatchIndex) else None
        self._reverse_batch: ReverseAliasBatchIndex | None = (
            index if isinstance(index, ReverseAliasBatchIndex) else None
        )
        # an index that lives across many inventories (scan/index_cache.CachingIndex) may keep the verdicts of
        # each (namespace, scheme, advisory package, version): they depend on nothing else
        self._shared_verdicts: dict[_VerdictKey, _Found] | None = getattr(index, "verdict_cache", None)

    def warn(self, message: str) -> None:
        self._warnings[message] = None

    @property
    def _add_warning(self) -> Callable[[str], None]:
        warnings = self._warnings

        def add(message: str) -> None:
            warnings[message] = None

        return add

    # --- what to ask

    def queries(self) -> list[_Query]:
        os = self.inventory.os
        namespaces: dict[int, str | None] = {}  # id(rule) -> its namespace for this OS
        for rules in self._rules.values():
            for _, rule in rules:
                namespaces[id(rule)] = rule.namespace(os)
        queries: list[_Query] = []
        unmatched: dict[str, int] = {}
        for i, pkg in enumerate(self.inventory.packages):
            rules = self._rules.get(pkg.type, ())
            asked = False
            for feed, rule in rules:
                namespace = namespaces[id(rule)]
                if namespace is None:
                    continue
                asked = True
                if rule.skip_owned and pkg.owner:
                    continue  # the OS package that owns it is matched by the OS feed
                self._rule_of.setdefault(namespace, (feed, rule))
                notes: tuple[str, ...] = ()
                if rule.note_vendored and pkg.vendored:
                    notes = ("vendored copy" + (f" in {pkg.locations[0]}" if pkg.locations else ""),)
                version = rule.version(pkg)
                for name in rule.names(pkg):
                    scheme = rule.name_schemes.get(name, rule.scheme)
                    fallback = rule.fallback_scheme
                    if fallback is not None and self.evaluator.keys(scheme).maybe(version) is None:
                        scheme = fallback
                    queries.append(_Query(i, pkg, namespace, scheme, name, version, rule, notes))
            if rules and not asked:
                unmatched[pkg.type] = unmatched.get(pkg.type, 0) + 1
        for kind, count in unmatched.items():
            os_name = f"{os.id} {os.version_id}".strip() if os else "an unknown OS"
            self.warn(
                f"{count} {kind} package(s) not matched: no {kind} advisory branch known for {os_name} "
                "(os-release missing or unsupported)"
            )
        return queries

    def valid(self, queries: list[_Query]) -> list[_Query]:
        """The queries whose version the scheme accepts, each with its sort key."""
        kept = []
        for q in queries:
            try:
                key = self.evaluator.keys(q.scheme).of(q.version)
            except VersionError as exc:
                self.warn(f"{q.package.type} package {q.package.name} {q.package.version} not matched: {exc}")
                continue
            public = None
            if q.scheme == "pep440" and key.local is not None:
                public = self.evaluator.keys("pep440").of(key.public)
            kept.append(_Query(*q[:8], key, public))  # (``_replace`` costs four times as much)
        return kept

    # --- the index

    def rows(self, queries: list[_Query]) -> dict[tuple[str, str], list[Affected]]:
        by_namespace: dict[str, dict[str, None]] = {}
        for q in queries:
            by_namespace.setdefault(q.namespace, {})[q.name] = None
        known = set(self._listing.namespaces()) if self._listing is not None else None
        result: dict[tuple[str, str], list[Affected]] = {}
        for namespace, names in by_namespace.items():
            feed, rule = self._rule_of[namespace]
            companions = rule.companions
            if (
                known is not None
                and namespace not in known
                and not any(companion in known for companion in companions)
            ):
                self._missing_namespace(namespace, rule)
                continue
            if self._batch is not None:
                found = self._batch.affected_many(namespace, list(names))
                for name in names:
                    result[(namespace, name)] = list(found.get(name, ()))
            else:
                for name in names:
                    result[(namespace, name)] = list(self.index.affected(namespace, name))
            for companion in companions:
                if known is not None and companion not in known:
                    continue
                # e.g. the CNA's own ranges for the same products, decided together with NVD's rows (cpe_rule)
                if self._batch is not None:
                    extra = self._batch.affected_many(companion, list(names))
                    for name in names:
                        result[(namespace, name)].extend(extra.get(name, ()))
                else:
                    for name in names:
                        result[(namespace, name)].extend(self.index.affected(companion, name))
            if known is None and feed.os_feed and not any(result[(namespace, name)] for name in names):
                self._missing_namespace(namespace, rule)
        return result

    def _missing_namespace(self, namespace: str, rule: PackageRule) -> None:
        if rule.missing_message is not None:
            self.warn(rule.missing_message)
            return
        self.warn(
            f"the advisory database has no {rule.missing} {namespace!r}: packages of that namespace were not "
            "matched (update the database with that source/branch)"
        )

    def prefetch(self, vuln_ids: Iterable[str], *, links: bool = False) -> None:
        """Read the ids not read yet in one batch, when the index can (else vulnerability() reads them one
        by one, as before); with ``links``, also the ids linked to them (aliases_many)."""
        wanted = list(dict.fromkeys(vuln_ids))
        if self._vuln_batch is not None:
            missing = [i for i in wanted if i not in self._vulns]
            if missing:
                found = self._vuln_batch.vulnerabilities_many(missing, references=False)
                for vuln_id in missing:
                    self._vulns[vuln_id] = found.get(vuln_id)
        if links and self._reverse_batch is not None:
            # a record holds one direction (``ids_of`` adds its aliases): ask the other only
            missing = [i for i in wanted if i not in self._links]
            if missing:
                linked = self._reverse_batch.aliased_by_many(missing)
                for vuln_id in missing:
                    self._links[vuln_id] = list(linked.get(vuln_id, ()))
        elif links and self._alias_batch is not None:
            missing = [i for i in wanted if i not in self._links]
            if missing:
                linked = self._alias_batch.aliases_many(missing)
                for vuln_id in missing:
                    self._links[vuln_id] = list(linked.get(vuln_id, ()))

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        if vuln_id not in self._vulns:
            self._vulns[vuln_id] = self.index.vulnerability(vuln_id)
        return self._vulns[vuln_id]

    def withdrawn(self, vuln_id: str) -> bool:
        """Whether a feed withdrew the record of ``vuln_id`` (it then never matches)."""
        vuln = self.vulnerability(vuln_id)
        return vuln is not None and bool(vuln.withdrawn)

    def ids_of(self, vuln_id: str) -> frozenset[str]:
        if vuln_id not in self._aliases:
            ids = {vuln_id}
            vuln = self.vulnerability(vuln_id)
            if vuln is not None:
                ids.update(vuln.aliases)
            linked = self._links.get(vuln_id)
            if linked is not None:
                ids.update(linked)
            elif self._alias_index is not None:
                ids.update(self._alias_index.aliases_of(vuln_id))
            self._aliases[vuln_id] = frozenset(ids)
        return self._aliases[vuln_id]

    # --- the work

    def verdicts(
        self, queries: list[_Query], rows: dict[tuple[str, str], list[Affected]]
    ) -> dict[_VerdictKey, _Found]:
        """What affects each distinct query: rows grouped by id once per advisory package, the ids decided
        by a fixed version alone found by bisection (``_Evaluator.fixes``), the others evaluated one by
        one."""
        grouped: dict[tuple[str, str], dict[str, list[Affected]]] = {}
        # (namespace, advisory package, scheme, rule) -> its ids decided by a fixed version alone, and the
        # (id, rows) of the others, evaluated for each version
        all_fixes: dict[tuple[str, str, Scheme, str], tuple[_Fixes, list[tuple[str, list[Affected]]]]] = {}
        out: dict[_VerdictKey, _Found] = {}
        evaluate = self.evaluator.group
        shared = self._shared_verdicts
        for q in queries:
            key = (q.namespace, q.scheme, q.name, q.version)
            if key in out:
                continue
            if shared is not None and key in shared:
                out[key] = shared[key]
                continue
            by_id = grouped.get((q.namespace, q.name))
            if by_id is None:
                by_id = {}
                for row in rows.get((q.namespace, q.name), ()):
                    group = by_id.get(row.vuln_id)
                    if group is None:
                        by_id[row.vuln_id] = [row]
                    else:
                        group.append(row)
                grouped[(q.namespace, q.name)] = by_id
            fixes_key = (q.namespace, q.name, q.scheme, q.rule.decide)
            known = all_fixes.get(fixes_key)
            if known is None:
                fixes = self.evaluator.fixes(q.scheme, q.rule.decide, by_id)
                not_affected = self.evaluator.not_affected
                undecided = [
                    (vuln_id, group)
                    for vuln_id, group in by_id.items()
                    # (an id whose one row says "not affected" never affects: ``group`` says None to all)
                    if vuln_id not in fixes.ids and not (len(group) == 1 and not_affected(group[0]))
                ]
                known = all_fixes[fixes_key] = (fixes, undecided)
            fixes, undecided = known
            others: list[tuple[str, _Verdict]] = []
            for vuln_id, group in undecided:
                verdict = evaluate(q, group)
                if verdict is not None:
                    others.append((vuln_id, verdict))
            found = out[key] = (others, fixes, fixes.start(q.key))
            if shared is not None:
                shared[key] = found
        return out

    def run(self) -> MatchResult:
        queries = self.valid(self.queries())
        rows = self.rows(queries)
        verdicts = self.verdicts(queries, rows)
        # each list of ids decided by a fixed version, from the lowest index a query asks it from: the ids read,
        # checked and described once for every version that meets them (``_Slice``)
        lowest: dict[int, tuple[_Fixes, int]] = {}
        for _, fixes, start in verdicts.values():
            if start < len(fixes.items):
                seen = lowest.get(id(fixes))
                if seen is None or start < seen[1]:
                    lowest[id(fixes)] = (fixes, start)
        self.prefetch(
            chain(
                (vuln_id for others, _, _ in verdicts.values() for vuln_id, _ in others),
                (vuln_id for fixes, start in lowest.values() for vuln_id, _ in fixes.items[start:]),
            ),
            links=True,
        )
        slices = {key: _Slice(self, fixes, start) for key, (fixes, start) in lowest.items()}
        # Packages whose queries are the same (same namespace, advisory package, compared version and notes:
        # the binary packages of one source, one origin's subpackages, one wheel installed twice) get the
        # same findings but for the package itself: their candidates are merged and their findings worked
        # out once (``_Plan``), then stamped with each package.
        packages: dict[int, list[_Query]] = {}
        for q in queries:
            packages.setdefault(q.package_index, []).append(q)
        plans: dict[tuple[Any, ...], _Plan] = {}
        plan_of: list[tuple[Package, _Plan]] = []
        for members in packages.values():
            if len(members) == 1:
                q = members[0]
                signature: tuple[Any, ...] = (q.namespace, q.scheme, q.name, q.version, q.notes)
            else:
                signature = tuple((q.namespace, q.scheme, q.name, q.version, q.notes) for q in members)
            plan = plans.get(signature)
            if plan is None:
                plan = plans[signature] = self.plan(members, verdicts, slices)
            plan_of.append((members[0].package, plan))
        # the aliases' own records give their CVSS scores and descriptions: read them in one batch too
        self.prefetch(
            chain(
                (
                    vuln_id
                    for plan in plans.values()
                    for group in plan.groups
                    for c in group
                    for vuln_id in c.ids
                ),
                (vuln_id for part in slices.values() if part.used for vuln_id in part.ids),
            )
        )
        template = self.template
        for plan in plans.values():
            plan.templates = [template(group) for group in plan.groups]
            if plan.part is not None:
                part, q, start = plan.part
                plan.entries = part.entries(q, start)
        decorated: list[tuple[int, str, str, str, int, Finding]] = []
        for package, plan in plan_of:
            name, version = package.name, package.version
            for (made, severity, vuln_id), compared in plan.templates:
                decorated.append(
                    (severity, name, version, vuln_id, len(decorated), stamp(made, package, compared))
                )
            if plan.part is not None:
                compared = plan.part[1].version
                for made, severity, vuln_id in plan.entries:
                    decorated.append(
                        (severity, name, version, vuln_id, len(decorated), stamp(made, package, compared))
                    )
        decorated.sort()  # (the position breaks ties: stable, and findings are never compared)
        namespaces = tuple(dict.fromkeys(q.namespace for q in queries))
        return MatchResult(tuple(d[-1] for d in decorated), tuple(self._warnings), namespaces)

    def plan(
        self, members: list[_Query], verdicts: dict[_VerdictKey, _Found], slices: dict[int, _Slice]
    ) -> _Plan:
        """The findings of a package with these queries: a package of one query whose ids decided by a fixed
        version meet no other of its ids takes them as a slice of shared templates (``_Slice``); the rest are
        candidates, merged where their ids or aliases meet."""
        if len(members) == 1:
            q = members[0]
            others, fixes, start = verdicts[(q.namespace, q.scheme, q.name, q.version)]
            part = slices.get(id(fixes)) if start < len(fixes.items) else None
            if part is None:
                return _Plan(self.merge(self.candidates(q, others)))
            if part.disjoint:
                candidates = self.candidates(q, others)
                if not any(c.ids & part.ids for c in candidates):
                    part.used = True
                    plan = _Plan(self.merge(candidates))
                    plan.part = (part, q, start)
                    return plan
        return _Plan(
            self.merge(
                [
                    c
                    for q in members
                    for c in self.candidates(
                        q, _affecting(verdicts[(q.namespace, q.scheme, q.name, q.version)])
                    )
                ]
            )
        )

    def candidates(self, q: _Query, found: Iterable[tuple[str, _Verdict]]) -> list[_Candidate]:
        """The affecting (query, id) pairs of one query, withdrawn records left out."""
        out: list[_Candidate] = []
        withdrawn, ids_of, make = self.withdrawn, self.ids_of, _Candidate._make
        for vuln_id, verdict in found:
            if withdrawn(vuln_id):
                continue
            out.append(make((q, vuln_id, verdict, ids_of(vuln_id))))
        return out

    def merge(self, members: list[_Candidate]) -> list[list[_Candidate]]:
        """The candidates of one package whose ids/aliases meet, as groups (union-find), in their order."""
        if len(members) < 2:
            return [members] if members else []
        # no id shared by two members (the common case): each is its own group, in the same order
        if len(frozenset().union(*[c.ids for c in members])) == sum(len(c.ids) for c in members):
            return [[c] for c in members]
        parent = list(range(len(members)))
        owner: dict[str, int] = {}
        for i, c in enumerate(members):
            for vid in c.ids:
                if vid in owner:
                    parent[_find(parent, i)] = _find(parent, owner[vid])
                else:
                    owner[vid] = i
        clusters: dict[int, list[_Candidate]] = {}
        for i, c in enumerate(members):
            clusters.setdefault(_find(parent, i), []).append(c)
        return list(clusters.values())

    def template(self, group: list[_Candidate]) -> tuple[_Entry, str]:
        """The finding of one group of candidates but the package's own fields (with its severity order and
        id, what findings are sorted by), and the version compared.

        A group of one (no alias met another finding of the package: the common case) depends only on its
        verdict, id, advisory package and notes: its template is made once and shared by every query that
        has it (a verdict of a row that only gives a fixed version is one object for all the versions it
        affects, ``_Evaluator.verdict``), whatever version each compared.
        """
        first = group[0]
        q = first.query
        if len(group) == 1:
            key = (id(first.verdict), first.vuln_id, q.namespace, q.name, q.notes)
            entry = self._templates.get(key)
            if entry is None:
                entry = self._templates[key] = self._entry(self._template(group))
            return entry, q.version
        return self._entry(self._template(group)), q.version

    @staticmethod
    def _entry(template: FindingTemplate) -> _Entry:
        return template, _SEVERITY_ORDER[template["severity"]], template["id"]

    def _template(self, group: list[_Candidate]) -> FindingTemplate:
        first = group[0]
        q = first.query
        chosen = first
        if len(group) == 1:  # the common case: no alias met another finding of the package
            all_ids = first.ids
            severity_row = first.verdict.row
            notes = first.verdict.notes
            if q.notes or notes:
                notes = tuple(dict.fromkeys((*q.notes, *notes)))
        else:
            all_ids = frozenset().union(*(c.ids for c in group))
            fixed = [c for c in group if c.verdict.fixed_version]
            if fixed:
                try:
                    chosen = max(fixed, key=lambda c: sort_key(c.query.scheme, c.verdict.fixed_version or ""))
                except VersionError:
                    chosen = fixed[0]
            severity_row = next(
                (
                    c.verdict.row
                    for c in group
                    if c.verdict.row.source in self._vendor_feeds and c.verdict.row.severity
                ),
                next((c.verdict.row for c in group if c.verdict.row.severity), chosen.verdict.row),
            )
            notes = ()
            if q.notes or any(c.verdict.notes for c in group):
                notes = tuple(dict.fromkeys(n for c in group for n in (*c.query.notes, *c.verdict.notes)))
        key = (chosen.vuln_id, all_ids, id(severity_row))
        shared = self._shared.get(key)
        if shared is None:
            shared = self._describe(chosen.vuln_id, all_ids, severity_row, [c.vuln_id for c in group])
            self._shared[key] = shared
        best_id, aliases, choice, description, links = shared
        verdict, cvss = chosen.verdict, choice.cvss
        feed_title, feed_url = registry.feed_reference(verdict.row.source, best_id)
        return finding_template(
            id=best_id,
            aliases=aliases,
            fixed_version=verdict.fixed_version,
            status=verdict.status,
            severity=choice.severity,
            severity_source=choice.source,
            namespace=q.namespace,
            source=verdict.row.source,
            advisory_package=q.name,
            description=description,
            cvss_score=cvss.base_score if cvss else None,
            cvss_vector=cvss.vector if cvss else None,
            cvss_version=cvss.version if cvss else None,
            notes=notes,
            rule=verdict.rule,
            links=links,
            feed_title=feed_title,
            feed_url=feed_url,
        )

    def _links_of(self, best_id: str, aliases: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """(id, page) of the finding's id and each alias that a feed's profile can link to."""
        links = []
        for vuln_id in (best_id, *aliases):
            url = registry.advisory_url(vuln_id)
            if url is not None:
                links.append((vuln_id, url))
        return tuple(links)

    def _describe(
        self, vuln_id: str, all_ids: frozenset[str], severity_row: Affected, member_ids: list[str]
    ) -> _Description:
        """Id, aliases, severity, description and links of one advisory (shared by the binary packages of a
        source)."""
        if len(all_ids) == 1:  # no alias, one member: most OS advisories
            vuln = self.vulnerability(vuln_id)
            choice = assess(severity_row, vuln, ())
            return vuln_id, (), choice, (vuln.summary or None) if vuln else None, self._links_of(vuln_id, ())
        alias_cvss: list[CvssScore] = []
        best_id = preferred_id(all_ids)
        for other in sorted(all_ids - {vuln_id}):
            alias = self.vulnerability(other)
            if alias is not None:
                alias_cvss.extend(alias.cvss)
        choice = assess(severity_row, self.vulnerability(vuln_id), alias_cvss)
        described = self.vulnerability(best_id)
        description = (described.summary if described else None) or next(
            (v.summary for v in map(self.vulnerability, member_ids) if v is not None and v.summary), None
        )
        aliases = tuple(sorted(all_ids - {best_id}, key=_id_key))
        return best_id, aliases, choice, description, self._links_of(best_id, aliases)


def match(inventory: Inventory, index: AdvisoryIndex) -> MatchResult:
    """Every finding of ``inventory`` in ``index`` (sorted: severity, worst first; package; id), and the
    warnings met on the way (branch missing from the database, records that could not be evaluated).
    """
    with _collector_paused():
        return _Matcher(inventory, index).run()


_gc_lock = threading.Lock()
_gc_pausers = 0  # matches running with the cyclic collector paused (threads of one process share it)
_gc_paused_at = 0.0  # when the current pause began (time.monotonic)
# A match joins a pause only this young: matches that keep overlapping in several threads (a fleet worker)
# must not keep the collector off for good, or the cycles other code makes would never be collected
MAX_PAUSE_S = 1.0


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a match runs, as it was before once the last one ends.

    A match allocates tens of thousands of short-lived tuples, rows and findings and frees them without
    cycles (the matcher holds no reference to itself); with the collector on, these allocations trigger
    collections that walk the whole heap (the inventory, every imported module) several times per match:
    25-40 ms of the 100 ms of ``bench/scan_bench.py``'s alpine-500-old case. Reference counting still frees
    everything on time; a cycle made meanwhile by another thread waits for the next collection. A collector
    the caller switched off stays off; a match that starts when a pause is older than ``MAX_PAUSE_S`` runs
    with the collector as it is (so overlapping matches end the pause, and collections resume).
    """
    global _gc_pausers, _gc_paused_at
    with _gc_lock:
        if _gc_pausers == 0:
            joined = gc.isenabled()
            if joined:
                gc.disable()
                _gc_paused_at = time.monotonic()
        else:
            joined = time.monotonic() - _gc_paused_at < MAX_PAUSE_S
        if joined:
            _gc_pausers += 1
    try:
        yield
    finally:
        if joined:
            with _gc_lock:
                _gc_pausers -= 1
                if _gc_pausers == 0:
                    gc.enable()
