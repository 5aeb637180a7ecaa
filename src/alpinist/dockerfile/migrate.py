"""``alpinist migrate``: rewrite a Debian/Ubuntu-based Dockerfile for Alpine, and say what may break.

The result of :func:`migrate_dockerfile` is the new Dockerfile text and a :class:`MigrationReport`. For a
single-stage input (the common case, and the story's) the output has two stages:

- **builder**: the build dependencies (``build-base``, the apt packages mapped by
  :mod:`~alpinist.dockerfile.apt_to_apk`, and what :mod:`~alpinist.dockerfile.wheels` says the source
  builds need), a virtual environment (``/opt/venv``, or the one the input creates), the files and
  ``pip install`` commands of the input, with ``--no-cache-dir``;
- **runtime**: the runtime packages only, the venv copied with ``COPY --from=builder``, the input's
  ``ENV``/``WORKDIR``/``COPY``/``EXPOSE``/``CMD``/``ENTRYPOINT``…, a non-root user ``nonroot`` (uid and
  gid 65532, ``USER 65532:65532``: numeric, so Kubernetes' ``runAsNonRoot`` can verify it), and the
  ``HEALTHCHECK`` rewritten from ``curl``/``wget`` to Python's ``urllib`` in exec form.

**The builder's Python equals the runtime's**: an input on ``python:X.Y…`` keeps ``X.Y`` and both stages
use ``python:X.Y-alpineA.B``; an input that installs its distribution's ``python3`` gets ``alpine:A.B``
in both stages with Alpine's ``python3`` (its ``X.Y`` from :mod:`~alpinist.dockerfile.knowledge`), and
the report says when that changes the Python version. A multi-stage input is translated stage by stage
(bases, packages, pip, users, healthcheck) without restructuring; build packages go to the stages that
are discarded, and to the final image only where its own pip commands compile (:func:`_judge_runtime_pip`).

Input already on Alpine, distroless, scratch, Wolfi or BusyBox is returned unchanged unless ``force``.
The output is a pure function of the input, the options and the index's answers: same input, same bytes.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from alpinist.dockerfile.apt_to_apk import map_packages
from alpinist.dockerfile.knowledge import distro_python, image_distro, image_python
from alpinist.dockerfile.model import Dockerfile, ImageName, Instruction, Stage
from alpinist.dockerfile.parse import expand_word, parse_dockerfile, parse_image_name
from alpinist.dockerfile.rules import stage_python
from alpinist.dockerfile.shell import (
    PackageOperation,
    command_name,
    package_operations,
    split_commands,
    strip_wrappers,
)
from alpinist.dockerfile.wheels import (
    DEFAULT_INDEX_URL,
    Target,
    WheelFinding,
    WheelReport,
    WheelStatus,
    check_wheels,
    find_requirement_files,
)

__all__ = [
    "DEFAULT_ALPINE",
    "NONROOT_UID",
    "AlpineTarget",
    "Migration",
    "MigrationOptions",
    "MigrationReport",
    "Note",
    "migrate_dockerfile",
    "migrate_text",
    "parse_target",
]

#: The Alpine release used when ``--to alpine`` names none (the newest stable branch alpinist knows).
DEFAULT_ALPINE = "3.22"
NONROOT_UID = 65532
DEFAULT_VENV = "/opt/venv"
_MUSL_NOTE = (
    "musl is not glibc: its DNS resolver, the absence of glibc locales and its smaller default thread "
    "stack (128 KiB) can change the service's behaviour; run its tests in the new image"
)
_ALREADY_MINIMAL = {"alpine", "distroless", "scratch", "wolfi", "busybox"}
#: Alpine packages that ``build-base`` already pulls in (so they are not listed twice).
_IN_BUILD_BASE = frozenset(
    {"gcc", "g++", "make", "musl-dev", "libc-dev", "binutils", "patch", "fortify-headers"}
)
_APK_BUILD_ONLY = re.compile(
    r"(-dev|-headers)$|^(build-base|gcc|g\+\+|make|musl-dev|cargo|rust|cmake|pkgconf|autoconf|automake|libtool|samurai|gfortran)$"
)


# ---------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class AlpineTarget:
    """``--to alpine[:A.B[.C]]``: ``release`` is ``A.B``, ``tag`` as written (``3.22`` or ``3.22.2``)."""

    release: str
    tag: str

    @property
    def musl(self) -> tuple[int, int]:
        """musl 1.2 since Alpine 3.13, 1.1 before (what ``musllinux_1_M`` wheels need)."""
        major, minor = (int(x) for x in self.release.split("."))
        return (1, 2) if (major, minor) >= (3, 13) else (1, 1)

    def __str__(self) -> str:
        return f"alpine:{self.tag}"


def parse_target(value: str) -> AlpineTarget:
    """``alpine`` → the default release; ``alpine:3.22``; ``alpine:3.22.2``. ValueError otherwise."""
    name, _, tag = value.strip().partition(":")
    if name != "alpine":
        raise ValueError(f"--to {value!r}: only alpine[:VERSION] is supported")
    if not tag:
        return AlpineTarget(DEFAULT_ALPINE, DEFAULT_ALPINE)
    m = re.fullmatch(r"(3\.\d+)(\.\d+)?", tag)
    if m is None:
        raise ValueError(
            f"--to {value!r}: give an Alpine release such as alpine:{DEFAULT_ALPINE} (not edge/latest)"
        )
    return AlpineTarget(m.group(1), tag)


@dataclass(frozen=True)
class MigrationOptions:
    """What ``alpinist migrate`` was asked: target release, where the requirements are, the index."""

    to: AlpineTarget = field(default_factory=lambda: AlpineTarget(DEFAULT_ALPINE, DEFAULT_ALPINE))
    context: Path | None = None  # default: the Dockerfile's directory
    index_url: str = DEFAULT_INDEX_URL
    offline: bool = False
    platform: str = "linux/amd64"
    force: bool = False


# ---------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Note:
    """One line of the report, tied to a line of the input when it has one."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class MigrationReport:
    """What changed, what may break, unmapped packages, the wheel check, notes."""

    source: str
    target: str
    changed: bool
    unchanged_reason: str | None = None
    input_base: str | None = None
    builder_base: str | None = None
    runtime_base: str | None = None
    python: str | None = None
    python_origin: str | None = None
    changes: tuple[Note, ...] = ()
    risks: tuple[Note, ...] = ()
    unmapped: tuple[Note, ...] = ()
    builder_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()
    wheels: WheelReport | None = None
    notes: tuple[Note, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "changed": self.changed,
            "unchanged_reason": self.unchanged_reason,
            "input_base": self.input_base,
            "builder_base": self.builder_base,
            "runtime_base": self.runtime_base,
            "python": self.python,
            "python_origin": self.python_origin,
            "changes": [n.to_dict() for n in self.changes],
            "risks": [n.to_dict() for n in self.risks],
            "unmapped_packages": [{"line": n.line, "package": n.message} for n in self.unmapped],
            "packages": {"builder": list(self.builder_packages), "runtime": list(self.runtime_packages)},
            "wheels": self.wheels.to_dict() if self.wheels else None,
            "notes": [n.to_dict() for n in self.notes],
        }

    def render_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def render_text(self) -> str:
        out = [f"alpinist migrate: {self.source} -> {self.target}"]
        if not self.changed:
            out.append(f"  unchanged: {self.unchanged_reason}")
            return "\n".join(out) + "\n"
        if self.builder_base and self.builder_base != self.runtime_base:
            out.append(
                f"  base: {self.input_base} -> builder {self.builder_base}, runtime {self.runtime_base}"
            )
        elif self.builder_base:
            out.append(f"  base: {self.input_base} -> builder and runtime {self.runtime_base}")
        else:
            out.append(f"  base: {self.input_base} -> {self.runtime_base}")
        if self.python:
            out.append(f"  python: {self.python} ({self.python_origin})")
        if self.builder_packages:
            out.append(f"  builder packages: {' '.join(self.builder_packages)}")
        out.append(f"  runtime packages: {' '.join(self.runtime_packages) or '(none)'}")

        def section(title: str, notes: Sequence[Note] | Sequence[str]) -> None:
            if notes:
                out.append(title)
                out.extend(f"  - {n}" for n in notes)

        section("Changed:", self.changes)
        section("May break:", self.risks)
        section("Unmapped apt packages (not installed; find their Alpine names by hand):", self.unmapped)
        if self.wheels is not None:
            w = self.wheels
            head = f"Wheels for {w.target.describe()} from {w.index_url}:"
            if w.skipped_reason:
                out.append(head)
                out.append(f"  - not checked: {w.skipped_reason}")
            else:
                out.append(head)
            marks = {
                WheelStatus.WHEEL: "wheel ",
                WheelStatus.SOURCE: "BUILD ",
                WheelStatus.MISSING: "MISSING",
                WheelStatus.SKIPPED: "skip  ",
                WheelStatus.ERROR: "ERROR ",
            }
            if not w.skipped_reason:
                out.extend(f"  {marks[f.status]} {f.message}" for f in w.findings)
            out.extend(f"  - {p}" for p in w.problems)
        section("Notes:", self.notes)
        return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Migration:
    """The migrated Dockerfile text (the input itself when unchanged) and its report."""

    text: str
    report: MigrationReport


# ------------------------------------------------------------------------------------- shell segments


@dataclass(frozen=True)
class _Segment:
    """A piece of a RUN script between ``&&``/``;``/newlines, as written (quotes kept).

    ``compound``: it holds ``|``, ``||`` or ``&`` (kept whole, never split further).
    """

    text: str
    compound: bool = False


