"""Command-line verbs. Parse arguments, call the pipeline, choose a report, set the exit code.

Imports of the pipeline and of formatters are deferred to the verb that needs them, so that a
warm ``alpinist sbom`` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from alpinist import __version__
from alpinist.cli.common import (
    emit,
    emit_rich,
    image_options,
    progress_callbacks,
    pull_options,
    stderr_is_terminal,
)
from alpinist.errors import EXIT_ERROR, EXIT_USAGE, AlpinistError

SBOM_FORMATS = ("table", "json", "cyclonedx", "spdx")


class LazyGroup(click.Group):
    """A group whose verbs live in their own modules and are imported only when used.

    ``alpinist sbom`` on a cached image then imports neither the advisory store nor httpx nor the
    Dockerfile parser: start-up is most of a warm run's time.
    """

    lazy: dict[str, str] = {  # noqa: RUF012 - a class-level table, never mutated
        "db": "alpinist.cli.db:db",
        "scan": "alpinist.cli.scan:scan",
        "compare": "alpinist.cli.compare:compare",
        "lint": "alpinist.cli.lint:lint",
        "migrate": "alpinist.cli.migrate:migrate",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            import importlib

            module, _, attr = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="alpinist")
def app() -> None:
    """alpinist: make a container image measurably safer and prove it.

    Images: NAME[:TAG|@DIGEST] or registry:NAME (a registry), oci:DIR[:REF], oci-archive:PATH[:REF],
    docker-archive:PATH[:REF], dir:ROOTFS. No Docker daemon is used.

    Exit codes: 0 success, 1 error, 2 policy failure (--fail-on), 64 usage error.
    """


@app.command()
@click.argument("image")
@click.option("-f", "--format", "fmt", type=click.Choice(SBOM_FORMATS), default="table", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
@click.option("--files", is_flag=True, help="json: include the files each OS package owns.")
@image_options
def sbom(
    image: str,
    fmt: str,
    output: Path | None,
    files: bool,
    platform: str | None,
    insecure: tuple[str, ...],
    creds: str | None,
    no_cache: bool,
) -> None:
    """List what is installed in IMAGE: OS packages, Python packages, CPython, image facts."""
    from alpinist.inventory.build import build_inventory

    options = pull_options(platform, insecure, creds)
    with progress_callbacks(stderr_is_terminal()) as (on_blob, on_layer):
        if on_blob is not None:
            import dataclasses

            options = dataclasses.replace(options, progress=on_blob)
        inv = build_inventory(image, options, use_cache=not no_cache, layer_progress=on_layer)

    if fmt == "json":
        from alpinist.reports.sbom.json import render_json

        emit(render_json(inv, include_files=files), output)
    elif fmt == "cyclonedx":
        from alpinist.reports.sbom.cyclonedx import render_cyclonedx

        emit(render_cyclonedx(inv), output)
    elif fmt == "spdx":
        from alpinist.reports.sbom.spdx import render_spdx

        emit(render_spdx(inv), output)
    else:
        from alpinist.reports.sbom.table import render_table

        emit_rich(lambda console: render_table(inv, console), output, 160)


def _setup_logging() -> None:
    """Warnings from the pipeline (a feed branch missing, a skipped record) go to stderr, one line each."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("alpinist: %(levelname)s: %(message)s"))
    root = logging.getLogger("alpinist")
    if not root.handlers:
        root.addHandler(handler)
        root.setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the click group without its own exit handling, to keep exit codes stable."""
    _setup_logging()
    try:
        rv = app.main(args=argv, prog_name="alpinist", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("alpinist: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except AlpinistError as exc:
        click.echo(f"alpinist: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        click.echo(f"alpinist: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
