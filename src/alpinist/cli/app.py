"""The ``alpinist`` group, logging and ``main`` (the exit codes). Each verb is a module of its own
(``sbom.py``, ``scan.py``, ``compare.py``, ``baseline.py``, ``gate.py``, ``db.py``, ``lint.py``,
``migrate.py``, ``ci.py``, ``history.py``), imported only when it runs, and each defers the pipeline and its formatters to
its body, so that a warm ``alpinist sbom`` starts fast.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

import click

from alpinist import __version__
from alpinist.errors import EXIT_ERROR, EXIT_USAGE, AlpinistError


class LazyGroup(click.Group):
    """A group whose verbs live in their own modules and are imported only when used.

    ``alpinist sbom`` on a cached image then imports neither the advisory store nor httpx nor the
    Dockerfile parser: start-up is most of a warm run's time.
    """

    lazy: dict[str, str] = {  # noqa: RUF012 - a class-level table, never mutated
        "sbom": "alpinist.cli.sbom:sbom",
        "db": "alpinist.cli.db:db",
        "scan": "alpinist.cli.scan:scan",
        "rescan": "alpinist.cli.rescan:rescan",
        "compare": "alpinist.cli.compare:compare",
        "baseline": "alpinist.cli.baseline:baseline",
        "gate": "alpinist.cli.gate:gate",
        "history": "alpinist.cli.history:history",
        "lint": "alpinist.cli.lint:lint",
        "migrate": "alpinist.cli.migrate:migrate",
        "recommend": "alpinist.cli.recommend:recommend",
        "ci": "alpinist.cli.ci:ci",
        "fleet": "alpinist.cli.fleet:fleet",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            import importlib

            module, _, attr = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """``alpinist scan -q`` as well as ``alpinist -q scan`` (Trivy accepts both): a ``-q``/``--quiet``
        after the verb (before any ``--``) is taken here, so no verb has to declare it."""
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and command is not None:
            from alpinist.cli.config import prepare

            prepare(self, ctx, name, ctx.meta.get("alpinist.config"))
        end = rest.index("--") if "--" in rest else len(rest)
        if any(arg in ("-q", "--quiet") for arg in rest[:end]):
            _set_quiet(True)
            rest = [arg for arg in rest[:end] if arg not in ("-q", "--quiet")] + rest[end:]
        return name, command, rest


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="alpinist")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _set_quiet(value),
    help="No warnings, progress or notes on stderr (errors and the report stay). Env: ALPINIST_QUIET=1.",
)
@click.option(
    "--config",
    metavar="FILE",
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: ctx.meta.__setitem__("alpinist.config", value),
    help="Options from this YAML file instead of the project's .alpinist.yaml. Env: ALPINIST_CONFIG.",
)
def app() -> None:
    """alpinist: make a container image measurably safer and prove it.

    Images: NAME[:TAG|@DIGEST] or registry:NAME (a registry), oci:DIR[:REF], oci-archive:PATH[:REF],
    docker-archive:PATH[:REF], dir:ROOTFS. No Docker daemon is used.

    Paths are read as images too (like `trivy --input`): an OCI layout directory, a docker-archive or
    oci-archive tarball, a root filesystem directory (./app.tar, ../images/oci, /srv/rootfs).

    Options come from the command line, then the environment (ALPINIST_<VERB>_<OPTION>, then
    ALPINIST_<OPTION>: ALPINIST_FORMAT=json), then the project's .alpinist.yaml, then the user's
    config.yaml (~/.config/alpinist/), then the default.

    Exit codes: 0 success, 1 error, 2 policy failure (--fail-on; --exit-code N sets another), 64 usage
    error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """


def _set_quiet(value: bool) -> None:
    from alpinist.cli.quiet import set_quiet

    set_quiet(value)


def _setup_logging() -> None:
    """Warnings from the pipeline (a feed branch missing, a skipped record) go to stderr, one line each."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("alpinist: %(levelname)s: %(message)s"))
    root = logging.getLogger("alpinist")
    if not root.handlers:
        root.addHandler(handler)
        root.setLevel(logging.WARNING)


class _Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds the main thread like KeyboardInterrupt, but past click (which
    would turn a KeyboardInterrupt into its own "Aborted!") and past every ``except Exception``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Stop every download (``net.cancel``: the download threads stop between two reads, a blocked read
    wakes), then unwind the main thread; the ``.part`` files are removed on the way out. A second
    signal during that bounded clean-up is ignored, so it cannot leave a ``.part`` behind."""
    from alpinist import net

    if net.cancelled():
        return
    net.cancel()
    raise _Interrupted(signum)


def _install_signal_handlers() -> dict[int, Any]:
    """Install ``_on_signal`` for SIGINT and SIGTERM; return the handlers it replaced."""
    previous: dict[int, Any] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _on_signal)
    except ValueError:  # not the main thread (main() called from a thread): keep the defaults
        pass
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    """Put back what ``_install_signal_handlers`` replaced (``main`` called in-process, by a test)."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the click group without its own exit handling, to keep exit codes stable.

    SIGINT (Ctrl-C) exits 130 and SIGTERM 143 (128 + the signal), with one line ``alpinist: interrupted``
    (``terminated``), after the downloads in flight have stopped and removed their partial files.
    """
    _setup_logging()
    previous = _install_signal_handlers()
    try:
        _run(argv)
    finally:
        _restore_signal_handlers(previous)


def _broken_pipe() -> None:
    """The reader of stdout went away (``alpinist scan … | head``): not an error, exit 0 quietly. Point
    stdout at /dev/null so that the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(0)


def _os_error_text(exc: OSError) -> str:
    """``PATH: reason`` for a file error (``out/report.json: No such file or directory``), not ``[Errno 2] …``."""
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _run(argv: list[str] | None) -> None:
    from alpinist.cli import quiet

    quiet.reset()
    quiet.set_quiet(quiet.is_quiet())  # ALPINIST_QUIET=1
    try:
        rv = app.main(args=argv, prog_name="alpinist", standalone_mode=False)
        sys.stdout.flush()
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        if isinstance(exc, click.BadParameter):
            from alpinist.cli.config import name_the_file

            exc = name_the_file(exc)
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.Abort as exc:
        interrupted = isinstance(exc.__context__, KeyboardInterrupt)
        click.echo("alpinist: interrupted" if interrupted else "alpinist: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except AlpinistError as exc:
        click.echo(f"alpinist: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        _broken_pipe()
    except SystemExit as exc:
        # rich's Console.on_broken_pipe points stdout at /dev/null and raises SystemExit(1) while handling
        # the BrokenPipeError: a reader that went away is not an error here
        if isinstance(exc.__context__, BrokenPipeError):
            _broken_pipe()
        raise
    except OSError as exc:
        click.echo(f"alpinist: error: {_os_error_text(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    except _Interrupted as exc:
        word = "terminated" if exc.signum == signal.SIGTERM else "interrupted"
        click.echo(f"alpinist: {word}", err=True)
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        click.echo("alpinist: interrupted", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
