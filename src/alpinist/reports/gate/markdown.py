"""The gate as Markdown for a pull-request comment::

    ### alpinist gate: FAIL: 2 new findings at or above HIGH

    `python-app:debian` against the baseline of `python-app:debian` (143 findings)

    **9 new**, 0 gone, 0 changed severity, 143 unchanged

    | Severity | ID | Package | Installed | Fixed | Type |     (the new findings)
    ...
    <details><summary>Changed severity (N)</summary> table </details>
    <details><summary>Gone (N)</summary> table </details>

Cells are escaped (``markdown_cell``): nothing from an image, a feed or the baseline can break the
table. GitHub refuses comments over 65,536 characters: rows stop before ``max_chars`` (new findings
first, then changed, then gone) and a line says how many were left out.
"""

from __future__ import annotations

from alpinist.inventory.naming import image_title
from alpinist.reports.markdown_text import markdown_cell
from alpinist.scan.baseline import GateResult, gate_summary_line, gate_verdict
from alpinist.scan.model import Finding

DEFAULT_MAX_CHARS = 60_000


def _code(text: str) -> str:
    clean = " ".join(text.replace("`", "").split()).replace("|", "\\|")
    return f"`{clean}`" if clean else ""


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _id(f: Finding) -> str:
    url = f.url_of(f.id)
    return f"[{markdown_cell(f.id)}]({url})" if url else markdown_cell(f.id)


def render_gate_markdown(result: GateResult, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    facts = result.scan.inventory.image
    base = result.baseline
    head = [
        f"### alpinist gate: {markdown_cell(gate_verdict(result))}",
        "",
        f"{_code(image_title(facts))} against the baseline of {_code(base.image.reference)} "
        f"({len(base.entries)} findings)" + (" — **forced** (another repository)" if result.forced else ""),
        "",
        markdown_cell(gate_summary_line(result)),
        "",
    ]
    # sections: (title, header lines, rows, closing lines)
    sections: list[tuple[list[str], list[str], list[str]]] = []
    if result.new:
        sections.append(
            (
                [
                    f"**New** ({len(result.new)})",
                    "",
                    "| Severity | ID | Package | Installed | Fixed | Type |",
                    "|---|---|---|---|---|---|",
                ],
                [
                    _row(
                        [
                            f"**{f.severity}**" if f in result.failing else f.severity,
                            _id(f),
                            markdown_cell(f.package.name),
                            markdown_cell(f.installed_version),
                            markdown_cell(f.fixed_version or "-"),
                            f.package.type,
                        ]
                    )
                    for f in result.new
                ],
                [""],
            )
        )
    if result.changed:
        sections.append(
            (
                [
                    f"<details><summary>Changed severity ({len(result.changed)})</summary>",
                    "",
                    "| Was | Now | ID | Package | Installed |",
                    "|---|---|---|---|---|",
                ],
                [
                    _row(
                        [
                            c.entry.severity,
                            c.finding.severity,
                            _id(c.finding),
                            markdown_cell(c.finding.package.name),
                            markdown_cell(c.finding.installed_version),
                        ]
                    )
                    for c in result.changed
                ],
                ["", "</details>", ""],
            )
        )
    if result.gone:
        sections.append(
            (
                [
                    f"<details><summary>Gone ({len(result.gone)})</summary>",
                    "",
                    "| Severity | ID | Package | Installed | Type |",
                    "|---|---|---|---|---|",
                ],
                [
                    _row(
                        [
                            e.severity,
                            markdown_cell(e.id),
                            markdown_cell(e.package_name),
                            markdown_cell(e.installed_version),
                            e.package_type,
                        ]
                    )
                    for e in result.gone
                ],
                ["", "</details>", ""],
            )
        )
    tail = []
    if result.moved:
        tail += [
            f"<sub>{len(result.moved)} accepted findings are now in another installed version of the same "
            "package: not new (see `--format json`).</sub>",
            "",
        ]
    # the heading, the section skeletons and the tail always fit; rows fill what is left
    budget = max_chars - sum(len(x) + 1 for x in [*head, *tail]) - 120
    budget -= sum(len(x) + 1 for top, _, bottom in sections for x in [*top, *bottom])
    lines = list(head)
    cut = 0
    for top, rows, bottom in sections:
        lines += top
        for row in rows:
            if cut or len(row) + 1 > budget:
                cut += 1
                continue
            budget -= len(row) + 1
            lines.append(row)
        lines += bottom
    if cut:
        lines += [f"… {cut} rows not shown here (see `--format json` for all).", ""]
    lines += tail
    return "\n".join(lines).rstrip("\n")
