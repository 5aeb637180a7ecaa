"""The ``sbom`` report for people: a panel of image facts, a table of packages, a summary line.

Every string that comes from the image (names, versions, labels, paths, the healthcheck) is put on
the console as a ``rich.text.Text`` after replacing non-printable characters, so neither rich
markup (``[bold]``) nor terminal escape sequences inside an image can change what is shown.
Rich's ``Console(file=StringIO(), width=160)`` renders this deterministically (no terminal, fixed
width), which is how the tests read it.
"""

from __future__ import annotations

import re
from collections import Counter

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.filesize import decimal
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from alpinist.inventory.naming import image_title
from alpinist.models import ImageFacts, Inventory, OSInfo, Package
from alpinist.reports.rich_text import safe_text
from alpinist.reports.sbom.common import package_sort_key


def render_table(inv: Inventory, console: Console) -> None:
    """Print the inventory: image panel, package table (by type, then name), summary line.

    When the package table with its Location column does not fit the console, it is printed as two
    tables (as ``recommend`` does): the packages without the location, then the name and location of
    each package that has one. Nothing is cut: long versions and sources fold, paths break after ``/``.
    """
    console.print(_header(inv.image, inv.os))
    packages = sorted(inv.packages, key=package_sort_key)
    if packages:
        rows = [_row(p) for p in packages]
        if _natural_width(rows, PACKAGE_COLUMNS) <= console.width:
            console.print(_package_table(rows, PACKAGE_COLUMNS, console.width))
        else:
            console.print(_package_table(rows, PACKAGE_COLUMNS[:-1], console.width))
            located = [r for r in rows if r["Location"].plain]
            if located:
                console.print()
                console.print(_package_table(located, LOCATION_COLUMNS, console.width))
    console.print(Text(summary_line(inv.packages)))


def summary_line(packages: tuple[Package, ...] | list[Package]) -> str:
    """``132 OS packages (deb), 11 Python packages, 1 binary`` (zero counts left out)."""
    counts: Counter[str] = Counter(p.type for p in packages)
    parts: list[str] = []
    os_types = [t for t in ("apk", "deb") if counts[t]]
    os_count = sum(counts[t] for t in os_types)
    if os_count:
        parts.append(f"{_plural(os_count, 'OS package')} ({', '.join(os_types)})")
    if counts["python"]:
        parts.append(_plural(counts["python"], "Python package"))
    if counts["binary"]:
        parts.append(f"{counts['binary']} {'binary' if counts['binary'] == 1 else 'binaries'}")
    return ", ".join(parts) if parts else "no packages found"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _size(n: int | None) -> str:
    return decimal(n) if n is not None else "unknown"


def _header(facts: ImageFacts, os_info: OSInfo | None) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def row(label: str, value: Text) -> None:
        grid.add_row(label, value)

    row("Reference", safe_text(facts.reference))
    if facts.name and facts.name != facts.reference:
        row("Name", safe_text(facts.name))
    row("Digest", safe_text(facts.manifest_digest or "unknown"))
    row("Platform", safe_text(str(facts.platform) if facts.platform else "unknown"))
    if os_info is not None:
        row("OS", safe_text(os_info.pretty_name or f"{os_info.id} {os_info.version}"))
    else:
        row("OS", safe_text("not recognised", "yellow"))
    uncompressed = facts.uncompressed_size
    row(
        "Layers",
        safe_text(
            f"{len(facts.layers)} ({_size(facts.compressed_size)} compressed, "
            f"{_size(uncompressed)} uncompressed)"
        ),
    )
    if facts.runs_as_root:
        user = Text.assemble(safe_text(facts.user or "(unset)"), ("  runs as root", "bold red"))
    else:
        user = safe_text(facts.user)
    row("User", user)
    hc = facts.healthcheck
    if hc is None:
        row("Healthcheck", safe_text("none", "yellow"))
    elif hc.disabled:
        row("Healthcheck", safe_text("disabled (NONE)", "yellow"))
    else:
        row("Healthcheck", safe_text(hc.command))
    row("Shell", safe_text(facts.shell) if facts.shell else safe_text("none"))
    row("Package managers", safe_text(", ".join(facts.package_managers) or "none"))
    return Panel(grid, title=safe_text(image_title(facts)), title_align="left", expand=False)


