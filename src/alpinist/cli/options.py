"""The option groups several verbs share, each defined once and applied as a decorator.

==================== =================================================== ==========================
group                options                                             applied by
==================== =================================================== ==========================
``output_options``   ``-f/--format`` (the verb's ``Formats``), ``-o``    sbom, scan, compare, lint
``policy_options``   ``--only-fixed``, ``--severity``, [``--fail-on``],   scan (with ``--fail-on``),
                     ``--ignore-file``, ``--vex``                        compare (without)
``database_options`` ``--offline``, ``--max-db-age``, ``--db``,          scan, compare
                     ``--mirror``
``image_options``    ``--platform``, ``--insecure-registry``,            sbom, scan, compare,
                     ``--registry-mirror`` (``ALPINIST_REGISTRY_MIRROR``), baseline, gate,
                     ``--creds``, ``--no-cache``, ``--timeout``           recommend
                     (``ALPINIST_TIMEOUT``)
``db_option``        ``--db`` alone                                      the ``db`` subcommands
``build_arg_option`` ``--build-arg NAME=VALUE``: ARG overrides           lint, recommend
``history_option``   ``--history FILE`` (``ALPINIST_HISTORY``): append     scan, gate, rescan
                     the run's summary to the history store
(``history_read_``   ``--history FILE``: the store to read                 compare, history
``option``)
==================== =================================================== ==========================

A group adds its options in the order listed, so ``--help`` lists them in that order wherever the
group is applied. This module is imported by every verb, ``sbom`` included: it imports nothing of the
pipeline at import time (callbacks and ``database_options`` import what they need when they run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from alpinist.errors import EXIT_USAGE, AlpinistError

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity
    from alpinist.cli.formats import Formats
    from alpinist.scan.model import Policy

F = TypeVar("F", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|h|m|min|s)?\s*$", re.IGNORECASE)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h``, ``90m``/``90min``, ``3600s``; a bare number is days. ValueError otherwise."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a duration (examples: 7d, 12h, 90m, 3600s)")
    unit = (found.group(2) or "d").lower()
    return timedelta(seconds=float(found.group(1)) * _UNITS[unit])


def duration_text(value: timedelta) -> str:
    """The inverse of ``parse_duration`` for whole seconds: ``5d``, ``12h``, ``90m``, ``3601s`` (the
    largest unit that divides the duration exactly)."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        size = int(_UNITS[unit])
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _apply(options: list[Callable[[Any], Any]]) -> Callable[[F], F]:
    """One decorator applying ``options`` so that ``--help`` lists them in the given order."""

    def decorator(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorator


# ------------------------------------------------------------------------------------------------ output


class OutputPathError(AlpinistError):
    """``-o FILE`` in a directory that does not exist: one line, before any work (a usage error)."""

    exit_code = EXIT_USAGE


def output_path_callback(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Refuse an output file whose directory is missing (or is not a directory) before the verb runs
    (else the scan runs for nothing and ends with a raw ``[Errno 2]``)."""
    if value is None or str(value) == "-":
        return value
    parent = value.parent
    if not parent.exists():
        raise OutputPathError(
            f"{param.opts[-1]} {value}: the directory {parent} does not exist (create it first)"
        )
    if not parent.is_dir():
        raise OutputPathError(f"{param.opts[-1]} {value}: {parent} is not a directory")
    return value


def output_options(formats: Formats) -> Callable[[F], F]:
    """``-f/--format`` (choices and default from the verb's format registry) and ``-o/--output``."""
    return _apply(
        [
            click.option(
                "-f",
                "--format",
                "fmt",
                type=click.Choice(formats.names),
                default=formats.default,
                show_default=True,
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(dir_okay=False, path_type=Path),
                callback=output_path_callback,
                help="Write to FILE instead of stdout.",
            ),
        ]
    )


# ------------------------------------------------------------------------------------------------- image


def _mirrors_callback(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """``REGISTRY=LOCATION`` values (each option, or ``ALPINIST_REGISTRY_MIRROR``, may hold several
    separated by commas or whitespace) as ``PullOptions.mirrors`` pairs."""
    items = [item for text in value for item in re.split(r"[,\s]+", text) if item]
    if not items:
        return ()
    from alpinist.images.mirrors import parse_mirror  # imports no HTTP client

    try:
        return tuple(parse_mirror(item) for item in items)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _timeout_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--timeout`` / ``ALPINIST_TIMEOUT``: the deadlines of every download of this run (registry blobs
    and feeds alike), set process-wide in ``net`` (so the feed fetcher of a first database download
    obeys them too); no value: the environment's or the defaults."""
    from alpinist import net  # the standard library only: no HTTP client imported

    try:
        net.set_deadlines(net.parse_timeout(value) if value else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


timeout_option = click.option(
    "--timeout",
    metavar="STALL[,RATE/WINDOW]",
    envvar="ALPINIST_TIMEOUT",
    show_envvar=True,
    expose_value=False,
    callback=_timeout_callback,
    help="Download deadlines: give up when no byte arrives for STALL, or when less than RATE arrives "
    "per second over WINDOW, e.g. 10s,50KiB/20s; 'off' disables both [default: 30s,10KiB/60s].",
)
"""``--timeout`` (``ALPINIST_TIMEOUT``): sets ``net``'s deadlines for the run; no value in the verb."""


image_options = _apply(
    [
        click.option(
            "--platform",
            metavar="OS/ARCH[/VARIANT]",
            help="Platform to pick from a multi-platform index (default: this host's).",
        ),
        click.option(
            "--insecure-registry",
            "insecure",
            multiple=True,
            metavar="HOST[:PORT]",
            help="Allow plain HTTP to this registry (loopback always may).",
        ),
        click.option(
            "--registry-mirror",
            "registry_mirrors",
            multiple=True,
            metavar="REGISTRY=LOCATION",
            envvar="ALPINIST_REGISTRY_MIRROR",
            show_envvar=True,
            callback=_mirrors_callback,
            help="Read REGISTRY's images from LOCATION, HOST[:PORT][/PREFIX], and never from "
            "REGISTRY itself, e.g. docker.io=mirror.example.org (repeatable; the variable may list several, "
            "comma-separated).",
        ),
        click.option(
            "--creds",
            metavar="USER:PASSWORD",
            help="Registry credentials (default: ~/.docker/config.json and credential helpers; or ALPINIST_USERNAME/ALPINIST_PASSWORD).",
        ),
        click.option(
            "--no-cache", is_flag=True, help="Re-read every layer instead of reusing a cached inventory."
        ),
        timeout_option,
    ]
)

# ------------------------------------------------------------------------------------------- dockerfile


def _build_args_callback(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in value:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        overrides[name] = text
    return overrides


build_arg_option = click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_build_args_callback,
    help="Override an ARG default, as `docker build --build-arg` would (affects FROM resolution).",
)
"""``--build-arg NAME=VALUE`` (repeatable) → a dict of ARG overrides: lint, recommend."""


# ---------------------------------------------------------------------------------------------- database

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ALPINIST_DB",
    show_envvar=True,
    help="Advisory database file (default: advisories.db in the user data directory).",
)


def _duration_callback(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def database_options(func: F) -> F:
    """``--offline``, ``--max-db-age``, ``--db``, ``--mirror``: where the advisory database is, whether
    it may be downloaded, how old it may be (``cli.db.open_database`` takes the four values)."""
    # The default age is the scan stage's; imported here, when a verb module applies the group, so that
    # importing this module (as ``sbom`` does) does not import the scan stage.
    from alpinist.scan.scanning import DEFAULT_MAX_DB_AGE

    return _apply(
        [
            click.option(
                "--offline",
                is_flag=True,
                help="Never touch the network: fail if the advisory database is missing or older than --max-db-age.",
            ),
            click.option(
                "--max-db-age",
                default=duration_text(DEFAULT_MAX_DB_AGE),
                show_default=True,
                metavar="DURATION",
                callback=_duration_callback,
                help="Age (7d, 12h, 90m) beyond which a feed is stale: an error with --offline, else a warning.",
            ),
            db_option,
            click.option(
                "--mirror",
                envvar="ALPINIST_MIRROR",
                show_envvar=True,
                metavar="URL",
                help="For the first download of the database: fetch every feed URL https://HOST/PATH as URL/HOST/PATH.",
            ),
        ]
    )(func)


def refuse_registry_offline(offline: bool, images: Iterable[str], instead: str) -> None:
    """Under ``--offline``, a usage error for the first registry reference among ``images``: resolving
    one asks the registry. ``instead`` says what to give (``scan an oci:, … copy of the image``)."""
    if not offline:
        return
    from alpinist.images.reference import parse_reference

    for image in images:
        if parse_reference(image).transport == "registry":
            raise click.UsageError(
                f"--offline: {image!r} is a registry reference, and resolving it needs the registry; "
                f"{instead}, or drop --offline"
            )


# ----------------------------------------------------------------------------------------------- history

history_option = click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ALPINIST_HISTORY",
    show_envvar=True,
    metavar="FILE",
    help="Append this run's summary (per image: counts per severity, ids, packages) to the history store "
    "FILE (SQLite, created if missing; see `alpinist history`).",
)

history_read_option = click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ALPINIST_HISTORY",
    show_envvar=True,
    metavar="FILE",
    help="The history store written by scan, gate and rescan --history FILE.",
)


# ------------------------------------------------------------------------------------------------ policy


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


_only_fixed = click.option(
    "--only-fixed",
    "--ignore-unfixed",
    "only_fixed",
    is_flag=True,
    help="Show only findings that have a fixed version (--ignore-unfixed: Trivy's name for it).",
)
_severity = click.option(
    "--severity",
    "severities",
    multiple=True,
    metavar="LIST",
    callback=_severity_list_callback,
    help="Show only these severities (comma-separated, repeatable): critical,high,medium,low,negligible,unknown.",
)
_fail_on = click.option(
    "--fail-on",
    metavar="SEVERITY",
    callback=_severity_callback,
    help="Exit 2 when a finding at or above SEVERITY remains after filters and suppressions.",
)
fail_on_option = _fail_on  # for verbs that gate without the rest of the policy group (rescan)
exit_code_option = click.option(
    "--exit-code",
    type=click.IntRange(0, 255),
    metavar="N",
    help="Exit N when the gate fails instead of 2 (Trivy's --exit-code); without --fail-on the gate fails "
    "when any finding remains after --severity, --only-fixed and suppressions.",
)
_ignore_file = click.option(
    "--ignore-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="YAML list of rules (id, optional package, reason, optional expires) that suppress findings.",
)
_vex = click.option(
    "--vex",
    "vex_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="OpenVEX document: not_affected and fixed statements suppress findings (repeatable).",
)


def policy_options(*, fail_on: bool) -> Callable[[F], F]:
    """``--only-fixed``, ``--severity``, ``--fail-on`` (when ``fail_on``: a verb that gates one image),
    ``--ignore-file``, ``--vex``; ``policy_from_options`` turns their values into a ``Policy``."""
    return _apply([_only_fixed, _severity, *([_fail_on] if fail_on else []), _ignore_file, _vex])


def policy_from_options(
    only_fixed: bool,
    severities: frozenset[Severity] | None,
    ignore_file: Path | None,
    vex_files: tuple[Path, ...],
    fail_on: Severity | None = None,
) -> Policy:
    """The policy of ``--only-fixed``, ``--severity``, ``--ignore-file``, ``--vex`` (and ``--fail-on``)."""
    from alpinist.scan.model import Policy
    from alpinist.scan.policy import load_ignore_file, load_vex

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
