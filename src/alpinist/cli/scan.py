"""``alpinist scan IMAGE``: match an image's inventory against the advisory database, apply the policy,
write a report, and exit 2 when ``--fail-on`` says so.

Registered on the main group by ``cli.py`` (``app.add_command(scan)``). Heavy imports (the pipeline,
the store, the formatters) are deferred to the command body.

Network use:

- **The advisory database.** With no database file yet, ``scan`` first runs ``db update`` (all
  feeds, through ``--mirror``/``ALPINIST_MIRROR`` when given), with a progress display on stderr when
  it is a terminal. An existing database is never updated by ``scan``; sources older than
  ``--max-db-age`` (default 5 days) give a warning.
- ``--offline`` never touches the network. It refers to the advisory database: a missing database,
  one without any feed, or a feed older than ``--max-db-age`` is an error (exit 1) instead of a
  download or a warning. Since resolving a registry reference always asks the registry for the
  manifest (a tag can move; the blob cache is keyed by digest), a registry reference is refused under
  ``--offline`` (exit 64): scan an ``oci:``, ``oci-archive:``, ``docker-archive:`` or ``dir:`` copy
  of the image, or drop ``--offline`` (a scan with an existing database reaches only the registry).

Exit codes (``errors.py``): 0 success, 1 error, 2 ``--fail-on`` failed, 64 usage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alpinist.cli.common import (
    emit,
    emit_rich,
    image_options,
    progress_callbacks,
    pull_options,
    stderr_is_terminal,
)
from alpinist.cli.db import DEFAULT_LOCK_TIMEOUT, db_option
from alpinist.errors import EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity
    from alpinist.advisories.store import Store
    from alpinist.scan.policy import Policy
    from alpinist.scan.scanning import ScanResult

SCAN_FORMATS = ("table", "json", "sarif", "cyclonedx", "markdown")
DEFAULT_MAX_DB_AGE = "5d"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|h|m|min|s)?\s*$", re.IGNORECASE)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h``, ``90m``/``90min``, ``3600s``; a bare number is days. ValueError otherwise."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a duration (examples: 7d, 12h, 90m, 3600s)")
    unit = (found.group(2) or "d").lower()
    return timedelta(seconds=float(found.group(1)) * _UNITS[unit])


def _severity_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Severity | None:
    from alpinist.scan.severity import parse_severity

    if value is None:
        return None
    try:
        return parse_severity(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _severity_list_callback(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> frozenset[Severity] | None:
    from alpinist.scan.policy import parse_severity_list

    if not value:
        return None
    try:
        return parse_severity_list(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration_callback(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.argument("image")
@click.option("-f", "--format", "fmt", type=click.Choice(SCAN_FORMATS), default="table", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
@click.option("--only-fixed", is_flag=True, help="Show only findings that have a fixed version.")
@click.option(
    "--severity",
    "severities",
    multiple=True,
    metavar="LIST",
    callback=_severity_list_callback,
    help="Show only these severities (comma-separated, repeatable): critical,high,medium,low,negligible,unknown.",
)
@click.option(
    "--fail-on",
    metavar="SEVERITY",
    callback=_severity_callback,
    help="Exit 2 when a finding at or above SEVERITY remains after filters and suppressions.",
)
@click.option(
    "--ignore-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="YAML list of rules (id, optional package, reason, optional expires) that suppress findings.",
)
@click.option(
    "--vex",
    "vex_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="OpenVEX document: not_affected and fixed statements suppress findings (repeatable).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Never touch the network: fail if the advisory database is missing or older than --max-db-age.",
)
@click.option(
    "--max-db-age",
    default=DEFAULT_MAX_DB_AGE,
    show_default=True,
    metavar="DURATION",
    callback=_duration_callback,
    help="Age (7d, 12h, 90m) beyond which a feed is stale: an error with --offline, else a warning.",
)
@db_option
@click.option(
    "--mirror",
    envvar="ALPINIST_MIRROR",
    show_envvar=True,
    metavar="URL",
    help="For the first download of the database: fetch every feed URL https://HOST/PATH as URL/HOST/PATH.",
)
@image_options
def scan(
    image: str,
    fmt: str,
    output: Path | None,
    only_fixed: bool,
    severities: frozenset[Severity] | None,
    fail_on: Severity | None,
    ignore_file: Path | None,
    vex_files: tuple[Path, ...],
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
    platform: str | None,
    insecure: tuple[str, ...],
    creds: str | None,
    no_cache: bool,
) -> int:
    """Scan IMAGE for known vulnerabilities: OS packages (Alpine secdb, Debian tracker), Python packages
    (OSV) and CPython (NVD).

    Prints `N vulnerabilities found in M packages` with counts per severity and a table sorted by
    severity (or JSON, SARIF, CycloneDX, Markdown). Exit codes: 0 success, 1 error, 2 --fail-on
    failed, 64 usage.
    """
    from alpinist.images.reference import parse_reference

    ref = parse_reference(image)
    if offline and ref.transport == "registry":
        raise click.UsageError(
            f"--offline: {image!r} is a registry reference, and resolving it needs the registry; scan an "
            "oci:, oci-archive:, docker-archive: or dir: copy of the image, or drop --offline"
        )
    options = pull_options(platform, insecure, creds)

    policy = policy_from_options(only_fixed, severities, ignore_file, vex_files, fail_on)
    from alpinist.scan.scanning import scan_image

    with (
        open_database(db_path, offline, mirror, max_db_age) as store,
        progress_callbacks(stderr_is_terminal()) as (on_blob, on_layer),
    ):
        if on_blob is not None:
            import dataclasses

            options = dataclasses.replace(options, progress=on_blob)
        result = scan_image(
            image,
            options,
            store,
            policy,
            use_cache=not no_cache,
            layer_progress=on_layer,
            max_db_age=max_db_age,
        )
    for warning in result.warnings:
        click.echo(f"alpinist: WARNING: {warning}", err=True)
    _write_report(result, fmt, output, emit)
    return EXIT_POLICY if result.failed else EXIT_OK


def policy_from_options(
    only_fixed: bool,
    severities: frozenset[Severity] | None,
    ignore_file: Path | None,
    vex_files: tuple[Path, ...],
    fail_on: Severity | None = None,
) -> Policy:
    """The policy of ``--only-fixed``, ``--severity``, ``--ignore-file``, ``--vex`` (and ``--fail-on``).

    Shared by ``scan`` and ``compare``.
    """
    from alpinist.scan.policy import Policy, load_ignore_file, load_vex

    rules = load_ignore_file(ignore_file) if ignore_file is not None else ()
    statements: list[Any] = []
    for vex_file in vex_files:
        statements.extend(load_vex(vex_file, start=len(statements)))
    return Policy(
        only_fixed=only_fixed,
        severities=severities,
        fail_on=fail_on,
        ignore_rules=tuple(rules),
        vex=tuple(statements),
    )


@contextmanager
def open_database(
    db_path: Path | None, offline: bool, mirror: str | None, max_db_age: timedelta
) -> Iterator[Store]:
    """The advisory store: built first when missing (``--mirror``), an error under ``--offline`` when
    missing or stale. Shared by ``scan`` and ``compare``.
    """
    from alpinist.advisories.store import Store
    from alpinist.cli.db import _db_path
    from alpinist.errors import DatabaseError
    from alpinist.scan.scanning import require_fresh_database

    path = _db_path(db_path)
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


def _first_update(path: Path, mirror: str | None) -> None:
    """Build the database that does not exist yet: every feed, through the mirror if one is given."""
    import os

    from alpinist.advisories.download import Fetcher
    from alpinist.advisories.sources import all_sources
    from alpinist.advisories.update import update
    from alpinist.cli.db import _update_progress

    where = f" from {mirror}" if mirror else ""
    click.echo(f"alpinist: no advisory database at {path} yet: downloading the feeds{where} first", err=True)
    sources = all_sources(nvd_api_key=os.environ.get("NVD_API_KEY") or None)
    with Fetcher(mirror=mirror) as fetcher, _update_progress(stderr_is_terminal()) as progress:
        update(path, sources, fetcher, None, progress, lock_timeout=DEFAULT_LOCK_TIMEOUT)


def _write_report(result: ScanResult, fmt: str, output: Path | None, emit: Any) -> None:
    if fmt == "json":
        from alpinist.reports.scan.json import render_scan_json

        emit(render_scan_json(result), output)
    elif fmt == "sarif":
        from alpinist.reports.scan.sarif import render_sarif

        emit(render_sarif(result), output)
    elif fmt == "cyclonedx":
        from alpinist.reports.scan.cyclonedx import render_scan_cyclonedx

        emit(render_scan_cyclonedx(result), output)
    elif fmt == "markdown":
        from alpinist.reports.scan.markdown import render_scan_markdown

        emit(render_scan_markdown(result), output)
    else:
        from alpinist.reports.scan.table import render_scan_table

        emit_rich(lambda console: render_scan_table(result, console), output, 160)
