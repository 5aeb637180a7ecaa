"""Which severity a finding gets, and where it came from.

Precedence (DESIGN.md "Severity"), first that applies wins:

1. **Vendor**: the distro's own rating (feeds whose profile has ``vendor_severity``) of the issue for its package (Debian urgency: ``unimportant``
   NEGLIGIBLE, ``low``, ``medium``, ``high``). Source: the feed name, ``"debian"``. An urgency Debian
   marked as guessed from NVD (``low**``) is only used when NVD has no score: NVD's own score is then the
   better evidence.
2. **NVD** CVSS, from the NVD record of the CVE (the vulnerability itself or one of its aliases): v3.1,
   then v4.0, then v3.0, then v2.0; within a version NVD's own (primary, ``nvd@nist.gov``) score before
   a CNA's or ADP's (secondary) one. Source: ``"nvd:cvss3.1"``, or ``"nvd:cvss3.1:<scorer>"`` for a
   secondary score (``"nvd:cvss3.1:secalert@redhat.com"``, ``"nvd:cvss3.1:cisa-adp"``).
3. **Other CVSS**: the vectors of OSV records (GitHub advisories, PyPA), same version order. Source:
   ``"ghsa:cvss3.1"``, ``"osv:cvss3.1"``.
4. GitHub's own rating of an advisory (OSV ``database_specific.severity``). Source: ``"ghsa"``.
5. ``UNKNOWN``, source ``"none"``.

Which feed a score came from is read from ``CvssScore.source``: the OSV feed writes ``osv:<ID prefix>``
(``osv:GHSA``, ``osv:PYSEC``); NVD scores carry the scorer's identifier (``nvd@nist.gov`` with
``primary=True`` for NVD's own, a CNA/ADP address with ``primary=False`` for the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alpinist.advisories.cvss import cvss_band
from alpinist.advisories.model import SEVERITIES, Affected, CvssScore, Severity, Vulnerability, rank
from alpinist.advisories.registry import vendor_feeds

_CVSS_VERSION_ORDER = ("3.1", "4.0", "3.0", "2.0")
_ALIASES: dict[str, Severity] = {
    "MODERATE": "MEDIUM",
    "IMPORTANT": "HIGH",
    "NONE": "NEGLIGIBLE",
    "INFO": "NEGLIGIBLE",
}


def at_least(severity: Severity, threshold: Severity) -> bool:
    """Whether ``severity`` is ``threshold`` or worse (UNKNOWN is below everything else)."""
    return rank(severity) >= rank(threshold)


def parse_severity(text: str) -> Severity:
    """A severity name as users and feeds write it (``high``, ``Moderate``) -> Severity; ValueError otherwise."""
    name = text.strip().upper()
    if name in SEVERITIES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise ValueError(
        f"unknown severity {text!r} (expected one of {', '.join(s.lower() for s in SEVERITIES)})"
    )


def cvss_severity(score: CvssScore) -> Severity:
    """The qualitative rating of a score: the feed's, else from the base score (v2 has no CRITICAL)."""
    if score.severity in SEVERITIES and score.severity != "UNKNOWN":
        return score.severity
    if score.base_score <= 0.0:
        return "NEGLIGIBLE"
    return cvss_band(score.version, score.base_score)


@dataclass(frozen=True)
class SeverityChoice:
    severity: Severity
    source: str  # "debian", "nvd:cvss3.1", "nvd:cvss3.1:secalert@redhat.com", "ghsa:cvss3.1", "ghsa", "none"
    cvss: CvssScore | None = None  # the score that gave it, or the best score known when a vendor rating won


_NO_SEVERITY = SeverityChoice("UNKNOWN", "none")


def _is_osv(score: CvssScore) -> bool:
    return score.source.startswith("osv:")


def _version_rank(score: CvssScore) -> int:
    version = score.version.strip()
    for index, known in enumerate(_CVSS_VERSION_ORDER):
        if version == known or (known == "2.0" and version in ("2", "2.0")):
            return index
    return len(_CVSS_VERSION_ORDER)


def _preference(score: CvssScore) -> tuple[int, bool, str, str]:
    return (
        _version_rank(score),
        not (score.primary or score.source == "nvd@nist.gov"),
        score.source,
        score.vector,
    )


def _best(scores: Sequence[CvssScore]) -> CvssScore | None:
    """The preferred score (the first of equals); most records have one or none."""
    if len(scores) < 2:
        return scores[0] if scores else None
    return min(scores, key=_preference)


# NVD names some scorers by UUID only
_SCORER_NAMES = {"134c704f-9b21-4f2e-91b3-4a467353bcc0": "cisa-adp"}


def _label(score: CvssScore) -> str:
    version = score.version.strip()
    if _is_osv(score):
        feed = "ghsa" if "GHSA" in score.source.upper() else "osv"
        return f"{feed}:cvss{version}"
    if score.primary or score.source == "nvd@nist.gov":
        return f"nvd:cvss{version}"
    return f"nvd:cvss{version}:{_SCORER_NAMES.get(score.source, score.source)}"


def _guessed(affected: Affected) -> bool:
    """Debian marks an urgency it copied from NVD with ``*``/``**`` (``low**``)."""
    note = affected.severity_note or ""
    return note.split(";", 1)[0].strip().endswith("*")


def assess(
    affected: Affected, vuln: Vulnerability | None, aliases_cvss: Sequence[CvssScore]
) -> SeverityChoice:
    """The severity of one finding, with its source and the CVSS score behind it (see module docstring)."""
    nvd_scores: list[CvssScore] = []
    osv_scores: list[CvssScore] = []
    for score in (*(vuln.cvss if vuln else ()), *aliases_cvss):
        (osv_scores if _is_osv(score) else nvd_scores).append(score)
    nvd = _best(nvd_scores)
    other = _best(osv_scores)
    vendors = vendor_feeds()  # the feeds whose profile says their severity is the vendor's
    vendor = affected.severity if affected.source in vendors else None
    if vendor is not None and not (_guessed(affected) and nvd is not None):
        return SeverityChoice(vendor, affected.source, nvd or other)
    if nvd is not None:
        return SeverityChoice(cvss_severity(nvd), _label(nvd), nvd)
    if other is not None:
        return SeverityChoice(cvss_severity(other), _label(other), other)
    if affected.severity is not None and affected.source not in vendors:
        # OSV: GitHub's rating of the advisory (the OSV feed notes where the rating came from)
        return SeverityChoice(affected.severity, affected.severity_note or affected.source)
    return _NO_SEVERITY


def choose_severity(
    affected: Affected, vuln: Vulnerability | None, aliases_cvss: Sequence[CvssScore]
) -> tuple[Severity, str]:
    """``(severity, where it came from)`` for one finding; see the module docstring for the precedence."""
    choice = assess(affected, vuln, aliases_cvss)
    return choice.severity, choice.source
