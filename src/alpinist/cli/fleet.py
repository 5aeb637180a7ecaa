"""``alpinist fleet``: many images scanned on an engine, results in a store (docs/fleet.md).

- ``fleet scan (--images FILE | --catalog REGISTRY[/PREFIX])``: every image scanned as ``scan`` does, each
  outcome recorded as it arrives; a killed run is resumed by the next one with the same database.
- ``fleet rescan``: every image's stored SBOM matched again against the current database; nothing pulled.
- ``fleet report``: the store as a dashboard (HTML, Markdown, JSON).

Exit codes: 0 success; 1 an image could not be pulled or read (it is recorded, the others are done: 1 says
the run did not see every image), a repository's tags could not be listed (warned), or the store/engine
failed; 2 ``--fail-on``: an image
gained a finding at or above it since its previous result (1 wins over 2); 64 usage.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from alpinist.cli.common import pull_options
from alpinist.cli.db import database_path, open_database
from alpinist.cli.formats import FLEET_REPORT_FORMATS, FLEET_RUN_FORMATS
from alpinist.cli.options import (
    database_options,
    fail_on_option,
    image_options,
    output_options,
    refuse_registry_offline,
)
from alpinist.cli.quiet import warn
from alpinist.errors import EXIT_ERROR, EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity
    from alpinist.fleet.model import FleetRun


def default_store_url() -> str:
    """``sqlite:///<user data dir>/fleet.db``, beside the advisory database's default place."""
    from alpinist.advisories.store import default_db_path

    return f"sqlite:///{default_db_path().parent / 'fleet.db'}"


def _store_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    return value or default_store_url()


store_option = click.option(
    "--store",
    "store_url",
    metavar="URL",
    callback=_store_callback,
    help="Where results are kept: sqlite:///PATH (default: fleet.db in the user data directory) or "
    "postgresql://USER@HOST/DB.",
)

_ENGINE_OPTIONS = (
    click.option(
        "--engine",
        type=click.Choice(["local", "dask"]),
        default="local",
        show_default=True,
        help="Where images are scanned: a local process pool, or Dask (--scheduler, else a local Dask cluster).",
    ),
    click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (--engine dask; its workers need the same --db file).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        metavar="N",
        help="Processes of the local engine or of a local Dask cluster [default: the CPU count].",
    ),
)


def engine_options(func: Any) -> Any:
    """``--engine``, ``--scheduler``, ``--workers`` (``fleet/engine.py``'s ``open_engine`` takes them)."""
    for option in reversed(_ENGINE_OPTIONS):
        func = option(func)
    return func


@click.group()
def fleet() -> None:
    """Scan many images on a process pool or a Dask cluster and keep the results in SQLite or PostgreSQL."""


def _check_engine(engine: str, scheduler: str | None) -> None:
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler is for --engine dask")


def _settings(
    db_path: Path | None, offline: bool, mirror: str | None, max_db_age: timedelta, pull: Any, no_cache: bool
) -> Any:
    """What every task needs: the database (built when missing, refused when stale under --offline, as
    ``scan`` does) as an absolute path and its version, and the pull options with the deadlines fixed
    now (a worker process does not see this process's --timeout)."""
    from alpinist.fleet.tasks import Settings, database_version
    from alpinist.net import current_deadlines

    with open_database(db_path, offline, mirror, max_db_age) as db:
        version = database_version(db)
    pull = dataclasses.replace(pull, deadlines=current_deadlines())
    return Settings(str(database_path(db_path).resolve()), version, pull, use_cache=not no_cache)


def _finish(run: FleetRun, fmt: str, output: Path | None, fail_on: Severity | None, unlisted: int = 0) -> int:
    """Write the run's summary; the exit code (``unlisted``: repositories whose tags could not be listed,
    already warned about: the run did not see every image either)."""
    from alpinist.advisories.model import rank

    FLEET_RUN_FORMATS.write(fmt, run, output)
    if run.errors or unlisted:
        return EXIT_ERROR
    if fail_on is not None and any(
        rank(f.severity) >= rank(fail_on) for item in run.new for f in item.findings
    ):
        return EXIT_POLICY
    return EXIT_OK


