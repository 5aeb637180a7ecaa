"""What BusyBox ash (Alpine's ``/bin/sh``) refuses in a shell script: the bash-only syntax that breaks.

Only what really breaks is flagged. BusyBox ash, built with ``ASH_BASH_COMPAT`` (its default, and
Alpine's), accepts a good part of bash; each rule below, and each construct deliberately *not* flagged,
carries its evidence. The sources read:

- **ash.c**: BusyBox ``shell/ash.c`` (mirror/busybox, the stored version at commit 004cefa9; it has
  ``BASH_PROCESS_SUBST``, so it is recent). Its header maps each bash extension to a define, all
  ``ENABLE_ASH_BASH_COMPAT``: ``BASH_FUNCTION`` ("function keyword"), ``BASH_REDIR_OUTPUT`` (``&>file``),
  ``BASH_DOLLAR_SQUOTE`` (``$'...'``), ``BASH_PATTERN_SUBST`` (``${v/p/r}``, ``${v//p/r}``), ``BASH_SUBSTR``
  (``${v:1:2}``), ``BASH_TEST2`` (``[[ ]]``), ``BASH_SOURCE`` (the ``source`` builtin), ``BASH_PIPEFAIL``.
- **shellcheck#2865** (koalaman/shellcheck, "Improved busybox sh support"): a script run by busybox sh
  shows ``[[ $X == "…" ]]``, ``&>``, ``source``, ``${X:0:4}``, ``${X/string/magic}`` working.
- **busybox-w32#128**: ``cat <<< abc`` → "syntax error: unexpected redirection"; the maintainer: "'Here
  strings' are a bash extension which isn't supported by upstream BusyBox ash".
- **initscripts#397** (fedora-sysv/initscripts, BusyBox 1.32.1): ``str+=x`` → "str+=: not found";
  ``for (( ; ; ))`` → "syntax error: bad for loop variable"; ``<<<`` → "unexpected redirection".

Not flagged, because ash accepts them (evidence above): ``function f {`` (ash.c ``simplecmd``: after
``function NAME`` a ``{``/``if``/``while``… goes to ``do_func``), ``source FILE`` (ash.c builtin table:
``"source", dotcmd`` under ``BASH_SOURCE``), ``${v//x/y}`` and ``${v:0:3}`` (ash.c ``parsesub``:
``VSREPLACEALL``, ``VSSUBSTR``), ``&>file`` (ash.c ``parseredir``: ``NTO2``), ``$'…'``
(``decode_dollar_squote``), ``set -o pipefail`` (ash.c ``optletters_optnames``: ``"pipefail"``), ``let``
and ``local`` (builtin table), ``[[ "$a" == "b" && -n "$c" ]]`` with quoted operands (``BASH_TEST2``: "&&
and || work as they should", ``=``/``==`` glob match, ``=~`` regex).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from alpinist.dockerfile.shell import split_commands

__all__ = ["Bashism", "CodeLine", "bashisms", "code_lines"]


@dataclass(frozen=True)
class Bashism:
    """One construct ash refuses: ``rule`` names it for the report, ``line`` is the script's line."""

    rule: str
    line: int


@dataclass(frozen=True)
class CodeLine:
    """A line of shell code: ``sq`` with single-quoted text blanked and comments removed, ``q`` with
    double-quoted text blanked too (quotes kept), heredoc bodies left out."""

    number: int
    sq: str
    q: str


