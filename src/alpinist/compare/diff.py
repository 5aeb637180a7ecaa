"""The CVE diff of an image against another: fixed and new CVEs, grouped by package."""

from __future__ import annotations

from collections.abc import Iterable

from alpinist.advisories.model import Severity, rank
from alpinist.compare.model import CveDiff, DiffId, PackageIds
from alpinist.scan.model import Finding, ScanResult


def _names(finding: Finding) -> set[str]:
    return {finding.id, *finding.aliases}


def _group(findings: Iterable[Finding]) -> tuple[PackageIds, ...]:
    groups: dict[tuple[str, str], tuple[set[str], dict[str, Severity]]] = {}
    urls: dict[str, str | None] = {}
    for f in findings:
        installed, ids = groups.setdefault((f.package.type, f.advisory_package), (set(), {}))
        installed.add(f"{f.package.name} {f.package.version}")
        if f.id not in ids or rank(f.severity) > rank(ids[f.id]):
            ids[f.id] = f.severity
        urls.setdefault(f.id, f.url_of(f.id))
    out = [
        PackageIds(
            package=pkg,
            type=typ,
            installed=tuple(sorted(installed)),
            ids=tuple(
                DiffId(i, sev, urls.get(i))
                for i, sev in sorted(ids.items(), key=lambda kv: (-rank(kv[1]), kv[0]))
            ),
        )
        for (typ, pkg), (installed, ids) in groups.items()
    ]
    return tuple(sorted(out, key=lambda g: (g.package.lower(), g.type)))


def cve_diff(first: ScanResult, other: ScanResult, *, image: int = 1, against: int = 0) -> CveDiff:
    known_first = set().union(*(_names(f) for f in first.findings)) if first.findings else set()
    known_other = set().union(*(_names(f) for f in other.findings)) if other.findings else set()
    removed = [f for f in first.findings if not _names(f) & known_other]
    added = [f for f in other.findings if not _names(f) & known_first]
    unchanged = {f.id for f in other.findings if _names(f) & known_first}
    return CveDiff(image, against, _group(removed), _group(added), len(unchanged))
