"""A ``RUN`` of the input split at top-level ``&&``/``;``/newlines, each piece classified: apt/apk installs
(mapped elsewhere), what Alpine does not need (dropped), pip and venv (the builder), user creation
(translated), the rest (kept as written)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from enum import StrEnum

from alpinist.dockerfile.migrate.locales import is_locale_setup, locale_setup_note
from alpinist.dockerfile.migrate.pip import PipContext, rewrite_pip
from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.migrate.users import UserOp, translate_useradd
from alpinist.dockerfile.model import Instruction
from alpinist.dockerfile.shell import (
    PackageOperation,
    command_name,
    package_operations,
    split_commands,
    strip_wrappers,
)


@dataclass(frozen=True)
class Segment:
    """A piece of a RUN script between ``&&``/``;``/newlines, as written (quotes kept).

    ``compound``: it holds ``|``, ``||`` or ``&`` (kept whole, never split further).
    """

    text: str
    compound: bool = False


def split_segments(script: str) -> list[Segment]:
    """Split a shell script at top-level ``&&``, ``;`` and newlines, keeping each piece's text.

    Hand-written: ``shlex`` tokenizes but gives no positions, and the pieces must be re-emitted exactly
    as written (quotes, ``$VAR``); ``split_commands`` of :mod:`.shell` reads their words afterwards.
    Quotes, backslash escapes, ``$( … )``, backticks and brackets are respected.
    """
    out: list[Segment] = []
    buf: list[str] = []
    compound = False
    depth = 0
    quote: str | None = None
    i, n = 0, len(script)

    def flush() -> None:
        nonlocal compound
        text = "".join(buf).strip()
        buf.clear()
        if text:
            out.append(Segment(text, compound))
        compound = False

    while i < n:
        ch = script[i]
        if quote == "'":
            buf.append(ch)
            quote = None if ch == "'" else quote
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            if script[i + 1] == "\n":  # a line continuation
                buf.append(" ")
            else:
                buf.append(script[i : i + 2])
            i += 2
            continue
        if quote == '"':
            buf.append(ch)
            if ch == '"':
                quote = None
            i += 1
            continue
        if ch in "'\"`" and quote is None:
            if ch == "`":
                end = script.find("`", i + 1)
                end = n - 1 if end < 0 else end
                buf.append(script[i : end + 1])
                i = end + 1
                continue
            quote = ch
            buf.append(ch)
            i += 1
            continue
        if ch == "#" and (not buf or buf[-1][-1:].isspace()) and depth == 0:
            end = script.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "({":
            depth += 1
        elif ch in ")}" and depth:
            depth -= 1
        if depth == 0:
            two = script[i : i + 2]
            if two == "&&":
                flush()
                i += 2
                continue
            if ch in ";\n":
                flush()
                i += 1
                continue
            if two == "||" or ch in "|&":
                compound = True
        buf.append(ch)
        i += 1
    flush()
    return out


class Kind(StrEnum):
    APT_INSTALL = "apt-install"
    APK_INSTALL = "apk-install"
    DROP = "drop"  # apt update/clean/purge, rm -rf /var/lib/apt/lists/*: not needed on Alpine
    PIP = "pip"  # builder
    VENV = "venv"  # builder
    BUILD_TOOL = "build-tool"  # poetry/pipenv/uv: builder
    USERS = "users"  # useradd/groupadd translated
    OTHER = "other"


@dataclass(frozen=True)
class Piece:
    kind: Kind
    text: str  # the text to emit ("" for DROP / package installs)
    packages: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    venv: str | None = None
    note: str = ""
    risk: str = ""
    user: UserOp | None = None
    op: PackageOperation | None = None  # the pip command of a PIP piece


_CLEANUP_PATHS = (
    "/var/lib/apt",
    "/var/cache/apt",
    "/var/cache/apk",
    "/var/cache/debconf",
    "/var/log/apt",
    "/var/log/dpkg",
)


def _operation(ins: Instruction, text: str) -> PackageOperation | None:
    ops = package_operations(replace(ins, args=text, heredocs=(), json=False))
    return ops[0] if len(ops) == 1 else None


def _is_cleanup(words: tuple[str, ...]) -> bool:
    ws = strip_wrappers(words)
    if not ws or command_name(ws) != "rm":
        return False
    paths = [w for w in ws[1:] if not w.startswith("-")]
    return bool(paths) and all(p.startswith(_CLEANUP_PATHS) for p in paths)


def _venv_dir(words: tuple[str, ...]) -> str | None:
    ws = strip_wrappers(words)
    if (
        len(ws) >= 4
        and re.fullmatch(r"python[\d.]*", command_name(ws))
        and ws[1] == "-m"
        and ws[2] in ("venv", "virtualenv")
    ):
        dirs = [w for w in ws[3:] if not w.startswith("-")]
        return dirs[0].rstrip("/") if dirs else None
    if ws and command_name(ws) == "virtualenv":
        dirs = [w for w in ws[1:] if not w.startswith("-")]
        return dirs[0].rstrip("/") if dirs else None
    return None


_BUILD_TOOLS = frozenset({"poetry", "pipenv", "pip-sync", "pdm", "uv", "hatch"})


def _classify(ins: Instruction, seg: Segment, ctx: PipContext) -> Piece:
    commands = split_commands(seg.text)
    if seg.compound:
        names = {command_name(c.words) for c in commands}
        ops = [op for c in commands if (op := _operation(ins, shlex.join(c.words))) is not None]
        if any(op.manager in ("apt", "apk") for op in ops):
            return Piece(
                Kind.OTHER,
                seg.text,
                risk=f"`{seg.text}` mixes a package manager with |, || or &: kept as written",
            )
        if any(op.manager == "pip" for op in ops):
            return Piece(
                Kind.BUILD_TOOL,
                seg.text,
                risk=f"`{seg.text}` combines pip with |, || or &: kept as written (no --no-cache-dir added)",
            )
        if names & _BUILD_TOOLS:
            return Piece(Kind.BUILD_TOOL, seg.text)
        return Piece(Kind.OTHER, seg.text)
    if not commands:
        return Piece(Kind.OTHER, seg.text)
    words = commands[0].words
    name = command_name(words)
    op = _operation(ins, seg.text)
    if op is not None and op.manager == "apt":
        if op.action == "install":
            return Piece(Kind.APT_INSTALL, "", packages=op.packages)
        return Piece(Kind.DROP, "", note=f"`{' '.join(op.command[:2])}` dropped")
    if op is not None and op.manager == "apk":
        if op.action == "install":
            return Piece(Kind.APK_INSTALL, "", packages=op.packages)
        return Piece(Kind.DROP, "", note=f"`{' '.join(op.command[:2])}` dropped")
    if op is not None and op.manager == "pip":
        text, notes = rewrite_pip(seg.text, op, ctx)
        packages = op.packages if op.action in ("install", "wheel") else ()
        return Piece(
            Kind.PIP,
            text,
            packages=packages,
            requirement_files=op.requirement_files,
            note="; ".join(notes),
            op=op,
        )
    if is_locale_setup(words):
        return Piece(Kind.DROP, "", note=locale_setup_note(seg.text))
    if name in (
        "apt-get",
        "apt",
        "aptitude",
        "apt-cache",
        "dpkg-reconfigure",
        "apt-key",
        "add-apt-repository",
    ):
        if name in ("apt-get", "apt") and len(words) > 1 and words[1] in ("clean", "autoclean"):
            return Piece(Kind.DROP, "", note=f"`{' '.join(words[:2])}` dropped")
        return Piece(
            Kind.OTHER,
            seg.text,
            risk=f"`{seg.text}` is apt-specific and has no Alpine translation: kept as written",
        )
    if name in ("dpkg", "update-alternatives"):
        return Piece(
            Kind.OTHER, seg.text, risk=f"`{name}` is Debian-specific: kept as written, will fail on Alpine"
        )
    if _is_cleanup(words):
        return Piece(Kind.DROP, "", note="package-index cleanup dropped (apk add --no-cache leaves none)")
    venv = _venv_dir(words)
    if venv:
        return Piece(Kind.VENV, seg.text, venv=venv)
    if name in ("useradd", "groupadd", "adduser", "addgroup") and not _looks_busybox(words):
        op_user = translate_useradd(words)
        if op_user.text is None:
            return Piece(Kind.OTHER, seg.text, risk=f"`{seg.text}`: {op_user.problem}; kept as written")
        note = f"`{seg.text}` → `{op_user.text}`" + (f"; {op_user.note}" if op_user.note else "")
        return Piece(Kind.USERS, op_user.text, note=note, user=op_user)
    if name in _BUILD_TOOLS:
        return Piece(Kind.BUILD_TOOL, seg.text)
    return Piece(Kind.OTHER, seg.text)


def _looks_busybox(words: tuple[str, ...]) -> bool:
    """``adduser -D …``/``addgroup -S …``: already BusyBox syntax (Alpine input with --force)."""
    ws = strip_wrappers(words)
    return command_name(ws) in ("adduser", "addgroup") and any(
        re.fullmatch(r"-[DSHG]+|-[ugshk]", w) for w in ws[1:]
    )


@dataclass
class Run:
    """A RUN of the input, split and classified."""

    ins: Instruction
    pieces: list[Piece]
    raw: bool = False  # exec form or heredoc: kept exactly as written

    @property
    def builder(self) -> bool:
        return any(p.kind in (Kind.PIP, Kind.VENV, Kind.BUILD_TOOL) for p in self.pieces)

    def kept(self) -> list[Piece]:
        return [p for p in self.pieces if p.kind not in (Kind.DROP, Kind.APT_INSTALL, Kind.APK_INSTALL)]


def split_run(ins: Instruction, ctx: PipContext) -> Run:
    if ins.heredocs or not isinstance(ins.args, str) or ins.flags:
        script = ins.shell_script if not ins.heredocs else None
        if script is not None and not ins.flags:
            return Run(ins, [_classify(ins, s, ctx) for s in split_segments(script)])
        pieces = [Piece(Kind.OTHER, "")]
        ops = package_operations(ins)
        script = ins.shell_script
        commands = [c.words for c in split_commands(script)] if script is not None else [tuple(ins.args)]
        if any(o.manager == "pip" for o in ops) or any(command_name(w) in _BUILD_TOOLS for w in commands):
            pieces = [Piece(Kind.BUILD_TOOL, "")]  # pip, or poetry/uv/pdm/pipenv (RUN --mount=… uv sync)
        return Run(ins, pieces, raw=True)
    return Run(ins, [_classify(ins, s, ctx) for s in split_segments(ins.args)])


def record_pieces(run: Run, c: Collector) -> None:
    line = run.ins.line
    for p in run.pieces:
        if p.risk:
            c.risk(p.risk, line)
        if p.kind is Kind.DROP and p.note:
            c.change(p.note, line)
        elif p.kind is Kind.USERS and p.note:
            c.change(f"user creation translated for BusyBox: {p.note}", line)
        elif p.kind is Kind.PIP and p.note:
            c.change(f"pip: {p.note}", line)
    if run.raw:
        c.risk("RUN in exec form, with flags or with a heredoc: kept as written, not translated", line)
