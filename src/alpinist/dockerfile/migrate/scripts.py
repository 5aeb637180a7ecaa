"""The scripts the image runs, read from the build context, and the glibc-only programs it copies.

**Which scripts.** Files ``COPY``/``ADD``ed from the build context (followed to their place in the image:
``COPY docker-entrypoint.sh /usr/local/bin/``, ``COPY . /src``, ``WORKDIR`` for relative paths, ``COPY
--from=stage`` through that stage's own copies, a ``COPY <<EOF`` heredoc) that the image executes: the
final image's ``ENTRYPOINT``/``CMD``/``HEALTHCHECK`` in effect and every ``RUN`` (exec and shell form),
directly, through ``sh -c``/``bash -c``, ``exec``, ``tini``/``dumb-init``/``gosu``/``su-exec``, ``sh FILE``,
``. FILE``/``source FILE``; the ``command=`` of the programs of a ``supervisord`` configuration copied
from the context; and, :data:`MAX_DEPTH` deep, the scripts those scripts run. A bare name is looked up in
``PATH``. A file outside the context (``..``, or a symlink leaving it), missing, or larger than
:data:`MAX_SCRIPT` is named in the report and never read.

**What each needs** (:func:`shell_need`, the one place that says which shell a script needs): its
shebang's interpreter, or the shell that runs it (``sh FILE``, sourced); a ``#!/bin/sh`` script with
bash-only syntax that BusyBox ash refuses (:mod:`.ashcompat`, each rule with its evidence) needs bash.

**glibc-only programs.** Every file copied from the context into the final image is checked by
:mod:`.elf`: an ELF program or library linked against glibc is reported under "May break".
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alpinist.dockerfile.apt_to_apk import lookup
from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.migrate.ashcompat import Bashism, bashisms
from alpinist.dockerfile.migrate.elf import read_elf
from alpinist.dockerfile.migrate.report import Collector, Note
from alpinist.dockerfile.model import SHELLS, Dockerfile, Heredoc, Instruction, Stage
from alpinist.dockerfile.shell import split_commands

__all__ = [
    "ContextScan",
    "GlibcBinary",
    "Script",
    "apply_scripts",
    "context_dir",
    "scan_context",
    "script_commands",
    "shell_need",
]

MAX_DEPTH = 4  # a script that runs a script that runs a script…
MAX_SCRIPT = 256 * 1024  # bytes of one script or supervisord configuration read at most
MAX_SCRIPTS = 64
MAX_FILES = 5000  # context files enumerated for the glibc check at most
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Tools a script may run that an Alpine image lacks, with the apt package the apt→apk table maps
#: (``None``: no apt package it knows). ``wget`` and ``nc`` exist as BusyBox applets with fewer options.
TOOLS: dict[str, str | None] = {
    "curl": "curl",
    "wget": "wget",
    "nc": "netcat-openbsd",
    "gosu": "gosu",
    "su-exec": None,
    "pg_isready": "postgresql-client",
    "tini": "tini",
    "dumb-init": "dumb-init",
}
_BUSYBOX_APPLETS = frozenset({"wget", "nc"})
_SUPERVISOR_CONF = re.compile(r"(^|/)(supervisord[^/]*\.conf|supervisor/.*\.(conf|ini))$")


# ----------------------------------------------------------------------------------- what a script is


@dataclass(frozen=True)
class Script:
    """A script the image runs, read from the context.

    ``name``: its context path (or ``/image/path (heredoc)``); ``line``: the Dockerfile line that runs it;
    ``stage``: the stage index whose instruction runs it; ``run``: the ``RUN`` that runs it at build time
    (``None``: the running container runs it); ``shebang`` as written; ``runner``: the shell that runs it
    instead of its shebang (``sh FILE``, ``bash FILE``, sourced), else ``None``; ``found``: the bash-only
    syntax ash refuses; ``tools``: the :data:`TOOLS` it runs.
    """

    name: str
    line: int
    stage: int
    run: Instruction | None
    shebang: str | None
    runner: str | None
    found: tuple[Bashism, ...]
    tools: tuple[str, ...]

    @property
    def interpreter(self) -> str | None:
        """The shebang's program: ``bash`` for ``#!/bin/bash`` and ``#!/usr/bin/env bash``."""
        return shebang_program(self.shebang)


