"""What matching does for speed must not change what it finds: a finding stamped from a template is the
same frozen object as the dataclass's constructor builds, the collector paused during a match is as it was afterwards
(also with matches in several threads, also when the caller had switched it off), and a finished match
leaves no reference cycle behind (its rows and records are freed when the result is all that is kept).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from alpinist.advisories.model import Affected, CvssScore, Vulnerability
from alpinist.models import Package
from alpinist.scan import matching
from alpinist.scan.matching import match
from alpinist.scan.model import Finding, finding_template, stamp
from tests.test_matching import ALPINE_320, MemoryIndex, apk, inventory, py, secfix


def _values() -> dict[str, object]:
    return {
        "id": "CVE-2024-1",
        "aliases": ("GHSA-aaaa-bbbb-cccc",),
        "package": apk("libssl3", "3.3.1-r0", "openssl"),
        "installed_version": "3.3.1-r0",
        "fixed_version": "3.3.2-r0",
        "status": "fixed",
        "severity": "HIGH",
        "severity_source": "nvd:cvss3.1",
        "namespace": "alpine:3.20",
        "source": "alpine",
        "advisory_package": "openssl",
        "matched_version": "3.3.1-r0",
        "description": "a flaw",
        "cvss_score": 7.5,
        "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        "cvss_version": "3.1",
        "notes": ("a note",),
        "rule": None,
        "links": (("CVE-2024-1", "https://nvd.nist.gov/vuln/detail/CVE-2024-1"),),
        "feed_title": "Alpine secdb",
        "feed_url": None,
    }


_STAMPED = ("package", "installed_version", "matched_version")


def test_a_stamped_finding_is_the_dataclass_built_by_its_constructor() -> None:
    values = _values()
    built = Finding(**values)  # type: ignore[arg-type]
    template = finding_template(**{k: v for k, v in values.items() if k not in _STAMPED})
    package = values["package"]
    assert isinstance(package, Package)
    fast = stamp(template, package, "3.3.1-r0")
    assert type(fast) is Finding
    assert fast == built and hash(fast) == hash(built)
    assert dataclasses.asdict(fast) == dataclasses.asdict(built)
    assert dataclasses.replace(fast, severity="LOW") == dataclasses.replace(built, severity="LOW")
    assert fast.purl == built.purl and fast.url_of("CVE-2024-1") == built.url_of("CVE-2024-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.severity = "LOW"  # type: ignore[misc]
    # each stamp is an object of its own: the template is not shared with (nor changed by) any finding
    other = stamp(template, apk("libcrypto3", "3.3.1-r0", "openssl"), "3.3.1-r0")
    assert other.package.name == "libcrypto3" and fast.package.name == "libssl3"
    assert "package" not in template


def test_a_template_refuses_a_missing_unknown_or_per_package_field() -> None:
    values = {k: v for k, v in _values().items() if k not in _STAMPED}
    del values["feed_url"]
    with pytest.raises(TypeError, match="missing fields \\['feed_url'\\]"):
        finding_template(**values)
    values = {k: v for k, v in _values().items() if k not in _STAMPED}
    with pytest.raises(TypeError, match="unknown fields \\['colour'\\]"):
        finding_template(**values, colour="red")
    with pytest.raises(TypeError, match="unknown fields \\['installed_version'\\]"):
        finding_template(**values, installed_version="1")


class _Watching(MemoryIndex):
    """An index that records whether the collector ran while matching read it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.collector_seen: list[bool] = []
        self.reached = threading.Barrier(1)

    def affected(self, namespace: str, package: str) -> list[Affected]:
        self.collector_seen.append(gc.isenabled())
        self.reached.wait()
        return super().affected(namespace, package)


def _case(index_type: type[MemoryIndex] = MemoryIndex) -> tuple[object, MemoryIndex]:
    inv = inventory(ALPINE_320, apk("libssl3", "3.3.1-r0", "openssl"), apk("busybox", "1.36.1-r28"))
    index = index_type(
        [
            secfix("3.20", "openssl", "CVE-2024-1", "3.3.2-r0"),
            secfix("3.20", "busybox", "CVE-2023-2", "1.36.1-r29"),
        ],
        [Vulnerability("CVE-2024-1", cvss=(CvssScore("3.1", "CVSS:3.1/AV:N", 7.5, "HIGH", "nvd@nist.gov"),))],
    )
    return inv, index


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_the_collector_is_paused_during_a_match_and_on_again_after() -> None:
    inv, index = _case(_Watching)
    result = match(inv, index)  # type: ignore[arg-type]
    assert {f.id for f in result.findings} == {"CVE-2024-1", "CVE-2023-2"}
    assert isinstance(index, _Watching) and index.collector_seen and not any(index.collector_seen)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_collector_the_caller_switched_off_stays_off() -> None:
    inv, index = _case()
    gc.disable()
    match(inv, index)  # type: ignore[arg-type]
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_matches_in_several_threads_leave_the_collector_on() -> None:
    # three matches inside their index reads at the same moment, then finishing in turn
    indexes = []
    barrier = threading.Barrier(3)
    for _ in range(3):
        inv, index = _case(_Watching)
        assert isinstance(index, _Watching)
        index.reached = barrier
        indexes.append((inv, index))
    errors: list[BaseException] = []

    def run(inv: object, index: MemoryIndex) -> None:
        try:
            match(inv, index)  # type: ignore[arg-type]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert all(not any(index.collector_seen) for _, index in indexes)
    assert gc.isenabled()


