"""Parse a Dockerfile into :mod:`alpinist.dockerfile.model` objects.

The grammar (line continuations, the ``# escape=`` directive, heredocs, exec vs shell form, comments
inside continuations, flags) is BuildKit's own: the ``dockerfile`` package on PyPI wraps moby/buildkit's
Go parser. This module adds what that parser leaves to the builder: stages, ``ARG`` defaults substituted
into ``FROM``, ``ENV``/``ARG`` values, image-name splitting, unknown-instruction errors, and alpinist's
``# alpinist ignore=RULE`` comments (the parser drops comments, so they are read from the raw lines).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import dockerfile as _bk

from alpinist.dockerfile.expand import Expanded, expand_word
from alpinist.dockerfile.model import Dockerfile, DockerfileError, Heredoc, ImageName, Instruction, Stage

__all__ = [
    "MAX_DOCKERFILE_BYTES",
    "Expanded",
    "dockerfile_text",
    "expand_word",
    "parse_dockerfile",
    "parse_image_name",
    "read_dockerfile",
]

#: A Dockerfile larger than this is refused (untrusted input; real ones are a few KiB).
MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024

_KNOWN = frozenset(c.upper() for c in _bk.all_cmds())
_EXEC_ARGS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL"})
_IGNORE_RE = re.compile(
    r"^\s*#\s*alpinist\s*:?\s*ignore(-file)?\s*=\s*([A-Za-z0-9_,\s-]+?)\s*$", re.IGNORECASE
)
_ESCAPE_RE = re.compile(r"^\s*#\s*escape\s*=\s*(\S)\s*$", re.IGNORECASE)
_NON_ASCII_FLAG = re.compile(r"--[^\s=]*[^\x00-\x7f]")
_DIRECTIVE_RE = re.compile(r"^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")


def read_dockerfile(path: str | Path, *, build_args: Mapping[str, str] | None = None) -> Dockerfile:
    """Read and parse the Dockerfile at ``path`` (UTF-8, at most :data:`MAX_DOCKERFILE_BYTES`)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_DOCKERFILE_BYTES + 1)
    except OSError as exc:
        raise DockerfileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    return parse_dockerfile(dockerfile_text(data, str(p)), str(p), build_args=build_args)


def dockerfile_text(data: bytes, where: str) -> str:
    """A Dockerfile's bytes (read up to ``MAX_DOCKERFILE_BYTES + 1``) as text: ``DockerfileError`` naming
    ``where`` when they are more than :data:`MAX_DOCKERFILE_BYTES` or not UTF-8."""
    if len(data) > MAX_DOCKERFILE_BYTES:
        raise DockerfileError(f"{where}: larger than {MAX_DOCKERFILE_BYTES} bytes, refused")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DockerfileError(f"{where}: not UTF-8 text (byte {exc.start})") from None


def parse_dockerfile(
    text: str, path: str | None = None, *, build_args: Mapping[str, str] | None = None
) -> Dockerfile:
    """Parse Dockerfile ``text``; ``path`` only names the file in errors and reports.

    ``build_args`` override ``ARG`` defaults (like ``--build-arg``). Raises :class:`DockerfileError`
    naming the line for: a syntax error (unterminated heredoc…), an unknown instruction, an instruction
    other than ``ARG`` before the first ``FROM``, a ``FROM`` without an image, or a file with no ``FROM``.
    """
    where = path or "Dockerfile"
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise DockerfileError(f"{where}: contains NUL bytes, not a Dockerfile")
    try:
        commands = _bk.parse_string(text)
    except _bk.GoParseError as exc:
        raise DockerfileError(f"{where}:{_error_line(text, str(exc))}: parse error: {exc}") from None
    except UnicodeDecodeError:
        # found by tests/test_fuzz_parsers.py: the buildkit binding cuts a flag's name inside a
        # multi-byte character (``COPY --\u0800from=x``) and fails to decode its own output
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if _NON_ASCII_FLAG.search(ln)), 1)
        raise DockerfileError(f"{where}:{line}: parse error: a --flag with non-ASCII characters") from None

    lines = text.splitlines()
    escape = _escape_char(lines)
    instructions = [_instruction(c, where) for c in commands]
    instructions = _attach_ignores(instructions, lines)
    ignore_file = _file_ignores(instructions, lines)
    overrides = dict(build_args or {})

    head: list[Instruction] = []
    global_args: dict[str, str] = {}
    idx = 0
    while idx < len(instructions) and instructions[idx].cmd != "FROM":
        ins = instructions[idx]
        if ins.cmd != "ARG":
            raise DockerfileError(
                f"{where}:{ins.line}: {ins.cmd} before the first FROM (only ARG may come first)"
            )
        for name, default in arg_items(ins, global_args):
            if name in overrides:
                global_args[name] = overrides[name]
            elif default is not None:
                global_args[name] = default
        head.append(ins)
        idx += 1
    if idx == len(instructions):
        raise DockerfileError(f"{where}: no FROM instruction")

    groups: list[list[Instruction]] = []
    for ins in instructions[idx:]:
        if ins.cmd == "FROM":
            groups.append([ins])
        else:
            groups[-1].append(ins)

    stages: list[Stage] = []
    env_only: list[dict[str, str]] = []
    for index, group in enumerate(groups):
        stage, own_env = _stage(index, group, stages, env_only, global_args, overrides, where)
        stages.append(stage)
        env_only.append(own_env)
    return Dockerfile(
        stages=tuple(stages),
        args_before_from=tuple(head),
        path=path,
        escape=escape,
        ignore_file=ignore_file,
        global_args=dict(global_args),
    )


