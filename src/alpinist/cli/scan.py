"""``alpinist scan IMAGE``: match an image's inventory against the advisory database, apply the policy,
write a report, and exit 2 when ``--fail-on`` says so.

Loaded lazily by the group (``app.py``). Heavy imports (the pipeline, the store, the formatters) are
deferred to the command body. The options are the shared groups of ``options.py``; the formats are
``formats.SCAN_FORMATS``.

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

A stored SBOM: ``IMAGE`` of the form ``sbom:FILE`` scans the inventory read from FILE
(``inventory/sbom_import.py``: alpinist JSON, CycloneDX, SPDX 2.3, syft JSON) instead of an image; matching,
policy and formats are the same; what the SBOM lacks is said in warnings. An unreadable FILE exits 1.

``--history FILE`` (or ``ALPINIST_HISTORY``) appends the scan's summary to a history store after the report
is written (``history/``, docs/history.md); the store is opened first, so a bad one exits 1 before the scan.

Exit codes (``errors.py``): 0 success, 1 error, 2 ``--fail-on`` failed, 64 usage.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alpinist.cli.common import pull_options
from alpinist.cli.db import open_database
from alpinist.cli.formats import SCAN_FORMATS
from alpinist.cli.history import history_recorder, record
from alpinist.cli.options import (
    database_options,
    exit_code_option,
    history_option,
    image_options,
    output_options,
    policy_from_options,
    policy_options,
    refuse_registry_offline,
)
from alpinist.cli.quiet import pull_progress, warn
from alpinist.errors import EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity
    from alpinist.images.open import PullOptions
    from alpinist.scan.model import Policy, ScanResult

SBOM_PREFIX = "sbom:"  # scan a stored SBOM file instead of an image (inventory.sbom_import)


@click.command()
@click.argument("image")
@output_options(SCAN_FORMATS)
@click.option(
    "--wide",
    is_flag=True,
    help="Table: every column (Status, Type, Layer, Severity source) whatever the width; by default "
    "the columns that do not fit are left out and named under the table.",
)
@history_option
@policy_options(fail_on=True)
@exit_code_option
@database_options
@image_options
def scan(
    image: str,
    fmt: str,
    output: Path | None,
    wide: bool,
    history_path: Path | None,
    only_fixed: bool,
    severities: frozenset[Severity] | None,
    fail_on: Severity | None,
    ignore_file: Path | None,
    vex_files: tuple[Path, ...],
    exit_code: int | None,
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
    """Scan IMAGE for known vulnerabilities: OS packages (Alpine secdb, Debian tracker), Python packages
    (OSV) and CPython (NVD).

    Prints `N vulnerabilities found in M packages` with counts per severity and a table sorted by
    severity (or JSON, SARIF, CycloneDX, Markdown). Exit codes: 0 success, 1 error, 2 --fail-on
    failed (or N of --exit-code N), 64 usage.
    """
    imported = None
    options = None
    if image.startswith(SBOM_PREFIX):
        # a stored SBOM instead of an image (docs/sbom-import.md): no image is read
        from alpinist.inventory.sbom_import import read_sbom

        imported = read_sbom(Path(image.removeprefix(SBOM_PREFIX)))
    else:
        # usage errors (a malformed reference, --offline with a registry, bad pull options) before anything opens
        options = image_pull_options(
            image,
            offline,
            platform,
            insecure,
            registry_mirrors,
            creds,
            "scan an oci:, oci-archive:, docker-archive: or dir: copy",
        )

    policy = policy_from_options(only_fixed, severities, ignore_file, vex_files, fail_on)
    with history_recorder(history_path) as history:  # a bad history file fails before the scan
        if imported is not None:
            from alpinist.scan.scanning import scan_inventory

            with open_database(db_path, offline, mirror, max_db_age) as store:
                result = scan_inventory(
                    imported.inventory, store, policy, max_db_age=max_db_age, extra_warnings=imported.warnings
                )
        else:
            assert options is not None
            result = scan_with_options(
                image,
                options,
                policy,
                offline=offline,
                max_db_age=max_db_age,
                db_path=db_path,
                mirror=mirror,
                no_cache=no_cache,
            )
        for warning in result.warnings:
            warn(warning)
        SCAN_FORMATS.write(fmt, result, output, wide=wide)
        if history is not None:
            from alpinist.history.record import entry_from_scan

            record(history, [entry_from_scan(result)])
    if exit_code is not None:  # Trivy's --exit-code: the gate's code; any finding fails without --fail-on
        failed = result.failed if fail_on is not None else bool(result.findings)
        return exit_code if failed else EXIT_OK
    return EXIT_POLICY if result.failed else EXIT_OK


def image_pull_options(
    image: str,
    offline: bool,
    platform: str | None,
    insecure: tuple[str, ...],
    registry_mirrors: tuple[tuple[str, str], ...],
    creds: str | None,
    verb_hint: str,
) -> PullOptions:
    """The pull options of ``image``, after the usage checks every image verb makes before anything opens:
    a malformed reference, a registry reference under ``--offline`` (``verb_hint``: what to do instead),
    bad ``--platform``/``--creds``."""
    from alpinist.images.reference import parse_reference

    parse_reference(image)
    refuse_registry_offline(offline, (image,), f"{verb_hint} of the image")
    options: PullOptions = pull_options(platform, insecure, creds, registry_mirrors)
    return options


def scan_with_options(
    image: str,
    options: PullOptions,
    policy: Policy,
    *,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
    no_cache: bool,
) -> ScanResult:
    """Scan ``image`` (pull options checked by :func:`image_pull_options`) against the database."""
    from alpinist.scan.scanning import scan_image

    with (
        open_database(db_path, offline, mirror, max_db_age) as store,
        pull_progress(options) as (options, on_layer),
    ):
        return scan_image(
            image,
            options,
            store,
            policy,
            use_cache=not no_cache,
            layer_progress=on_layer,
            max_db_age=max_db_age,
        )


def scan_target(
    image: str,
    policy: Policy,
    *,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
    platform: str | None,
    insecure: tuple[str, ...],
    registry_mirrors: tuple[tuple[str, str], ...],
    creds: str | None,
    no_cache: bool,
) -> ScanResult:
    """Check and scan ``image`` as ``alpinist scan`` does (warnings on stderr), for ``baseline`` and ``gate``."""
    options = image_pull_options(
        image,
        offline,
        platform,
        insecure,
        registry_mirrors,
        creds,
        "use an oci:, oci-archive:, docker-archive: or dir: copy",
    )
    result = scan_with_options(
        image,
        options,
        policy,
        offline=offline,
        max_db_age=max_db_age,
        db_path=db_path,
        mirror=mirror,
        no_cache=no_cache,
    )
    for warning in result.warnings:
        warn(warning)
    return result
