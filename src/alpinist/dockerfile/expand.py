"""Dockerfile word processing: quote removal and ``$VAR`` substitution, as BuildKit does it.

A leaf module (it imports nothing of alpinist's): :mod:`.model` asks it for ``USER`` values and
:mod:`.parse` for ``FROM``/``ARG``/``ENV``, so neither imports the other to expand a word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Expanded", "expand_word"]


@dataclass(frozen=True)
class Expanded:
    """A word after quote removal and ``$VAR`` substitution; ``missing`` names unset variables."""

    value: str
    missing: tuple[str, ...] = ()


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_word(text: str, env: Mapping[str, str], escape: str = "\\") -> Expanded:
    """Dockerfile word processing: quotes removed, ``$VAR``/``${VAR}``/``${VAR:-x}``/``${VAR:+x}``
    (and ``-``, ``+`` without colon) substituted from ``env``; single quotes are literal.

    Hand-written: BuildKit's shell lexer (``ProcessWord``) has no Python binding and ``shlex`` does not
    substitute variables. An unset variable expands to ``""`` (as BuildKit does) and is listed in
    ``missing``.
    """
    out: list[str] = []
    missing: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        ch = text[i]
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                out.append(ch)
            i += 1
            continue
        if ch == escape and i + 1 < n:
            nxt = text[i + 1]
            if quote == '"' and nxt not in ('"', "$", escape):
                out.append(ch)
            out.append(nxt)
            i += 2
            continue
        if ch in "\"'" and quote is None:
            quote = ch
            i += 1
            continue
        if ch == '"' and quote == '"':
            quote = None
            i += 1
            continue
        if ch == "$" and i + 1 < n:
            i, piece = _expand_var(text, i + 1, env, missing, escape)
            out.append(piece)
            continue
        out.append(ch)
        i += 1
    return Expanded("".join(out), tuple(dict.fromkeys(missing)))


def _expand_var(
    text: str, i: int, env: Mapping[str, str], missing: list[str], escape: str
) -> tuple[int, str]:
    if text[i] == "{":
        close = _matching_brace(text, i)
        if close < 0:
            return len(text), "$" + text[i:]
        body = text[i + 1 : close]
        m = _NAME_RE.match(body)
        if not m:
            return close + 1, ""
        name = m.group(0)
        op_rest = body[m.end() :]
        val = env.get(name)
        for op in (":-", ":+", ":?", "-", "+", "?"):
            if op_rest.startswith(op):
                word = expand_word(op_rest[len(op) :], env, escape)
                missing.extend(word.missing)
                is_set = val is not None
                is_nonempty = bool(val)
                if op in (":-", "-"):
                    use_default = not is_nonempty if op == ":-" else not is_set
                    return close + 1, word.value if use_default else (val or "")
                if op in (":+", "+"):
                    use_alt = is_nonempty if op == ":+" else is_set
                    return close + 1, word.value if use_alt else ""
                if val is None:
                    missing.append(name)
                return close + 1, val or ""
        if val is None:
            missing.append(name)
        return close + 1, val or ""
    m = _NAME_RE.match(text, i)
    if not m:
        return i, "$"
    name = m.group(0)
    if name not in env:
        missing.append(name)
    return m.end(), env.get(name, "")


def _matching_brace(text: str, i: int) -> int:
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1