def _segments(script: str) -> list[_Segment]:
    """Split a shell script at top-level ``&&``, ``;`` and newlines, keeping each piece's text.

    Hand-written: ``shlex`` tokenizes but gives no positions, and the pieces must be re-emitted exactly
    as written (quotes, ``$VAR``); ``split_commands`` of :mod:`.shell` reads their words afterwards.
    Quotes, backslash escapes, ``$( … )``, backticks and brackets are respected.
    """
    out: list[_Segment] = []
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
            out.append(_Segment(text, compound))
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


class _Kind(StrEnum):
    APT_INSTALL = "apt-install"
    APK_INSTALL = "apk-install"
    DROP = "drop"  # apt update/clean/purge, rm -rf /var/lib/apt/lists/*: not needed on Alpine
    PIP = "pip"  # builder
    VENV = "venv"  # builder
    BUILD_TOOL = "build-tool"  # poetry/pipenv/uv: builder
    USERS = "users"  # useradd/groupadd translated
    OTHER = "other"


@dataclass(frozen=True)
class _Piece:
    kind: _Kind
    text: str  # the text to emit ("" for DROP / package installs)
    packages: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    venv: str | None = None
    note: str = ""
    risk: str = ""
    user: _UserOp | None = None
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


_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip")


def _path_or_url(requirement: str) -> bool:
    """A ``pip install`` argument that names a file, a directory or a URL rather than a requirement."""
    return requirement.startswith((".", "$", "~")) or "/" in requirement or requirement.endswith(_ARCHIVES)


def _option_value(op: PackageOperation, *names: str) -> str | None:
    """The value of a pip option (``--find-links=DIR``, ``-f DIR``, ``--only-binary :all:``), or None."""
    for option in op.options:
        key, sep, value = option.partition("=")
        if not sep:
            key, _, value = option.partition(" ")
        if key in names:
            return value
    return None


def _builds_nothing(op: PackageOperation) -> str | None:
    """Why this pip command cannot compile anything, or None when it may.

    Local wheel files (``pip install /wheels/*.whl``), ``--only-binary :all:``, and ``--no-index
    --find-links DIR``: the usual way to install what a builder stage's ``pip wheel -w DIR`` made (a
    directory of sdists there would be compiled: alpinist assumes wheels, as that pattern means).
    """
    if op.action not in ("install", "wheel"):
        return f"pip {op.action} builds nothing"
    if (
        op.action == "install"
        and op.packages
        and not op.requirement_files
        and all(p.endswith(".whl") for p in op.packages)
    ):
        return "it installs only local wheel files"
    if _option_value(op, "--only-binary") == ":all:":
        return "it installs wheels only (--only-binary :all:)"
    links = _option_value(op, "--find-links", "-f")
    if op.has_option("--no-index") and links:
        return f"it installs with --no-index from the wheels in {links}"
    return None


@dataclass(frozen=True)
class _Ctx:
    """How RUNs are translated: is pip's cache already off (``ENV PIP_NO_CACHE_DIR``), does pip run in
    the venv alpinist creates (then ``--user``/``--break-system-packages`` are dropped)."""

    no_cache_env: bool
    venv: bool


def _rewrite_pip(text: str, op: PackageOperation, ctx: _Ctx) -> tuple[str, list[str]]:
    """``pip install`` as written, with the interpreter normalized to the venv's and cache/user flags fixed."""
    notes: list[str] = []
    new = (
        text
        if not ctx.venv
        else re.sub(
            r"^((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)(?:/usr(?:/local)?/bin/)?(?:pip3?(?:\.\d+)?|python3?(?:\.\d+)?\s+-m\s*pip)(?=\s|$)",
            lambda m: m.group(1) + ("python -m pip" if "-m" in m.group(0) else "pip"),
            text,
            count=1,
        )
    )
    if new != text and not text.lstrip().startswith(("pip ", "python -m pip ")):
        notes.append("runs the virtual environment's pip")
    if op.action == "install" and ctx.venv:
        for flag in ("--user", "--break-system-packages"):
            if re.search(rf"\s{flag}(?=\s|$)", new):
                new = re.sub(rf"\s{flag}(?=\s|$)", "", new)
                notes.append(f"{flag} dropped (installs into the virtual environment)")
    if op.action == "install" and not op.has_option("--no-cache-dir") and not ctx.no_cache_env:
        new = re.sub(r"(\binstall)(?=\s|$)", r"\1 --no-cache-dir", new, count=1)
        notes.append("--no-cache-dir added")
    return new, notes


_SAFE_WORD = re.compile(r"[\w@%+=:,./-]+")


def _sh_join(words: Sequence[str]) -> str:
    """Words back into a command line: plain words as they are, ``$VAR`` words in double quotes (so the
    shell still expands them), anything else single-quoted (``shlex.quote``)."""
    out = []
    for w in words:
        if _SAFE_WORD.fullmatch(w):
            out.append(w)
        elif "$" in w:
            out.append('"' + re.sub(r'(["\\`])', r"\\\1", w) + '"')
        else:
            out.append(shlex.quote(w))
    return " ".join(out)


@dataclass(frozen=True)
class _UserOp:
    """A translated user/group creation: the BusyBox ``text`` (None with ``problem`` when it cannot be
    translated), and what it creates, so that ``USER name`` can become ``USER uid:gid``."""

    text: str | None
    problem: str = ""
    user: str | None = None
    uid: str | None = None
    group: str | None = None
    gid: str | None = None
    note: str = ""


_GROUP_CMDS = frozenset({"groupadd", "addgroup"})
_BASH_SHELLS = frozenset({"/bin/bash", "/usr/bin/bash", "/bin/zsh", "/usr/bin/zsh"})


def _translate_groupadd(name: str, args: list[str]) -> _UserOp:
    out = ["addgroup"]
    gid: str | None = None
    target: str | None = None
    i = 0
    while i < len(args):
        a = args[i]
        key, eq, val = a.partition("=")
        if a in ("-r", "--system"):
            out.append("-S")
        elif key in ("-g", "--gid"):
            if not eq:
                if i + 1 >= len(args):
                    return _UserOp(None, f"{name} {a} without a value")
                val = args[i + 1]
                i += 1
            gid = val
            out += ["-g", val]
        elif a in ("-f", "--force", "--quiet", "-q"):
            pass
        elif a.startswith("-"):
            return _UserOp(None, f"{name} option {a} has no BusyBox addgroup equivalent")
        elif target is None:
            target = a
        else:
            return _UserOp(None, f"{name}: unexpected argument {a}")
        i += 1
    if target is None:
        return _UserOp(None, f"{name} without a group name")
    return _UserOp(_sh_join([*out, target]), group=target, gid=gid)


_USERADD_VALUE = {
    "-u": "uid",
    "--uid": "uid",
    "-g": "group",
    "--gid": "group",
    "--ingroup": "group",
    "-G": "groups",
    "--groups": "groups",
    "-d": "home",
    "--home-dir": "home",
    "--home": "home",
    "-s": "shell",
    "--shell": "shell",
    "-c": "gecos",
    "--comment": "gecos",
    "--gecos": "gecos",
}
_USERADD_IGNORED = frozenset(
    {"-m", "--create-home", "--disabled-password", "--disabled-login", "-U", "--user-group", "--quiet", "-q"}
)


def _group_name(group: str) -> str:
    """A group for BusyBox ``adduser -G``/``addgroup USER GROUP``, which take a name and reject a gid
    ("unknown group 1000") where Debian's ``useradd -g``/``-G`` take either: a gid, or a ``$VAR`` that may
    hold one, is looked up in /etc/group by ``getent`` (in Alpine's base, musl-utils)."""
    return f"$(getent group {group} | cut -d: -f1)" if group.isdigit() or "$" in group else group


def _translate_useradd(words: tuple[str, ...]) -> _UserOp:
    """``useradd``/``groupadd`` and Debian's ``adduser``/``addgroup`` → BusyBox ``adduser -D``/``addgroup``.

    Debian's ``useradd`` and ``adduser`` create a group named after the user (``USERGROUPS_ENAB``); BusyBox
    is told so explicitly (``addgroup [-g UID] NAME`` then ``adduser -G NAME``), with the user's uid as gid
    as Debian would pick. A login shell of bash/zsh becomes ``/bin/sh`` (Alpine has no bash by default).
    """
    name = command_name(words)
    args = list(strip_wrappers(words)[1:])
    if name in _GROUP_CMDS:
        return _translate_groupadd(name, args)
    values: dict[str, str] = {}
    extra_groups: list[str] = []
    user: str | None = None
    system = no_home = debian_group = False
    user_group = True  # useradd (USERGROUPS_ENAB yes) and adduser both make a same-named group
    i = 0
    while i < len(args):
        a = args[i]
        key, eq, val = a.partition("=")
        if key in _USERADD_VALUE:
            if not eq:
                if i + 1 >= len(args):
                    return _UserOp(None, f"{name} {a} without a value")
                val = args[i + 1]
                i += 1
            what = _USERADD_VALUE[key]
            if what == "groups":
                extra_groups += [g for g in val.split(",") if g]
            else:
                values[what] = val
                if what == "group":
                    user_group = False
        elif a in ("-r", "--system"):
            system = True
        elif a in _USERADD_IGNORED:
            pass
        elif a in ("-M", "--no-create-home"):
            no_home = True
        elif a in ("-N", "--no-user-group"):
            user_group = False
        elif a == "--group":  # Debian ``adduser --system --group NAME``
            debian_group = True
        elif a.startswith("-"):
            return _UserOp(None, f"{name} option {a} has no BusyBox adduser equivalent")
        elif user is None:
            user = a
        elif name == "adduser" and "group" not in values:
            return _UserOp(_sh_join(["addgroup", user, _group_name(a)]))  # Debian ``adduser USER GROUP``
        else:
            return _UserOp(None, f"{name}: unexpected argument {a}")
        i += 1
    if user is None:
        return _UserOp(None, f"{name} without a user name")
    if name == "adduser" and system and not debian_group:
        user_group = False  # Debian ``adduser --system`` puts the user in nogroup
        values.setdefault("group", "nogroup")
    uid = values.get("uid")
    parts: list[list[str]] = []
    gid: str | None = None
    group = values.get("group")
    if user_group and group is None:
        parts.append(["addgroup", *(["-S"] if system else []), *(["-g", uid] if uid else []), user])
        group, gid = user, uid
    cmd = ["adduser", "-D", *(["-S"] if system else []), *(["-H"] if no_home else [])]
    cmd += ["-u", uid] if uid else []
    cmd += ["-G", _group_name(group)] if group else []
    cmd += ["-h", values["home"]] if "home" in values else []
    note = ""
    shell = values.get("shell")
    if shell in _BASH_SHELLS:
        note = f"login shell {shell} → /bin/sh (Alpine has no bash unless installed)"
        shell = "/bin/sh"
    cmd += ["-s", shell] if shell else []
    cmd += ["-g", values["gecos"]] if "gecos" in values else []
    parts.append([*cmd, user])
    parts.extend(["addgroup", user, _group_name(g)] for g in extra_groups)
    text = " && ".join(_sh_join(p) for p in parts)
    return _UserOp(text, user=user, uid=uid, group=group, gid=gid, note=note)


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


