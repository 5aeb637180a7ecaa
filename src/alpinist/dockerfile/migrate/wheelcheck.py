"""The musllinux wheel check (:mod:`~alpinist.dockerfile.wheels`) of what the Dockerfile's pip commands
install, and whether a stage of the final image compiles anything."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name

from alpinist.dockerfile.buildenv import expand_command, run_environments
from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.locks import LockInstall, Selection, lock_install, read_lock, read_project
from alpinist.dockerfile.migrate.options import MigrationOptions
from alpinist.dockerfile.migrate.pip import builds_nothing, path_or_url
from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.migrate.runs import Kind, Piece, Run, split_segments
from alpinist.dockerfile.model import Dockerfile, Instruction
from alpinist.dockerfile.shell import PackageOperation, package_operations, strip_wrappers
from alpinist.dockerfile.wheels import (
    Pin,
    Requirements,
    RequirementsProblem,
    Target,
    WheelFinding,
    WheelReport,
    WheelStatus,
    check_wheels,
    find_requirement_files,
    is_inside,
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
    """The wheel check of the requirements the pip commands and lock installs of ``runs`` install.

    ``keep``: only the pip commands it accepts are followed to their requirement files (``runs`` should
    hold only those too); by default every pip command of the Dockerfile. ``ARG``/``ENV`` values are
    substituted in the commands first (:mod:`~alpinist.dockerfile.buildenv`); ``poetry install``,
    ``pipenv install --deploy``, ``uv sync``, ``pdm install`` read their lock files
    (:mod:`~alpinist.dockerfile.locks`).
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
    envs = run_environments(df)
    walk = _walk(df, context, keep, {r.ins.line for r in runs})
    referenced = list(walk.requirement_files)
    name = Path(df.path).name if df.path else "Dockerfile"
    inline: list[tuple[str, str]] = []
    unexpanded: list[Pin] = []
    project_extras: list[tuple[str, ...]] = []
    for r in runs:
        env = envs.get(r.ins.line, {})
        for p in r.pieces:
            if p.kind is not Kind.PIP:
                continue
            op, missing = _expanded_pip(r.ins, p, env)
            referenced += list(op.requirement_files) if op is not None else list(p.requirement_files)
            packages = op.packages if op is not None and op.action in ("install", "wheel") else p.packages
            where = f"{name}:{r.ins.line}"
            for pkg in packages:
                if "$" in pkg and missing:
                    unexpanded.append(
                        Pin(
                            canonicalize_name(re.split(r"[=<>!~\[;@ ]", pkg, maxsplit=1)[0]),
                            pkg,
                            where,
                            skip=f"uses ${', $'.join(missing)}, which no ARG or ENV before this RUN sets",
                        )
                    )
                elif not path_or_url(pkg):
                    inline.append((pkg, where))
            if op is not None and op.action == "install" and not op.has_option("--no-deps"):
                project_extras += [_extras(pkg) for pkg in op.packages if _is_project(pkg)]
    sources: list[Requirements] = [Requirements(tuple(unexpanded))] if unexpanded else []
    for found in walk.locks:
        sources.append(_read_lock_install(found, context, target, c))
    exported = {f.output for f in walk.locks if f.output}
    referenced = [ref for ref in referenced if ref not in exported]
    files: list[Path] = []
    if referenced or (not inline and not walk.locks):
        # the files pip -r names; when none can be found (or pip is run in a form alpinist does not read),
        # requirements.txt and pyproject.toml at the context root (not when a lock file was read)
        found_files = find_requirement_files(context, referenced)
        if walk.locks and not any(_in_context(context, ref) for ref in referenced):
            found_files = ()
        files = list(found_files)
    pyproject = context / "pyproject.toml"
    read_project_file = pyproject in files or bool(project_extras)
    files = [f for f in files if f != pyproject]
    if read_project_file and pyproject.is_file():
        extras = tuple(dict.fromkeys(e for group in project_extras for e in group))
        sources.append(
            read_project(
                pyproject,
                root=context,
                target=target,
                selection=Selection(extras=extras),
                lock=not project_extras,
            )
        )
    return check_wheels(
        files,
        target,
        root=context,
        index_url=options.index_url,
        offline=options.offline,
        client=client,
        requirements=inline,
        sources=_dedupe(sources),
    )


