"""``alpinist baseline IMAGE -o FILE``: scan IMAGE as ``scan`` does and record its findings as the
accepted ones (``alpinist-baseline/1``, ``scan/baseline.py``), for ``alpinist gate`` to compare with.

Loaded lazily by the group (``app.py``); the options are the shared groups of ``options.py`` (image,
database, policy without ``--fail-on``: the ignore file and VEX apply, and suppressed findings are not
recorded). The output is deterministic (sorted, no timestamp), so a committed baseline diffs cleanly.
Exit codes: 0 success, 1 error, 64 usage.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alpinist.cli.common import emit
from alpinist.cli.options import (
    database_options,
    image_options,
    policy_from_options,
    policy_options,
)
from alpinist.cli.scan import scan_target
from alpinist.errors import EXIT_OK

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity


@click.command()
@click.argument("image")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the baseline to FILE (its directory is created; e.g. .alpinist/baseline.json) instead of stdout.",
)
@policy_options(fail_on=False)
@database_options
@image_options
def baseline(
    image: str,
    output: Path | None,
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
    """Record IMAGE's current findings as accepted, for `alpinist gate`.

    Writes alpinist-baseline/1 JSON (sorted, no timestamp): each finding's id, aliases, package,
    advisory package, installed version, severity and status, with the image, its repository and
    digest, the database's update time per feed and the alpinist version. Exit codes: 0 success,
    1 error, 64 usage.
    """
    from alpinist.scan.baseline import baseline_from_scan, baseline_to_text, write_baseline

    policy = policy_from_options(only_fixed, severities, ignore_file, vex_files)
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
    recorded = baseline_from_scan(result)
    if output is None:
        emit(baseline_to_text(recorded), None)
    else:
        write_baseline(recorded, output)
        click.echo(f"alpinist: baseline of {len(recorded.entries)} findings written to {output}", err=True)
    return EXIT_OK
