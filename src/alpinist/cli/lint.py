"""``alpinist lint DOCKERFILE``: check a Dockerfile against alpinist's hardening rules (docs/lint-rules.md).

Loaded lazily by the group (``app.py``). The parser, the rules and the formatters are imported in the
command body; the formats are ``formats.LINT_FORMATS``.

Exit codes (``errors.py``): 0 success (also with findings below ``--fail-on``), 1 error (unreadable
file, parse error naming the line), 2 a finding at or above ``--fail-on`` remains, 64 usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from alpinist.cli.formats import LINT_FORMATS
from alpinist.cli.options import build_arg_option, output_options
from alpinist.errors import EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:
    from alpinist.dockerfile.rules import Severity

LINT_SEVERITIES = ("error", "warning", "info")


def _rule_list(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from alpinist.dockerfile.rules import get_rule

    ids: list[str] = []
    for item in value:
        for part in item.split(","):
            rule_id = part.strip().upper()
            if not rule_id:
                continue
            if get_rule(rule_id) is None:
                raise click.BadParameter(f"unknown rule {part.strip()!r} (see `alpinist lint --list-rules`)")
            ids.append(rule_id)
    return tuple(ids)


def _list_rules(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from alpinist.dockerfile.rules import RULES

    for rule in RULES:
        click.echo(f"{rule.id}  {rule.severity:<7}  {rule.name:<28}  {rule.doc}")
    ctx.exit(EXIT_OK)


@click.command("lint")
@click.argument(
    "dockerfiles",
    metavar="DOCKERFILE...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=True, path_type=Path),
)
@output_options(LINT_FORMATS)
@click.option(
    "--fail-on",
    type=click.Choice(LINT_SEVERITIES, case_sensitive=False),
    metavar="SEVERITY",
    help="Exit 2 when a finding at or above SEVERITY (error, warning, info) remains after ignore comments.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="RULES",
    callback=_rule_list,
    help="Run only these rules (comma-separated, repeatable).",
)
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="RULES",
    callback=_rule_list,
    help="Skip these rules (comma-separated, repeatable).",
)
@build_arg_option
@click.option(
    "--list-rules",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_rules,
    help="Print every rule (id, severity, name, doc) and exit.",
)
def lint(
    dockerfiles: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    select: tuple[str, ...],
    ignored: tuple[str, ...],
    build_args: dict[str, str],
) -> int:
    """Check DOCKERFILE (a file, a directory holding one, or - for stdin; several files with the table
    format, as the pre-commit hook passes them) for hardening problems:
    root user, caches left, healthcheck tools missing, unpinned bases, builder/runtime Python mismatch,
    remote ADD, secrets in ENV/ARG, sudo, curl | sh, TLS verification off, and more (--list-rules).

    Silence a rule on the next instruction with `# alpinist ignore=ALP001[,ALP002]`, or on the whole
    file with `# alpinist ignore-file=ALP017`. Exit codes: 0 success, 1 error, 2 --fail-on failed,
    64 usage.
    """
    from alpinist.dockerfile.lint import lint as run_lint
    from alpinist.dockerfile.parse import (
        MAX_DOCKERFILE_BYTES,
        dockerfile_text,
        parse_dockerfile,
        read_dockerfile,
    )

    if len(dockerfiles) > 1 and (fmt != LINT_FORMATS.default or output is not None):
        raise click.UsageError(
            f"{len(dockerfiles)} Dockerfiles: several files (as pre-commit passes them) take the "
            f"{LINT_FORMATS.default} format on stdout only; lint them one at a time for -f/-o"
        )
    severity = cast("Severity", fail_on.lower()) if fail_on else None
    failed = False
    for dockerfile in dockerfiles:
        if str(dockerfile) == "-":
            text = dockerfile_text(sys.stdin.buffer.read(MAX_DOCKERFILE_BYTES + 1), "<stdin>")
            df = parse_dockerfile(text, "Dockerfile", build_args=build_args)
        else:
            target = dockerfile / "Dockerfile" if dockerfile.is_dir() else dockerfile
            df = read_dockerfile(target, build_args=build_args)
        result = run_lint(df, select=select or None, ignore=ignored)
        LINT_FORMATS.write(fmt, result, output)
        failed = failed or result.fails(severity)
    return EXIT_POLICY if failed else EXIT_OK