def _classify(ins: Instruction, seg: _Segment, ctx: _Ctx) -> _Piece:
    commands = split_commands(seg.text)
    if seg.compound:
        names = {command_name(c.words) for c in commands}
        ops = [op for c in commands if (op := _operation(ins, shlex.join(c.words))) is not None]
        if any(op.manager in ("apt", "apk") for op in ops):
            return _Piece(
                _Kind.OTHER,
                seg.text,
                risk=f"`{seg.text}` mixes a package manager with |, || or &: kept as written",
            )
        if any(op.manager == "pip" for op in ops):
            return _Piece(
                _Kind.BUILD_TOOL,
                seg.text,
                risk=f"`{seg.text}` combines pip with |, || or &: kept as written (no --no-cache-dir added)",
            )
        if names & _BUILD_TOOLS:
            return _Piece(_Kind.BUILD_TOOL, seg.text)
        return _Piece(_Kind.OTHER, seg.text)
    if not commands:
        return _Piece(_Kind.OTHER, seg.text)
    words = commands[0].words
    name = command_name(words)
    op = _operation(ins, seg.text)
    if op is not None and op.manager == "apt":
        if op.action == "install":
            return _Piece(_Kind.APT_INSTALL, "", packages=op.packages)
        return _Piece(_Kind.DROP, "", note=f"`{' '.join(op.command[:2])}` dropped")
    if op is not None and op.manager == "apk":
        if op.action == "install":
            return _Piece(_Kind.APK_INSTALL, "", packages=op.packages)
        return _Piece(_Kind.DROP, "", note=f"`{' '.join(op.command[:2])}` dropped")
    if op is not None and op.manager == "pip":
        text, notes = _rewrite_pip(seg.text, op, ctx)
        packages = op.packages if op.action in ("install", "wheel") else ()
        return _Piece(
            _Kind.PIP,
            text,
            packages=packages,
            requirement_files=op.requirement_files,
            note="; ".join(notes),
            op=op,
        )
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
            return _Piece(_Kind.DROP, "", note=f"`{' '.join(words[:2])}` dropped")
        return _Piece(
            _Kind.OTHER,
            seg.text,
            risk=f"`{seg.text}` is apt-specific and has no Alpine translation: kept as written",
        )
    if name in ("dpkg", "update-alternatives", "locale-gen", "update-locale"):
        return _Piece(
            _Kind.OTHER, seg.text, risk=f"`{name}` is Debian-specific: kept as written, will fail on Alpine"
        )
    if _is_cleanup(words):
        return _Piece(_Kind.DROP, "", note="package-index cleanup dropped (apk add --no-cache leaves none)")
    venv = _venv_dir(words)
    if venv:
        return _Piece(_Kind.VENV, seg.text, venv=venv)
    if name in ("useradd", "groupadd", "adduser", "addgroup") and not _looks_busybox(words):
        op_user = _translate_useradd(words)
        if op_user.text is None:
            return _Piece(_Kind.OTHER, seg.text, risk=f"`{seg.text}`: {op_user.problem}; kept as written")
        note = f"`{seg.text}` → `{op_user.text}`" + (f"; {op_user.note}" if op_user.note else "")
        return _Piece(_Kind.USERS, op_user.text, note=note, user=op_user)
    if name in _BUILD_TOOLS:
        return _Piece(_Kind.BUILD_TOOL, seg.text)
    return _Piece(_Kind.OTHER, seg.text)


def _looks_busybox(words: tuple[str, ...]) -> bool:
    """``adduser -D …``/``addgroup -S …``: already BusyBox syntax (Alpine input with --force)."""
    ws = strip_wrappers(words)
    return command_name(ws) in ("adduser", "addgroup") and any(
        re.fullmatch(r"-[DSHG]+|-[ugshk]", w) for w in ws[1:]
    )


@dataclass
class _Run:
    """A RUN of the input, split and classified."""

    ins: Instruction
    pieces: list[_Piece]
    raw: bool = False  # exec form or heredoc: kept exactly as written

    @property
    def builder(self) -> bool:
        return any(p.kind in (_Kind.PIP, _Kind.VENV, _Kind.BUILD_TOOL) for p in self.pieces)

    def kept(self) -> list[_Piece]:
        return [p for p in self.pieces if p.kind not in (_Kind.DROP, _Kind.APT_INSTALL, _Kind.APK_INSTALL)]


def _split_run(ins: Instruction, ctx: _Ctx) -> _Run:
    if ins.heredocs or not isinstance(ins.args, str) or ins.flags:
        script = ins.shell_script if not ins.heredocs else None
        if script is not None and not ins.flags:
            return _Run(ins, [_classify(ins, s, ctx) for s in _segments(script)])
        pieces = [_Piece(_Kind.OTHER, "")]
        ops = package_operations(ins)
        if any(o.manager == "pip" for o in ops):
            pieces = [_Piece(_Kind.BUILD_TOOL, "")]
        return _Run(ins, pieces, raw=True)
    return _Run(ins, [_classify(ins, s, ctx) for s in _segments(ins.args)])


# --------------------------------------------------------------------------------------- healthcheck

# Options of curl/wget that a urllib probe of the same URL honours (or that only change output, retries,
# timeouts); anything else (headers, credentials, -k, methods, data) keeps the healthcheck as written.
_PROBE_OPTIONS = {
    "curl": (
        frozenset("fsSLqI"),  # short flags, also combined: -fsSL
        frozenset({"--fail", "--silent", "--show-error", "--location", "--head", "--fail-with-body"}),
        frozenset(
            {"-o", "--output", "-m", "--max-time", "--connect-timeout", "--retry", "-w", "--write-out"}
        ),
    ),
    "wget": (
        frozenset("qS"),
        frozenset({"--quiet", "--spider", "--no-verbose", "-nv", "--server-response", "-O-", "-qO-"}),
        frozenset({"-O", "--output-document", "-T", "--timeout", "-t", "--tries"}),
    ),
}


def _probe_option_ok(tool: str, arg: str) -> bool | None:
    """True: a flag (or an option with its value attached); False: an option that takes the next word;
    None: not expressible with urllib."""
    short, long, valued = _PROBE_OPTIONS[tool]
    key = arg.split("=", 1)[0]
    if key in valued:
        return "=" in arg
    if arg in long:
        return True
    if arg.startswith("--"):
        return None
    short_valued = {v[1] for v in valued if len(v) == 2}  # -o, -m, -O, -T…
    for i, ch in enumerate(arg[1:], start=1):
        if ch in short:
            continue
        if ch in short_valued:
            return i < len(arg) - 1  # -qO- carries its value; -qO takes the next word
        return None
    return True


def _healthcheck_url(hc: Instruction, env: dict[str, str]) -> tuple[str | None, str]:
    """The URL a curl/wget healthcheck probes, or (None, why not)."""
    script = hc.args if isinstance(hc.args, str) else (hc.shell_script or shlex.join(hc.args))
    commands = split_commands(script)
    if not commands:
        return None, "empty healthcheck"
    first = strip_wrappers(commands[0].words)
    tool = command_name(first)
    if tool not in ("curl", "wget"):
        return None, f"runs {tool or 'nothing'}, not curl or wget"
    for extra in commands[1:]:
        if strip_wrappers(extra.words) not in (("exit", "1"), ("false",)):
            return None, f"does more than one probe ({' '.join(extra.words)})"
    urls: list[str] = []
    args = list(first[1:])
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1:
            ok = _probe_option_ok(tool, a)
            if ok is None:
                return None, f"{tool} option {a} cannot be expressed with urllib"
            if ok is False:
                i += 1  # skip the option's value
        else:
            urls.append(a)
        i += 1
    if len(urls) != 1:
        return None, f"{tool} probes {len(urls)} URLs"
    # the word is already unquoted: escape what expand_word would read as quoting, keep $VAR expansion
    url = expand_word(re.sub(r"([\\'\"])", r"\\\1", urls[0]), env)
    if url.missing:
        return None, f"its URL uses ${url.missing[0]}, which is not set in the Dockerfile"
    parts = urlsplit(url.value if "://" in url.value else "http://" + url.value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, f"{urls[0]} is not an http(s) URL"
    host = "127.0.0.1" if parts.hostname in ("localhost", "0.0.0.0") else parts.hostname
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    safe_url = urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path or "/", safe="/%:@!$&()*+,;=-._~"),
            quote(parts.query, safe="=&%/+:,-._~"),
            "",
        )
    )
    return safe_url, ""


