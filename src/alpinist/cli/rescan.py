"""``alpinist rescan DIR``: re-match every stored SBOM in DIR against today's advisory database and print
which images gained or lost findings since their last rescan (``scan/rescan.py``; state in
``DIR/.alpinist-rescan.json``).

Exit codes: 0 success; 2 a finding gained since the last rescan is at or above ``--fail-on``; 1 a file
could not be read (it is reported, the others are rescanned, and 1 wins over 2: the gate did not see
every image); 64 usage. ``--history FILE`` appends one summary per readable SBOM to a history store
(docs/history.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alpinist.cli.db import open_database
from alpinist.cli.formats import RESCAN_FORMATS
from alpinist.cli.history import history_recorder, record
from alpinist.cli.options import (
    database_options,
    exit_code_option,
    fail_on_option,
    history_option,
    output_options,
    timeout_option,
)
from alpinist.cli.quiet import warn
from alpinist.errors import EXIT_ERROR, EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@output_options(RESCAN_FORMATS)
@history_option
@fail_on_option
@exit_code_option
@database_options
@timeout_option
def rescan(
    directory: Path,
    fmt: str,
    output: Path | None,
    history_path: Path | None,
    fail_on: Severity | None,
    exit_code: int | None,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
) -> int:
    """Re-match every stored SBOM (*.json: alpinist, CycloneDX, SPDX, syft) in DIRECTORY against today's
    database and show which images gained or lost findings since their last rescan.

    State is kept in DIRECTORY/.alpinist-rescan.json; on the first rescan every finding is new. Exit
    codes: 0 success, 1 an SBOM could not be read (the others are still rescanned), 2 a new finding at or
    above --fail-on (--exit-code N: N instead of 2; without --fail-on, any new finding), 64 usage.
    """
    from alpinist.scan.rescan import rescan_directory

    with history_recorder(history_path) as history:  # a bad history file fails before the rescan
        with open_database(db_path, offline, mirror, max_db_age) as store:
            result = rescan_directory(directory, store, fail_on=fail_on, max_db_age=max_db_age)
        for warning in result.warnings:
            warn(warning)
        for image in result.images:
            if image.error is not None:
                click.echo(f"alpinist: error: {image.error}", err=True)
        RESCAN_FORMATS.write(fmt, result, output)
        if history is not None:
            from alpinist.history.record import entries_from_rescan

            record(history, entries_from_rescan(result))
    if result.errors:
        return EXIT_ERROR
    if exit_code is not None:  # Trivy's --exit-code, as scan has it: without --fail-on any new finding fails
        gained = any(image.gained for image in result.images)
        return exit_code if (result.failed if fail_on is not None else gained) else EXIT_OK
    return EXIT_POLICY if result.failed else EXIT_OK
