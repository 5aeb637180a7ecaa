"""The texts every recommend report shares: the current base's line, a candidate's cells with their
deltas against the current base, the skipped tags' summaries and the closing line (the next step, or
why there is none). Plain strings: each report escapes them for its medium."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from alpinist.advisories.model import SEVERITIES
from alpinist.compare.metrics import human_bytes
from alpinist.recommend.model import CurrentBase, Evaluation, Measurement, Recommendation, SkippedTag

MISSING = "—"
MINUS = "\u2212"  # a real minus sign: "12 (−40)"
EXAMPLES = 5  # skipped tags shown per repository

# The table's columns, in order (the Markdown table uses the same headers).
COLUMNS = (
    "#",
    "Candidate",
    "Family",
    "Python",
    "C/H",
    "Total",
    "Fixable",
    "Size",
    "User",
    "Shell",
    "Pkg mgr",
    "Status",
)

STATUS_TEXT = {"ok": "ok", "not-scanned": "not scanned", "error": "error", "incompatible": "incompatible"}
LEVEL_MARK = {"blocker": "✗ blocker", "warning": "! warning", "info": "· info   "}


def signed(n: int, suffix: str = "") -> str:
    """``+3``, ``−40``, ``±0`` (with a real minus sign)."""
    if n == 0:
        return f"±0{suffix}"
    return f"+{n}{suffix}" if n > 0 else f"{MINUS}{-n}{suffix}"


def percent(value: int, against: int) -> str:
    """``−62%`` of ``value`` against ``against`` ("" when ``against`` is 0)."""
    return signed(round(100 * (value - against) / against), "%") if against else ""


def reference_measurement(rec: Recommendation) -> Measurement | None:
    """The current base's measurement when its counts are a measurement (scanned), else None."""
    m = rec.current.measurement
    return m if m is not None and m.scanned else None


def count_text(value: int, against: int | None) -> str:
    """``12 (−40)``: a candidate's count and its difference to the current base's."""
    return str(value) if against is None else f"{value} ({signed(value - against)})"


def size_of(m: Measurement) -> tuple[int, bool]:
    """The size a candidate is compared by: uncompressed when known (True), else compressed (False)."""
    return (m.uncompressed, True) if m.uncompressed is not None else (m.compressed, False)


def size_text(m: Measurement, against: Measurement | None) -> str:
    """``48.9 MB (−62%)``: uncompressed (``… compressed`` when unknown), percent against the current base."""
    value, uncompressed = size_of(m)
    text = human_bytes(value) if uncompressed else f"{human_bytes(value)} compressed"
    if against is not None:
        base, base_uncompressed = size_of(against)
        if base_uncompressed == uncompressed and (pct := percent(value, base)):
            text += f" ({pct})"
    return text


def python_text(e: Evaluation) -> str:
    """The Python found in the image, else the tag's with ``(tag)``."""
    if e.measurement is not None and e.measurement.python:
        return e.measurement.python
    if e.candidate.tag_python:
        return f"{e.candidate.tag_python} (tag)"
    return MISSING


@dataclass(frozen=True)
class Row:
    """One candidate's cells, in ``COLUMNS`` order; counts are None when there is no measurement of them."""

    rank: str
    reference: str
    family: str
    python: str
    critical_high: str | None
    total: str | None
    fixable: str | None
    size: str | None
    user: str | None
    shell: str | None
    package_managers: str | None
    status: str

    def cells(self) -> list[str]:
        return [
            self.rank,
            self.reference,
            self.family,
            self.python,
            *(
                c if c is not None else MISSING
                for c in (
                    self.critical_high,
                    self.total,
                    self.fixable,
                    self.size,
                    self.user,
                    self.shell,
                    self.package_managers,
                )
            ),
            self.status,
        ]


def row_of(e: Evaluation, rec: Recommendation) -> Row:
    base = reference_measurement(rec)
    m = e.measurement
    counted = m if m is not None and m.scanned else None  # never a 0 that was not measured
    return Row(
        rank=str(e.rank) if e.rank > 0 else MISSING,
        reference=e.candidate.reference,
        family="refresh" if e.candidate.origin == "refresh" else e.candidate.title,
        python=python_text(e),
        critical_high=None
        if counted is None
        else count_text(counted.critical_high, None if base is None else base.critical_high),
        total=None
        if counted is None
        else count_text(counted.vulnerabilities, None if base is None else base.vulnerabilities),
        fixable=None
        if counted is None
        else count_text(counted.fixable, None if base is None else base.fixable),
        size=None if m is None else size_text(m, rec.current.measurement),
        user=None if m is None else ("root" if m.runs_as_root else "non-root"),
        shell=None if m is None else ("yes" if m.shell else "no"),
        package_managers=None if m is None else (", ".join(m.package_managers) or "none"),
        status=STATUS_TEXT[e.status],
    )


def status_reason(e: Evaluation) -> str | None:
    """``not scanned: <why>`` or ``error: <what>`` for a candidate that has no counts, else None."""
    if e.error is not None:
        return f"error: {e.error}"
    if e.measurement is None:
        return "error: not measured"
    if not e.measurement.scanned:
        return f"not scanned: {e.measurement.not_scanned or 'no reason given'}"
    return None


