"""What a healthcheck runs: the one reading that ``lint`` (ALP003), ``migrate`` and ``compare`` share.

A healthcheck is read with :mod:`.shell` (its simple commands, assignments and wrappers such as ``exec``,
``env`` or ``timeout 5`` skipped): the programs it runs, in order, as basenames, shell builtins and
keywords (``|| exit 1``, ``if``, ``[``) left out. ``tool_kind`` sorts a program into the kinds the reports
name: ``curl``, ``wget``, ``python`` (``python3``, ``python3.11``…) or ``other``.

A reading of the common forms of healthcheck lines, not a shell parser: a command substitution or a
function is not followed.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from typing import Literal

from alpinist.dockerfile.model import Instruction
from alpinist.dockerfile.shell import split_commands, strip_wrappers

__all__ = [
    "EXTRA_TOOL_KINDS",
    "SHELLS",
    "HealthTool",
    "instruction_programs",
    "instruction_script",
    "is_disabled",
    "programs_in_argv",
    "programs_in_shell",
    "tool_kind",
]

HealthTool = Literal["curl", "wget", "python", "other", "none"]

#: Shells whose ``-c`` script is the command line (``["sh", "-c", "curl …"]``).
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
#: The kinds of tool an image may have installed only for its healthcheck.
EXTRA_TOOL_KINDS: frozenset[HealthTool] = frozenset({"curl", "wget", "python"})
# Shell builtins and keywords a healthcheck line uses around its real program (``|| exit 1``).
_BUILTINS = frozenset(
    {"exit", "true", "false", "test", "[", "[[", "echo", "printf", ":", "return", "cd", "if", "then", "else"}
    | {"fi", "!", "set", "sleep"}
)
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


def programs_in_shell(script: str) -> list[str]:
    """The programs a shell command line runs: the first word of each simple command, as a basename,
    after assignments (``A=1 curl``) and wrappers (``exec``, ``env``, ``timeout 5``), skipping builtins."""
    programs: list[str] = []
    for command in split_commands(script):
        words = strip_wrappers(command.words)
        while words and words[0].startswith("-"):
            words = words[1:]
        if not words:
            continue
        name = posixpath.basename(words[0])
        if name not in _BUILTINS:
            programs.append(name)
    return programs


def programs_in_argv(argv: Sequence[str]) -> tuple[list[str], bool]:
    """Programs of an exec-form command line, and whether it runs a shell (``sh -c 'curl …'``)."""
    if not argv:
        return [], False
    first = posixpath.basename(argv[0])
    if first in SHELLS and "-c" in argv[1:]:
        rest = list(argv[argv.index("-c", 1) + 1 :])
        return programs_in_shell(rest[0] if rest else ""), True
    return programs_in_shell(shlex.join(argv)), False


def tool_kind(program: str) -> HealthTool:
    """``curl``, ``wget``, ``python`` (``python3``, ``python3.11``…) or ``other``."""
    if program in ("curl", "wget"):
        return program  # type: ignore[return-value]  # narrowed by the test above
    if _PYTHON.match(program):
        return "python"
    return "other"


def is_disabled(ins: Instruction) -> bool:
    """``HEALTHCHECK NONE``: turns off the base image's check, runs nothing."""
    return bool(ins.words) and ins.words[0].upper() == "NONE"


def instruction_script(ins: Instruction) -> str:
    """The command line of a ``HEALTHCHECK`` instruction as shell text (exec form joined, ``sh -c`` read)."""
    if isinstance(ins.args, str):
        return ins.args
    return ins.shell_script or shlex.join(ins.args)


def instruction_programs(ins: Instruction) -> list[str]:
    """The programs a ``HEALTHCHECK`` instruction of a Dockerfile runs (see :func:`programs_in_shell`)."""
    if isinstance(ins.args, tuple) and ins.shell_script is None:
        return programs_in_argv(ins.args)[0]
    return programs_in_shell(ins.shell_script or "")
