"""``alpinist history``: the runs of ``scan``, ``gate`` and ``rescan`` recorded with ``--history FILE``, per
image over time (``history/``; docs/history.md). Also the helpers the recording verbs share.

Formats: ``formats.HISTORY_FORMATS`` (table, json, html with one line chart per image). Exit codes: 0
success, 1 the store is missing, not a history store or damaged, 64 usage (no ``--history`` and no
``ALPINIST_HISTORY``, a bad ``--since``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alpinist.cli.formats import HISTORY_FORMATS
from alpinist.cli.options import history_read_option, output_options, parse_duration
from alpinist.errors import EXIT_OK

if TYPE_CHECKING:
    from alpinist.history.model import History, HistoryEntry
    from alpinist.history.store import HistoryStore


@contextmanager
def history_recorder(path: Path | None) -> Iterator[HistoryStore | None]:
    """The store of ``--history FILE`` (opened, and created, before the run: a bad file fails the run
    before anything is scanned), or None without the option."""
    if path is None:
        yield None
        return
    from alpinist.history.store import HistoryStore

    with HistoryStore.open(path) as store:
        yield store


def record(store: HistoryStore | None, entries: Sequence[HistoryEntry]) -> None:
    """Append one run's entries (one transaction) to ``store`` when there is one."""
    if store is not None:
        store.append(entries)


def read_history(path: Path, *, image: str | None = None, since: datetime | None = None) -> History:
    """The entries of the store ``path`` (which must exist) for ``image`` since ``since``."""
    from alpinist.history.model import History
    from alpinist.history.store import HistoryStore

    with HistoryStore.open(path, create=False) as store:
        entries = store.entries(image=image, since=since)
    return History(path=str(path), entries=entries, image=image, since=since)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2024-05-01``, ``2024-05-01T12:00:00Z`` (naive: UTC) or a duration ago (``7d``, ``12h``)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            return (now or datetime.now(UTC)) - parse_duration(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is neither a date (2024-05-01, 2024-05-01T12:00:00Z) nor a duration (7d, 12h)"
            ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _since_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@history_read_option
@click.option("--image", metavar="NAME", help="Only this image (its name, or its reference as written).")
@click.option(
    "--since",
    metavar="DATE",
    callback=_since_callback,
    help="Only runs at or after DATE (2024-05-01, 2024-05-01T12:00:00Z; UTC) or within a duration (7d, 12h).",
)
@output_options(HISTORY_FORMATS)
def history(
    history_path: Path | None,
    image: str | None,
    since: datetime | None,
    fmt: str,
    output: Path | None,
) -> int:
    """List the runs of scan, gate and rescan recorded with --history FILE, per image over time.

    Per run: the time (UTC), the verb, the manifest digest, the findings per severity, the total,
    distinct ids, packages with findings, the database's update time, and for gate the new and gone
    counts. --format html draws one line chart per image. Exit codes: 0 success, 1 error (the store is
    missing, not a history store, or damaged), 64 usage.
    """
    if history_path is None:
        raise click.UsageError("give the history store: --history FILE (or ALPINIST_HISTORY)")
    result = read_history(history_path, image=image, since=since)
    HISTORY_FORMATS.write(fmt, result, output)
    return EXIT_OK
