"""A small reader of the shell in ``RUN``: simple commands, the operators between them, package operations.

Built on :mod:`shlex` (stdlib, POSIX quoting, ``punctuation_chars`` for ``&& || ; | &`` and redirections).
It is not a shell parser: no expansions, subshells are flattened, ``$(…)`` stays as text. ``bashlex`` was
considered and not used: it raises on common Dockerfile constructs (heredoc bodies, some ``case``/
``[[``), and a lint must not fail on a RUN it half understands. Unbalanced quotes fall back to splitting
on whitespace.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from alpinist.dockerfile.model import Instruction, Stage

__all__ = [
    "WRAPPERS",
    "PackageOperation",
    "ShellCommand",
    "command_name",
    "package_operations",
    "split_commands",
    "stage_package_operations",
    "strip_wrappers",
]

_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "\n", ";;", "|&"})
_REDIRECTS = frozenset({">", ">>", "<", "<<", ">&", "<&", "&>", "&>>", ">|", "<>", "<<<"})


@dataclass(frozen=True)
class ShellCommand:
    """One simple command: its words (quotes removed), and the operator that joins it to the next one
    (``&&``, ``||``, ``;``, ``|``, ``&``, ``\\n``, or ``None`` at the end). Redirections are dropped."""

    words: tuple[str, ...]
    op: str | None = None

    @property
    def name(self) -> str:
        return command_name(self.words)


@functools.lru_cache(maxsize=65536)
def split_commands(script: str) -> tuple[ShellCommand, ...]:
    """Split a shell script into simple commands (see module doc for the limits). Cached: every rule
    reads the same RUNs."""
    script = script.replace("\\\r\n", " ").replace("\\\n", " ")
    try:
        lex = shlex.shlex(script, posix=True, punctuation_chars=";&|<>()\n")
        lex.whitespace_split = True
        lex.whitespace = " \t\r"
        lex.commenters = ""
        tokens = list(lex)
    except ValueError:  # unbalanced quotes: fall back to words
        tokens = script.replace("\n", " \n ").split(" ")
        tokens = [t for t in tokens if t]
    commands: list[ShellCommand] = []
    words: list[str] = []
    in_comment = False
    skip_next = False
    for tok in tokens:
        if tok == "\n":
            in_comment = False
        if in_comment:
            continue
        if skip_next:
            skip_next = False
            continue
        if tok in _OPERATORS:
            if words:
                commands.append(ShellCommand(tuple(words), tok))
                words = []
            elif commands and tok != "\n" and commands[-1].op == "\n":
                commands[-1] = ShellCommand(commands[-1].words, tok)
            continue
        if tok in _REDIRECTS:
            if words and words[-1].isdigit():
                words.pop()
            skip_next = True
            continue
        if tok in ("(", ")", "{", "}"):
            continue
        if tok.startswith("#"):
            in_comment = True
            continue
        words.append(tok)
    if words:
        commands.append(ShellCommand(tuple(words), None))
    return tuple(commands)


#: Prefixes that run the next word as the program: ``sudo -u x``, ``env``, ``exec``, ``timeout 5``…
WRAPPERS = frozenset(
    {"sudo", "env", "time", "nice", "nohup", "exec", "command", "doas", "su-exec", "gosu", "timeout"}
)
_WRAPPER_ARG_OPTS = frozenset({"-u", "-g", "-n", "-C", "-h", "-p", "-U"})
_TIMEOUT_ARG_OPTS = frozenset({"-s", "--signal", "-k", "--kill-after"})


def strip_wrappers(words: Iterable[str]) -> tuple[str, ...]:
    """Drop leading ``VAR=value`` assignments and wrappers (``sudo -u x``, ``env``, ``time``, ``nice``,
    ``timeout 5``…)."""
    ws = list(words)
    i = 0
    while i < len(ws):
        w = ws[i]
        if "=" in w and not w.startswith("-") and w.split("=", 1)[0].replace("_", "").isalnum():
            i += 1
        elif (wrapper := w.rsplit("/", 1)[-1]) in WRAPPERS:
            i += 1
            arg_opts = _TIMEOUT_ARG_OPTS if wrapper == "timeout" else _WRAPPER_ARG_OPTS
            while i < len(ws) and ws[i].startswith("-"):
                i += 2 if ws[i] in arg_opts else 1
            if wrapper == "timeout" and i < len(ws):
                i += 1  # the duration
        else:
            break
    return tuple(ws[i:])


def command_name(words: Iterable[str]) -> str:
    """Basename of the command run, after wrappers: ``/usr/bin/apt-get`` → ``apt-get``."""
    ws = strip_wrappers(words)
    return ws[0].rsplit("/", 1)[-1] if ws else ""


@dataclass(frozen=True)
class PackageOperation:
    """A package manager invocation found in a ``RUN``.

    ``manager``: ``apt`` (apt-get/apt/aptitude), ``apk``, ``pip`` (pip, pip3, ``python -m pip``,
    ``uv pip``), ``dnf``/``yum``/``microdnf``. ``action``: ``install``, ``remove``, ``update`` (index),
    ``upgrade``; pip also ``download`` and ``wheel`` (``pip wheel``: builds or fetches wheels into
    ``-w DIR``, installs nothing). ``packages``: as written (``curl=7.88*``, ``flask==3.0.3``); ``names``
    without version. ``options``: every option word as written (an option's separate value joined to it:
    ``-w /wheels``, ``--wheel-dir=/wheels``). ``requirement_files``: pip ``-r`` files.
    """

    manager: str
    action: str
    packages: tuple[str, ...]
    options: tuple[str, ...]
    line: int
    instruction: Instruction
    requirement_files: tuple[str, ...] = ()
    command: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        out = []
        for p in self.packages:
            name = p
            for sep in ("==", "~=", ">=", "<=", "!=", "===", "=", "~", ">", "<", "@", "["):
                name = name.split(sep, 1)[0]
            out.append(name.strip())
        return tuple(n for n in out if n)

    def has_option(self, *opts: str) -> bool:
        for o in self.options:
            key = o.split("=", 1)[0]
            if key in opts:
                return True
        return False


# options that take a separate argument, per manager (so the argument is not read as a package)
_APT_ARG = frozenset({"-o", "-t", "-c", "--option", "--target-release", "--config-file", "--default-release"})
_APK_ARG = frozenset(
    {
        "-t",
        "--virtual",
        "-X",
        "--repository",
        "-p",
        "--root",
        "--keys-dir",
        "--arch",
        "--cache-dir",
        "--repositories-file",
    }
)
_PIP_ARG = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--trusted-host",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--only-binary",
        "--no-binary",
        "--progress-bar",
        "--src",
        "--upgrade-strategy",
        "--cache-dir",
        "--log",
        "--proxy",
        "--retries",
        "--timeout",
        "--exists-action",
        "--cert",
        "--client-cert",
        "--report",
        "--config-settings",
        "-C",
        "--python",
        "--global-option",
        "--build-option",
        "-w",  # pip wheel's output directory
        "--wheel-dir",
        "-d",  # pip download's
        "--dest",
    }
)
_DNF_ARG = frozenset(
    {"--setopt", "--enablerepo", "--disablerepo", "--installroot", "--releasever", "-c", "--config"}
)

_APT_ACTIONS = {
    "install": "install",
    "remove": "remove",
    "purge": "remove",
    "autoremove": "remove",
    "update": "update",
    "upgrade": "upgrade",
    "dist-upgrade": "upgrade",
    "full-upgrade": "upgrade",
}
_APK_ACTIONS = {"add": "install", "del": "remove", "update": "update", "upgrade": "upgrade"}
_PIP_ACTIONS = {"install": "install", "uninstall": "remove", "download": "download", "wheel": "wheel"}
_DNF_ACTIONS = {
    "install": "install",
    "remove": "remove",
    "erase": "remove",
    "update": "upgrade",
    "upgrade": "upgrade",
    "makecache": "update",
}


def _classify(words: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """(manager, words after the manager's own name) or None."""
    if not words:
        return None
    name = words[0].rsplit("/", 1)[-1]
    if name in ("apt-get", "apt", "aptitude"):
        return "apt", words[1:]
    if name == "apk":
        return "apk", words[1:]
    if name in ("dnf", "yum", "microdnf", "tdnf"):
        return name, words[1:]
    if name == "pip" or (name.startswith("pip") and name[3:].replace(".", "").isdigit()):
        return "pip", words[1:]
    if name == "python" or (name.startswith("python") and name[6:].replace(".", "").isdigit()):
        rest = list(words[1:])
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            rest.pop(0)
        if len(rest) >= 2 and rest[0] == "-m" and rest[1] == "pip":
            return "pip", tuple(rest[2:])
        if rest and rest[0].startswith("-mpip"):
            return "pip", tuple(rest[1:])
        return None
    if name == "uv" and len(words) > 1 and words[1] == "pip":
        return "pip", words[2:]
    return None


def _parse_operation(
    manager: str, rest: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    """(action, packages, options, requirement files) for the manager's sub-command, or None."""
    if manager == "apt":
        arg_opts, actions = _APT_ARG, _APT_ACTIONS
    elif manager == "apk":
        arg_opts, actions = _APK_ARG, _APK_ACTIONS
    elif manager == "pip":
        arg_opts, actions = _PIP_ARG, _PIP_ACTIONS
    else:
        arg_opts, actions = _DNF_ARG, _DNF_ACTIONS
    options: list[str] = []
    packages: list[str] = []
    reqs: list[str] = []
    action: str | None = None
    i = 0
    while i < len(rest):
        w = rest[i]
        if w.startswith("-") and len(w) > 1:
            key = w.split("=", 1)[0]
            if key in arg_opts and "=" not in w and i + 1 < len(rest):
                options.append(f"{w}={rest[i + 1]}" if w.startswith("--") else f"{w} {rest[i + 1]}")
                if key in ("-r", "--requirement"):
                    reqs.append(rest[i + 1])
                i += 2
                continue
            if key in ("--requirement",) and "=" in w:
                reqs.append(w.split("=", 1)[1])
            if key == "-r" and len(w) > 2:
                reqs.append(w[2:])
            options.append(w)
        elif action is None:
            if w not in actions:
                return None
            action = actions[w]
        else:
            packages.append(w)
        i += 1
    if action is None:
        return None
    if manager == "apk" and action == "install":
        # ``apk add --virtual .build-deps gcc``: the virtual name is an option argument (handled above)
        pass
    return action, tuple(packages), tuple(options), tuple(reqs)


@functools.lru_cache(maxsize=65536)
def package_operations(ins: Instruction) -> tuple[PackageOperation, ...]:
    """Package operations in a ``RUN`` (shell form, ``sh -c`` exec form, or heredoc script)."""
    if ins.cmd != "RUN":
        return ()
    if isinstance(ins.args, tuple) and ins.shell_script is None:
        commands: tuple[ShellCommand, ...] = (ShellCommand(ins.args),)
    else:
        commands = split_commands(ins.shell_script or "")
    out: list[PackageOperation] = []
    for cmd in commands:
        words = strip_wrappers(cmd.words)
        found = _classify(words)
        if found is None:
            continue
        manager, rest = found
        parsed = _parse_operation(manager, rest)
        if parsed is None:
            continue
        action, packages, options, reqs = parsed
        out.append(PackageOperation(manager, action, packages, options, ins.line, ins, reqs, words))
    return tuple(out)


def stage_package_operations(
    stage: Stage, manager: str | None = None, action: str | None = None
) -> tuple[PackageOperation, ...]:
    """Every package operation of a stage's ``RUN``s, filtered by manager and/or action."""
    out: list[PackageOperation] = []
    for ins in stage.runs:
        for op in package_operations(ins):
            if (manager is None or op.manager == manager) and (action is None or op.action == action):
                out.append(op)
    return tuple(out)