@dataclass(frozen=True)
class GlibcBinary:
    """A file copied from the context that is an ELF program or library linked against glibc."""

    name: str
    image_path: str
    why: str
    line: int


@dataclass(frozen=True)
class ContextScan:
    """What :func:`scan_context` found: scripts, glibc programs, and what it could not read."""

    scripts: tuple[Script, ...] = ()
    binaries: tuple[GlibcBinary, ...] = ()
    problems: tuple[Note, ...] = ()


def shebang_program(shebang: str | None) -> str | None:
    """``#!/bin/bash -e`` → ``bash``; ``#!/usr/bin/env -S bash -e`` → ``bash``; none → ``None``."""
    if not shebang:
        return None
    words = shebang[2:].split()
    if not words:
        return None
    prog = words[0].rsplit("/", 1)[-1]
    if prog == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        prog = rest[0].rsplit("/", 1)[-1] if rest else "env"
    return prog


def shell_need(script: Script) -> str | None:
    """The shell package the script needs on Alpine: ``bash``/``zsh`` by its shebang or the shell that runs
    it, ``bash`` for bash-only syntax where ash would run it; ``None`` when BusyBox ash or no shell does."""
    runner = script.runner
    program = runner or script.interpreter
    if program in ("bash", "zsh"):
        return program
    if program in (None, "sh", "ash") and script.found:
        return "bash"
    return None


# ------------------------------------------------------------------------- the context and the image


def context_dir(df: Dockerfile, context: Path | None) -> Path | None:
    """The build context: ``--context``, else the Dockerfile's directory, else none."""
    if context is not None:
        return context
    return Path(df.path).parent if df.path else None


