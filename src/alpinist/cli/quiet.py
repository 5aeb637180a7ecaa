"""``-q/--quiet`` (Trivy's): no warnings, no progress bars, no informational lines on stderr; errors and
the report itself are kept. Accepted before the verb (``alpinist -q scan``), after it (``alpinist scan
-q``, taken by ``app.LazyGroup.resolve_command``) and as ``ALPINIST_QUIET=1``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from alpinist.images.open import PullOptions

_state = {"quiet": False}


def set_quiet(value: bool) -> None:
    """Turn quiet mode on (it is never turned off within a run: ``-q`` anywhere wins)."""
    if value:
        _state["quiet"] = True
        logging.getLogger("alpinist").setLevel(logging.ERROR)


def is_quiet() -> bool:
    return _state["quiet"] or os.environ.get("ALPINIST_QUIET", "").lower() in ("1", "true", "yes")


def reset() -> None:
    """Back to the default (``main`` called again in one process, by a test)."""
    _state["quiet"] = False
    logging.getLogger("alpinist").setLevel(logging.WARNING)


def warn(message: str) -> None:
    """``alpinist: WARNING: message`` on stderr, unless quiet."""
    if not is_quiet():
        click.echo(f"alpinist: WARNING: {message}", err=True)


def note(message: str) -> None:
    """``alpinist: message`` on stderr (what is being done, what was written), unless quiet."""
    if not is_quiet():
        click.echo(f"alpinist: {message}", err=True)


@contextmanager
def pull_progress(options: PullOptions) -> Iterator[tuple[PullOptions, Any]]:
    """``common.pull_progress`` unless quiet (then no progress bar and no layer callback)."""
    if is_quiet():
        yield options, None
        return
    from alpinist.cli.common import pull_progress as with_progress

    with with_progress(options) as pair:
        yield pair
