"""The musllinux wheel check (:mod:`~alpinist.dockerfile.wheels`) of what the Dockerfile's pip commands
install, and whether a stage of the final image compiles anything."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.migrate.options import MigrationOptions
from alpinist.dockerfile.migrate.pip import builds_nothing, path_or_url
from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.migrate.runs import Kind, Run
from alpinist.dockerfile.model import Dockerfile
from alpinist.dockerfile.shell import PackageOperation, package_operations
from alpinist.dockerfile.wheels import (
    Target,
    WheelFinding,
    WheelReport,
    WheelStatus,
    check_wheels,
    find_requirement_files,
)


def wheel_report(
    df: Dockerfile,
    runs: Sequence[Run],
    python: str | None,
    options: MigrationOptions,
    client: httpx.Client | None,
    c: Collector,
    keep: Callable[[PackageOperation], bool] | None = None,
) -> WheelReport | None:
    """The wheel check of the requirements the pip commands of ``runs`` install.

    ``keep``: only the pip commands it accepts are followed to their requirement files (``runs`` should
    hold only those too); by default every pip command of the Dockerfile.
    """
    if python is None:
        return None
    try:
        target = Target.from_platform(python, options.platform, options.to.musl)
    except ValueError as exc:
        c.risk(f"wheel check not possible: {exc}")
        return None
    context = options.context
    if context is None:
        context = Path(df.path).parent if df.path else None
    if context is None:
        return WheelReport(
            target, options.index_url, options.offline, skipped_reason="no build context (give --context)"
        )
    referenced = _requirement_paths(df, context, keep)
    referenced += [f for r in runs for p in r.pieces for f in p.requirement_files]
    installs_project = any(
        p.kind is Kind.PIP and re.search(r"\sinstall\s(.*\s)?\.(\[.*\])?(\s|$)", p.text)
        for r in runs
        for p in r.pieces
    )
    name = Path(df.path).name if df.path else "Dockerfile"
    inline = [
        (pkg, f"{name}:{r.ins.line}")
        for r in runs
        for p in r.pieces
        if p.kind is Kind.PIP
        for pkg in p.packages
        if not path_or_url(pkg)
    ]
    files: list[Path] = []
    if referenced or not inline:
        # the files pip -r names; when none can be found (or pip is run in a form alpinist does not read),
        # requirements.txt and pyproject.toml at the context root
        files = list(find_requirement_files(context, referenced))
    pyproject = context / "pyproject.toml"
    if installs_project and pyproject.is_file() and pyproject not in files:
        files.append(pyproject)
    return check_wheels(
        files,
        target,
        root=context,
        index_url=options.index_url,
        offline=options.offline,
        client=client,
        requirements=inline,
    )


def _requirement_paths(
    df: Dockerfile, context: Path, keep: Callable[[PackageOperation], bool] | None = None
) -> list[str]:
    """The context files behind each ``pip install -r PATH``, followed through ``WORKDIR`` and ``COPY``.

    ``COPY requirements*.txt ./`` then ``pip install -r requirements.txt`` under ``WORKDIR /app`` names
    the context's ``requirements.txt``; ``COPY deps/prod.txt /tmp/req.txt`` then ``-r /tmp/req.txt``
    names ``deps/prod.txt``. Paths are context-relative; ones that cannot be followed are left out.
    ``keep``: only the pip commands it accepts (default: all).
    """
    found: list[str] = []
    for stage in df.stages:
        workdir = "/"
        files: dict[str, str] = {}  # container path -> context-relative path
        dirs: list[tuple[str, str]] = []  # container dir -> context-relative dir
        for ins in stage.instructions:
            if ins.cmd == "WORKDIR" and ins.words:
                workdir = posixpath.normpath(
                    posixpath.join(workdir, expand_word(ins.words[0], stage.env).value)
                )
            elif (
                ins.cmd in ("COPY", "ADD")
                and not ins.flag("from")
                and len(ins.words) >= 2
                and not ins.heredocs
            ):
                *srcs, dest = ins.words
                dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
                into_dir = dest.endswith("/") or dest in (".", "./") or len(srcs) > 1
                for src in srcs:
                    rel = posixpath.normpath(src.lstrip("/"))
                    if rel.startswith(".."):
                        continue
                    if any(ch in rel for ch in "*?["):
                        matches = sorted(
                            p.relative_to(context).as_posix() for p in context.glob(rel) if p.is_file()
                        )
                        into_dir = True
                    else:
                        matches = [rel]
                    for match in matches:
                        if (context / match).is_dir():
                            dirs.append((dest_abs, match))
                        else:
                            files[
                                posixpath.join(dest_abs, posixpath.basename(match)) if into_dir else dest_abs
                            ] = match
            elif ins.cmd == "RUN":
                for op in package_operations(ins):
                    if op.manager != "pip" or (keep is not None and not keep(op)):
                        continue
                    for req in op.requirement_files:
                        path = posixpath.normpath(posixpath.join(workdir, req))
                        if path in files:
                            found.append(files[path])
                            continue
                        for container_dir, rel_dir in reversed(dirs):
                            if path.startswith(container_dir.rstrip("/") + "/"):
                                found.append(
                                    posixpath.normpath(
                                        posixpath.join(rel_dir, path[len(container_dir.rstrip("/")) + 1 :])
                                    )
                                )
                                break
    return found


def wheel_risks(wheels: WheelReport, c: Collector, where: str = "in the builder") -> None:
    compiled = [f"{f.pin.name}=={f.pin.version}" for f in wheels.compiled]
    if compiled:
        c.risk(
            f"{len(compiled)} requirement(s) have no musllinux wheel and compile {where} "
            f"(slower builds, build packages added): {', '.join(compiled)}"
        )
    for f in wheels.findings:
        if f.status in (WheelStatus.MISSING, WheelStatus.ERROR):
            c.risk(f.message)


@dataclass(frozen=True)
class RuntimeBuild:
    """Whether a stage of the final image (the final stage, or a stage it is built ``FROM``) compiles.

    ``compiled``: its requirements the wheel check says pip builds from source; ``undecided``: why
    alpinist cannot tell for the rest; ``builds_nothing``: why it needs no compiler; ``line``: its pip
    command (the first one that may compile).
    """

    line: int
    compiled: tuple[WheelFinding, ...] = ()
    undecided: tuple[str, ...] = ()
    builds_nothing: tuple[str, ...] = ()


def judge_runtime_pip(
    df: Dockerfile,
    runs: Iterable[Run],
    wheels: WheelReport | None,
    python: str | None,
    options: MigrationOptions,
) -> RuntimeBuild | None:
    """Does a stage whose files end up in the final image compile anything with pip? None: it runs no pip.

    Local wheels, ``--only-binary :all:`` and ``--no-index --find-links`` build nothing
    (:func:`builds_nothing`); for the other pip commands, the findings of the Dockerfile's wheel check for
    the requirements they install (read again, offline, for these commands only) decide: ``source``
    compiles, ``wheel`` does not, and a skipped check, an unpinned requirement, an index error, a local
    project or a pip command alpinist does not read are undecided.
    """
    pip = [(run, p) for run in runs for p in run.pieces if p.kind in (Kind.PIP, Kind.BUILD_TOOL)]
    if not pip:
        return None
    undecided: list[str] = []
    nothing: list[str] = []
    to_check: list[Run] = []
    for run, piece in pip:
        if piece.kind is Kind.BUILD_TOOL or piece.op is None:
            undecided.append(f"line {run.ins.line} installs with a command alpinist does not read")
            continue
        why = builds_nothing(piece.op)
        if why:
            nothing.append(why)
            continue
        to_check.append(Run(run.ins, [piece]))
        undecided += [
            f"{pkg} is built by pip"
            for pkg in piece.packages
            if path_or_url(pkg) and not pkg.endswith(".whl")
        ]
    line = (to_check[0] if to_check else pip[0][0]).ins.line
    compiled: list[WheelFinding] = []
    if to_check:
        if wheels is None or python is None or wheels.skipped_reason:
            undecided.append(wheels.skipped_reason if wheels else "the wheel check did not run")
        else:
            lines = {r.ins.line for r in to_check}
            offline = replace(options, offline=True)
            mine = wheel_report(
                df,
                to_check,
                python,
                offline,
                None,
                Collector(),
                keep=lambda op: op.line in lines and builds_nothing(op) is None,
            )
            keys = {(f.pin.where, f.pin.text) for f in (mine.findings if mine else ())}
            found = [f for f in wheels.findings if (f.pin.where, f.pin.text) in keys]
            compiled = [f for f in found if f.status is WheelStatus.SOURCE]
            undecided += [
                f.message
                for f in found
                if f.status is WheelStatus.ERROR
                or (f.status is WheelStatus.SKIPPED and not f.pin.skip.startswith("marker "))
            ]
            if not found and not undecided:
                undecided.append("no pinned requirement found to check")
            elif not compiled and not undecided:
                nothing.append("every requirement it installs has a wheel")
    return RuntimeBuild(line, tuple(compiled), tuple(dict.fromkeys(undecided)), tuple(dict.fromkeys(nothing)))


def runtime_build_packages(
    judged: RuntimeBuild | None, where: str, distro: bool, input_build: Sequence[str], c: Collector
) -> list[str]:
    """The build packages a stage of the final image gets (only when it compiles), and the report lines."""
    pkgs: list[str] = []
    if judged is not None and judged.compiled:
        pkgs = ["build-base", *(p for f in judged.compiled for p in f.build)]
        pkgs += ["python3-dev"] if distro else []
        pins = ", ".join(f"{f.pin.name}=={f.pin.version}" for f in judged.compiled)
        c.risk(
            f"{where} compiles {pins} from source (no musllinux wheel): "
            f"{' '.join(sorted(set(pkgs)))} stay in the runtime image; build the wheels in a builder stage "
            "(pip wheel -w /wheels) and install those (pip install /wheels/*.whl)",
            judged.line,
        )
        return pkgs
    if judged is not None and judged.undecided:
        c.risk(
            f"no compiler added to {where}: alpinist cannot tell whether its pip install compiles "
            f"({'; '.join(judged.undecided)}); if a requirement has no musllinux wheel, pip fails there "
            "without one: run the wheel check (without --offline) or build the wheels in a builder stage",
            judged.line,
        )
    elif judged is not None:
        c.change(f"no build packages in {where}: {'; '.join(judged.builds_nothing)}", judged.line)
    if input_build:
        c.risk(
            f"{where} keeps {' '.join(sorted(set(input_build)))}: the input installs them there, so they "
            "stay in the runtime image; move them to a builder stage unless something compiles there"
        )
    return pkgs
