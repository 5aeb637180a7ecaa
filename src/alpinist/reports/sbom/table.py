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


def _clean(text: str) -> str:
    """Printable text only: control characters (ESC, CR, ...) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _t(text: str | None, style: str = "") -> Text:
    return Text(_clean(text or ""), style=style)


def _size(n: int | None) -> str:
    return decimal(n) if n is not None else "unknown"


def _header(facts: ImageFacts, os_info: OSInfo | None) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def row(label: str, value: Text) -> None:
        grid.add_row(label, value)

    row("Reference", _t(facts.reference))
    if facts.name and facts.name != facts.reference:
        row("Name", _t(facts.name))
    row("Digest", _t(facts.manifest_digest or "unknown"))
    row("Platform", _t(str(facts.platform) if facts.platform else "unknown"))
    if os_info is not None:
        row("OS", _t(os_info.pretty_name or f"{os_info.id} {os_info.version}"))
    else:
        row("OS", _t("not recognised", "yellow"))
    uncompressed = facts.uncompressed_size
    row(
        "Layers",
        _t(
            f"{len(facts.layers)} ({_size(facts.compressed_size)} compressed, "
            f"{_size(uncompressed)} uncompressed)"
        ),
    )
    if facts.runs_as_root:
        user = Text.assemble(_t(facts.user or "(unset)"), ("  runs as root", "bold red"))
    else:
        user = _t(facts.user)
    row("User", user)
    hc = facts.healthcheck
    if hc is None:
        row("Healthcheck", _t("none", "yellow"))
    elif hc.disabled:
        row("Healthcheck", _t("disabled (NONE)", "yellow"))
    else:
        row("Healthcheck", _t(hc.command))
    row("Shell", _t(facts.shell) if facts.shell else _t("none"))
    row("Package managers", _t(", ".join(facts.package_managers) or "none"))
    return Panel(grid, title=_t(image_title(facts)), title_align="left", expand=False)


def _origin_cell(p: Package) -> Text:
    if p.type == "deb":
        if not p.origin:
            return _t("")
        text = p.origin
        if p.source_version and p.source_version != p.version:
            text += f" ({p.source_version})"
        return _t(text)
    if p.type == "python":
        if p.vendored:
            return _t("vendored" + (f" in {p.owner}" if p.owner else ""), "yellow")
        if p.owner:
            return _t(f"owned by {p.owner}")
        return _t("")
    return _t(p.origin)


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
            _t(p.name),
            _t(p.version),
            _t(p.type),
            _origin_cell(p),
            _t(str(p.layer_index) if p.layer_index is not None else ""),
            _t(location),
        )
    return table


__all__ = ["render_table", "summary_line"]