def test_a_finished_match_leaves_no_reference_cycle() -> None:
    inv, index = _case()
    match(inv, index)  # type: ignore[arg-type]  (warm: imports and caches made once)
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = match(inv, index)  # type: ignore[arg-type]
        gc.collect()
        left = list(gc.garbage)
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
    assert result.findings
    assert left == []


# ---------------------------------------------------------------------------------------------- verdicts

# version strings of one small neighbourhood, spelt the ways PEP 440 and apk allow: equal versions written
# differently (1.0 / 1.0.0 / v1.0), local labels, pre-releases, epochs, and strings no scheme reads
_PEP440 = st.sampled_from(
    [
        "1.0",
        "1.0.0",
        "v1.0",
        "1.0+cu118",
        "1.0.0+local.1",
        "1.0rc1",
        "1.0.post1",
        "1!1.0",
        "1.1",
        "0.9",
        "2.0",
        "2.0.0+x",
        "01.0",
        "not a version",
        "1.0-1",
        "1.0.dev0",
        # equal to others above, spelt otherwise: implicit zeros, an explicit epoch 0, case, separators
        "0!1.0",
        "1.0.0.0",
        "V1.0",
        "1.0.dev",
        "1.0-dev0",
        "1.0RC1",
        "1.0-rc.1",
        "1.0c1",
        "1.0post1",
        "1.0.rev1",
        "1.0a",
        "1.0a0",
        "1.0.0+LOCAL-1",
        "1.0+cu.118",
        "2!1.0",
        "1.01",
        "1.1.0",
        "10.0",
    ]
)
_APK_VERSIONS = [
    "1.0-r0",
    "1.0-r1",
    "1.0.1-r0",
    "1.0_rc1-r0",
    "1.0_p1-r0",
    "1.1-r0",
    "1.0a-r0",
    "2.0-r0",
    "1.0_git20240101-r0",
    "0.9-r5",
]
_APK = st.sampled_from(_APK_VERSIONS)


def _listed_by_definition(installed: str, listed: list[str]) -> bool:
    """PEP 440: the installed version equals a listed one, or is it but for a local label the listed one
    does not have (``satisfies`` with ``=``)."""
    from alpinist.versions import VersionError, satisfies

    for version in listed:
        if version == installed:
            return True
        try:
            if satisfies("pep440", installed, "=", version):
                return True
        except VersionError:
            continue
    return False


@settings(max_examples=600, deadline=None)
@given(installed=_PEP440, listed=st.lists(_PEP440, min_size=1, max_size=8))
def test_a_listed_version_matches_as_pep440_equality_says(installed: str, listed: list[str]) -> None:
    from alpinist.versions import is_valid

    row = Affected("PYSEC-1", "osv", "pypi", "pkg", "open", versions=tuple(listed))
    # a second row of another id shares the same tuple object, as the store's rows do
    twin = Affected("PYSEC-2", "osv", "pypi", "pkg", "open", versions=row.versions)
    result = match(inventory(None, py("pkg", installed)), MemoryIndex([row, twin]))
    expected = is_valid("pep440", installed) and _listed_by_definition(installed, listed)
    assert {f.id for f in result.findings} == ({"PYSEC-1", "PYSEC-2"} if expected else set())


@settings(max_examples=300, deadline=None)
@given(
    installed=st.lists(_APK, min_size=1, max_size=4),
    fixes=st.lists(
        st.tuples(
            st.sampled_from(["CVE-1", "CVE-2", "CVE-3", "CVE-4"]), st.sampled_from([*_APK_VERSIONS, "0"])
        ),
        max_size=6,
    ),
)
def test_ids_decided_by_a_fixed_version_alone_match_below_it(
    installed: list[str], fixes: list[tuple[str, str]]
) -> None:
    from alpinist.versions import compare

    rows = [secfix("3.20", "openssl", vuln_id, fixed) for vuln_id, fixed in fixes]
    packages = [apk(f"libssl{i}", version, "openssl") for i, version in enumerate(installed)]
    result = match(inventory(ALPINE_320, *packages), MemoryIndex(rows))
    expected = set()
    for package in packages:
        for vuln_id in {v for v, _ in fixes}:
            # secdb's rule: a real fix beats "0" (not affected); the first (lowest) fixed version decides
            real = [f for v, f in fixes if v == vuln_id and f != "0"]
            if not real:
                continue
            first = min(real, key=functools.cmp_to_key(lambda a, b: compare("apk", a, b)))
            if compare("apk", package.version, first) < 0:
                expected.add((package.name, vuln_id, first))
    assert {(f.package.name, f.id, f.fixed_version) for f in result.findings} == expected


