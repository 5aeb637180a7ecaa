"""``alpinist ci init github``: write a GitHub Actions workflow that monitors an image for CVEs.

Loaded lazily by the group (``app.py``). The workflow's text comes from ``alpinist.ci.github``; this
module only reads the options, refuses unsafe ones (exit 64) and an existing file without ``--force``
(exit 1), and writes the file.
"""

from __future__ import annotations

from pathlib import Path

import click

from alpinist.ci.github import DEFAULT_OUTPUT, GitHubOptions, render_workflow
from alpinist.errors import CIOptionError

_DEFAULTS = GitHubOptions()


@click.group()
def ci() -> None:
    """Continuous-integration set-up: workflows that build, scan and gate an image."""


@ci.group()
def init() -> None:
    """Write a CI workflow for this repository."""


@init.command()
@click.option(
    "--image",
    default=_DEFAULTS.image,
    show_default=True,
    metavar="NAME[:TAG]",
    help="Local name of the built image.",
)
@click.option(
    "--dockerfile",
    default=_DEFAULTS.dockerfile,
    show_default=True,
    metavar="PATH",
    help="Dockerfile, relative to the repository root.",
)
@click.option(
    "--context",
    default=_DEFAULTS.context,
    show_default=True,
    metavar="DIR",
    help="Build context, relative to the repository root.",
)
@click.option(
    "--baseline",
    default=_DEFAULTS.baseline,
    show_default=True,
    metavar="FILE",
    help="Baseline the gate compares with (written by `alpinist baseline`).",
)
@click.option(
    "--sbom-dir",
    default=_DEFAULTS.sbom_dir,
    show_default=True,
    metavar="DIR",
    help="Directory of SBOMs the daily rescan reads.",
)
@click.option(
    "--branch",
    default=_DEFAULTS.branch,
    show_default=True,
    metavar="NAME",
    help="Branch whose pushes are scanned and whose last SBOM is rescanned daily.",
)
@click.option(
    "--alpinist",
    "alpinist_spec",
    default=_DEFAULTS.alpinist,
    show_default=True,
    metavar="VERSION|git+https://…@SHA",
    help="alpinist the workflow installs: a release, or a git URL pinned to a commit.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="Workflow file to write ('-': stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing workflow file.")
def github(
    image: str,
    dockerfile: str,
    context: str,
    baseline: str,
    sbom_dir: str,
    branch: str,
    alpinist_spec: str,
    output: Path,
    force: bool,
) -> None:
    """A GitHub Actions workflow: build, SBOM, SARIF to code scanning, baseline gate on pull requests,
    daily rescan of the stored SBOM (docs/ci.md)."""
    to_stdout = str(output) == "-"
    try:
        options = GitHubOptions(
            image=image,
            dockerfile=dockerfile,
            context=context,
            baseline=baseline,
            sbom_dir=sbom_dir,
            branch=branch,
            alpinist=alpinist_spec,
            workflow_file="cve-monitoring.yml" if to_stdout else output.name,
        )
    except CIOptionError as exc:
        raise click.BadParameter(exc.reason, param_hint=f"'{exc.option}'") from None
    if not options.alpinist.startswith("git+"):
        click.echo(
            "alpinist: WARNING: the workflow installs alpinist=="
            f"{options.alpinist} from PyPI, where the name belongs to another project; pin "
            "--alpinist git+https://HOST/OWNER/REPO@<commit> (docs/ci.md)",
            err=True,
        )
    text = render_workflow(options)
    if to_stdout:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists: pass --force to overwrite it")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"alpinist: wrote {output}", err=True)