def _dedupe(sources: Sequence[Requirements]) -> list[Requirements]:
    """The same pin read twice (two installs of one lock file) is checked once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for source in sources:
        pins = []
        for pin in source.pins:
            if (pin.where, pin.text) not in seen:
                seen.add((pin.where, pin.text))
                pins.append(pin)
        out.append(Requirements(tuple(pins), source.problems, source.files))
    return out


def _is_project(pkg: str) -> bool:
    """``.``, ``./``, ``.[prod]``, ``/app``-style project directories (not archives or wheels)."""
    return re.fullmatch(r"\.?/?(\[[^\]]*\])?", pkg) is not None


def _extras(pkg: str) -> tuple[str, ...]:
    m = re.search(r"\[([^\]]*)\]", pkg)
    return tuple(e.strip() for e in m.group(1).split(",") if e.strip()) if m else ()


def _in_context(context: Path, ref: str) -> bool:
    rel = ref.lstrip("/")
    return any((context / cand).is_file() for cand in (rel, Path(rel).name))


def _expanded_pip(
    ins: Instruction, piece: Piece, env: Mapping[str, str]
) -> tuple[PackageOperation | None, tuple[str, ...]]:
    """The pip command of a piece with ``ARG``/``ENV`` substituted, and the variables nothing set."""
    if "$" not in piece.text:
        return piece.op, ()
    expanded = expand_command(piece.text, env)
    ops = package_operations(replace(ins, args=shlex.join(expanded.words), heredocs=(), json=False))
    return (ops[0] if len(ops) == 1 else piece.op), expanded.missing


def reads_a_lock(run: Run, piece: Piece, env: Mapping[str, str]) -> bool:
    """Does this piece (the whole RUN when it is kept raw) install from a lock file alpinist reads?"""
    if run.raw:
        return any(lock_install(words) is not None for words, _cwd in _commands(run.ins, env))
    return lock_install(strip_wrappers(expand_command(piece.text, env).words)) is not None


@dataclass(frozen=True)
class _FoundLock:
    """A lock install of a RUN: the command, its line, and the context files behind the lock and the
    project's ``pyproject.toml`` (None when the Dockerfile does not copy them from the context)."""

    install: LockInstall
    line: int
    lock: Path | None
    pyproject: Path | None
    container_lock: str

    @property
    def output(self) -> str | None:
        out: str | None = self.install.output
        return out


@dataclass(frozen=True)
class _Walk:
    requirement_files: tuple[str, ...]
    locks: tuple[_FoundLock, ...]


def _read_lock_install(found: _FoundLock, context: Path, target: Target, c: Collector) -> Requirements:
    install = found.install
    if found.lock is not None:
        c.note(
            f"`{install.command}` installs from {found.lock.relative_to(context).as_posix()}: "
            "its pinned versions are checked",
            found.line,
        )
        return read_lock(install, found.lock, root=context, target=target, pyproject=found.pyproject)
    problem = RequirementsProblem(
        f"line {found.line}",
        f"`{install.command}` reads {found.container_lock}, which is not in the build context",
    )
    if install.tool in ("poetry", "uv", "pdm") and found.pyproject is not None:
        project = read_project(found.pyproject, root=context, target=target, selection=install.selection)
        return Requirements(project.pins, (problem, *project.problems), project.files)
    return Requirements(problems=(problem,))


class _Place:
    """Where a stage's container paths come from in the context (``COPY``/``ADD`` without ``--from``)."""

    def __init__(self, context: Path) -> None:
        self.context = context
        self.files: dict[str, str] = {}  # container path -> context-relative path
        self.dirs: list[tuple[str, str]] = []  # container dir -> context-relative dir

    def copy(self, ins: Instruction, workdir: str) -> None:
        *srcs, dest = ins.words
        dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
        into_dir = dest.endswith("/") or dest in (".", "./") or len(srcs) > 1
        for src in srcs:
            rel = posixpath.normpath(src.lstrip("/"))
            if rel.startswith(".."):
                continue
            if any(ch in rel for ch in "*?["):
                matches = sorted(
                    p.relative_to(self.context).as_posix() for p in self.context.glob(rel) if p.is_file()
                )
                into_dir = True
            else:
                matches = [rel]
            for match in matches:
                if (self.context / match).is_dir():
                    self.dirs.append((dest_abs, match))
                else:
                    self.files[
                        posixpath.join(dest_abs, posixpath.basename(match)) if into_dir else dest_abs
                    ] = match

    def resolve(self, path: str) -> str | None:
        """The context-relative path a container path was copied from, or None."""
        if path in self.files:
            return self.files[path]
        for container_dir, rel_dir in reversed(self.dirs):
            if path.startswith(container_dir.rstrip("/") + "/"):
                return posixpath.normpath(posixpath.join(rel_dir, path[len(container_dir.rstrip("/")) + 1 :]))
        return None

    def locate(self, path: str) -> Path | None:
        """The context file behind a container path: followed through COPY, else by name at the root."""
        resolved = self.resolve(path)
        for rel in (resolved, posixpath.basename(path)):
            if (
                rel is not None
                and (self.context / rel).is_file()
                and is_inside(self.context / rel, self.context)
            ):
                return self.context / rel
        return None