_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def code_lines(text: str) -> list[CodeLine]:
    """The script's code lines (see :class:`CodeLine`): quoted text and comments cannot fire a rule."""
    out: list[CodeLine] = []
    quote: str | None = None  # a quote left open at the end of the previous line
    pending: list[str] = []  # heredoc terminators still to come
    in_heredoc: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if in_heredoc is not None:
            if raw.strip() == in_heredoc:
                in_heredoc = pending.pop(0) if pending else None
            continue
        sq: list[str] = []
        q: list[str] = []
        i, n = 0, len(raw)
        while i < n:
            ch = raw[i]
            if quote == "'":
                sq.append("'" if ch == "'" else " ")
                q.append("'" if ch == "'" else " ")
                quote = None if ch == "'" else quote
                i += 1
                continue
            if quote == '"':
                if ch == "\\" and i + 1 < n:
                    sq.append(raw[i : i + 2])
                    q.append("  ")
                    i += 2
                    continue
                sq.append(ch)
                q.append('"' if ch == '"' else " ")
                quote = None if ch == '"' else quote
                i += 1
                continue
            if ch == "\\" and i + 1 < n:
                sq.append(raw[i : i + 2])
                q.append(raw[i : i + 2])
                i += 2
                continue
            if ch == "#" and (i == 0 or raw[i - 1] in " \t;&|("):
                break
            if ch == "'" and not (i > 0 and raw[i - 1] == "$"):
                quote = "'"
            elif ch == "'" and i > 0 and raw[i - 1] == "$":
                quote = "'"  # $'…': its text is data too
            elif ch == '"':
                quote = '"'
            sq.append(ch)
            q.append(ch)
            i += 1
        line_sq, line_q = "".join(sq), "".join(q)
        out.append(CodeLine(number, line_sq, line_q))
        for m in _HEREDOC.finditer(line_q):
            if m.start() > 0 and line_q[m.start() - 1] == "<":
                continue  # <<< is a here-string, not a heredoc
            pending.append(m.group(2))
        if pending and in_heredoc is None:
            in_heredoc = pending.pop(0)
    return out


# ash.c ``optletters_optnames``: the only ``set -o`` names ash knows; any other is "illegal option -o X"
# and ``set`` fails (with ``set -e`` in effect the script stops there).
_ASH_SET_O = frozenset(
    {
        "errexit", "noglob", "ignoreeof", "monitor", "noexec", "xtrace", "verbose", "noclobber",
        "allexport", "notify", "nounset", "errtrace", "vi", "pipefail",
    }
)  # fmt: skip

# ash.c ``builtintab`` (searched with bsearch, the whole table read): no declare, typeset, shopt, mapfile,
# readarray, pushd, popd, disown, complete, compgen, caller; BusyBox has no applets by these names either,
# so ash answers "not found".
_NOT_BUILTINS = frozenset(
    {
        "declare",
        "typeset",
        "shopt",
        "mapfile",
        "readarray",
        "pushd",
        "popd",
        "disown",
        "compgen",
        "complete",
        "caller",
    }
)

_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # ash.c ``simplecmd``: after an assignment word a ``(`` is taken only as the ``()`` of a function
    # definition (``args && … && !vars``); ``a=(1 2)`` ends the command at ``(``: "syntax error: unexpected
    # "("". ``a[0]=x`` is not an assignment (``isassignment`` wants NAME=) and runs a command "a[0]=x".
    ("an array assignment", re.compile(r"(?:^|[\s;&|(])[A-Za-z_]\w*(?:\[[^\]]*\])?\+?=\("), "q"),
    ("an array element assignment", re.compile(r"(?:^|[\s;&|(])[A-Za-z_]\w*\[[^\]]*\]\+?="), "q"),
    # ash.c ``parsesub``: after ``${NAME`` only ``}`` ``-`` ``+`` ``?`` ``=`` ``:`` ``%`` ``#`` ``/`` are
    # known; ``[`` (``${a[@]}``), ``^``/``,`` (case change) and ``@`` (``${v@Q}``) go to ``badsub``:
    # "bad substitution" when expanded.
    ("an array expansion ${name[…]}", re.compile(r"\$\{#?[A-Za-z_]\w*\["), "sq"),
    ("a case-changing expansion ${name^^}/${name,,}", re.compile(r"\$\{[A-Za-z_]\w*(?:\^|,)"), "sq"),
    ("a ${name@…} transformation", re.compile(r"\$\{[A-Za-z_]\w*@"), "sq"),
    # ash.c ``parsesub``: ``${!`` reads ``!`` as the special parameter ``$!``; the name after it is not an
    # operator ("bad substitution"): no indirect expansion.
    ("an indirect expansion ${!name}", re.compile(r"\$\{![A-Za-z_]"), "sq"),
    # busybox-w32#128, initscripts#397: "syntax error: unexpected redirection"; ash.c ``parseredir`` reads
    # ``<<`` then only an optional ``-`` (no ``<<<`` case). A BusyBox newer than that source may add it.
    ("a here-string <<<", re.compile(r"<<<"), "q"),
    # ash.c ``xxreadtoken``: the doubled operators are ``&&`` ``||`` ``;;`` only; ``|&`` is ``|`` then ``&``
    # (unexpected "&").
    ("|& (pipe with stderr)", re.compile(r"\|&"), "q"),
    # ash.c ``parseredir``: ``&>`` (``NTO2``) consumes one ``>``; a second one starts another redirection
    # where a file name is expected: "syntax error: unexpected redirection".
    ("&>> (append stdout and stderr)", re.compile(r"&>>"), "q"),
    # initscripts#397 (BusyBox 1.32.1): "str+=: not found"; ash.c ``isassignment`` wants NAME= exactly.
    ("an append assignment name+=", re.compile(r"(?:^|[\s;&|(])[A-Za-z_]\w*\+=(?!\()"), "q"),
    # ash.c ``parse_command``: ``((`` is two nested subshells (``TLP``), so ``(( i++ ))`` runs a command
    # "i++"; ``for ((`` is "bad for loop variable" (``TFOR`` wants a NAME; initscripts#397 shows it).
    ("an arithmetic command (( … ))", re.compile(r"(?:^|[;&|]|\bthen|\bdo|\belse)\s*\(\("), "q"),
    ("a C-style for (( … ))", re.compile(r"\bfor\s*\(\("), "q"),
    # ash.c option table comment "bash 4.4.23 also has these opts: braceexpand on": ash has no brace
    # expansion; ``{1..3}``/``{a,b}`` stay literal words (no error: a wrong result). Quoted braces are
    # literal in bash too, so only the unquoted text is read.
    (
        "a brace expansion {a,b}/{1..3}",
        re.compile(r"(?<!\$)\{[\w./-]*(?:,[\w./-]*)+\}|(?<!\$)\{\w+\.\.\w+\}"),
        "q",
    ),
)