# ---------------------------------------------------------------- instructions


def _instruction(cmd: Any, where: str) -> Instruction:
    name = str(cmd.cmd).upper()
    if name not in _KNOWN:
        raise DockerfileError(f"{where}:{cmd.start_line}: unknown instruction {cmd.cmd!r}")
    sub = str(cmd.sub_cmd).upper() if cmd.sub_cmd else None
    if sub is not None and sub not in _KNOWN:
        raise DockerfileError(f"{where}:{cmd.start_line}: unknown instruction {cmd.sub_cmd!r} after ONBUILD")
    words = tuple(str(v) for v in cmd.value)
    flags = tuple(_split_flag(str(f)) for f in cmd.flags)
    original = str(cmd.original)
    value = _value_text(original, cmd.flags, sub)
    json_form = bool(cmd.json)
    args: tuple[str, ...] | str
    effective = sub or name
    if effective in _EXEC_ARGS:
        args = words if json_form else (words[0] if words else "")
    elif effective == "HEALTHCHECK":
        rest = words[1:] if words and words[0].upper() == "CMD" else ()
        args = rest if json_form else (rest[0] if rest else "")
    else:
        args = words
    heredocs = tuple(
        Heredoc(name=str(h.name), content=str(h.content), fd=int(h.file_descriptor)) for h in cmd.heredocs
    )
    return Instruction(
        cmd=name,
        value=value,
        args=args,
        line=int(cmd.start_line),
        end_line=int(cmd.end_line),
        original=original,
        words=words,
        flags=flags,
        heredocs=heredocs,
        json=json_form,
        sub_cmd=sub,
    )


def _split_flag(flag: str) -> tuple[str, str]:
    body = flag[2:] if flag.startswith("--") else flag
    key, _, val = body.partition("=")
    return key.lower(), val


def _value_text(original: str, flags: tuple[str, ...], sub: str | None) -> str:
    """The instruction text after its keyword (and ``ONBUILD``'s sub-keyword) and flags; first line only."""
    first = original.split("\n", 1)[0]
    rest = first.split(None, 1)[1] if len(first.split(None, 1)) > 1 else ""
    if sub is not None:
        rest = rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
    for flag in flags:
        stripped = rest.lstrip()
        if stripped.startswith(flag):
            rest = stripped[len(flag) :]
    return rest.strip()


def _error_line(text: str, message: str) -> str:
    """Best line for a parser error that carries none: an unterminated heredoc names its opening line."""
    m = re.search(r"line (\d+)", message)
    if m:
        return m.group(1)
    if "heredoc" in message:
        last = 0
        for n, line in enumerate(text.splitlines(), 1):
            if "<<" in line:
                last = n
        if last:
            return str(last)
    return "1"


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        m = _DIRECTIVE_RE.match(line)
        if not m:
            break
        e = _ESCAPE_RE.match(line)
        if e:
            return e.group(1)
    return "\\"


# ---------------------------------------------------------------- ignore comments


def _comment_ignores(
    lines: list[str], instructions: list[Instruction]
) -> list[tuple[int, bool, frozenset[str]]]:
    """``(line, whole_file, ids)`` of every ignore comment outside heredoc bodies."""
    # heredoc bodies as sorted, disjoint (first, last) line ranges: a comment there is data
    bodies = [(i.line + 1, i.end_line) for i in instructions if i.heredocs]
    starts = [b[0] for b in bodies]
    found = []
    for n, line in enumerate(lines, 1):
        if "alpinist" not in line.lower():
            continue
        m = _IGNORE_RE.match(line)
        if not m:
            continue
        k = bisect.bisect_right(starts, n) - 1
        if k >= 0 and bodies[k][0] <= n <= bodies[k][1]:
            continue
        ids = frozenset(r.strip().upper() for r in m.group(2).split(",") if r.strip())
        found.append((n, m.group(1) is not None, ids))
    return found


