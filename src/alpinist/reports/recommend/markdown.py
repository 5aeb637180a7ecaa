"""The recommendation as GitHub-flavoured Markdown (a pull-request comment or a job summary)::

    ### alpinist recommend: `python:3.11.14-alpine3.22`

    **Current base:** `python:3.11.9-slim` (Dockerfile line 5) · debian 12 · glibc · Python 3.11 (…)
    52 vulnerabilities: 3 critical, 11 high, …, 41 fixable · 45.1 MB compressed / 130.4 MB

    | # | Candidate | Family | Python | C/H | Total | Fixable | Size | User | Shell | Pkg mgr | Status |
    ...
    **Notes** (a list per candidate)
    **Next:** `alpinist migrate Dockerfile.k8s --to python:3.11.14-alpine3.22`
    **Ranking** (numbered), **Warnings**
    <details><summary>Skipped tags (15)</summary> a line per repository </details>

Every string from an image, a feed, a registry or the Dockerfile is escaped (``markdown_cell``) or put in
a code span without backquotes and line breaks: nothing can break the table or inject markup.
"""

from __future__ import annotations

from alpinist.recommend.model import Evaluation, Recommendation
from alpinist.reports.markdown_text import markdown_cell
from alpinist.reports.recommend.common import (
    COLUMNS,
    LEVEL_MARK,
    MISSING,
    current_text,
    measurement_line,
    next_step_parts,
    noted_evaluations,
    row_of,
    skipped_repositories,
    status_reason,
    winner_text,
)

RIGHT = frozenset({"#", "C/H", "Total", "Fixable", "Size"})


def _code(text: str) -> str:
    """A code span that stays in its cell: no backquote, no line break, ``|`` escaped."""
    clean = " ".join(text.replace("`", "").split()).replace("|", "\\|")
    return f"`{clean}`" if clean else ""


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _candidate_cells(e: Evaluation, rec: Recommendation) -> list[str]:
    cells = row_of(e, rec).cells()
    out = [
        _code(c) if header == "Candidate" else markdown_cell(c)
        for header, c in zip(COLUMNS, cells, strict=True)
    ]
    return [f"**{c}**" if e is rec.winner and c and c != MISSING else c for c in out]


def render_recommend_markdown(rec: Recommendation) -> str:
    winner = rec.winner
    title = _code(winner.candidate.reference) if winner is not None else "no recommendation"
    lines = [
        f"### alpinist recommend: {title}",
        "",
        f"**Current base:** {_current(rec)}",
        "",
        markdown_cell(measurement_line(rec.current)),
        "",
    ]
    if rec.evaluations:
        lines += [
            _row(list(COLUMNS)),
            "|" + "|".join("--:" if h in RIGHT else "---" for h in COLUMNS) + "|",
            *(_row(_candidate_cells(e, rec)) for e in rec.evaluations),
            "",
        ]
    lines += _notes(rec)
    step = next_step_parts(rec)
    if step is not None:
        words = f"{markdown_cell(step[0])} " if step[0] else ""
        lines += [f"**Next:** {words}{_code(step[1])}", ""]
    else:
        lines += [f"**{markdown_cell(winner_text(rec))}**", ""]
    if rec.ranking:
        lines += ["**Ranking**", "", *(f"{i}. {markdown_cell(r)}" for i, r in enumerate(rec.ranking, 1)), ""]
    if rec.warnings:
        lines += ["**Warnings**", "", *(f"- {markdown_cell(w)}" for w in rec.warnings), ""]
    lines += _skipped(rec)
    return "\n".join(lines).rstrip("\n") + "\n"


def _current(rec: Recommendation) -> str:
    c = rec.current
    text = markdown_cell(current_text(c))
    if c.reference:  # the reference as a code span, the rest escaped
        rest = current_text(c)[len(c.reference) :]
        text = f"{_code(c.reference)} {markdown_cell(rest)}"
    return text


def _notes(rec: Recommendation) -> list[str]:
    noted = noted_evaluations(rec)
    if not noted:
        return []
    lines = ["**Notes**", ""]
    for e in noted:
        head = (
            f"- **#{e.rank}** {_code(e.candidate.reference)}"
            if e.rank > 0
            else f"- {_code(e.candidate.reference)}"
        )
        reason = status_reason(e)
        lines.append(head + (f" — {markdown_cell(reason)}" if reason else ""))
        lines += [
            f"  - {markdown_cell(LEVEL_MARK[n.level].strip())} — {markdown_cell(f'{n.topic}: {n.message}')}"
            for n in e.notes
        ]
    return [*lines, ""]


def _skipped(rec: Recommendation) -> list[str]:
    repos = skipped_repositories(rec.skipped)
    if not repos and not rec.listed:
        return []
    lines = [f"<details><summary>Skipped tags ({len(rec.skipped)})</summary>", ""]
    for r in repos:
        examples = ", ".join(_code(t) for t in r.examples) + (f" (+{r.more} more)" if r.more else "")
        lines.append(f"- {markdown_cell(r.summary)}; e.g. {examples}")
    if rec.listed:
        lines.append(f"- listed: {', '.join(_code(repo) for repo in rec.listed)}")
    return [*lines, "", "</details>", ""]
