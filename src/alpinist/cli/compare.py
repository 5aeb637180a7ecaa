"""``alpinist compare IMAGE IMAGE…``: scan several images and print them side by side.

Loaded lazily by the group (``app.py``). Heavy imports are deferred to the command body.

The policy, database and image options are the groups ``scan`` applies too (``options.py``), so the
two verbs always accept the same ``--only-fixed``, ``--severity``, ``--ignore-file``, ``--vex``,
``--offline``, ``--max-db-age``, ``--db``, ``--mirror``, ``--platform``, ``--insecure-registry``,
``--registry-mirror``, ``--creds`` and ``--no-cache``, with the same meaning: a missing database is built first (through
``--mirror``), ``--offline`` never touches the network. ``--fail-on`` is not offered: a comparison
has no single image to gate. The formats are ``formats.COMPARE_FORMATS``.

Exit codes (``errors.py``): 0 every image compared; 1 an image (or a ``--base`` image) could not be
read, or the database failed: the report is still written for the images that could be read, with
the failed image's column holding its error; 64 usage.

``--history FILE`` (html only): below the table, each image's trend from the history store that
``scan``/``gate``/``rescan --history FILE`` write (docs/history.md); compare itself records nothing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alpinist.cli.common import pull_options
from alpinist.cli.db import open_database
from alpinist.cli.formats import COMPARE_FORMATS
from alpinist.cli.options import (
    database_options,
    history_read_option,
    image_options,
    output_options,
    policy_from_options,
    policy_options,
    refuse_registry_offline,
)
from alpinist.cli.quiet import pull_progress, warn
from alpinist.errors import EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity
    from alpinist.history.model import History


def parse_labels(text: str | None, count: int) -> list[str] | None:
    """``before,after,java`` -> one label per image; UsageError on a wrong count, an empty or a repeated label."""
    if text is None:
        return None
    labels = [part.strip() for part in text.split(",")]
    if len(labels) != count:
        raise click.UsageError(f"--labels: {len(labels)} labels for {count} images")
    if any(not label for label in labels):
        raise click.UsageError("--labels: an empty label")
    if len(set(labels)) != len(labels):
        raise click.UsageError("--labels: each image needs its own label")
    return labels


def _trends(path: Path | None, fmt: str) -> History | None:
    """The history of ``--history FILE`` for the html format's trends (read before the scans: a bad
    store fails fast); a store not written yet is a warning and empty trends."""
    if path is None:
        return None
    if fmt != "html":
        warn(f"--history: only --format html shows trends, not {fmt}")
        return None
    from alpinist.cli.history import read_history
    from alpinist.history.model import History

    if not path.exists():
        warn(f"--history: {path} does not exist yet: no runs recorded")
        return History(path=str(path), entries=())
    return read_history(path)


@click.command()
@click.argument("images", nargs=-1, required=True, metavar="IMAGE IMAGE...")
@click.option(
    "--labels",
    metavar="A,B,...",
    help="Column names, one per image, comma-separated (default: the images' names).",
)
@click.option(
    "--base",
    "bases",
    multiple=True,
    metavar="IMAGE",
    help="A candidate base image (repeatable): an image whose layers are a prefix of a compared one's is "
    "named as its base.",
)
@output_options(COMPARE_FORMATS)
@history_read_option
@policy_options(fail_on=False)
@database_options
@image_options
def compare(
    images: tuple[str, ...],
    labels: str | None,
    bases: tuple[str, ...],
    fmt: str,
    output: Path | None,
    history_path: Path | None,
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
    """Compare IMAGE IMAGE...: each is scanned as `alpinist scan` would, then one column per image.

    Lines: OS and version, base image, vulnerabilities (total, per severity, distinct ids), packages
    with vulnerabilities, packages, compressed and uncompressed size, layers, user, healthcheck and
    the tool it needs, shell, package manager; the Better column names the best image on each line.
    Then the CVE diff: the ids each image removes and adds against the first, by package.

    Exit codes: 0 success, 1 an image could not be read (its column shows why; the others are still
    compared), 64 usage.
    """
    from alpinist.compare import compare_images

    if len(images) < 2:
        raise click.UsageError("compare needs at least two images")
    names = parse_labels(labels, len(images))
    refuse_registry_offline(
        offline, (*images, *bases), "compare oci:, oci-archive:, docker-archive: or dir: copies"
    )
    options = pull_options(platform, insecure, creds, registry_mirrors)
    policy = policy_from_options(only_fixed, severities, ignore_file, vex_files)
    history = _trends(history_path, fmt)

    with (
        open_database(db_path, offline, mirror, max_db_age) as store,
        pull_progress(options) as (options, on_layer),
    ):
        comparison = compare_images(
            images,
            store,
            policy,
            labels=names,
            bases=bases,
            pull_options=options,
            use_cache=not no_cache,
            layer_progress=on_layer,
            max_db_age=max_db_age,
        )
    for warning in comparison.warnings:
        warn(warning)
    for error in comparison.errors:
        click.echo(f"alpinist: error: {error}", err=True)
    COMPARE_FORMATS.write(fmt, comparison, output, history=history)
    return EXIT_ERROR if comparison.failed else EXIT_OK