def _double_brackets(line: CodeLine) -> Iterator[str]:
    """The insides of ``[[ … ]]`` on a line, with quoted text blanked (``CodeLine.q``)."""
    for m in re.finditer(r"(?:^|[\s;&|(!])\[\[\s(.*?)\s\]\]", line.q):
        yield m.group(1)


def _blank_arithmetic(code: str) -> str:
    """``$(( … ))`` blanked: ash's arithmetic (``+=``, ``++``) is not shell syntax."""
    out = list(code)
    for m in re.finditer(r"\$\(\(", code):
        depth, i = 0, m.end()
        while i < len(code):
            if code[i] == "(":
                depth += 1
            elif code[i] == ")":
                if depth == 0 and code.startswith("))", i):
                    for k in range(m.end(), i):
                        out[k] = " "
                    break
                depth -= 1
            i += 1
    return "".join(out)


def bashisms(text: str) -> list[Bashism]:
    """The constructs of ``text`` BusyBox ash refuses or reads differently from bash, first line first."""
    found: list[Bashism] = []
    for line in code_lines(text):
        q = _blank_arithmetic(line.q)
        for rule, pattern, view in _RULES:
            if pattern.search(q if view == "q" else line.sq):
                found.append(Bashism(rule, line.number))
        for inside in _double_brackets(line):
            # ash.c BASH_TEST2 "TODO: singleword+noglob expansion: v='a b'; [[ $v = 'a b' ]]" and "( ) < >
            # should not have special meaning (IOW: should not require quoting)": an unquoted expansion is
            # split and globbed (an empty one vanishes: [[ -n $x ]] is then true), ( ) < > are shell syntax.
            if re.search(r"\$[\w{(@*#?!-]", inside):
                found.append(Bashism("[[ … ]] with an unquoted $expansion", line.number))
            elif re.search(r"[<>()]", inside):
                found.append(Bashism("[[ … ]] with an unquoted ( ) < or >", line.number))
        for cmd in split_commands(line.q):
            if not cmd.words:
                continue
            name = cmd.words[0]
            if name in _NOT_BUILTINS:
                found.append(Bashism(f"{name} (not an ash builtin)", line.number))
            elif name == "set":
                for i, word in enumerate(cmd.words[:-1]):
                    if word in ("-o", "+o") and cmd.words[i + 1] not in _ASH_SET_O:
                        found.append(Bashism(f"set -o {cmd.words[i + 1]} (not an ash option)", line.number))
    return found