def _origin_cell(p: Package) -> Text:
    if p.type == "deb":
        if not p.origin:
            return safe_text("")
        text = p.origin
        if p.source_version and p.source_version != p.version:
            text += f" ({p.source_version})"
        return safe_text(text)
    if p.type == "python":
        if p.vendored:
            return safe_text("vendored" + (f" in {p.owner}" if p.owner else ""), "yellow")
        if p.owner:
            return safe_text(f"owned by {p.owner}")
        return safe_text("")
    return safe_text(p.origin)


PACKAGE_COLUMNS = ("Name", "Version", "Type", "Origin/Source", "Layer", "Location")
LOCATION_COLUMNS = ("Name", "Version", "Location")  # the second table on a narrow console
GAP = 2  # columns are two spaces apart
# How a table too wide for the console gives way: (column, least width; None for its longest word).
SHRINK_STEPS: tuple[tuple[str, int | None], ...] = (
    ("Location", None),
    ("Origin/Source", 20),
    ("Version", 18),
    ("Origin/Source", None),
    ("Version", 12),
    ("Origin/Source", 10),
    ("Location", 16),
    ("Name", 12),
)
BREAK_AFTER = re.compile(r"(?<=/)")


def _row(p: Package) -> dict[str, Text]:
    location = p.locations[0] if p.locations and p.type in ("python", "binary") else ""
    return {
        "Name": safe_text(p.name),
        "Version": safe_text(p.version),
        "Type": safe_text(p.type),
        "Origin/Source": _origin_cell(p),
        "Layer": safe_text(str(p.layer_index) if p.layer_index is not None else ""),
        "Location": safe_text(location),
    }


def _widths(rows: list[dict[str, Text]], header: str) -> tuple[int, int]:
    """A column's natural width and its least without cutting a word (a path may break after ``/``)."""
    texts = [r[header].plain for r in rows]
    natural = max(cell_len(t) for t in [header, *texts])
    split = BREAK_AFTER.split if header == "Location" else str.split
    words = [w for t in texts for w in split(t)]
    return natural, max(cell_len(w) for w in [header, *words])


def _natural_width(rows: list[dict[str, Text]], headers: tuple[str, ...]) -> int:
    return sum(_widths(rows, h)[0] for h in headers) + GAP * (len(headers) - 1)


def _allocate(rows: list[dict[str, Text]], headers: tuple[str, ...], width: int) -> list[int]:
    measured = [_widths(rows, h) for h in headers]
    widths = [natural for natural, _ in measured]
    excess = sum(widths) + GAP * (len(headers) - 1) - width
    for header, floor in SHRINK_STEPS:
        if excess > 0 and header in headers:
            i = headers.index(header)
            least = floor if floor is not None else measured[i][1]
            cut = max(0, min(excess, widths[i] - max(least, cell_len(header))))
            widths[i] -= cut
            excess -= cut
    return widths


def _break_path(text: Text, width: int) -> Text:
    """A location on lines of at most ``width``, broken after ``/`` (a longer piece folds)."""
    lines = [""]
    for piece in BREAK_AFTER.split(text.plain):
        if lines[-1] and cell_len(lines[-1] + piece) > width:
            lines.append("")
        lines[-1] += piece
    return Text("\n".join(lines), style=text.style)


def _package_table(rows: list[dict[str, Text]], headers: tuple[str, ...], width: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    # Every column at its natural width when it fits; else the location breaks after "/", the origin
    # wraps, long versions fold: a cell wider than its column goes on, it is never cut.
    widths = _allocate(rows, headers, width)
    for header, w in zip(headers, widths, strict=True):
        table.add_column(header, width=w, overflow="fold", justify="right" if header == "Layer" else "left")
    for r in rows:
        cells = [
            _break_path(r[h], w) if h == "Location" else r[h] for h, w in zip(headers, widths, strict=True)
        ]
        table.add_row(*cells)
    return table


__all__ = ["render_table", "summary_line"]