@fleet.command("scan")
@click.option(
    "--images",
    "images_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="The images, one reference per line (any transport; # comments; - for stdin).",
)
@click.option(
    "--catalog",
    metavar="REGISTRY[/PREFIX]",
    help="Every tag of every repository of REGISTRY (under PREFIX), from its /v2/_catalog.",
)
@engine_options
@store_option
@output_options(FLEET_RUN_FORMATS)
@fail_on_option
@database_options
@image_options
def fleet_scan(
    images_file: Path | None,
    catalog: str | None,
    engine: Literal["local", "dask"],
    scheduler: str | None,
    workers: int | None,
    store_url: str,
    fmt: str,
    output: Path | None,
    fail_on: Severity | None,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
    platform: str | None,
    insecure: tuple[str, ...],
    registry_mirrors: tuple[tuple[str, str], ...],
    creds: str | None,
    no_cache: bool,
) -> int:
    """Scan every image of --images FILE or --catalog REGISTRY[/PREFIX] and record each result in --store.

    An image that fails is recorded with its error and the run goes on; a killed run is resumed by the
    next one with the same database (finished images are not scanned again); an image whose digest has a
    result with this database is recorded unchanged, one with an older database is matched again from its
    stored SBOM, neither is pulled. Exit codes: 0 success, 1 an image failed (recorded) or the run
    could not start, 2 --fail-on: an image gained a finding at or above it, 64 usage.
    """
    from alpinist.fleet.engine import open_engine
    from alpinist.fleet.listing import catalog_references, read_image_list
    from alpinist.fleet.run import fleet_scan as run_scan
    from alpinist.fleet.store import open_store

    if (images_file is None) == (catalog is None):
        raise click.UsageError("give one of --images FILE and --catalog REGISTRY[/PREFIX]")
    _check_engine(engine, scheduler)
    pull = pull_options(platform, insecure, creds, registry_mirrors)
    unlisted = 0
    if images_file is not None:
        listed = read_image_list(images_file)
        for warning in listed.warnings:
            warn(warning)
        references = list(listed.references)
    else:
        assert catalog is not None
        if offline:
            raise click.UsageError(
                "--offline: --catalog asks the registry; list the images with --images FILE"
            )
        found = catalog_references(catalog, pull)
        for repository, message in found.errors:
            warn(f"{repository}: tags not listed: {message}")
        unlisted = len(found.errors)
        references = list(found.references)
    refuse_registry_offline(offline, references, "list oci:, oci-archive:, docker-archive: or dir: copies")
    settings = _settings(db_path, offline, mirror, max_db_age, pull, no_cache)
    with open_store(store_url) as store, open_engine(engine, workers=workers, scheduler=scheduler) as eng:
        run = run_scan(references, store, eng, settings)
    return _finish(run, fmt, output, fail_on, unlisted)


@fleet.command("rescan")
@engine_options
@store_option
@output_options(FLEET_RUN_FORMATS)
@fail_on_option
@database_options
def fleet_rescan(
    engine: Literal["local", "dask"],
    scheduler: str | None,
    workers: int | None,
    store_url: str,
    fmt: str,
    output: Path | None,
    fail_on: Severity | None,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
) -> int:
    """Match every image's stored SBOM against the current database (nothing is pulled) and show the
    images with new high or critical findings since their previous result.

    Exit codes: 0 success, 1 an SBOM could not be matched (recorded) or the run could not start, 2
    --fail-on: an image gained a finding at or above it, 64 usage.
    """
    from alpinist.fleet.engine import open_engine
    from alpinist.fleet.run import fleet_rescan as run_rescan
    from alpinist.fleet.store import open_store

    _check_engine(engine, scheduler)
    settings = _settings(db_path, offline, mirror, max_db_age, pull_options(None, (), None, ()), False)
    with open_store(store_url) as store, open_engine(engine, workers=workers, scheduler=scheduler) as eng:
        run = run_rescan(store, eng, settings)
    return _finish(run, fmt, output, fail_on)


@fleet.command("report")
@store_option
@output_options(FLEET_REPORT_FORMATS)
@click.option(
    "--recommend",
    is_flag=True,
    help="Also say which images recommend would move to another base: lists the candidate bases' tags "
    "and pulls and scans them (once per group of alike images); the fleet's own images are read from the store.",
)
@database_options
@image_options
def fleet_report(
    store_url: str,
    fmt: str,
    output: Path | None,
    recommend: bool,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
    platform: str | None,
    insecure: tuple[str, ...],
    registry_mirrors: tuple[tuple[str, str], ...],
    creds: str | None,
    no_cache: bool,
) -> int:
    """The store as a dashboard: worst images, new CVEs since the last run, trend per image (HTML with
    inline SVG and no JavaScript, Markdown, or JSON); with --recommend, the images still on a base that
    `alpinist recommend` would move. Reads the store only, unless --recommend is given."""
    from alpinist.fleet.dashboard import build_view
    from alpinist.fleet.store import open_store

    with open_store(store_url, create=False) as store:
        advice = None
        if recommend:
            from alpinist.fleet.advice import fleet_advice
            from alpinist.recommend.run import RecommendOptions

            if offline:
                raise click.UsageError(
                    "--offline: --recommend lists and pulls candidate bases from their registries"
                )
            options = RecommendOptions(
                pull=pull_options(platform, insecure, creds, registry_mirrors),
                check_index=False,
                use_cache=not no_cache,
            )
            with open_database(db_path, offline, mirror, max_db_age) as advisories:
                found = fleet_advice(store.latest(), store.sbom, advisories, options)
            for warning in found.warnings:
                warn(warning)
            advice = found.advice
        view = build_view(store, advice)
    FLEET_REPORT_FORMATS.write(fmt, view, output)
    return EXIT_OK
