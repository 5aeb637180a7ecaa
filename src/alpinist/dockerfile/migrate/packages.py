"""Packages: apt → apk (:mod:`~alpinist.dockerfile.apt_to_apk`), build vs runtime packages, the tools the
migrated image still runs (bash, curl, git, wget)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from alpinist.dockerfile.apt_to_apk import map_packages
from alpinist.dockerfile.migrate import locales
from alpinist.dockerfile.migrate.report import Collector, Note
from alpinist.dockerfile.migrate.runs import Kind, Run
from alpinist.dockerfile.model import Instruction, Stage
from alpinist.dockerfile.shell import command_name, split_commands

#: Alpine packages that ``build-base`` already pulls in (so they are not listed twice).
IN_BUILD_BASE = frozenset(
    {"gcc", "g++", "make", "musl-dev", "libc-dev", "binutils", "patch", "fortify-headers"}
)


_APK_BUILD_ONLY = re.compile(
    r"(-dev|-headers)$|^(build-base|gcc|g\+\+|make|musl-dev|cargo|rust|cmake|pkgconf|autoconf|automake|libtool|samurai|gfortran)$"
)


def apk_add(packages: Iterable[str]) -> str | None:
    pkgs = sorted(set(packages))
    return f"apk add --no-cache {' '.join(pkgs)}" if pkgs else None


def map_apt(
    runs: Sequence[Run], c: Collector, env: Iterable[Instruction] = ()
) -> tuple[list[str], list[str], set[str]]:
    """(builder packages, runtime packages, apt names mapped) of every apt/apk install in ``runs``; the
    ``ENV`` instructions ``env`` of the same stage(s) add ``musl-locales`` when they select a locale
    (:mod:`.locales`)."""
    build: list[str] = []
    runtime: list[str] = []
    names: set[str] = set()
    for run in runs:
        for p in run.pieces:
            if p.kind is Kind.APK_INSTALL:
                for pkg in p.packages:
                    name = re.split(r"[=<>~]", pkg, maxsplit=1)[0]
                    (build if _APK_BUILD_ONLY.search(name) else runtime).append(name)
                continue
            if p.kind is not Kind.APT_INSTALL:
                continue
            result = map_packages(p.packages)
            build += result.build
            runtime += result.runtime
            names.update(m.apt for m in result.mapped)
            for word in result.unmapped:
                c.unmapped.append(Note(word, run.ins.line))
            for m in result.unavailable:
                c.unmapped.append(Note(m.apt, run.ins.line))
                c.risk(f"apt package {m.apt} has no Alpine package, not installed: {m.note}", run.ins.line)
            for m in result.dropped:
                c.change(f"apt package {m.apt} dropped: {m.note}", run.ins.line)
            for word, name in result.pins:
                c.change(
                    f"{word}: Debian version pin dropped (Alpine versions differ); {name} mapped unpinned",
                    run.ins.line,
                )
            for m in result.mapped:
                target = " ".join(m.build) + (" (builder)" if m.build else "")
                if m.runtime:
                    target += (", " if m.build else "") + " ".join(m.runtime) + " (runtime)"
                c.change(f"apt {m.apt} → apk {target}", run.ins.line)
                if m.note:
                    c.note(f"{m.apt}: {m.note}", run.ins.line)
    runtime += locales.runtime_packages(runtime, env, c)
    return build, runtime, names


def moved_path_risks(names: Iterable[str], instructions: Iterable[Instruction], c: Collector) -> None:
    """A risk for each instruction that names a Debian path a mapped package keeps elsewhere on Alpine
    (``apt_to_apk.MOVED_PATHS``: supervisor's configuration)."""
    from alpinist.dockerfile.apt_to_apk import MOVED_PATHS

    installed = set(names)
    for ins in instructions:
        text = (
            ins.value
            if isinstance(ins.args, str) or ins.cmd not in ("CMD", "ENTRYPOINT")
            else " ".join(ins.args)
        )
        for apt, debian, alpine in MOVED_PATHS:
            if apt in installed and debian in text:
                c.risk(
                    f"{ins.cmd} names {debian}, which Alpine's {apt} package does not use: it has {alpine}",
                    ins.line,
                )


def needs_bash(stage: Stage, runs: Iterable[Run]) -> bool:
    """Does the stage run bash: a SHELL, a RUN command, a CMD/ENTRYPOINT/HEALTHCHECK that names it?"""
    for ins in stage.of("SHELL", "CMD", "ENTRYPOINT", "HEALTHCHECK"):
        words = ins.args if isinstance(ins.args, tuple) else tuple(ins.args.split()[:1])
        if words and command_name(words[:1]) == "bash":
            return True
    for run in runs:
        for piece in run.kept():
            if any(command_name(cmd.words) == "bash" for cmd in split_commands(piece.text)):
                return True
    return False


def uses_tool(texts: Iterable[str], tool: str) -> bool:
    return any(re.search(rf"(^|[\s/;&|(]){re.escape(tool)}(\s|$)", t) for t in texts)


def command_text(ins: Instruction) -> str:
    """What an instruction runs, for :func:`uses_tool`: exec form as its words, shell form as written
    (a heredoc ``RUN`` with its body)."""
    if isinstance(ins.args, tuple):
        return " ".join(ins.args)
    return ins.original if ins.heredocs else ins.args


def commands_still_run(runs: Iterable[Run], instructions: Iterable[Instruction]) -> list[str]:
    """The commands an image still runs after migration: the kept pieces of translated ``RUN``s (the
    dropped apt/apk installs are not uses), a ``RUN`` kept as written whole, ``CMD``/``ENTRYPOINT`` and
    ``ONBUILD`` triggers (they run in the images built on this one)."""
    out: list[str] = []
    for run in runs:
        out += [command_text(run.ins)] if run.raw else [p.text for p in run.kept()]
    out += [command_text(ins) for ins in instructions if ins.cmd in ("CMD", "ENTRYPOINT", "ONBUILD")]
    return out


def unused_probe_tools(
    parts: Iterable[tuple[Iterable[Run], Iterable[Instruction]]],
    kept_healthchecks: Iterable[Instruction],
    also_run: Iterable[str] = (),
) -> set[str]:
    """``curl``/``wget`` that no command of ``parts`` (runs and instructions of the final image's stages,
    see :func:`commands_still_run`), no healthcheck kept as written and no text of ``also_run`` (what the
    image's scripts run, :func:`.scripts.texts_run`) runs: the old probe's tools."""
    texts = [t for runs, instructions in parts for t in commands_still_run(runs, instructions)]
    texts += [command_text(hc) for hc in kept_healthchecks]
    texts += list(also_run)
    return {tool for tool in ("curl", "wget") if not uses_tool(texts, tool)}
