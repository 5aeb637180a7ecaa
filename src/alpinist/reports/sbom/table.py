"""The ``sbom`` report for people: a panel of image facts, a table of packages, a summary line.

Every string that comes from the image (names, versions, labels, paths, the healthcheck) is put on
the console as a ``rich.text.Text`` after replacing non-printable characters, so neither rich
markup (``[bold]``) nor terminal escape sequences inside an image can change what is shown.
Rich's ``Console(file=StringIO(), width=160)`` renders this deterministically (no terminal, fixed
width), which is how the tests read it.
"""

from __future__ import annotations

from collections import Counter

from rich import box
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
    """Print the inventory: image panel, package table (by type, then name), summary line."""
    console.print(_header(inv.image, inv.os))
    packages = sorted(inv.packages, key=package_sort_key)
    if packages:
        console.print(_package_table(packages))
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


def _package_table(packages: list[Package]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # Long versions and source strings fold within a bounded width, so that the location (a path,
    # the widest cell) keeps most of a wide console instead of being cut into short pieces.
    # Name and version never wrap (a package name cut in two reads as two packages); on a narrow
    # console the location and origin columns give way first.
    table.add_column("Name", no_wrap=True)
    table.add_column("Version", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Origin/Source", overflow="fold", max_width=30)
    table.add_column("Layer", justify="right", no_wrap=True)
    table.add_column("Location", overflow="fold")
    for p in packages:
        location = p.locations[0] if p.locations and p.type in ("python", "binary") else ""
        table.add_row(
            safe_text(p.name),
            safe_text(p.version),
            safe_text(p.type),
            _origin_cell(p),
            safe_text(str(p.layer_index) if p.layer_index is not None else ""),
            safe_text(location),
        )
    return table


__all__ = ["render_table", "summary_line"]