class _Ignore:
    """``.dockerignore``: a path is left out when the last pattern matching it (or a directory above it)
    is not a ``!`` exception. Patterns as Docker writes them: ``*``, ``?``, ``[…]``, ``**``."""

    def __init__(self, context: Path) -> None:
        self.rules: list[tuple[re.Pattern[str], bool]] = []
        try:
            text = (context / ".dockerignore").read_text(encoding="utf-8", errors="replace")[:MAX_SCRIPT]
        except OSError:
            return
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pat = posixpath.normpath(line[1:].strip() if keep else line).lstrip("/")
            self.rules.append((re.compile(_glob_regex(pat)), keep))

    def ignored(self, rel: str) -> bool:
        if not self.rules:
            return False
        parts = rel.split("/")
        out = False
        for regex, keep in self.rules:
            if any(regex.fullmatch("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
                out = not keep
        return out


def _glob_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Entry:
    """One source of a ``COPY``/``ADD``, where it lands in the image.

    ``kind``: ``file`` (``rel`` a context file; ``dest`` its path, ``alt`` the path when ``dest`` turns out
    to be a directory), ``dir`` (the context directory ``rel``'s contents under ``dest``), ``heredoc``
    (``text`` at ``dest``), ``problem`` (``rel`` says why the source cannot be read).
    """

    kind: str
    dest: str
    rel: str
    line: int
    alt: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class _Found:
    """An image path traced back: to a context file (``rel``), a heredoc (``text``), or a problem."""

    image_path: str
    line: int
    rel: str | None = None
    text: str | None = None
    problem: str | None = None
    missing: bool = False  # the problem is only that the context has no such file


@dataclass
class _View:
    """A stage's image as far as the build context is concerned (its copies in order, its parent's)."""

    entries: list[_Entry] = field(default_factory=list)
    parent: _View | None = None
    workdir: str = "/"
    path: str = DEFAULT_PATH
    shell: str = "sh"


class _Reader:
    """The context, read safely: never outside it, never through a symlink leaving it, bounded."""

    def __init__(self, context: Path) -> None:
        self.context = context
        self.root = context.resolve()
        self.ignore = _Ignore(context)

    def inside(self, rel: str) -> bool:
        try:
            (self.context / rel).resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        return True

    def is_file(self, rel: str) -> bool:
        return not self.ignore.ignored(rel) and (self.context / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return (self.context / rel).is_dir() if rel else True

    def read(self, rel: str) -> tuple[str | None, str | None]:
        """(text, None) or (None, why it was not read)."""
        path = self.context / rel
        if not self.inside(rel):
            return None, f"{rel} is a symlink leaving the build context"
        try:
            size = path.stat().st_size
            if size > MAX_SCRIPT:
                return None, f"{rel} is larger than {MAX_SCRIPT // 1024} KiB"
            with path.open("rb") as fh:
                return fh.read(MAX_SCRIPT).decode("utf-8", errors="replace"), None
        except OSError as exc:
            return None, f"{rel} cannot be read ({exc.strerror or exc})"

    def glob(self, pattern: str) -> list[str]:
        return sorted(
            p.relative_to(self.context).as_posix()
            for p in self.context.glob(pattern)
            if not self.ignore.ignored(p.relative_to(self.context).as_posix())
        )[:MAX_FILES]

    def walk(self, rel: str) -> Iterator[str]:
        """Files under the context directory ``rel`` (not through symlinked directories), ignored ones left
        out, at most :data:`MAX_FILES`."""
        count = 0
        top = self.context / rel if rel else self.context
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            base = Path(dirpath).relative_to(self.context).as_posix()
            base = "" if base == "." else base
            dirnames[:] = [d for d in dirnames if not self.ignore.ignored(posixpath.join(base, d))]
            for name in sorted(filenames):
                child = posixpath.join(base, name)
                if self.ignore.ignored(child):
                    continue
                count += 1
                if count > MAX_FILES:
                    return
                yield child


def _lookup(view: _View | None, path: str, reader: _Reader, depth: int = 0) -> _Found | None:
    """Where the image file ``path`` comes from, latest copy first; ``None`` when not from the context."""
    covered: _Found | None = None
    while view is not None and depth < 8:
        for e in reversed(view.entries):
            if e.kind in ("file", "heredoc", "problem") and path in (e.dest, e.alt):
                if e.kind == "file":
                    if reader.is_file(e.rel):
                        return _Found(path, e.line, rel=e.rel)
                    return _Found(path, e.line, problem=f"{e.rel} is not in the build context", missing=True)
                if e.kind == "heredoc":
                    return _Found(path, e.line, text=e.text)
                return _Found(path, e.line, problem=e.rel)
            prefix = e.dest.rstrip("/") + "/"
            if e.kind == "dir" and path.startswith(prefix):
                rel = posixpath.join(e.rel, path[len(prefix) :]) if e.rel else path[len(prefix) :]
                if reader.is_file(rel):
                    return _Found(path, e.line, rel=rel)
                covered = covered or _Found(
                    path, e.line, problem=f"{rel} is not in the build context", missing=True
                )
        view = view.parent
        depth += 1
    return covered


@dataclass
class _Scanner:
    df: Dockerfile
    reader: _Reader
    views: dict[int, _View] = field(default_factory=dict)
    scripts: list[Script] = field(default_factory=list)
    problems: list[Note] = field(default_factory=list)
    seen: set[tuple[str, int, str | None]] = field(default_factory=set)

    # ----------------------------------------------------------------------------- building the views

    def build(self) -> None:
        for st in self.df.stages:
            parent = self.views.get(st.parent) if st.parent is not None else None
            view = _View(
                parent=parent,
                workdir=parent.workdir if parent else "/",
                path=parent.path if parent else DEFAULT_PATH,
                shell=parent.shell if parent else "sh",
            )
            self.views[st.index] = view
            for ins in st.instructions:
                self._instruction(st, view, ins)

    def _instruction(self, st: Stage, view: _View, ins: Instruction) -> None:
        if ins.cmd == "WORKDIR" and ins.words:
            value = expand_word(ins.words[0], st.env).value
            view.workdir = posixpath.normpath(posixpath.join(view.workdir, value))
        elif ins.cmd == "ENV":
            words = list(ins.words)
            for key, value in zip(words[::2], words[1::2], strict=False):
                if key == "PATH":
                    view.path = expand_word(value, {**st.env, "PATH": view.path}).value
        elif ins.cmd == "SHELL" and isinstance(ins.args, tuple) and ins.args:
            view.shell = ins.args[0].rsplit("/", 1)[-1]
        elif ins.cmd in ("COPY", "ADD"):
            self._copy(st, view, ins)
        elif ins.cmd == "RUN":
            for word, runner in _invocations_of(ins.args, view.shell, ins.heredocs):
                self._run(st, view, "RUN", ins.line, word, runner, ins, 0)

    def _copy(self, st: Stage, view: _View, ins: Instruction) -> None:
        words = list(ins.words)
        if len(words) < 2 and not ins.heredocs:
            return
        dest_word = expand_word(words[-1], st.env).value
        dest = posixpath.normpath(posixpath.join(view.workdir, dest_word))
        into_dir = dest_word.endswith("/") or dest_word in (".", "./") or len(words) > 2
        if ins.heredocs:
            names = {h.name for h in ins.heredocs}
            for h in ins.heredocs:
                target = posixpath.join(dest, h.name) if into_dir or len(names) > 1 else dest
                view.entries.append(_Entry("heredoc", target, "", ins.line, text=h.content))
            return
        src_ref = ins.flag("from")
        for raw in words[:-1]:
            src = expand_word(raw, st.env).value
            if src_ref is not None:
                self._copy_from(src_ref, src, dest, into_dir, view, ins)
                continue
            if ins.cmd == "ADD" and re.match(r"^[a-z]+://|^git@", src):
                continue
            rel = posixpath.normpath(src.lstrip("/"))
            if rel == "." or rel == "":
                view.entries.append(_Entry("dir", dest, "", ins.line))
                continue
            target = posixpath.join(dest, posixpath.basename(rel)) if into_dir else dest
            if rel == ".." or rel.startswith("../"):
                view.entries.append(
                    _Entry("problem", target, f"{src} is outside the build context", ins.line)
                )
                continue
            if not self.reader.inside(rel):
                view.entries.append(
                    _Entry("problem", target, f"{rel} is a symlink leaving the build context", ins.line)
                )
                continue
            if any(ch in rel for ch in "*?["):
                for match in self.reader.glob(rel):
                    if (self.reader.context / match).is_dir():
                        view.entries.append(_Entry("dir", dest, match, ins.line))
                    else:
                        view.entries.append(
                            _Entry("file", posixpath.join(dest, posixpath.basename(match)), match, ins.line)
                        )
                continue
            if self.reader.is_dir(rel) and (self.reader.context / rel).exists():
                view.entries.append(_Entry("dir", dest, rel, ins.line))
            elif ins.cmd == "ADD" and re.search(r"\.(tar|tgz|tar\.\w+|tbz2?|txz)$", rel):
                continue  # ADD unpacks a local archive: its members are not read
            else:
                alt = None if into_dir else posixpath.join(dest, posixpath.basename(rel))
                view.entries.append(_Entry("file", target, rel, ins.line, alt=alt))

    def _copy_from(
        self, ref: str, src: str, dest: str, into_dir: bool, view: _View, ins: Instruction
    ) -> None:
        """``COPY --from=stage SRC DEST``: what SRC is in that stage's image, now at DEST."""
        other = self.df.stage(ref)
        if other is None or other.index not in self.views:
            return  # an image, not a stage of this Dockerfile: nothing of the context
        other_view = self.views[other.index]
        src_abs = posixpath.normpath(posixpath.join("/", src))
        target = posixpath.join(dest, posixpath.basename(src_abs)) if into_dir else dest
        found = _lookup(other_view, src_abs, self.reader)
        if found is not None and found.problem is None:
            if found.rel is not None:
                view.entries.append(
                    _Entry(
                        "file",
                        target,
                        found.rel,
                        ins.line,
                        alt=posixpath.join(dest, posixpath.basename(src_abs)),
                    )
                )
            else:
                view.entries.append(_Entry("heredoc", target, "", ins.line, text=found.text))
            return
        # a directory of the other stage: each of its context files, under DEST
        for image_path, hit in self.files(other_view):
            if image_path.startswith(src_abs.rstrip("/") + "/"):
                rest = image_path[len(src_abs.rstrip("/")) + 1 :]
                if hit.rel is not None:
                    view.entries.append(_Entry("file", posixpath.join(dest, rest), hit.rel, ins.line))

    def files(self, view: _View) -> list[tuple[str, _Found]]:
        """Every image path of ``view`` (and its parents) that is a context file, latest copy winning."""
        out: dict[str, _Found] = {}
        chain: list[_View] = []
        v: _View | None = view
        while v is not None and len(chain) < 16:
            chain.append(v)
            v = v.parent
        for v in reversed(chain):
            for e in v.entries:
                if e.kind == "file" and self.reader.is_file(e.rel):
                    out[e.dest] = _Found(e.dest, e.line, rel=e.rel)
                elif e.kind == "dir":
                    for rel in self.reader.walk(e.rel):
                        sub = rel[len(e.rel) + 1 :] if e.rel else rel
                        out[posixpath.join(e.dest, sub)] = _Found(
                            posixpath.join(e.dest, sub), e.line, rel=rel
                        )
                if len(out) > MAX_FILES:
                    return sorted(out.items())[:MAX_FILES]
        return sorted(out.items())

    # --------------------------------------------------------------------------- following invocations

    def resolve(self, view: _View, word: str, cwd: str, env: dict[str, str]) -> _Found | None:
        """The context file an invoked word names: a path (absolute or relative to ``cwd``) or a bare
        name found in ``PATH``."""
        if "$" in word:
            word = expand_word(word, env).value
            if not word or "$" in word:
                return None
        if "/" in word:
            return _lookup(view, posixpath.normpath(posixpath.join(cwd, word)), self.reader)
        for d in view.path.split(":"):
            if d.startswith("/"):
                found = _lookup(view, posixpath.join(d, word), self.reader)
                if found is not None and not found.missing:
                    return found
        return None

    def _run(
        self,
        st: Stage,
        view: _View,
        who: str,
        line: int,
        word: str,
        runner: str | None,
        run: Instruction | None,
        depth: int,
        cwd: str | None = None,
    ) -> None:
        """``who`` (``ENTRYPOINT``, ``RUN``, a script) runs ``word``: read it when it is a context file."""
        found = self.resolve(view, word, cwd or view.workdir, dict(st.env))
        if found is None:
            return
        if found.problem is not None:
            self._problem(f"{who} runs {found.image_path}: not read ({found.problem})", line)
            return
        key = (found.image_path, id(run) if run else -1, runner)
        if key in self.seen or len(self.scripts) >= MAX_SCRIPTS:
            return
        self.seen.add(key)
        if found.rel is not None:
            text, why = self.reader.read(found.rel)
            name = found.rel
        else:
            text, why, name = found.text, None, f"{found.image_path} (heredoc)"
        if text is None:
            self._problem(f"{who} runs {found.image_path}: not read ({why})", line)
            return
        if text.startswith("\x7fELF") or "\0" in text[:1024]:
            return  # a program, not a script (the glibc check reads programs)
        first = text.split("\n", 1)[0].strip()
        shebang = first if first.startswith("#!") else None
        program = runner or shebang_program(shebang)
        if program is not None and program not in SHELLS:
            self.scripts.append(Script(name, line, st.index, run, shebang, runner, (), ()))
            return
        found_syntax = tuple(bashisms(text))
        tools = tuple(sorted({t for t in script_commands(text) if t in TOOLS}))
        self.scripts.append(Script(name, line, st.index, run, shebang, runner, found_syntax, tools))
        if depth + 1 >= MAX_DEPTH:
            return
        inner = program if program in ("bash", "zsh") else "sh"
        for cmd in split_commands(text):
            for sub_word, sub_runner in _invocations(list(cmd.words), inner):
                self._run(st, view, name, line, sub_word, sub_runner, run, depth + 1)

    def _problem(self, message: str, line: int | None) -> None:
        note = Note(message, line)
        if note not in self.problems:
            self.problems.append(note)

    def final_commands(self) -> None:
        """The final image's ENTRYPOINT, CMD and HEALTHCHECK in effect, and supervisord programs."""
        final = self.df.final_stage
        view = self.views[final.index]
        lineage = self.df.lineage(final)
        for keyword in ("ENTRYPOINT", "CMD"):
            ins = next((st.of(keyword)[-1] for st in lineage if st.of(keyword)), None)
            if ins is None:
                continue
            for word, runner in _invocations_of(ins.args, view.shell, ()):
                self._run(final, view, keyword, ins.line, word, runner, None, 0)
        hc = self.df.healthcheck(final)
        if hc is not None and hc.words and hc.words[0].upper() == "CMD":
            for word, runner in _invocations_of(hc.args, view.shell, ()):
                self._run(final, view, "HEALTHCHECK", hc.line, word, runner, None, 0)
        for image_path, found in self.files(view):
            if _SUPERVISOR_CONF.search(image_path) and found.rel is not None:
                self._supervisord(final, view, found)

    def _supervisord(self, st: Stage, view: _View, conf: _Found) -> None:
        """The programs of a supervisord configuration copied from the context (its ``command=``, run
        without a shell, relative to its ``directory=``)."""
        assert conf.rel is not None
        text, why = self.reader.read(conf.rel)
        if text is None:
            self._problem(f"supervisord configuration {conf.image_path}: not read ({why})", conf.line)
            return
        for program, command, directory in _supervisor_programs(text):
            try:
                words = shlex.split(command)
            except ValueError:
                continue
            who = f"{conf.rel} [program:{program}]"
            for word, runner in _invocations(words, None):
                self._run(st, view, who, conf.line, word, runner, None, 0, directory or view.workdir)


def _invocations_of(
    args: tuple[str, ...] | str, shell: str, heredocs: Sequence[Heredoc]
) -> list[tuple[str, str | None]]:
    """The files a RUN/CMD/ENTRYPOINT/HEALTHCHECK runs: exec form as its words, shell form (and a heredoc
    fed to the shell) through ``shell``."""
    if isinstance(args, tuple):
        return _invocations(list(args), None)
    text = "\n".join([args, *(h.content for h in heredocs)])
    out: list[tuple[str, str | None]] = []
    for cmd in split_commands(text):
        out += _invocations(list(cmd.words), shell)
    return out


_WRAPPERS = frozenset(
    {"exec", "nohup", "command", "time", "nice", "env", "sudo", "doas", "tini", "dumb-init"}
)
_WRAPPER_ARGS = frozenset({"-u", "-g", "-n", "-s", "-p", "-e", "-l", "--rewrite"})


def _invocations(
    words: list[str], shell: str | None, chain: list[str] | None = None
) -> list[tuple[str, str | None]]:
    """(the word naming the program or script run, the shell that runs it instead of its shebang) for one
    simple command: assignments and wrappers (``exec``, ``env``, ``tini --``, ``gosu USER``…) skipped,
    ``sh FILE``/``. FILE`` give the shell, ``sh -c '…'`` is read as a script."""
    i = 0
    while i < len(words):
        w = words[i]
        name = w.rsplit("/", 1)[-1]
        if re.match(r"^[A-Za-z_]\w*=", w) or w in _KEYWORDS:
            i += 1
        elif w in ("[", "[[", "test"):
            return []
        elif name in _WRAPPERS:
            if chain is not None:
                chain.append(name)
            i += 1
            while i < len(words) and words[i].startswith("-") and words[i] != "--":
                i += 2 if words[i] in _WRAPPER_ARGS else 1
            if i < len(words) and words[i] == "--":
                i += 1
        elif name in ("gosu", "su-exec"):
            if chain is not None:
                chain.append(name)
            i += 2  # the user
        else:
            break
    rest = words[i:]
    if not rest:
        return []
    base = rest[0].rsplit("/", 1)[-1]
    if base in (".", "source"):
        return [(rest[1], shell or "sh")] if len(rest) > 1 else []
    if base in SHELLS and base != "busybox":
        args = rest[1:]
        j = 0
        while j < len(args) and args[j].startswith(("-", "+")) and args[j] not in ("-c", "--"):
            j += 2 if args[j] in ("-o", "+o", "-O", "+O") else 1
        if j < len(args) and args[j] == "-c":
            out: list[tuple[str, str | None]] = []
            for cmd in split_commands(args[j + 1]) if j + 1 < len(args) else ():
                out += _invocations(list(cmd.words), base)
            return out
        j += 1 if j < len(args) and args[j] == "--" else 0
        return [(args[j], base)] if j < len(args) else []
    return [(rest[0], None)]


def _supervisor_programs(text: str) -> list[tuple[str, str, str | None]]:
    """(name, command, directory) of each ``[program:NAME]`` of a supervisord configuration."""
    out: list[tuple[str, str, str | None]] = []
    section: str | None = None
    values: dict[str, str] = {}

    def flush() -> None:
        if section is not None and "command" in values:
            out.append((section, values["command"], values.get("directory")))

    for raw in text.splitlines():
        line = re.sub(r"\s;.*$", "", raw).strip()
        if not line or line.startswith((";", "#")):
            continue
        m = re.fullmatch(r"\[(?:program|eventlistener):([^\]]+)\]", line)
        if m or line.startswith("["):
            flush()
            section, values = (m.group(1), {}) if m else (None, {})
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    flush()
    return out


_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})


def script_commands(text: str) -> list[str]:
    """The programs a shell script runs (basenames; after ``if``/``do``/``then``…, and after the wrappers
    ``exec``, ``gosu USER``, ``tini --``… both the wrapper and what it runs)."""
    out: list[str] = []
    for cmd in split_commands(text):
        words = list(cmd.words)
        while words and words[0] in _KEYWORDS:
            words = words[1:]
        if not words:
            continue
        chain: list[str] = []
        run = _invocations(words, "sh", chain)
        out += chain + [w.rsplit("/", 1)[-1] for w, _runner in run[:1]]
    return out


# ------------------------------------------------------------------------------------------ the scan


def scan_context(df: Dockerfile, context: Path | None) -> ContextScan:
    """Read the scripts the image runs and the programs it copies (nothing without a context)."""
    if context is None or not context.is_dir():
        return ContextScan()
    scanner = _Scanner(df, _Reader(context))
    scanner.build()
    scanner.final_commands()
    binaries: list[GlibcBinary] = []
    final_view = scanner.views[df.final_stage.index]
    for image_path, found in scanner.files(final_view):
        if found.rel is None or not scanner.reader.inside(found.rel):
            continue
        link = read_elf(scanner.reader.context / found.rel)
        if link is not None and link.glibc:
            binaries.append(GlibcBinary(found.rel, image_path, link.why, found.line))
    return ContextScan(tuple(scanner.scripts), tuple(binaries), tuple(scanner.problems))


# ---------------------------------------------------------------------------------------- the report


def apply_scripts(
    scan: ContextScan, c: Collector, packages_for: Callable[[Script], tuple[list[str], str] | None]
) -> None:
    """Add the shell each script needs to the packages of the stage that runs it and write the report.

    ``packages_for`` gives that stage's package list (mutated) and how the report names the stage
    (``the runtime``), or ``None`` for a stage that keeps its packages (not migrated).

    The behaviour for a ``#!/bin/bash`` script is always the same: bash is installed (the image runs the
    script as written); when the script holds no bash-only syntax ash refuses, a note says that
    ``#!/bin/sh`` would do without bash. The script itself is never edited.
    """
    for script in scan.scripts:
        target = packages_for(script)
        if target is None:
            continue
        pkgs, where = target
        need = shell_need(script)
        how = _how(script)
        program = script.runner or script.interpreter
        if need is not None:
            why = f"{how} with bash-only syntax" if program in (None, "sh", "ash") else how
            if need in pkgs:
                c.change(f"{script.name}: {why}: {need} is already in {where}", script.line)
            else:
                pkgs.append(need)
                c.change(f"{script.name}: {why}: {need} added to {where}", script.line)
        if script.found and program in (None, "sh", "ash"):
            rules = ", ".join(f"{b.rule} (line {b.line})" for b in script.found)
            if script.runner is None:
                c.risk(
                    f"{script.name}: {how} is BusyBox ash on Alpine, which refuses {rules}: "
                    "change its shebang to #!/bin/bash",
                    script.line,
                )
            else:
                c.risk(
                    f"{script.name}: {how} is BusyBox ash on Alpine, which refuses {rules}: run it with bash",
                    script.line,
                )
        elif program == "bash" and script.runner is None and not script.found:
            c.note(
                f"{script.name}: {how} but no bash-only syntax that BusyBox ash refuses was found: "
                "with #!/bin/sh it would run without bash",
                script.line,
            )
        elif program is not None and program not in SHELLS and not program.startswith("python"):
            c.risk(f"{script.name}: {how}: check that the Alpine image has {program}", script.line)
        for tool in script.tools:
            _tool_line(script, tool, pkgs, where, c)
    for note in scan.problems:
        c.note(note.message, note.line)
    for b in scan.binaries:
        c.risk(
            f"{b.name} ({b.image_path}): an ELF program linked against glibc ({b.why}); it does not run "
            "on Alpine's musl: rebuild it on Alpine or link it statically",
            b.line,
        )


def _how(script: Script) -> str:
    if script.runner is not None:
        return f"run with {script.runner}"
    if script.shebang is not None:
        return script.shebang
    return "no shebang"


def _tool_line(script: Script, tool: str, pkgs: list[str], where: str, c: Collector) -> None:
    apt = TOOLS[tool]
    mapping = lookup(apt) if apt else None
    apk = mapping.runtime[0] if mapping and mapping.runtime else None
    if apk is not None and apk in pkgs:
        return
    if tool in _BUSYBOX_APPLETS:
        c.risk(
            f"{script.name} runs {tool}: Alpine has BusyBox's {tool} (fewer options)"
            + (f"; add {apk} to {where}'s apk add for the full one" if apk else ""),
            script.line,
        )
    elif apk is not None:
        c.risk(
            f"{script.name} runs {tool}: not in the Alpine image; add {apk} to {where}'s apk add", script.line
        )
    else:
        c.risk(
            f"{script.name} runs {tool}: not in the Alpine image, and alpinist's apt→apk table has no package for it",
            script.line,
        )


def texts_run(scan: ContextScan) -> list[str]:
    """The tools the scripts run, as command texts (so the old healthcheck's curl is kept for them)."""
    return [" ".join(s.tools) for s in scan.scripts if s.run is None]
