"""``alpinist migrate DOCKERFILE --to alpine[:VERSION]``: the migrated Dockerfile and a report.

Loaded lazily by the group (``app.py``). The Dockerfile goes to stdout
(or ``-o FILE``), the report to stderr (or ``--report FILE``), so ``alpinist migrate Dockerfile >
Dockerfile.alpine`` keeps the two apart. Exit status 0 when a Dockerfile was written (also when the input
is already on Alpine and is written unchanged), 1 when the input cannot be read or parsed, 64 for bad
arguments.
"""

from __future__ import annotations

from pathlib import Path

import click

from alpinist.cli.options import output_path_callback
from alpinist.dockerfile.wheels import DEFAULT_INDEX_URL


def _write(text: str, path: Path | None, *, err: bool = False) -> None:
    if path is None:
        click.echo(text, nl=False, err=err)
    else:
        path.write_text(text, encoding="utf-8")


@click.command()
@click.argument("dockerfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "to",
    default="alpine",
    show_default=True,
    metavar="alpine[:VERSION]",
    help="Target: alpine (the default release, 3.22), alpine:3.22 or alpine:3.22.2.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=output_path_callback,
    help="Write the Dockerfile to FILE.",
)
@click.option(
    "--context",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Build context holding requirements.txt / pyproject.toml (default: the Dockerfile's directory).",
)
@click.option(
    "--index-url",
    default=DEFAULT_INDEX_URL,
    show_default=True,
    metavar="URL",
    help="Package index (PEP 691 JSON or PEP 503 simple API) asked for musllinux wheels.",
)
@click.option("--offline", is_flag=True, help="Do not ask the package index; the report says so.")
@click.option(
    "--platform",
    default="linux/amd64",
    show_default=True,
    metavar="OS/ARCH[/VARIANT]",
    help="CPU the wheels must be built for (linux/amd64, linux/arm64, …).",
)
@click.option(
    "--report-format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="Format of the report.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=output_path_callback,
    help="Write the report to FILE instead of stderr.",
)
@click.option("--force", is_flag=True, help="Migrate even when the input is already on Alpine or distroless.")
def migrate(
    dockerfile: Path,
    to: str,
    output: Path | None,
    context: Path | None,
    index_url: str,
    offline: bool,
    platform: str,
    report_format: str,
    report_path: Path | None,
    force: bool,
) -> None:
    """Rewrite DOCKERFILE for Alpine (a missing or unreadable file exits 1, as in lint): builder and runtime stages on the same Python, apk packages mapped
    from apt, non-root user, --no-cache, urllib healthcheck; report what changed and what may break."""
    from alpinist.dockerfile.migrate import MigrationOptions, migrate_dockerfile, parse_target
    from alpinist.dockerfile.parse import read_dockerfile
    from alpinist.dockerfile.wheels import Target, WheelStatus

    target = parse_target(to)  # MigrationTargetError: one line, exit 64 (usage), with the valid choices
    try:
        Target.from_platform("3.12", platform)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--platform") from None
    if not index_url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="--index-url")

    df = read_dockerfile(dockerfile)  # bounded, UTF-8, raises DockerfileError naming the file
    text = dockerfile.read_text(encoding="utf-8").removeprefix("\ufeff")
    options = MigrationOptions(
        to=target,
        context=context,
        index_url=index_url,
        offline=offline,
        platform=platform,
        force=force,
    )
    result = migrate_dockerfile(df, text, options)
    _write(result.text, output)
    report = result.report
    rendered = report.render_json() if report_format == "json" else report.render_text()
    _write(rendered, report_path, err=True)
    if report.wheels is not None:
        errors = [f for f in report.wheels.findings if f.status is WheelStatus.ERROR]
        if errors:
            click.echo(
                f"alpinist: WARNING: the package index could not be asked about {len(errors)} requirement(s); "
                "see the report (or use --offline)",
                err=True,
            )
