"""What verbs share at run time: registry pull options, progress bars, writing output.

The options themselves are in ``options.py``, the output formats in ``formats.py``. No verb module
imports ``app.py`` (the group, which loads them); they import these.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from alpinist.images.open import PullOptions


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


STALL_SHOWN = 3.0  # seconds without a byte before a download's bar says "stalled Ns"


def stall_text(changed: float | None, finished: bool, now: float) -> str:
    """What a download's bar shows in its stall column: ``stalled 12s`` once nothing has arrived for
    ``STALL_SHOWN`` seconds since ``changed`` (the monotonic time of the last byte), else nothing."""
    if finished or changed is None or now - changed < STALL_SHOWN:
        return ""
    return f"stalled {now - changed:.0f}s"


def make_progress(console: Any) -> Any:
    """The rich ``Progress`` of pulls: description, bar, amount, speed, stall. A task with the field
    ``unit="layers"`` counts layers: its amount reads ``5/6 layers`` and it shows no speed (the byte
    columns would say ``5/6 bytes 14 bytes/s``)."""
    import time

    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class StallColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            changed = task.fields.get("changed")
            text = stall_text(
                changed if isinstance(changed, float) else None, task.finished, time.monotonic()
            )
            return Text(text, style="yellow")

    class AmountColumn(DownloadColumn):
        def render(self, task: Task) -> Text:
            unit = task.fields.get("unit")
            if unit is None:
                return super().render(task)
            total = "?" if task.total is None else f"{int(task.total)}"
            return Text(f"{int(task.completed)}/{total} {unit}", style="progress.download")

    class SpeedColumn(TransferSpeedColumn):
        def render(self, task: Task) -> Text:
            return Text("") if task.fields.get("unit") is not None else super().render(task)

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        AmountColumn(),
        SpeedColumn(),
        StallColumn(),
        console=console,
        transient=True,
    )


def add_layer_task(progress: Any, total: int) -> Any:
    """The bar of layer decoding: a count of layers (``5/6 layers``), not of bytes."""
    return progress.add_task("read layers", total=total, unit="layers")


@contextmanager
def progress_callbacks(enabled: bool) -> Iterator[tuple[Any, Any]]:
    """Progress callbacks for blob downloads and layer decoding (a rich bar on a terminal). A download
    that received nothing for ``STALL_SHOWN`` seconds shows ``stalled Ns`` (the bar refreshes on its
    own, so the count goes on while no callback comes)."""
    if not enabled:
        yield None, None
        return
    import time

    from rich.console import Console

    progress = make_progress(Console(stderr=True))
    tasks: dict[str, Any] = {}
    seen: dict[str, int] = {}

    def on_blob(digest: str, done: int, total: int) -> None:
        if digest not in tasks:
            tasks[digest] = progress.add_task(f"pull {digest[7:19]}", total=total or None)
        if seen.get(digest) != done:
            seen[digest] = done
            progress.update(tasks[digest], completed=done, changed=time.monotonic())

    def on_layer(done: int, total: int) -> None:
        if "layers" not in tasks:
            tasks["layers"] = add_layer_task(progress, total)
        progress.update(tasks["layers"], completed=done)

    with progress:
        yield on_blob, on_layer


@contextmanager
def pull_progress(options: PullOptions) -> Iterator[tuple[PullOptions, Any]]:
    """``(options, on_layer)``: ``options`` with a progress bar for blob downloads and a callback for
    layer decoding when stderr is a terminal, else ``options`` as they are and None."""
    with progress_callbacks(stderr_is_terminal()) as (on_blob, on_layer):
        if on_blob is not None:
            options = dataclasses.replace(options, progress=on_blob)
        yield options, on_layer


def pull_options(
    platform: str | None,
    insecure: tuple[str, ...],
    creds: str | None,
    mirrors: tuple[tuple[str, str], ...],
) -> Any:
    """The ``PullOptions`` of ``image_options``' values (``mirrors``: ``--registry-mirror``, already
    checked by its callback)."""
    from alpinist.images.open import PullOptions
    from alpinist.models import Platform

    kwargs: dict[str, Any] = {"insecure_hosts": frozenset(insecure), "mirrors": mirrors}
    if platform:
        try:
            kwargs["platform"] = Platform.parse(platform)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--platform") from None
    if creds:
        user, sep, password = creds.partition(":")
        if not sep:
            raise click.BadParameter("expected USER:PASSWORD", param_hint="--creds")
        kwargs["credentials"] = (user, password)
    elif os.environ.get("ALPINIST_USERNAME"):
        kwargs["credentials"] = (os.environ["ALPINIST_USERNAME"], os.environ.get("ALPINIST_PASSWORD", ""))
    return PullOptions(**kwargs)


def emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def piped_width(default: int) -> int:
    """The width of a table written to a pipe: ``COLUMNS`` when it is set to a number (at least 20), as
    on a terminal, else ``default`` (the format's own, 160 for most tables: wide enough that ``grep``
    sees one finding per line)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) >= 20:
        return int(columns)
    return default


def emit_rich(render: Callable[[Any], None], output: Path | None, width: int = 160) -> None:
    """Render a rich table to stdout or to ``output``. On a terminal the console is the terminal's
    width; on a pipe it is ``COLUMNS`` when set, else ``width`` (``piped_width``); in ``-o FILE`` it is
    ``width``, whatever the terminal."""
    from rich.console import Console

    if output is None:
        render(Console(width=None if sys.stdout.isatty() else piped_width(width)))
    else:
        with output.open("w", encoding="utf-8") as fh:
            render(Console(file=fh, width=width))
