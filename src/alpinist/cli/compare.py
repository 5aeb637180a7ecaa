"""``alpinist compare IMAGE IMAGE…``: scan several images and print them side by side.

Registered on the main group by ``cli.py`` (``app.add_command(compare)``). Heavy imports are deferred
to the command body.

The database, policy and image options are the ``scan`` verb's own option objects (``scan.params``),
so the two verbs always accept the same ``--db``, ``--offline``, ``--max-db-age``, ``--mirror``,
``--only-fixed``, ``--severity``, ``--ignore-file``, ``--vex``, ``--platform``, ``--insecure-registry``,
``--creds`` and ``--no-cache``, with the same meaning: a missing database is built first (through
``--mirror``), ``--offline`` never touches the network. ``--fail-on`` is not offered: a comparison
has no single image to gate.

Exit codes (``errors.py``): 0 every image compared; 1 an image (or a ``--base`` image) could not be
read, or the database failed: the report is still written for the images that could be read, with
the failed image's column holding its error; 64 usage.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alpinist.cli.common import emit, emit_rich, progress_callbacks, pull_options, stderr_is_terminal
from alpinist.cli.scan import open_database, policy_from_options
from alpinist.cli.scan import scan as _scan
from alpinist.errors import EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    from alpinist.advisories.model import Severity
    from alpinist.compare.comparing import Comparison

COMPARE_FORMATS = ("table", "markdown", "json", "html")

# The options of ``scan`` that ``compare`` takes over unchanged (parameter names).
SHARED_SCAN_OPTIONS = (
    "only_fixed",
    "severities",
    "ignore_file",
    "vex_files",
    "offline",
    "max_db_age",
    "db_path",
    "mirror",
    "platform",
    "insecure",
    "creds",
    "no_cache",
)


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
@click.option("-f", "--format", "fmt", type=click.Choice(COMPARE_FORMATS), default="table", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
def compare(
    images: tuple[str, ...],
    labels: str | None,
    bases: tuple[str, ...],
    fmt: str,
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
    from alpinist.compare.comparing import compare_images
    from alpinist.images.reference import parse_reference

    if len(images) < 2:
        raise click.UsageError("compare needs at least two images")
    names = parse_labels(labels, len(images))
    if offline:
        for image in (*images, *bases):
            if parse_reference(image).transport == "registry":
                raise click.UsageError(
                    f"--offline: {image!r} is a registry reference, and resolving it needs the registry; "
                    "compare oci:, oci-archive:, docker-archive: or dir: copies, or drop --offline"
                )
    options = pull_options(platform, insecure, creds)
    policy = policy_from_options(only_fixed, severities, ignore_file, vex_files)

    with (
        open_database(db_path, offline, mirror, max_db_age) as store,
        progress_callbacks(stderr_is_terminal()) as (on_blob, on_layer),
    ):
        if on_blob is not None:
            import dataclasses

            options = dataclasses.replace(options, progress=on_blob)
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
        click.echo(f"alpinist: WARNING: {warning}", err=True)
    for error in comparison.errors:
        click.echo(f"alpinist: error: {error}", err=True)
    write_report(comparison, fmt, output, emit)
    return EXIT_ERROR if comparison.failed else EXIT_OK


# the scan verb's own option objects: both verbs always offer the same options (a test checks it)
_by_name = {p.name: p for p in _scan.params}
compare.params.extend(_by_name[name] for name in SHARED_SCAN_OPTIONS)
del _by_name


def write_report(comparison: Comparison, fmt: str, output: Path | None, emit: Any) -> None:
    if fmt == "json":
        from alpinist.reports.compare.json import render_compare_json

        emit(render_compare_json(comparison), output)
    elif fmt == "markdown":
        from alpinist.reports.compare.markdown import render_compare_markdown

        emit(render_compare_markdown(comparison), output)
    elif fmt == "html":
        from alpinist.reports.compare.html import render_compare_html

        emit(render_compare_html(comparison), output)
    else:
        from alpinist.reports.compare.table import render_compare_table

        emit_rich(lambda console: render_compare_table(comparison, console), output, 200)
