"""``alpinist gate IMAGE --baseline FILE``: scan IMAGE as ``scan`` does, compare with the accepted
findings of FILE (``scan/baseline.py``: new, gone, changed severity, unchanged) and exit 2 only when a
**new** finding is at or above ``--fail-on`` (default: high).

Loaded lazily by the group (``app.py``); the options are the shared groups of ``options.py`` (image,
database, policy: the ignore file and VEX apply), the formats ``formats.GATE_FORMATS``. A baseline
recorded for another repository is refused unless ``--force``; ``--update-baseline`` rewrites it with
today's findings after the report is written (the exit code is still today's verdict). ``--history FILE``
appends the run's summary (with the new and gone counts) to a history store (docs/history.md).

Exit codes (``errors.py``): 0 no new finding at or above ``--fail-on``, 1 error (a missing, corrupt or
foreign baseline included), 2 new findings at or above ``--fail-on``, 64 usage.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alpinist.cli.formats import GATE_FORMATS
from alpinist.cli.history import history_recorder, record
from alpinist.cli.options import (
    database_options,
    history_option,
    image_options,
    output_options,
    policy_from_options,
    policy_options,
)
from alpinist.cli.scan import scan_target
from alpinist.errors import EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity


def _fail_on_callback(ctx: click.Context, param: click.Parameter, value: str) -> Severity | None:
    from alpinist.scan.severity import parse_severity

    if value.lower() == "none":
        return None
    try:
        return parse_severity(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.argument("image")
@click.option(
    "--baseline",
    "baseline_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The accepted findings, written by `alpinist baseline`.",
)
@click.option(
    "--fail-on",
    default="high",
    show_default=True,
    metavar="SEVERITY",
    callback=_fail_on_callback,
    help="Exit 2 when a NEW finding is at or above SEVERITY (none: never).",
)
@output_options(GATE_FORMATS)
@history_option
@click.option(
    "--update-baseline",
    is_flag=True,
    help="After reporting, rewrite the baseline with today's findings.",
)
@click.option(
    "--force", is_flag=True, help="Compare even when the baseline was recorded for another repository."
)
@policy_options(fail_on=False)
@database_options
@image_options
def gate(
    image: str,
    baseline_path: Path,
    fail_on: Severity | None,
    fmt: str,
    output: Path | None,
    history_path: Path | None,
    update_baseline: bool,
    force: bool,
    only_fixed: bool,
    severities: frozenset[Severity] | None,
    ignore_file: Path | None,
    vex_files: tuple[Path, ...],
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
    """Fail only on findings that are new since the baseline.

    Scans IMAGE as `alpinist scan` does and compares with FILE: new findings (not in the baseline),
    gone ones, changed severities and the unchanged count. A finding is identified by its id or any
    alias, its package and the advisory package, not by the installed version. Exit codes: 0 no new
    finding at or above --fail-on, 1 error, 2 new findings at or above --fail-on, 64 usage.
    """
    from alpinist.scan.baseline import (
        baseline_from_scan,
        check_image,
        read_baseline,
        write_baseline,
    )
    from alpinist.scan.baseline import (
        gate as compare_with,
    )

    accepted = read_baseline(baseline_path)  # before the scan: a bad baseline fails fast
    policy = policy_from_options(only_fixed, severities, ignore_file, vex_files)
    with history_recorder(history_path) as history:  # a bad history file fails before the scan
        result = scan_target(
            image,
            policy,
            offline=offline,
            max_db_age=max_db_age,
            db_path=db_path,
            mirror=mirror,
            platform=platform,
            insecure=insecure,
            registry_mirrors=registry_mirrors,
            creds=creds,
            no_cache=no_cache,
        )
        if not force:
            check_image(accepted, result.inventory.image, str(baseline_path))
        forced = force and accepted.image.repository != baseline_from_scan(result).image.repository
        outcome = compare_with(result, accepted, fail_on, forced=forced)
        GATE_FORMATS.write(fmt, outcome, output)
        if history is not None:
            from alpinist.history.record import entry_from_gate

            record(history, [entry_from_gate(outcome)])
        if update_baseline:
            recorded = baseline_from_scan(result)
            write_baseline(recorded, baseline_path)
            click.echo(
                f"alpinist: baseline {baseline_path} updated ({len(recorded.entries)} findings)", err=True
            )
    return EXIT_POLICY if outcome.failed else EXIT_OK
