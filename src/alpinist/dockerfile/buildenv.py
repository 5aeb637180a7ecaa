"""The ``ARG``/``ENV`` values a ``RUN`` sees, and its command words with them substituted.

BuildKit runs a ``RUN`` with every ``ARG`` and ``ENV`` in scope as environment variables, so the shell
substitutes ``pip install "poetry==$POETRY_VERSION"`` with the value an earlier ``ENV`` set. Scope, as
BuildKit has it:

- an ``ARG`` before the first ``FROM`` is visible in a stage only when the stage declares it again
  (``ARG NAME`` without a default takes the global value);
- an ``ARG`` in a stage: its default, or the ``--build-arg`` given to the parser (``Dockerfile.global_args``
  already holds those for the global ones); without either it is declared but unset;
- ``ENV`` from the point it is written; ``FROM parent AS child`` inherits the parent stage's ``ENV`` (not
  its ``ARG``); the base image's own ``ENV`` is unknown here.

Substitution reuses :func:`~alpinist.dockerfile.expand.expand_word` (``$VAR``, ``${VAR}``,
``${VAR:-default}``, ``${VAR:+alt}``, quotes): this module only splits a command into words with their
quotes kept, so that single-quoted ``'$X'`` stays literal as the shell keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.model import Dockerfile
from alpinist.dockerfile.parse import arg_items, env_items

__all__ = ["ExpandedCommand", "expand_command", "run_environments"]


def run_environments(df: Dockerfile) -> dict[int, dict[str, str]]:
    """The variables each ``RUN`` sees, by the ``RUN``'s line: ``ARG``/``ENV`` set before it (see module doc)."""
    out: dict[int, dict[str, str]] = {}
    stage_env: list[dict[str, str]] = []  # each stage's ENV at its end (what FROM stage inherits)
    for stage in df.stages:
        inherited = dict(stage_env[stage.parent]) if stage.parent is not None else {}
        only_env = dict(inherited)
        env = dict(inherited)
        for ins in stage.instructions:
            if ins.cmd == "ARG":
                for name, default in arg_items(ins, env):
                    if default is not None:
                        env[name] = default
                    elif name in df.global_args:
                        env[name] = df.global_args[name]
            elif ins.cmd == "ENV":
                for key, value in env_items(ins, env, df.escape):
                    env[key] = value
                    only_env[key] = value
            elif ins.cmd == "RUN":
                out[ins.line] = dict(env)
        stage_env.append(only_env)
    return out


@dataclass(frozen=True)
class ExpandedCommand:
    """A command's words after substitution; ``missing``: the variables no ``ARG``/``ENV`` set.

    A word naming a missing variable is kept as written (quotes removed): it still says ``$VAR``.
    """

    words: tuple[str, ...]
    missing: tuple[str, ...] = ()


def _raw_words(text: str, escape: str) -> list[str]:
    """Split at unquoted blanks, keeping quotes and escapes for :func:`expand_word` to process."""
    words: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is None and ch in " \t\r\n":
            if buf:
                words.append("".join(buf))
                buf = []
            i += 1
            continue
        if ch == escape and quote != "'" and i + 1 < len(text):
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch in "'\"" and (quote is None or quote == ch):
            quote = None if quote == ch else ch
        buf.append(ch)
        i += 1
    if buf:
        words.append("".join(buf))
    return words


def expand_command(text: str, env: Mapping[str, str]) -> ExpandedCommand:
    """One simple command (no ``&&``/``|``: split those first) with ``$VAR`` substituted from ``env``.

    The shell's escape character is always ``\\`` (a Dockerfile's ``# escape=`` does not reach it).
    """
    escape = "\\"
    words: list[str] = []
    missing: list[str] = []
    for raw in _raw_words(text, escape):
        done = expand_word(raw, env, escape)
        if done.missing:
            missing.extend(done.missing)
            words.append(expand_word(raw, _Keep(), escape).value)
        else:
            words.append(done.value)
    return ExpandedCommand(tuple(words), tuple(dict.fromkeys(missing)))


class _Keep(dict[str, str]):
    """An environment in which every variable expands to itself as written (``$NAME``)."""

    def get(self, key: str, default: str | None = None) -> str:  # type: ignore[override]
        return f"${key}"

    def __contains__(self, key: object) -> bool:
        return True
