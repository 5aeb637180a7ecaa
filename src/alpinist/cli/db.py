"""``alpinist db …``: update, status, export and import of the advisory database; and what ``scan`` and
``compare`` need of it: ``open_database`` (built first when missing, refused under ``--offline`` when
missing or stale) and ``database_path``.

Loaded lazily by the group (``app.py``). Heavy imports (the feed parsers, httpx, rich, the store) are
deferred to the command that needs them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alpinist.advisories.sources import SOURCE_NAMES
from alpinist.cli.common import stderr_is_terminal
from alpinist.cli.options import db_option, timeout_option
from alpinist.cli.quiet import is_quiet, note

if TYPE_CHECKING:
    from alpinist.advisories.store import Store
    from alpinist.advisories.update import ProgressCallback

DEFAULT_LOCK_TIMEOUT = 600.0


def database_path(value: Path | None) -> Path:
    """``--db`` (or ``ALPINIST_DB``) when given, else the default database in the user data directory."""
    from alpinist.advisories.store import default_db_path

    return value if value is not None else default_db_path()


lock_timeout_option = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another update or import of the same database to finish.",
)


@contextmanager
def update_progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich display of the update's steps on stderr, one line per source, when stderr is a terminal."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from alpinist.advisories.update import UpdateProgress

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    labels = {
        "wait": "waiting for another update of this database",
        "index": "building the indexes",
        "check": "checking the new database",
        "install": "installing the new database",
    }

    def on_event(event: UpdateProgress) -> None:
        key = event.source or event.phase
        if event.source:
            text = (
                f"{event.source}: downloading"
                if event.phase == "download"
                else f"{event.source}: {event.done:,} rows loaded"
            )
        else:
            text = labels.get(event.phase, event.phase)
        if key not in tasks:
            tasks[key] = progress.add_task(text, total=None)
        else:
            progress.update(tasks[key], description=text)

    with progress:
        yield on_event


@contextmanager
def open_database(
    db_path: Path | None, offline: bool, mirror: str | None, max_db_age: timedelta
) -> Iterator[Store]:
    """The advisory store of ``options.database_options``: built first when missing (``--mirror``), an
    error under ``--offline`` when missing or stale. Used by ``scan`` and ``compare``.
    """
    from alpinist.advisories.store import Store
    from alpinist.errors import DatabaseError
    from alpinist.scan.scanning import require_fresh_database

    path = database_path(db_path)
    if not path.exists():
        if offline:
            raise DatabaseError(
                f"{path}: advisory database does not exist, and --offline does not download it: "
                "run `alpinist db update` (or `alpinist db import FILE`) first"
            )
        _first_update(path, mirror)
    with Store.open(path) as store:
        if offline:
            require_fresh_database(path, store.status(), max_db_age)
        yield store


FIRST_UPDATE_ATTEMPTS = 3  # a first scan without network gives up after 1 s + 2 s of backoff, not 15 s


def check_mirror_directory(mirror: str | None) -> None:
    """A directory mirror (a path or ``file://`` URL) that is not a directory: one line naming it, before
    any feed is tried (else every feed file would be reported missing, one warning each)."""
    from urllib.parse import urlsplit

    from alpinist.errors import DatabaseError

    if not mirror or ("://" in mirror and not mirror.startswith("file://")):
        return  # no mirror, or a web mirror (as advisories.download reads them)
    root = Path(urlsplit(mirror).path if mirror.startswith("file://") else mirror)
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise DatabaseError(
            f"--mirror {mirror}: {what} (a directory mirror holds the feed files as HOST/PATH; "
            "an http(s) URL names a web mirror)"
        )


def _first_update(path: Path, mirror: str | None) -> None:
    """Build the database that does not exist yet: every feed, through the mirror if one is given.

    Without network (or with a mirror that does not answer) it gives up after ``FIRST_UPDATE_ATTEMPTS``
    tries and says what to do instead: ``--mirror`` or ``alpinist db import``.
    """
    import os

    from alpinist.advisories.download import Fetcher
    from alpinist.advisories.sources import all_sources
    from alpinist.advisories.update import update
    from alpinist.errors import DatabaseError, FeedError

    check_mirror_directory(mirror)
    where = f" from {mirror}" if mirror else ""
    note(f"no advisory database at {path} yet: downloading the feeds{where} first")
    sources = all_sources(nvd_api_key=os.environ.get("NVD_API_KEY") or None)
    try:
        with (
            Fetcher(mirror=mirror, attempts=FIRST_UPDATE_ATTEMPTS) as fetcher,
            update_progress(stderr_is_terminal() and not is_quiet()) as progress,
        ):
            report = update(
                path, sources, fetcher, None, progress, lock_timeout=DEFAULT_LOCK_TIMEOUT, if_missing=True
            )
    except (FeedError, DatabaseError) as exc:
        raise DatabaseError(
            f"no advisory database at {path}, and building it failed: {exc}; without network, give "
            "--mirror DIR|URL (a feed mirror) or run `alpinist db import FILE` (a `db export` copy) first"
        ) from None
    if report.reused:  # another scan built it while this one waited for the lock
        note(f"using the advisory database another run has just built at {path}")


@click.group()
def db() -> None:
    """The advisory database: update it from the feeds, show its state, move it to air-gapped machines.

    Feeds: alpine (secdb), debian (security tracker), osv (PyPI), nvd (CVSS). The database is replaced
    atomically: a failed or interrupted update leaves the previous one intact, and scans keep working
    while an update runs.
    """


@db.command()
@db_option
@click.option(
    "--source",
    "only",
    multiple=True,
    type=click.Choice(SOURCE_NAMES),
    help="Update only this feed (repeatable; default: all). The others keep their rows.",
)
@click.option(
    "--mirror",
    envvar="ALPINIST_MIRROR",
    show_envvar=True,
    metavar="URL",
    help="Fetch every feed URL https://HOST/PATH as URL/HOST/PATH (an internal mirror).",
)
@click.option(
    "--nvd-api-key",
    envvar="NVD_API_KEY",
    show_envvar=True,
    metavar="KEY",
    help="NVD API key (higher rate limit).",
)
@click.option(
    "--alpine-branch",
    "alpine_branches",
    multiple=True,
    metavar="X.Y",
    help="Alpine secdb branch to fetch (repeatable; default: every supported branch).",
)
@lock_timeout_option
@timeout_option
def update(
    db_path: Path | None,
    only: tuple[str, ...],
    mirror: str | None,
    nvd_api_key: str | None,
    alpine_branches: tuple[str, ...],
    lock_timeout: float,
) -> None:
    """Download the feeds and swap in an updated database."""
    from alpinist.advisories.download import Fetcher
    from alpinist.advisories.sources import all_sources
    from alpinist.advisories.update import update as run_update

    path = database_path(db_path)
    kwargs: dict[str, Any] = {"nvd_api_key": nvd_api_key}
    if alpine_branches:
        kwargs["alpine_branches"] = alpine_branches
    sources = all_sources(**kwargs)
    check_mirror_directory(mirror)
    with (
        Fetcher(mirror=mirror) as fetcher,
        update_progress(stderr_is_terminal() and not is_quiet()) as progress,
    ):
        report = run_update(path, sources, fetcher, list(only) or None, progress, lock_timeout=lock_timeout)
    for item in report.sources:
        how = "incremental" if item.incremental else "full"
        click.echo(
            f"{item.name}: {item.records:,} records ({how}: {item.affected_rows:,} affected rows, "
            f"{item.vulnerability_rows:,} vulnerability records)"
        )
    click.echo(f"updated {path}")


@db.command()
@db_option
@click.option(
    "-f", "--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True
)
def status(db_path: Path | None, fmt: str) -> None:
    """Show each feed's record count, last update and age (`--format json` for scripts)."""
    from alpinist.advisories.store import Store

    path = database_path(db_path)
    with Store.open(path) as store:
        rows = store.status()
        meta = store.meta()
    if fmt == "json":
        import json

        doc = {
            "database": str(path),
            "schema_version": meta.get("schema_version"),
            "sources": [
                {
                    "name": row.name,
                    "records": row.records,
                    "updated_at": row.updated_at.isoformat(),
                    "age_seconds": int(row.age.total_seconds()),
                }
                for row in rows
            ],
            "never_updated": [name for name in SOURCE_NAMES if name not in {r.name for r in rows}],
        }
        click.echo(json.dumps(doc, indent=2))
        return

    from rich.console import Console
    from rich.table import Table

    from alpinist.scan.scanning import format_duration

    table = Table(title=f"advisory database {path}", title_justify="left")
    table.add_column("source")
    table.add_column("records", justify="right")
    table.add_column("last update (UTC)")
    table.add_column("age", justify="right")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.records:,}",
            row.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            format_duration(row.age),
        )
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(table)
    missing = [name for name in SOURCE_NAMES if name not in {r.name for r in rows}]
    if missing:
        console.print(f"never updated: {', '.join(missing)}")
    console.print(f"schema version {meta.get('schema_version')}", highlight=False)


@db.command("export")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_cmd(db_path: Path | None, file: Path) -> None:
    """Write a consistent copy of the database to FILE, and its sha256 to FILE.sha256."""
    from alpinist.advisories.update import export_db

    digest = export_db(database_path(db_path), file)
    click.echo(f"exported {file} (sha256 {digest}; checksum in {file}.sha256)")


@db.command("import")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@lock_timeout_option
def import_cmd(db_path: Path | None, file: Path, lock_timeout: float) -> None:
    """Check FILE (made by `db export`) and install it as the database, atomically."""
    from alpinist.advisories.update import import_db

    path = database_path(db_path)
    report = import_db(file, path, lock_timeout=lock_timeout)
    verified = "checksum verified" if report.checksum_verified else f"no {file}.sha256 to verify against"
    click.echo(f"imported {file} into {path} (sha256 {report.sha256}, {verified})")
    for item in report.sources:
        click.echo(f"{item.name}: {item.records:,} records, updated {item.updated_at:%Y-%m-%d %H:%M:%S} UTC")