class _NoSlices(matching._Slice):
    """The general path for every package: candidates merged one by one (what slices must agree with)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.disjoint = False


_IDS = ["CVE-2024-1", "CVE-2024-2", "CVE-2024-3", "CVE-2024-4", "GHSA-aaaa-bbbb-cccc"]


_FEW = ["0.9-r5", "1.0-r0", "1.0-r1", "1.1-r0", "2.0-r0", "0"]


@settings(max_examples=400, deadline=None)
@given(
    installed=st.lists(st.sampled_from(_FEW[:-1]), min_size=1, max_size=4),
    rows=st.lists(st.tuples(st.sampled_from(_IDS), st.sampled_from(_FEW)), max_size=8),
    withdrawn=st.sets(st.sampled_from(_IDS), max_size=2),
    links=st.lists(st.tuples(st.sampled_from(_IDS), st.sampled_from([*_IDS, "CVE-2020-9"])), max_size=3),
)
# two ids decided by a fixed version each, one an alias of the other: one finding, not two
@example(["1.0-r0"], [(_IDS[0], "1.1-r0"), (_IDS[1], "1.1-r0")], set(), [(_IDS[0], _IDS[1])])
# a withdrawn id below the versions a second package still meets: its slice starts after it, not one later
@example(["0.9-r5", "1.0-r1"], [(_IDS[0], "1.0-r1"), (_IDS[1], "1.1-r0"), (_IDS[2], "2.0-r0")], {_IDS[0]}, [])
def test_slices_of_fixed_versions_find_what_merging_candidates_finds(
    installed: list[str], rows: list[tuple[str, str]], withdrawn: set[str], links: list[tuple[str, str]]
) -> None:
    # secdb rows of one origin (an id under two keys is decided by the first fix, not by a slice), records
    # some of which are withdrawn, aliases that make two ids one finding
    affected = [secfix("3.20", "openssl", vuln_id, fixed) for vuln_id, fixed in rows]
    aliases: dict[str, list[str]] = {}
    for vuln_id, alias in links:
        if alias != vuln_id:
            aliases.setdefault(vuln_id, []).append(alias)
    records = [
        Vulnerability(
            vuln_id,
            aliases=tuple(aliases.get(vuln_id, ())),
            withdrawn="2024-01-01" if vuln_id in withdrawn else None,
            cvss=(CvssScore("3.1", f"CVSS:3.1/{vuln_id}", 5.0 + i, "MEDIUM", "nvd@nist.gov"),),
        )
        for i, vuln_id in enumerate(_IDS)
    ]
    packages = [apk(f"libssl{i}", version, "openssl") for i, version in enumerate(installed)]
    inv = inventory(ALPINE_320, *packages)
    sliced = match(inv, MemoryIndex(affected, records))  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matching, "_Slice", _NoSlices)
        merged = match(inv, MemoryIndex(affected, records))  # type: ignore[arg-type]
    assert sliced == merged


def test_frozen_from_builds_what_the_constructor_builds() -> None:
    from alpinist.models import VersionRange, frozen_from

    values = {
        "vuln_id": "PYSEC-1",
        "source": "osv",
        "namespace": "pypi",
        "package": "jinja2",
        "status": "fixed",
        "fixed_version": "2.11.3",
        "ranges": (VersionRange("0", end="2.11.3"),),
        "versions": ("2.11.2",),
        "severity": None,
        "severity_note": None,
    }
    built = Affected(**values)  # type: ignore[arg-type]
    fast = frozen_from(Affected, dict(values))
    assert type(fast) is Affected and fast == built and hash(fast) == hash(built)
    assert dataclasses.replace(fast, status="open") == dataclasses.replace(built, status="open")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.status = "open"  # type: ignore[misc]
    del values["severity_note"]
    with pytest.raises(TypeError, match="9 fields given, 10 expected"):
        frozen_from(Affected, values)


@pytest.mark.usefixtures("collector_on")
def test_a_match_joins_a_young_pause_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # matches overlapping for ever (threads of a fleet worker) must not keep the collector off for good
    now = [1000.0]
    monkeypatch.setattr(matching.time, "monotonic", lambda: now[0])
    with matching._collector_paused():
        assert not gc.isenabled() and matching._gc_pausers == 1
        with matching._collector_paused():  # a second match, at once: it joins
            assert matching._gc_pausers == 2
        now[0] += matching.MAX_PAUSE_S + 0.5
        with matching._collector_paused():  # one that starts when the pause is old: it does not
            assert matching._gc_pausers == 1
        assert not gc.isenabled()  # the first match still runs
    assert gc.isenabled() and matching._gc_pausers == 0
    with matching._collector_paused():  # the next match begins a new pause
        assert not gc.isenabled() and matching._gc_pausers == 1
    assert gc.isenabled()