def _attach_ignores(instructions: list[Instruction], lines: list[str]) -> list[Instruction]:
    """``# alpinist ignore=…`` applies to the next instruction (or the one whose continuation holds it)."""
    extra: dict[int, set[str]] = {}
    ends = [i.end_line for i in instructions]  # increasing: instructions are in file order
    for line_no, whole_file, ids in _comment_ignores(lines, instructions):
        if whole_file:
            continue
        pos = bisect.bisect_left(ends, line_no)
        if pos < len(instructions):
            extra.setdefault(pos, set()).update(ids)
    if not extra:
        return instructions
    return [
        replace(ins, ignore=ins.ignore | frozenset(extra[pos])) if pos in extra else ins
        for pos, ins in enumerate(instructions)
    ]


def _file_ignores(instructions: list[Instruction], lines: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for _, whole_file, ids in _comment_ignores(lines, instructions):
        if whole_file:
            out |= ids
    return frozenset(out)


# ---------------------------------------------------------------- stages


def _stage(
    index: int,
    group: list[Instruction],
    previous: list[Stage],
    previous_env: list[dict[str, str]],
    global_args: dict[str, str],
    overrides: dict[str, str],
    where: str,
) -> tuple[Stage, dict[str, str]]:
    frm = group[0]
    words = frm.words
    if not words:
        raise DockerfileError(f"{where}:{frm.line}: FROM without an image")
    name: str | None = None
    if len(words) >= 3 and words[1].upper() == "AS":
        name = words[2]
    elif len(words) not in (1, 3):
        raise DockerfileError(f"{where}:{frm.line}: FROM expects 'IMAGE [AS NAME]', got {frm.value!r}")
    raw_image = words[0]
    base = parse_image_name(raw_image)
    exp = expand_word(raw_image, global_args)
    base_resolved = base if exp.missing or not exp.value else parse_image_name(exp.value)
    platform_flag = frm.flag("platform")
    platform = None
    if platform_flag:
        # $BUILDPLATFORM/$TARGETPLATFORM are set by the builder, not the file: keep them as written
        expanded = expand_word(platform_flag, global_args)
        platform = platform_flag if expanded.missing else expanded.value

    parent = None
    if base_resolved.registry is None and not base_resolved.tag and not base_resolved.digest:
        low = base_resolved.repository.lower()
        for st in previous:
            if st.name is not None and st.name.lower() == low:
                parent = st.index
    env_only: dict[str, str] = dict(previous_env[parent]) if parent is not None else {}
    env: dict[str, str] = dict(env_only)
    for ins in group[1:]:
        if ins.cmd == "ARG":
            for arg_name, default in arg_items(ins, env):
                if arg_name in overrides:
                    env[arg_name] = overrides[arg_name]
                elif default is not None:
                    env[arg_name] = default
                elif arg_name in global_args:
                    env[arg_name] = global_args[arg_name]
        elif ins.cmd == "ENV":
            for key, val in env_items(ins, env):
                env[key] = val
                env_only[key] = val
    end_line = group[-1].end_line
    stage = Stage(
        index=index,
        name=name,
        base=base,
        base_resolved=base_resolved,
        instructions=tuple(group[1:]),
        start_line=frm.line,
        end_line=end_line,
        from_instruction=frm,
        platform=platform,
        parent=parent,
        env=env,
    )
    return stage, env_only


def arg_items(ins: Instruction, env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """An ``ARG``'s ``(name, default expanded in env)`` items; ``None``: no default."""
    out: list[tuple[str, str | None]] = []
    for word in ins.words:
        name, eq, default = word.partition("=")
        out.append((name, expand_word(default, env).value if eq else None))
    return out


def env_items(ins: Instruction, env: Mapping[str, str], escape: str = "\\") -> list[tuple[str, str]]:
    """An ``ENV``'s ``(key, value expanded in env)`` pairs."""
    words = ins.words
    out: list[tuple[str, str]] = []
    for i in range(0, len(words) - 1, 2):
        out.append((words[i], expand_word(words[i + 1], env, escape).value))
    return out


# ---------------------------------------------------------------- image names

_DIGEST_RE = re.compile(r"^[A-Za-z0-9_+.-]+:[A-Fa-f0-9]{32,}$")


def parse_image_name(raw: str) -> ImageName:
    """Split ``[registry/]repo[:tag][@digest]`` (as ``docker pull`` reads it; no normalisation)."""
    ref = raw.strip()
    if len(ref) >= 2 and ref[0] == ref[-1] and ref[0] in "\"'":
        ref = ref[1:-1]
    rest, _, digest = ref.partition("@")
    registry = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    repo, tag = rest, None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        repo, tag = rest[:colon], rest[colon + 1 :]
    return ImageName(raw=raw, repository=repo, registry=registry, tag=tag or None, digest=digest or None)