def noted_evaluations(rec: Recommendation) -> list[Evaluation]:
    """The candidates with something to say under the table: notes, or why they have no counts."""
    return [e for e in rec.evaluations if e.notes or status_reason(e) is not None]


def candidate_title(e: Evaluation) -> str:
    """``#4 cgr.dev/chainguard/python:latest-dev``, with `` — not scanned: <why>`` or `` — error: …``."""
    title = f"#{e.rank} {e.candidate.reference}" if e.rank > 0 else e.candidate.reference
    reason = status_reason(e)
    return title if reason is None else f"{title} — {reason}"


def current_text(current: CurrentBase) -> str:
    """``python:3.11.9-slim (Dockerfile line 5) · debian 12 · glibc · Python 3.11 (the base tag)``."""
    parts = [f"{current.reference or 'not detected'} ({current.detected_by})"]
    if current.distro:
        parts.append(" ".join(p for p in (current.distro, current.release) if p))
    if current.libc:
        parts.append(current.libc)
    if current.python:
        parts.append(
            f"Python {current.python}" + (f" ({current.python_from})" if current.python_from else "")
        )
    else:
        parts.append("Python unknown")
    return " · ".join(parts)


def severity_text(m: Measurement) -> str:
    """``3 critical, 11 high, 17 medium, 20 low, 1 unknown``: critical and high always, the rest when not 0."""
    return ", ".join(
        f"{m.count(s)} {s.lower()}" for s in SEVERITIES if m.count(s) or s in ("CRITICAL", "HIGH")
    )


def sizes_text(m: Measurement) -> str:
    """``45.0 MB compressed / 130.2 MB``."""
    text = f"{human_bytes(m.compressed)} compressed"
    return text if m.uncompressed is None else f"{text} / {human_bytes(m.uncompressed)}"


def measurement_line(current: CurrentBase) -> str:
    """The current base's counts and sizes, or why it has none."""
    m = current.measurement
    if m is None:
        return f"not measured: {current.error or 'no base image to pull'}"
    if not m.scanned:
        return f"not scanned: {m.not_scanned or 'no reason given'} · {sizes_text(m)}"
    noun = "vulnerability" if m.vulnerabilities == 1 else "vulnerabilities"
    return f"{m.vulnerabilities} {noun}: {severity_text(m)}, {m.fixable} fixable · {sizes_text(m)}"


@dataclass(frozen=True)
class SkippedRepository:
    repository: str
    count: int
    reasons: tuple[tuple[str, int], ...]  # most frequent first, then by name
    examples: tuple[str, ...]  # the first ``EXAMPLES`` tags, in the order they were listed

    @property
    def summary(self) -> str:
        """``python: 14 skipped (9 pre-release, 3 other Python minor, 2 older release)``."""
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.reasons)
        return f"{self.repository}: {self.count} skipped ({reasons})"

    @property
    def more(self) -> int:
        return self.count - len(self.examples)


def skipped_repositories(skipped: tuple[SkippedTag, ...]) -> list[SkippedRepository]:
    """The skipped tags by repository, in the order the repositories first appear."""
    by_repo: dict[str, list[SkippedTag]] = {}
    for t in skipped:
        by_repo.setdefault(t.repository, []).append(t)
    out = []
    for repo, tags in by_repo.items():
        counts = Counter(t.reason for t in tags)
        reasons = tuple(sorted(counts.items(), key=lambda rn: (-rn[1], rn[0])))
        out.append(SkippedRepository(repo, len(tags), reasons, tuple(t.tag for t in tags[:EXAMPLES])))
    return out


def next_step_parts(rec: Recommendation) -> tuple[str, str] | None:
    """The next step as (words, text to copy): ``("", "alpinist migrate Dockerfile.k8s --to …")`` or
    ``("replace line 5 with ", "FROM python:3.11.14-slim")``; None without a winner or a next step."""
    step = rec.next_step
    if step is None or rec.winner is None:
        return None
    if step.kind == "migrate":
        return "", step.text
    return (f"replace line {step.line} with " if step.line is not None else "use "), step.text


def no_recommendation_text(rec: Recommendation) -> str:
    """Why there is no winner: no compatible scanned candidate, and what the candidates were instead."""
    if not rec.evaluations:
        return "No recommendation: no candidate base image was found to try."
    counts = Counter(e.status for e in rec.evaluations)
    parts = [
        f"{counts[s]} {STATUS_TEXT[s]}" for s in ("incompatible", "not-scanned", "error", "ok") if counts[s]
    ]
    return (
        "No recommendation: no candidate is both compatible and scanned "
        f"({', '.join(parts)} of {len(rec.evaluations)})."
    )


def winner_text(rec: Recommendation) -> str:
    """``Recommendation: python:3.11.14-slim (refresh)``, or why there is none."""
    w = rec.winner
    if w is None:
        return no_recommendation_text(rec)
    family = "refresh" if w.candidate.origin == "refresh" else w.candidate.title
    return f"Recommendation: {w.candidate.reference} ({family})"
