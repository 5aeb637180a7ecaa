"""The comparison as Markdown for a pull-request comment: rows = metrics, columns = images, a verdict.

Layout (GitHub-flavoured Markdown)::

    ### alpinist compare: before · after

    | | before | after | Better |
    |---|---|---|---|
    | Image | `python-app:debian` | `python-app:alpine` | |
    | Vulnerabilities | 158 | 56 (-102) | after |
    ...

    after vs before: better on 14 lines, worse on 0, the same on 3

    <details><summary>CVE diff: after vs before ...</summary> tables of removed and added ids </details>

Numeric cells of the second and later images carry their difference to the first in parentheses
(``-102``; sizes in percent). An image that could not be read gets ``—`` in its cells and its error on
the ``Error`` line. Cells are escaped as in the scan report (``scan_markdown``): nothing from an image
or a feed can break the table or inject markup. GitHub refuses comments over 65,536 characters: the
diff tables stop before ``max_chars`` and say how many rows they left out.
"""

from __future__ import annotations

from alpinist.compare.model import Comparison, CveDiff, DiffId, PackageIds, tally_text
from alpinist.reports.markdown_text import markdown_cell

DEFAULT_MAX_CHARS = 60_000
MISSING = "—"


def _id_link(diff_id: DiffId) -> str:
    vuln_id, url = diff_id.id, diff_id.url
    return f"[{markdown_cell(vuln_id)}]({url})" if url else markdown_cell(vuln_id)


def _code(text: str) -> str:
    """A code span in a table cell: no backquote, no line break; ``|`` escaped (GFM reads it first as a cell end)."""
    clean = " ".join(text.replace("`", "").split()).replace("|", "\\|")
    return f"`{clean}`" if clean else ""


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_lines(comparison: Comparison) -> list[str]:
    """The comparison table alone (header, separator, one line per metric)."""
    cols = comparison.columns
    lines = [
        _row(["", *(f"**{markdown_cell(c.label)}**" for c in cols), "Better"]),
        "|---|" + "---|" * len(cols) + "---|",
        _row(["Image", *(_code(c.title) for c in cols), ""]),
    ]
    if any(c.short_digest for c in cols):
        lines.append(_row(["Digest", *(_code(c.short_digest) for c in cols), ""]))
    if any(not c.ok for c in cols):
        lines.append(_row(["Error", *(markdown_cell(c.error) if c.error else "" for c in cols), ""]))
    for m in comparison.metrics:
        cells = []
        for i, c in enumerate(cols):
            if not c.ok:
                cells.append(MISSING)
                continue
            text = markdown_cell(m.texts[i])
            delta = m.delta(i) if comparison.columns[0].ok else ""
            cells.append(f"{text} ({delta})" if delta else text)
        label = f"**{m.label}**" if m.key == "vulnerabilities" else m.label
        lines.append(_row([label, *cells, markdown_cell(comparison.verdict_text(m))]))
    return lines


def _group_row(group: PackageIds) -> str:
    ids = ", ".join(f"{_id_link(d)} ({d.severity})" for d in group.ids)
    return _row([markdown_cell(group.package), group.type, markdown_cell(", ".join(group.installed)), ids])


def _diff_block(comparison: Comparison, diff: CveDiff) -> list[tuple[bool, str]]:
    """The diff of one image as a <details> block: (is a package row that may be cut, line)."""
    a = comparison.columns[diff.image].label
    b = comparison.columns[diff.against].label
    summary = (
        f"CVE diff: {markdown_cell(a)} vs {markdown_cell(b)}: removes {diff.removed_ids} ids in {len(diff.removed)} packages, "
        f"adds {diff.added_ids} in {len(diff.added)}, keeps {diff.unchanged}"
    )
    out = [(False, f"<details><summary>{summary}</summary>"), (False, "")]
    for title, groups, count in (
        ("Removed", diff.removed, diff.removed_ids),
        ("Added", diff.added, diff.added_ids),
    ):
        if not groups:
            out += [(False, f"**{title}**: none"), (False, "")]
            continue
        out += [
            (False, f"**{title}** ({count} ids in {len(groups)} packages)"),
            (False, ""),
            (False, "| Package | Type | Installed | IDs |"),
            (False, "|---|---|---|---|"),
        ]
        out += [(True, _group_row(group)) for group in groups]
        out.append((False, ""))
    out += [(False, "</details>"), (False, "")]
    return out


def render_compare_markdown(comparison: Comparison, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    labels = " · ".join(markdown_cell(c.label) for c in comparison.columns)
    lines = [f"### alpinist compare: {labels}", ""]
    lines += table_lines(comparison)
    lines.append("")
    tallies = [tally_text(comparison, t) for t in comparison.tallies()]
    if tallies:
        lines += [" \\\n".join(markdown_cell(t) for t in tallies), ""]
    lines += [
        "<sub>Vulnerabilities are findings (package × advisory) after the policy, counted as "
        "`alpinist scan` counts them; *Better* names the image(s) with the best value on the line "
        "(`=`: all the same; `≈`: different, but equally good by the line's rule).</sub>",
        "",
    ]
    for error in comparison.errors:
        lines += [f"> **Error** {markdown_cell(error)}", ""]
    tail: list[str] = []
    if comparison.warnings:
        tail += ["<details><summary>Warnings</summary>", ""]
        tail += [f"- {markdown_cell(w)}" for w in comparison.warnings]
        tail += ["", "</details>"]
    blocks = [part for diff in comparison.diffs for part in _diff_block(comparison, diff)]
    # the table, the block skeletons and the warnings always fit; package rows fill what is left
    budget = max_chars - sum(len(x) + 1 for x in [*lines, *tail]) - 120
    budget -= sum(len(text) + 1 for row, text in blocks if not row)
    cut = 0
    for is_row, text in blocks:
        if is_row:
            if cut or len(text) + 1 > budget:  # the first row that does not fit ends the listing
                cut += 1
                continue
            budget -= len(text) + 1
        lines.append(text)
    if cut:
        lines += [f"… {cut} package rows of the CVE diff not shown here (see `--format json` for all).", ""]
    lines += tail
    return "\n".join(lines).rstrip("\n")
