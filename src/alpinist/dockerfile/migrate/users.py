"""Users: Debian's ``useradd``/``groupadd``/``adduser``/``addgroup`` → BusyBox, ``USER name`` → ``uid:gid``,
the ``nonroot`` user (uid/gid 65532) alpinist adds when the input runs as root."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.migrate.options import NONROOT_UID
from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.migrate.text import run_text, source_lines
from alpinist.dockerfile.model import Instruction, Stage
from alpinist.dockerfile.shell import command_name, strip_wrappers

if TYPE_CHECKING:
    from alpinist.dockerfile.migrate.runs import Piece


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
class UserOp:
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


def _translate_groupadd(name: str, args: list[str]) -> UserOp:
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
                    return UserOp(None, f"{name} {a} without a value")
                val = args[i + 1]
                i += 1
            gid = val
            out += ["-g", val]
        elif a in ("-f", "--force", "--quiet", "-q"):
            pass
        elif a.startswith("-"):
            return UserOp(None, f"{name} option {a} has no BusyBox addgroup equivalent")
        elif target is None:
            target = a
        else:
            return UserOp(None, f"{name}: unexpected argument {a}")
        i += 1
    if target is None:
        return UserOp(None, f"{name} without a group name")
    return UserOp(_sh_join([*out, target]), group=target, gid=gid)


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


def translate_useradd(words: tuple[str, ...]) -> UserOp:
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
                    return UserOp(None, f"{name} {a} without a value")
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
            return UserOp(None, f"{name} option {a} has no BusyBox adduser equivalent")
        elif user is None:
            user = a
        elif name == "adduser" and "group" not in values:
            return UserOp(_sh_join(["addgroup", user, _group_name(a)]))  # Debian ``adduser USER GROUP``
        else:
            return UserOp(None, f"{name}: unexpected argument {a}")
        i += 1
    if user is None:
        return UserOp(None, f"{name} without a user name")
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
    return UserOp(text, user=user, uid=uid, group=group, gid=gid, note=note)


def is_root_user(user: str | None) -> bool:
    return user is None or bool(re.match(r"^(root|0)(:.*)?$", user.strip()))


def _users_created(pieces: Iterable[Piece]) -> tuple[dict[str, UserOp], dict[str, str]]:
    users: dict[str, UserOp] = {}
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


def numeric_user(value: str, pieces: Iterable[Piece]) -> str | None:
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


#: The commands that create alpinist's ``nonroot`` user (uid and gid 65532, no home, no password).
NONROOT_COMMANDS = (
    f"addgroup -g {NONROOT_UID} -S nonroot",
    f"adduser -S -D -H -u {NONROOT_UID} -G nonroot nonroot",
)
NONROOT_USER = f"USER {NONROOT_UID}:{NONROOT_UID}"


def nonroot_lines(escape: str) -> list[str]:
    """The ``RUN`` that creates ``nonroot`` and the ``USER`` that switches to it."""
    return [run_text(NONROOT_COMMANDS, escape), NONROOT_USER]


def user_line(ins: Instruction, stage: Stage, text: str, pieces: Sequence[Piece], c: Collector) -> str:
    """A kept ``USER``: ``USER app`` as ``USER uid:gid`` when the Dockerfile creates ``app`` with a uid,
    else as written."""
    value = expand_word(ins.words[0] if ins.words else ins.value, stage.env).value
    numeric = numeric_user(value, pieces)
    if numeric is not None and numeric != value:
        c.change(f"USER {value} → USER {numeric} (numeric, so runAsNonRoot can verify it)", ins.line)
        return f"USER {numeric}"
    return source_lines(text, ins)