def _healthcheck_tool(hc: Instruction) -> str:
    script = hc.args if isinstance(hc.args, str) else (hc.shell_script or shlex.join(hc.args))
    commands = split_commands(script)
    return command_name(commands[0].words) if commands else ""


def _healthcheck_wget(hc: Instruction, url: str) -> str:
    """The probe for an image without Python: BusyBox ``wget --spider`` (in every Alpine image)."""
    flags = " ".join(f"--{k}={v}" if v else f"--{k}" for k, v in hc.flags)
    argv = ", ".join(json.dumps(a) for a in ("wget", "-q", "--spider", "-T", "3", url))
    return f"HEALTHCHECK {flags + ' ' if flags else ''}CMD [{argv}]"


def _healthcheck_exec(hc: Instruction, url: str) -> str:
    code = (
        "import urllib.request,sys; "
        f"sys.exit(0 if urllib.request.urlopen('{url}', timeout=3).status < 400 else 1)"
    )
    flags = " ".join(f"--{k}={v}" if v else f"--{k}" for k, v in hc.flags)
    argv = ", ".join(json.dumps(a) for a in ("python3", "-c", code))
    return f"HEALTHCHECK {flags + ' ' if flags else ''}CMD [{argv}]"


# -------------------------------------------------------------------------------------------- helpers


def _source_lines(text: str, ins: Instruction) -> str:
    """An instruction exactly as written in the input (continuations, heredoc body), comments excluded."""
    lines = text.splitlines()
    chunk = lines[ins.line - 1 : ins.end_line]
    if ins.heredocs:  # a heredoc body is data: a line starting with # belongs to it
        return "\n".join(chunk).rstrip()
    kept = [ln for i, ln in enumerate(chunk) if i == 0 or not re.match(r"^\s*#", ln)]
    return "\n".join(kept).rstrip()


def _comment_block(text: str, ins: Instruction) -> list[str]:
    """The comment lines directly above an instruction (they travel with it)."""
    lines = text.splitlines()
    out: list[str] = []
    i = ins.line - 2
    while (
        i >= 0
        and re.match(r"^\s*#", lines[i])
        and not re.match(r"^\s*#\s*(syntax|escape|check)\s*=", lines[i], re.I)
    ):
        out.insert(0, lines[i])
        i -= 1
    return out


def _run_text(commands: Sequence[str], escape: str) -> str:
    joiner = f" {escape}\n && "
    return "RUN " + joiner.join(commands)


def _apk_add(packages: Iterable[str]) -> str | None:
    pkgs = sorted(set(packages))
    return f"apk add --no-cache {' '.join(pkgs)}" if pkgs else None


def _env_no_cache(df: Dockerfile) -> bool:
    return any(st.env.get("PIP_NO_CACHE_DIR", "") not in ("", "0") for st in df.stages)


def _is_root_user(user: str | None) -> bool:
    return user is None or bool(re.match(r"^(root|0)(:.*)?$", user.strip()))


def _requirement_like(source: str) -> bool:
    base = source.rstrip("/").rsplit("/", 1)[-1]
    return bool(
        re.fullmatch(
            r"(requirements|constraints)[\w.*?\[\]-]*\.(txt|in)|pyproject\.toml|setup\.(py|cfg)|poetry\.lock|Pipfile(\.lock)?|uv\.lock",
            base,
        )
    )