def _commands(ins: Instruction, env: Mapping[str, str]) -> list[tuple[tuple[str, ...], str | None]]:
    """The simple commands of a RUN with ``ARG``/``ENV`` substituted, each with the directory a ``cd``
    before it in the same RUN moved to (None: the WORKDIR)."""
    if isinstance(ins.args, tuple) and ins.shell_script is None:
        return [(strip_wrappers(ins.args), None)]
    out: list[tuple[tuple[str, ...], str | None]] = []
    cwd: str | None = None
    for seg in split_segments(ins.shell_script or ""):
        if seg.compound:
            continue
        words = strip_wrappers(expand_command(seg.text, env).words)
        if len(words) >= 2 and words[0] == "cd":
            cwd = words[1] if cwd is None else posixpath.join(cwd, words[1])
            continue
        out.append((words, cwd))
    return out


def _walk(
    df: Dockerfile, context: Path, keep: Callable[[PackageOperation], bool] | None, lines: set[int]
) -> _Walk:
    """The context files behind each ``pip install -r PATH`` and each lock install, followed through
    ``WORKDIR``, ``cd`` and ``COPY``.

    ``COPY requirements*.txt ./`` then ``pip install -r requirements.txt`` under ``WORKDIR /app`` names
    the context's ``requirements.txt``; ``COPY deps/prod.txt /tmp/req.txt`` then ``-r /tmp/req.txt``
    names ``deps/prod.txt``; ``COPY pyproject.toml poetry.lock ./`` then ``poetry install`` names
    ``poetry.lock``. Paths are context-relative; ones that cannot be followed are left out. ``keep``:
    only the pip commands it accepts (default: all); lock installs only on ``lines``.
    """
    found: list[str] = []
    locks: list[_FoundLock] = []
    envs = run_environments(df)
    for stage in df.stages:
        workdir = "/"
        place = _Place(context)
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
                place.copy(ins, workdir)
            elif ins.cmd == "RUN":
                for op in package_operations(ins):
                    if op.manager != "pip" or (keep is not None and not keep(op)):
                        continue
                    for req in op.requirement_files:
                        resolved = place.resolve(posixpath.normpath(posixpath.join(workdir, req)))
                        if resolved is not None:
                            found.append(resolved)
                if ins.line not in lines:
                    continue
                for words, cwd in _commands(ins, envs.get(ins.line, {})):
                    install = lock_install(words)
                    if install is None:
                        continue
                    here = posixpath.normpath(posixpath.join(workdir, cwd or ".", install.project))
                    path = posixpath.normpath(posixpath.join(here, install.lock))
                    if install.tool == "pip":  # uv pip sync FILE: a requirements file
                        resolved = place.resolve(path)
                        found.append(resolved if resolved is not None else path)
                        continue
                    lock = place.locate(path)
                    pyproject = place.locate(posixpath.join(here, "pyproject.toml"))
                    if install.output is not None:
                        install = replace(
                            install, output=posixpath.normpath(posixpath.join(here, install.output))
                        )
                    locks.append(_FoundLock(install, ins.line, lock, pyproject, path))
    return _Walk(tuple(found), tuple(locks))


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
    envs = run_environments(df)
    for run, piece in pip:
        if piece.kind is Kind.BUILD_TOOL and reads_a_lock(run, piece, envs.get(run.ins.line, {})):
            to_check.append(Run(run.ins, [piece]))
            continue
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