def _directives(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if re.match(r"^\s*#\s*(syntax|escape|check)\s*=", line, re.I):
            out.append(line.strip())
            continue
        break
    return out


def _by_line(notes: Iterable[Note]) -> tuple[Note, ...]:
    """Notes in input-line order (stable), those without a line last."""
    return tuple(sorted(notes, key=lambda n: (n.line is None, n.line or 0)))


class _Collector:
    def __init__(self) -> None:
        self.changes: list[Note] = []
        self.risks: list[Note] = []
        self.unmapped: list[Note] = []
        self.notes: list[Note] = []

    def change(self, message: str, line: int | None = None) -> None:
        note = Note(message, line)
        if note not in self.changes:
            self.changes.append(note)

    def risk(self, message: str, line: int | None = None) -> None:
        note = Note(message, line)
        if note not in self.risks:
            self.risks.append(note)

    def note(self, message: str, line: int | None = None) -> None:
        note = Note(message, line)
        if note not in self.notes:
            self.notes.append(note)


def _alpine_python(target: AlpineTarget, c: _Collector) -> str | None:
    known = distro_python("alpine", target.release)
    if known is None:
        c.risk(
            f"alpinist does not know which python3 Alpine {target.release} ships: check it before building"
        )
        return None
    if not known.verified:
        c.note(f"Alpine {target.release}'s python3 is {known.python} per {known.source}")
    return known.python


def _python_image(py: str, target: AlpineTarget) -> str:
    return f"python:{py}-alpine{target.release}"


def _header(source: str, input_base: str, target: AlpineTarget, directives: list[str]) -> list[str]:
    name = Path(source).name
    return [
        *directives,
        f"# Generated by alpinist migrate from {name} (FROM {input_base}) for {target}.",
        f"# Regenerate with: alpinist migrate {name} --to {target}; review the report it prints.",
    ]


def _global_args(df: Dockerfile, text: str, c: _Collector, also_used_in: str = "") -> list[str]:
    """``ARG`` before the first ``FROM``: kept when a stage (or a kept ``FROM``) uses it, else reported
    as substituted."""
    out: list[str] = []
    used = " ".join(ins.original for st in df.stages for ins in st.instructions) + " " + also_used_in
    for ins in df.args_before_from:
        name = (ins.words[0] if ins.words else ins.value).split("=", 1)[0]
        if re.search(rf"\$\{{?{re.escape(name)}\b", used):
            out.extend(_comment_block(text, ins))
            out.append(_source_lines(text, ins))
        else:
            c.change(
                f"ARG {name} was substituted into FROM (a --build-arg {name}=… no longer changes the base)",
                ins.line,
            )
    return out


_SHELL_META = re.compile(r"[$`|&;<>()*?\[\]~{}\\\n]")


def _exec_form(ins: Instruction) -> str | None:
    """A shell-form ``CMD``/``ENTRYPOINT`` without shell syntax, in exec form (so the app is PID 1)."""
    if not isinstance(ins.args, str) or _SHELL_META.search(ins.args):
        return None
    try:
        words = shlex.split(ins.args)
    except ValueError:
        return None
    if not words:
        return None
    return f"{ins.cmd} [{', '.join(json.dumps(w) for w in words)}]"


_IMAGE_PYTHON = re.compile(r"^/usr(?:/local)?/bin/(python|pip)(?:\d+(?:\.\d+)?)?$")


def _on_venv(ins: Instruction, converted: str | None, venv: str) -> str | None:
    """An exec-form CMD/ENTRYPOINT (as written or ``converted``) that names the image's own interpreter or
    pip by path (``/usr/local/bin/python3.11``), pointed at the venv's: pip's packages are there now."""
    if isinstance(ins.args, str):
        if converted is None:
            return None  # kept in shell form
        words = shlex.split(ins.args)
    else:
        words = list(ins.args)
    new = [f"{venv}/bin/{m.group(1)}" if (m := _IMAGE_PYTHON.match(w)) else w for w in words]
    if new == words:
        return None
    return f"{ins.cmd} [{', '.join(json.dumps(w) for w in new)}]"


def _convert_entrypoints(stage: Stage, c: _Collector) -> dict[int, str]:
    """Exec-form replacements for the final stage's shell-form CMD/ENTRYPOINT, where that keeps meaning:
    a CMD when there is no ENTRYPOINT, an ENTRYPOINT when there is no CMD."""
    out: dict[int, str] = {}
    cmds, entries = stage.of("CMD"), stage.of("ENTRYPOINT")
    for found, other in ((cmds, entries), (entries, cmds)):
        if found and other and isinstance(found[-1].args, str):
            c.risk(
                f"shell-form {found[-1].cmd} kept: with a {other[-1].cmd} beside it, exec form would change "
                "the arguments the app gets",
                found[-1].line,
            )
            continue
        if not found:
            continue
        last = found[-1]
        if not isinstance(last.args, str):
            continue
        converted = _exec_form(last)
        if converted is None:
            c.risk(
                f"shell-form {last.cmd} kept: /bin/sh stays PID 1 and SIGTERM does not reach the app",
                last.line,
            )
        else:
            out[id(last)] = converted
            c.change(f"shell-form {last.cmd} → exec form (the app is PID 1 and gets SIGTERM)", last.line)
    return out


def _users_created(pieces: Iterable[_Piece]) -> tuple[dict[str, _UserOp], dict[str, str]]:
    users: dict[str, _UserOp] = {}
    gids: dict[str, str] = {}
    for p in pieces:
        op = p.user
        if op is None:
            continue
        if op.user:
            users[op.user] = op
        if op.group and op.gid:
            gids[op.group] = op.gid
    return users, gids


def _numeric_user(value: str, pieces: Iterable[_Piece]) -> str | None:
    """``USER app[:grp]`` as ``uid[:gid]`` when the Dockerfile creates ``app`` with a uid, else None."""
    users, gids = _users_created(pieces)
    name, _, grp = value.strip().partition(":")
    op = users.get(name)
    if op is None or not op.uid:
        return None
    group = grp or op.group
    gid = grp if grp.isdigit() else gids.get(group or "")
    if grp and gid is None:
        return None
    return f"{op.uid}:{gid}" if gid else op.uid


# ------------------------------------------------------------------------------------------ planner


@dataclass
class _Plan:
    mode: str  # "image" (python:X.Y-alpine) | "distro" (alpine + python3) | "plain" (no Python)
    python: str | None
    builder_base: str | None
    runtime_base: str
    origin: str | None


_LANGUAGE_IMAGES = frozenset({"node", "ruby", "golang", "php", "perl"})


def _family_base(image: ImageName, target: AlpineTarget, c: _Collector, line: int | None = None) -> str:
    """The Alpine image to use instead of a non-Python base: an official language image keeps its
    language (``node:20-bookworm`` → ``node:20-alpine3.22``), Debian/Ubuntu become ``alpine:A.B``."""
    if image.name in _LANGUAGE_IMAGES and image.registry in (None, "docker.io"):
        first = (image.tag or "").split("-")[0]
        keep = first if first and (first[0].isdigit() or first in ("lts", "current")) else ""
        new = f"{image.repository}:{keep + '-' if keep else ''}alpine{target.release}"
        c.risk(f"FROM {image} → {new}: check that the official {image.name} image publishes this tag", line)
        return new
    distro = image_distro(image)
    if distro is None or distro[0] not in ("debian", "ubuntu"):
        c.risk(
            f"FROM {image} is replaced by {target}: software that image adds beyond its distribution is gone; "
            "pick an Alpine variant of it by hand",
            line,
        )
    return str(target)


def _plan_bases(df: Dockerfile, stage: Stage, target: AlpineTarget, c: _Collector) -> _Plan:
    root = df.root_base(stage)
    tag_py = image_python(root)
    if tag_py and root.name == "python":
        base = _python_image(tag_py, target)
        if tuple(int(x) for x in tag_py.split(".")) < (3, 9):
            c.risk(f"CPython {tag_py} is past its end of life: no {base} image is published")
        return _Plan("image", tag_py, base, base, f"kept from FROM {root}: python:{tag_py} in both stages")
    before = stage_python(df, stage)
    uses_pip = any(op.manager == "pip" for ins in stage.runs for op in package_operations(ins))
    if root.name == "python" and not tag_py:
        c.risk(
            f"FROM {root} does not name a Python X.Y: migrated to Alpine {target.release}'s python3; "
            "pin python:X.Y in the input to keep its version"
        )
    if before is not None or tag_py or uses_pip or root.name == "python":
        py = _alpine_python(target, c)
        base = str(target) if root.name == "python" else _family_base(root, target, c, stage.start_line)
        old = before.version if before else tag_py
        if py and old and old != py:
            c.risk(
                f"Python changes from {old} ({before.evidence if before else f'FROM {root}'}) to {py} "
                f"(Alpine {target.release}'s python3): check the requirements support {py}"
            )
        origin = f"Alpine {target.release}'s python3 package in both stages"
        return _Plan("distro", py, base, base, origin)
    return _Plan("plain", None, None, _family_base(root, target, c, stage.start_line), None)


def _wheel_report(
    df: Dockerfile,
    runs: Sequence[_Run],
    plan: _Plan,
    options: MigrationOptions,
    client: httpx.Client | None,
    c: _Collector,
    keep: Callable[[PackageOperation], bool] | None = None,
) -> WheelReport | None:
    """The wheel check of the requirements the pip commands of ``runs`` install.

    ``keep``: only the pip commands it accepts are followed to their requirement files (``runs`` should
    hold only those too); by default every pip command of the Dockerfile.
    """
    if plan.python is None:
        return None
    try:
        target = Target.from_platform(plan.python, options.platform, options.to.musl)
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
        p.kind is _Kind.PIP and re.search(r"\sinstall\s(.*\s)?\.(\[.*\])?(\s|$)", p.text)
        for r in runs
        for p in r.pieces
    )
    name = Path(df.path).name if df.path else "Dockerfile"
    inline = [
        (pkg, f"{name}:{r.ins.line}")
        for r in runs
        for p in r.pieces
        if p.kind is _Kind.PIP
        for pkg in p.packages
        if not _path_or_url(pkg)
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


def _needs_bash(stage: Stage, runs: Iterable[_Run]) -> bool:
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


def _wheel_risks(wheels: WheelReport, c: _Collector, where: str = "in the builder") -> None:
    compiled = [f"{f.pin.name}=={f.pin.version}" for f in wheels.compiled]
    if compiled:
        c.risk(
            f"{len(compiled)} requirement(s) have no musllinux wheel and compile {where} "
            f"(slower builds, build packages added): {', '.join(compiled)}"
        )
    for f in wheels.findings:
        if f.status in (WheelStatus.MISSING, WheelStatus.ERROR):
            c.risk(f.message)


def _record_pieces(run: _Run, c: _Collector) -> None:
    line = run.ins.line
    for p in run.pieces:
        if p.risk:
            c.risk(p.risk, line)
        if p.kind is _Kind.DROP and p.note:
            c.change(p.note, line)
        elif p.kind is _Kind.USERS and p.note:
            c.change(f"user creation translated for BusyBox: {p.note}", line)
        elif p.kind is _Kind.PIP and p.note:
            c.change(f"pip: {p.note}", line)
    if run.raw:
        c.risk("RUN in exec form, with flags or with a heredoc: kept as written, not translated", line)


def _map_apt(runs: Sequence[_Run], c: _Collector) -> tuple[list[str], list[str], set[str]]:
    """(builder packages, runtime packages, apt names mapped) of every apt/apk install in ``runs``."""
    build: list[str] = []
    runtime: list[str] = []
    names: set[str] = set()
    for run in runs:
        for p in run.pieces:
            if p.kind is _Kind.APK_INSTALL:
                for pkg in p.packages:
                    name = re.split(r"[=<>~]", pkg, maxsplit=1)[0]
                    (build if _APK_BUILD_ONLY.search(name) else runtime).append(name)
                continue
            if p.kind is not _Kind.APT_INSTALL:
                continue
            result = map_packages(p.packages)
            build += result.build
            runtime += result.runtime
            names.update(m.apt for m in result.mapped)
            for word in result.unmapped:
                c.unmapped.append(Note(word, run.ins.line))
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
    return build, runtime, names


def _uses_tool(texts: Iterable[str], tool: str) -> bool:
    return any(re.search(rf"(^|[\s/;&|(]){re.escape(tool)}(\s|$)", t) for t in texts)


def _command_text(ins: Instruction) -> str:
    """What an instruction runs, for :func:`_uses_tool`: exec form as its words, shell form as written
    (a heredoc ``RUN`` with its body)."""
    if isinstance(ins.args, tuple):
        return " ".join(ins.args)
    return ins.original if ins.heredocs else ins.args


def _commands_still_run(runs: Iterable[_Run], instructions: Iterable[Instruction]) -> list[str]:
    """The commands an image still runs after migration: the kept pieces of translated ``RUN``s (the
    dropped apt/apk installs are not uses), a ``RUN`` kept as written whole, ``CMD``/``ENTRYPOINT`` and
    ``ONBUILD`` triggers (they run in the images built on this one)."""
    out: list[str] = []
    for run in runs:
        out += [_command_text(run.ins)] if run.raw else [p.text for p in run.kept()]
    out += [_command_text(ins) for ins in instructions if ins.cmd in ("CMD", "ENTRYPOINT", "ONBUILD")]
    return out


# -------------------------------------------------------------------------------------------- migrate


def migrate_text(
    text: str,
    path: str | None = None,
    options: MigrationOptions | None = None,
    *,
    client: httpx.Client | None = None,
) -> Migration:
    """Parse ``text`` (``path`` names it and locates the build context) and migrate it."""
    return migrate_dockerfile(
        parse_dockerfile(text, path), text, options or MigrationOptions(), client=client
    )


def migrate_dockerfile(
    df: Dockerfile, text: str, options: MigrationOptions, *, client: httpx.Client | None = None
) -> Migration:
    """Migrate a parsed Dockerfile (``text`` is its source, for formatting and comments)."""
    source = df.path or "Dockerfile"
    target = options.to
    final = df.final_stage
    root = df.root_base(final)
    distro = image_distro(root)
    if distro is not None and distro[0] in _ALREADY_MINIMAL and not options.force:
        kind = {
            "alpine": "Alpine",
            "distroless": "distroless",
            "scratch": "scratch",
            "wolfi": "Wolfi",
            "busybox": "BusyBox",
        }[distro[0]]
        reason = (
            f"the final stage is already on {kind} (FROM {root}); nothing changed (--force migrates anyway)"
        )
        return Migration(text, MigrationReport(source, str(target), False, reason, input_base=str(root)))
    c = _Collector()
    c.note(_MUSL_NOTE)
    if len(df.stages) == 1:
        return _migrate_single(df, text, options, c, client)
    return _migrate_stages(df, text, options, c, client)


def _migrate_single(
    df: Dockerfile, text: str, options: MigrationOptions, c: _Collector, client: httpx.Client | None
) -> Migration:
    target = options.to
    stage = df.final_stage
    root = df.root_base(stage)
    escape = df.escape
    plan = _plan_bases(df, stage, target, c)
    ctx = _Ctx(_env_no_cache(df), venv=plan.mode != "plain")
    runs = {id(ins): _split_run(ins, ctx) for ins in stage.runs}
    for run in runs.values():
        _record_pieces(run, c)
    ordered = list(stage.instructions)
    builder_runs = [i for i, ins in enumerate(ordered) if ins.cmd == "RUN" and runs[id(ins)].builder]
    has_builder = bool(builder_runs) and plan.mode != "plain"
    last_builder = builder_runs[-1] if has_builder else -1
    own_venv = next((p.venv for r in runs.values() for p in r.pieces if p.kind is _Kind.VENV), None)
    venv = own_venv or DEFAULT_VENV
    wheels = _wheel_report(df, list(runs.values()), plan, options, client, c) if has_builder else None
    apt_build, apt_runtime, _apt_names = _map_apt(list(runs.values()), c)

    # packages
    runtime_pkgs = list(apt_runtime)
    build_pkgs: list[str] = []
    if has_builder:
        build_pkgs = ["build-base", *apt_build]
        if wheels is not None:
            build_pkgs += wheels.build_packages
            runtime_pkgs += wheels.runtime_packages
            _wheel_risks(wheels, c)
        if plan.mode == "distro":
            build_pkgs += ["python3", "python3-dev"]
        covered = [p for p in build_pkgs if p in _IN_BUILD_BASE]
        if covered:
            c.change(f"{', '.join(sorted(set(covered)))} covered by build-base")
        build_pkgs = [p for p in dict.fromkeys(build_pkgs) if p not in _IN_BUILD_BASE]
    else:
        runtime_pkgs += apt_build
        if apt_build:
            c.risk("no pip install to move into a builder: the build packages stay in the final image")
    if plan.mode == "distro":
        runtime_pkgs.append("python3")
    if _needs_bash(stage, runs.values()):
        runtime_pkgs.append("bash")
        if has_builder:
            build_pkgs.append("bash")
        c.change("bash added: the Dockerfile runs bash, and Alpine's /bin/sh is BusyBox ash")
    from_flags = f"--platform={stage.platform} " if stage.platform else ""

    # healthcheck
    hc = df.healthcheck(stage)
    hc_text: str | None = None
    if hc is not None and not (hc.words and hc.words[0].upper() == "NONE"):
        url, why = _healthcheck_url(hc, dict(stage.env))
        tool = _healthcheck_tool(hc)
        if url is not None and plan.python is not None:
            hc_text = _healthcheck_exec(hc, url)
            c.change(
                f"HEALTHCHECK rewritten from {tool} to Python urllib in exec form (probes {url})", hc.line
            )
        elif url is not None:
            hc_text = _healthcheck_wget(hc, url)
            c.change(
                f"HEALTHCHECK rewritten from {tool} to BusyBox wget in exec form (probes {url})", hc.line
            )
        else:
            c.risk(f"HEALTHCHECK kept as written: it {why}", hc.line)

    # tools only the old healthcheck used
    kept_texts = _commands_still_run(runs.values(), ordered)
    if hc is not None and hc_text is None:
        kept_texts.append(_command_text(hc))
    for tool in ("curl", "wget"):
        if tool in runtime_pkgs and hc_text is not None and not _uses_tool(kept_texts, tool):
            runtime_pkgs = [p for p in runtime_pkgs if p != tool]
            c.change(f"{tool} not installed in the runtime: only the old HEALTHCHECK used it")
            c.risk(
                f"{tool} removed from the image: add it back to the runtime stage if the service itself runs {tool}"
            )
    # tools the kept commands run that Alpine does not ship (BusyBox has wget and nc, not curl or git)
    runtime_texts = [p.text for r in runs.values() if not (r.builder and has_builder) for p in r.kept()]
    runtime_texts += [ins.value for ins in ordered if ins.cmd in ("CMD", "ENTRYPOINT")]
    if hc is not None and hc_text is None:
        runtime_texts.append(hc.value)
    builder_texts = [p.text for r in runs.values() if r.builder and has_builder for p in r.kept()]
    for tool in ("curl", "git"):
        if tool not in runtime_pkgs and _uses_tool(runtime_texts, tool):
            runtime_pkgs.append(tool)
            c.change(f"{tool} added to the runtime: a command kept there runs it")
        if (
            has_builder
            and tool not in build_pkgs
            and (
                _uses_tool(builder_texts, tool) or (tool == "git" and any("git+" in t for t in builder_texts))
            )
        ):
            build_pkgs.append(tool)
            c.change(f"{tool} added to the builder: a command there runs it")
    runtime_pkgs = list(dict.fromkeys(runtime_pkgs))
    if has_builder and "py3-pip" in runtime_pkgs:
        runtime_pkgs.remove("py3-pip")
        c.change("py3-pip not installed: the virtual environment has its own pip")

    # the user
    user, user_ins = df.effective_user(stage)
    keep_user = not _is_root_user(user)
    creates_users = any(p.kind is _Kind.USERS for r in runs.values() for p in r.pieces)
    all_pieces = [p for r in runs.values() for p in r.pieces]
    exec_forms = _convert_entrypoints(stage, c)

    # ---- builder
    out: list[str] = _header(df.path or "Dockerfile", str(root), target, _directives(text))
    out += _global_args(df, text, c)
    if has_builder:
        assert plan.builder_base is not None
        out += ["", f"FROM {from_flags}{plan.builder_base} AS builder"]
        setup = [cmd for cmd in (_apk_add(build_pkgs),) if cmd]
        if own_venv is None:
            setup.append(f"python3 -m venv {venv}")
        if setup:
            out.append(_run_text(setup, escape))
        if own_venv is None:
            out.append(f'ENV VIRTUAL_ENV={venv} PATH="{venv}/bin:$PATH"')
        for idx, ins in enumerate(ordered[: last_builder + 1]):
            if ins.cmd in ("ARG", "WORKDIR", "SHELL"):
                out.append(_source_lines(text, ins))
            elif ins.cmd == "ENV":
                env_line = _env_without_frontend(ins, text, c, note=False)
                if env_line:
                    out.append(env_line)
            elif ins.cmd in ("COPY", "ADD") and not ins.flag("from"):
                out.extend(_comment_block(text, ins))
                out.append(_source_lines(text, ins))
            elif ins.cmd == "RUN" and runs[id(ins)].builder:
                run = runs[id(ins)]
                out.extend(_comment_block(text, ins))
                if run.raw:
                    out.append(_source_lines(text, ins))
                else:
                    kept = [p.text for p in run.kept()]
                    if kept:
                        out.append(_run_text(kept, escape))
                    others = [p.text for p in run.kept() if p.kind is _Kind.OTHER]
                    if others:
                        c.risk(
                            f"runs {'; '.join(others)} in the builder (with pip): files it makes outside {venv} do not reach the runtime",
                            ins.line,
                        )
            elif ins.cmd == "USER" and idx < last_builder:
                c.change(
                    "USER before pip install dropped from the builder (it installs as root into the venv)",
                    ins.line,
                )
        c.change(
            f"builder stage FROM {plan.builder_base}: build packages and pip install into {venv}; runtime gets only {venv}"
        )

    # ---- runtime
    out += ["", f"FROM {from_flags}{plan.runtime_base}" + (" AS runtime" if has_builder else "")]
    first: list[str] = []
    add = _apk_add(runtime_pkgs)
    if add:
        first.append(add)
    add_nonroot = not keep_user
    if add_nonroot:
        first.append(f"addgroup -g {NONROOT_UID} -S nonroot")
        first.append(f"adduser -S -D -H -u {NONROOT_UID} -G nonroot nonroot")
    if first:
        out.append(_run_text(first, escape))
    if has_builder:
        out.append(f"COPY --from=builder {venv} {venv}")
        if own_venv is None:
            out.append(f'ENV VIRTUAL_ENV={venv} PATH="{venv}/bin:$PATH"')
    last_fs = max(
        (
            i
            for i, ins in enumerate(ordered)
            if ins.cmd in ("RUN", "COPY", "ADD")
            and not (ins.cmd == "RUN" and runs[id(ins)].builder and has_builder)
        ),
        default=-1,
    )
    user_emitted = False
    for idx, ins in enumerate(ordered):
        if ins.cmd == "RUN":
            run = runs[id(ins)]
            if run.builder and has_builder:
                continue
            block = _comment_block(text, ins)
            if run.raw:
                out.extend(block)
                out.append(_source_lines(text, ins))
            else:
                kept = [p.text for p in run.kept()]
                if kept:
                    out.extend(block)
                    out.append(_run_text(kept, escape))
        elif ins.cmd in ("COPY", "ADD"):
            srcs = ins.words[:-1]
            if (
                has_builder
                and idx < last_builder
                and srcs
                and all(_requirement_like(s) for s in srcs)
                and not ins.flag("from")
            ):
                c.change(f"{ins.cmd} {' '.join(srcs)} only in the builder", ins.line)
                continue
            out.extend(_comment_block(text, ins))
            out.append(_source_lines(text, ins))
        elif ins.cmd == "ENV":
            env_line = _env_without_frontend(ins, text, c, note=True)
            if env_line:
                out.extend(_comment_block(text, ins))
                out.append(env_line)
        elif ins.cmd == "USER":
            if keep_user:
                out.extend(_comment_block(text, ins))
                value = expand_word(ins.words[0] if ins.words else ins.value, stage.env).value
                numeric = _numeric_user(value, all_pieces)
                if numeric is not None and numeric != value:
                    out.append(f"USER {numeric}")
                    c.change(
                        f"USER {value} → USER {numeric} (numeric, so runAsNonRoot can verify it)", ins.line
                    )
                else:
                    out.append(_source_lines(text, ins))
            else:
                c.change(f"USER {ins.value} replaced by USER {NONROOT_UID}:{NONROOT_UID} (nonroot)", ins.line)
        elif ins.cmd == "HEALTHCHECK":
            out.extend(_comment_block(text, ins))
            out.append(hc_text if (hc_text and ins is hc) else _source_lines(text, ins))
        else:
            out.extend(_comment_block(text, ins))
            line = exec_forms.get(id(ins))
            if has_builder and own_venv is None and ins.cmd in ("CMD", "ENTRYPOINT"):
                on_venv = _on_venv(ins, line, venv)
                if on_venv is not None:
                    line = on_venv
                    c.change(
                        f"{ins.cmd}: the image's Python named by path → {venv}/bin (the packages)", ins.line
                    )
            out.append(line or _source_lines(text, ins))
        if add_nonroot and not user_emitted and idx >= last_fs:
            out.append(f"USER {NONROOT_UID}:{NONROOT_UID}")
            user_emitted = True
    if add_nonroot and not user_emitted:
        out.append(f"USER {NONROOT_UID}:{NONROOT_UID}")
    if add_nonroot:
        if user_ins is None:
            c.change(
                f"runs as nonroot (uid/gid {NONROOT_UID}) instead of root: addgroup/adduser, USER {NONROOT_UID}:{NONROOT_UID}"
            )
        else:
            c.change(f"runs as nonroot (uid/gid {NONROOT_UID}) instead of {user}")
        c.risk(
            f"the service now runs as uid {NONROOT_UID}: it cannot write where root owns the files "
            "(the application files copied in stay root-owned and read-only: use a volume or "
            f"COPY --chown={NONROOT_UID}:{NONROOT_UID} for what it writes)"
        )
        for ins in stage.of("EXPOSE"):
            low = [w for w in ins.words if w.split("/")[0].isdigit() and int(w.split("/")[0]) < 1024]
            if low:
                c.risk(
                    f"EXPOSE {' '.join(low)}: uid {NONROOT_UID} cannot bind a port below 1024 unless the runtime "
                    "allows it (Docker does by default, Kubernetes does not); listen on a port above 1023",
                    ins.line,
                )
        if creates_users:
            c.note(
                "the input's own user creation is kept (translated) although the image now runs as nonroot"
            )
    c.change(
        f"FROM {root} → {plan.runtime_base}" + (f" (builder {plan.builder_base})" if has_builder else ""),
        stage.start_line,
    )
    c.change("apk add --no-cache everywhere (no package index left in the image)")
    if any(
        ins.cmd in ("CMD", "ENTRYPOINT") and isinstance(ins.args, str) and id(ins) not in exec_forms
        for ins in ordered
    ):
        c.note("shell-form CMD/ENTRYPOINT runs under BusyBox sh on Alpine, not bash")
    if wheels is not None and not wheels.skipped_reason:
        c.note(
            "only the pins in the requirement files were checked; their own dependencies were not resolved"
        )
    report = MigrationReport(
        source=df.path or "Dockerfile",
        target=str(target),
        changed=True,
        input_base=str(root),
        builder_base=plan.builder_base if has_builder else None,
        runtime_base=plan.runtime_base,
        python=plan.python,
        python_origin=plan.origin,
        changes=_by_line(c.changes),
        risks=_by_line(c.risks),
        unmapped=tuple(c.unmapped),
        builder_packages=tuple(sorted(set(build_pkgs))),
        runtime_packages=tuple(sorted(set(runtime_pkgs))),
        wheels=wheels,
        notes=tuple(c.notes),
    )
    return Migration("\n".join(out) + "\n", report)


def _env_without_frontend(ins: Instruction, text: str, c: _Collector, *, note: bool) -> str | None:
    """An ENV as written, without ``DEBIAN_FRONTEND`` (meaningless on Alpine)."""
    pairs = list(zip(ins.words[0::2], ins.words[1::2], strict=False))
    if not any(k == "DEBIAN_FRONTEND" for k, _ in pairs):
        return _source_lines(text, ins)
    if note:
        c.change("ENV DEBIAN_FRONTEND dropped (apt only)", ins.line)
    rest = [(k, v) for k, v in pairs if k != "DEBIAN_FRONTEND"]
    if not rest:
        return None
    return "ENV " + " ".join(f"{k}={v}" for k, v in rest)


# ------------------------------------------------------------------------------ multi-stage: in place


def _map_base(stage: Stage, target: AlpineTarget, c: _Collector) -> str | None:
    """The Alpine counterpart of a stage's external base, or None to keep it."""
    if stage.parent is not None:
        return None
    base = stage.base_resolved
    distro = image_distro(base)
    py = image_python(base)
    if base.name == "python" and py:
        return _python_image(py, target)
    if distro is not None and distro[0] == "distroless" and py:
        return _python_image(py, target)
    if distro is not None and distro[0] in ("alpine", "wolfi", "busybox", "scratch", "distroless"):
        return None
    return _family_base(base, target, c, stage.start_line)


def _align_builders(
    df: Dockerfile,
    new_bases: dict[int, str | None],
    pythons: dict[int, str],
    distro_py: set[int],
    pip_stages: Sequence[Stage],
    stage_runs: dict[int, dict[int, _Run]],
    c: _Collector,
) -> None:
    """Put each pip stage the final stage copies from on the final stage's Python (both were mapped).

    A builder on ``python:X.Y-alpine`` and a runtime installing Alpine's ``python3`` of another ``X.Y``
    is the story's bug; the builder follows the runtime. On the distribution's ``python3``, pip needs a
    virtual environment (PEP 668), so a builder that creates none is reported instead of moved.
    """
    final = df.final_stage
    final_base = new_bases[final.index]
    final_py = pythons.get(final.index)
    if final_base is None or final_py is None:
        return
    sources = {src.index for _ins, ref in final.copies_from if (src := df.stage(ref)) is not None}
    for st in pip_stages:
        if st is final or st.index not in sources or new_bases[st.index] is None:
            continue
        if pythons.get(st.index) == final_py:
            continue
        on_image = image_python(parse_image_name(final_base)) is not None
        has_venv = any(p.kind is _Kind.VENV for r in stage_runs[st.index].values() for p in r.pieces)
        if not on_image and not has_venv:
            continue  # reported as a mismatch below
        new_bases[st.index] = final_base
        if on_image:
            distro_py.discard(st.index)
        else:
            distro_py.add(st.index)
        c.change(
            f"stage {st.label} moved to {final_base}: its Python ({pythons.get(st.index, 'unknown')}) now equals "
            f"the final stage's ({final_py})",
            st.start_line,
        )
        pythons[st.index] = final_py


@dataclass(frozen=True)
class _RuntimeBuild:
    """Whether a stage of the final image (the final stage, or a stage it is built ``FROM``) compiles.

    ``compiled``: its requirements the wheel check says pip builds from source; ``undecided``: why
    alpinist cannot tell for the rest; ``builds_nothing``: why it needs no compiler; ``line``: its pip
    command (the first one that may compile).
    """

    line: int
    compiled: tuple[WheelFinding, ...] = ()
    undecided: tuple[str, ...] = ()
    builds_nothing: tuple[str, ...] = ()


def _judge_runtime_pip(
    df: Dockerfile,
    runs: Iterable[_Run],
    wheels: WheelReport | None,
    python: str | None,
    options: MigrationOptions,
) -> _RuntimeBuild | None:
    """Does a stage whose files end up in the final image compile anything with pip? None: it runs no pip.

    Local wheels, ``--only-binary :all:`` and ``--no-index --find-links`` build nothing
    (:func:`_builds_nothing`); for the other pip commands, the findings of the Dockerfile's wheel check for
    the requirements they install (read again, offline, for these commands only) decide: ``source``
    compiles, ``wheel`` does not, and a skipped check, an unpinned requirement, an index error, a local
    project or a pip command alpinist does not read are undecided.
    """
    pip = [(run, p) for run in runs for p in run.pieces if p.kind in (_Kind.PIP, _Kind.BUILD_TOOL)]
    if not pip:
        return None
    undecided: list[str] = []
    nothing: list[str] = []
    to_check: list[_Run] = []
    for run, piece in pip:
        if piece.kind is _Kind.BUILD_TOOL or piece.op is None:
            undecided.append(f"line {run.ins.line} installs with a command alpinist does not read")
            continue
        why = _builds_nothing(piece.op)
        if why:
            nothing.append(why)
            continue
        to_check.append(_Run(run.ins, [piece]))
        undecided += [
            f"{pkg} is built by pip"
            for pkg in piece.packages
            if _path_or_url(pkg) and not pkg.endswith(".whl")
        ]
    line = (to_check[0] if to_check else pip[0][0]).ins.line
    compiled: list[WheelFinding] = []
    if to_check:
        if wheels is None or python is None or wheels.skipped_reason:
            undecided.append(wheels.skipped_reason if wheels else "the wheel check did not run")
        else:
            lines = {r.ins.line for r in to_check}
            offline = replace(options, offline=True)
            mine = _wheel_report(
                df,
                to_check,
                _Plan("image", python, None, "", None),
                offline,
                None,
                _Collector(),
                keep=lambda op: op.line in lines and _builds_nothing(op) is None,
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
    return _RuntimeBuild(
        line, tuple(compiled), tuple(dict.fromkeys(undecided)), tuple(dict.fromkeys(nothing))
    )


def _runtime_build_packages(
    judged: _RuntimeBuild | None, where: str, distro: bool, input_build: Sequence[str], c: _Collector
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


def _nonroot_lines(escape: str) -> list[str]:
    return [
        _run_text(
            [
                f"addgroup -g {NONROOT_UID} -S nonroot",
                f"adduser -S -D -H -u {NONROOT_UID} -G nonroot nonroot",
            ],
            escape,
        ),
        f"USER {NONROOT_UID}:{NONROOT_UID}",
    ]


def _tools_only_the_old_healthcheck_ran(
    df: Dockerfile, stage_runs: dict[int, dict[int, _Run]], pythons: dict[int, str]
) -> set[str]:
    """``curl``/``wget`` that the final image needs no more: its healthcheck in effect is rewritten to
    Python (as :func:`_migrate_stages` does: a probe of one URL, the final stage has a Python) and no
    other command of the final image's stages runs them (see :func:`_commands_still_run`; a healthcheck
    kept as written counts)."""
    final = df.final_stage
    if final.index not in pythons:
        return set()
    env = dict(final.env)
    rewritten = {
        id(ins)
        for ins in final.of("HEALTHCHECK")
        if not (ins.words and ins.words[0].upper() == "NONE") and _healthcheck_url(ins, env)[0] is not None
    }
    effective = df.healthcheck(final)
    if effective is None or id(effective) not in rewritten:
        return set()
    lineage = df.lineage(final)
    texts = [t for st in lineage for t in _commands_still_run(stage_runs[st.index].values(), st.instructions)]
    texts += [_command_text(hc) for st in lineage for hc in st.of("HEALTHCHECK") if id(hc) not in rewritten]
    return {tool for tool in ("curl", "wget") if not _uses_tool(texts, tool)}


def _migrate_stages(
    df: Dockerfile, text: str, options: MigrationOptions, c: _Collector, client: httpx.Client | None
) -> Migration:
    target = options.to
    escape = df.escape
    ctx = _Ctx(_env_no_cache(df), venv=False)
    root = df.root_base(df.final_stage)
    stage_runs = {st.index: {id(ins): _split_run(ins, ctx) for ins in st.runs} for st in df.stages}
    new_bases = {st.index: _map_base(st, target, c) for st in df.stages}
    kept_from = " ".join(
        st.base.raw for st in df.stages if new_bases[st.index] is None and st.base_resolved.has_variables
    )
    out = _header(df.path or "Dockerfile", str(root), target, _directives(text))
    out += _global_args(df, text, c, also_used_in=kept_from)
    pythons: dict[int, str] = {}
    distro_py: set[int] = set()
    for st in df.stages:
        new_base = new_bases[st.index]
        runs = stage_runs[st.index]
        if new_base is None:
            if st.parent is not None and st.parent in pythons:
                pythons[st.index] = pythons[st.parent]
            elif st.parent is None and (kept := stage_python(df, st)) is not None:
                pythons[st.index] = kept.version
            continue
        tag_py = image_python(parse_image_name(new_base))
        if tag_py:
            pythons[st.index] = tag_py
        elif stage_python(df, st) is not None or any(r.builder for r in runs.values()):
            distro_py.add(st.index)
            alp = _alpine_python(target, c)
            if alp:
                pythons[st.index] = alp
    pip_stages = [st for st in df.stages if any(r.builder for r in stage_runs[st.index].values())]
    _align_builders(df, new_bases, pythons, distro_py, pip_stages, stage_runs, c)
    all_runs = [r for runs in stage_runs.values() for r in runs.values()]
    wheels: WheelReport | None = None
    wheel_py: str | None = None
    if pip_stages and pip_stages[-1].index in pythons:
        wheel_py = pythons[pip_stages[-1].index]
        wheels = _wheel_report(df, all_runs, _Plan("image", wheel_py, None, "", None), options, client, c)
        if wheels is not None:
            _wheel_risks(wheels, c, "from source")
    # the final stage and the stages it is built FROM make the final image: build packages go there only
    # when pip compiles there (a builder stage gets them whenever it runs pip: harmless, it is discarded)
    in_final_image = {s.index for s in df.lineage(df.final_stage)}
    unused_tools = _tools_only_the_old_healthcheck_ran(df, stage_runs, pythons)
    builder_pkgs: list[str] = []
    runtime_pkgs: list[str] = []
    for st in df.stages:
        runs = stage_runs[st.index]
        for run in runs.values():
            _record_pieces(run, c)
        build, runtime, _names = _map_apt(list(runs.values()), c)
        pkgs = [*build, *runtime]
        is_final = st is df.final_stage
        if st.index in in_final_image:
            if st.index in distro_py:
                pkgs.append("python3")
            where = "the final stage" if is_final else f"stage {st.label} (the final stage is built FROM it)"
            judged = _judge_runtime_pip(df, runs.values(), wheels, wheel_py, options)
            pkgs += _runtime_build_packages(judged, where, st.index in distro_py, build, c)
        else:
            if st.index in distro_py:
                pkgs += ["python3", "python3-dev"]
            if wheels is not None and st in pip_stages:
                pkgs += ["build-base", *wheels.build_packages]
        if is_final and wheels is not None:
            pkgs += wheels.runtime_packages
        if st.index in in_final_image:
            for tool in sorted(unused_tools.intersection(pkgs)):
                pkgs = [p for p in pkgs if p != tool]
                c.change(f"{tool} not installed in {where}: only the old HEALTHCHECK used it")
                c.risk(f"{tool} removed from the final image: add it back if the service itself runs {tool}")
        pkgs = [p for p in dict.fromkeys(pkgs) if not ("build-base" in pkgs and p in _IN_BUILD_BASE)]
        (runtime_pkgs if st.index in in_final_image else builder_pkgs).extend(pkgs)
        new_base = new_bases[st.index]
        resolved = st.base_resolved
        base_text = new_base or (resolved.raw if not resolved.has_variables else st.base.raw)
        platform = f"--platform={st.platform} " if st.platform else ""
        alias = f" AS {st.name}" if st.name else ""
        out += ["", *_comment_block(text, st.from_instruction), f"FROM {platform}{base_text}{alias}"]
        if new_base:
            c.change(f"FROM {st.base_resolved} → {new_base}", st.start_line)
        add = _apk_add(pkgs)
        if add:
            out.append(f"RUN {add}")
        exec_forms = _convert_entrypoints(st, c) if is_final else {}
        all_pieces = [p for r in runs.values() for p in r.pieces]
        add_nonroot = is_final and _is_root_user(df.effective_user(st)[0])
        last_fs = max(
            (i for i, ins in enumerate(st.instructions) if ins.cmd in ("RUN", "COPY", "ADD")), default=-1
        )
        if add_nonroot and last_fs < 0:
            out += _nonroot_lines(escape)
        for idx, ins in enumerate(st.instructions):
            if add_nonroot and idx == last_fs + 1 and last_fs >= 0:
                out += _nonroot_lines(escape)
            if ins.cmd == "RUN":
                run = runs[id(ins)]
                if run.raw:
                    out.extend(_comment_block(text, ins))
                    out.append(_source_lines(text, ins))
                    continue
                cmds = [
                    re.sub(r"^(\S*/)?python(?=\s)", "python3", p.text)
                    if p.kind is _Kind.VENV and st.index in distro_py
                    else p.text
                    for p in run.kept()
                ]
                if cmds:
                    out.extend(_comment_block(text, ins))
                    out.append(_run_text(cmds, escape))
            elif ins.cmd == "ENV":
                line = _env_without_frontend(ins, text, c, note=True)
                if line:
                    out.extend(_comment_block(text, ins))
                    out.append(line)
            elif ins.cmd == "HEALTHCHECK" and is_final and not (ins.words and ins.words[0].upper() == "NONE"):
                url, why = _healthcheck_url(ins, dict(st.env))
                out.extend(_comment_block(text, ins))
                if url is not None and st.index in pythons:
                    out.append(_healthcheck_exec(ins, url))
                    c.change(f"HEALTHCHECK rewritten to Python urllib in exec form (probes {url})", ins.line)
                else:
                    out.append(_source_lines(text, ins))
                    c.risk(
                        f"HEALTHCHECK kept as written: it {why or 'needs Python, which this stage lacks'}",
                        ins.line,
                    )
            elif ins.cmd == "USER" and is_final:
                out.extend(_comment_block(text, ins))
                value = expand_word(ins.words[0] if ins.words else ins.value, st.env).value
                numeric = None if add_nonroot else _numeric_user(value, all_pieces)
                if add_nonroot:
                    c.change(f"USER {value} replaced by USER {NONROOT_UID}:{NONROOT_UID} (nonroot)", ins.line)
                elif numeric is not None and numeric != value:
                    out.append(f"USER {numeric}")
                    c.change(
                        f"USER {value} → USER {numeric} (numeric, so runAsNonRoot can verify it)", ins.line
                    )
                else:
                    out.append(_source_lines(text, ins))
            else:
                out.extend(_comment_block(text, ins))
                out.append(exec_forms.get(id(ins)) or _source_lines(text, ins))
        if add_nonroot and last_fs == len(st.instructions) - 1:
            out += _nonroot_lines(escape)
        if add_nonroot:
            c.change(f"the final stage runs as nonroot (uid/gid {NONROOT_UID}) instead of root")
    distinct = {pythons[s.index] for s in df.stages if s.index in pythons}
    if len(distinct) > 1:
        c.risk(
            "stages run different Pythons after migration ("
            + ", ".join(f"{df.stages[k].label}: {v}" for k, v in sorted(pythons.items()))
            + "): packages copied between them will not import; put the builder on the runtime's Python"
        )
    c.note("multi-stage input: translated stage by stage, not restructured")
    final = df.final_stage
    report = MigrationReport(
        source=df.path or "Dockerfile",
        target=str(target),
        changed=True,
        input_base=str(root),
        builder_base=next(
            (new_bases[p.index] for p in pip_stages if p is not final and new_bases[p.index]), None
        ),
        runtime_base=new_bases[final.index] or final.base.raw,
        python=pythons.get(final.index),
        python_origin="per stage" if final.index in pythons else None,
        changes=_by_line(c.changes),
        risks=_by_line(c.risks),
        unmapped=tuple(c.unmapped),
        builder_packages=tuple(sorted(set(builder_pkgs))),
        runtime_packages=tuple(sorted(set(runtime_pkgs))),
        wheels=wheels,
        notes=tuple(c.notes),
    )
    return Migration("\n".join(out) + "\n", report)
