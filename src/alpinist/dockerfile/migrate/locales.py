"""Locales: Debian's ``locales`` + ``locale-gen`` become Alpine's ``musl-locales`` + ``MUSL_LOCPATH``.

On Debian a locale other than ``C``/``C.UTF-8`` must be generated (``locale-gen``, ``localedef``, or
``locales-all``) before ``LANG=de_DE.UTF-8`` means anything. On Alpine there is no locale generation:
musl's locale loader reads the locale files named by the ``MUSL_LOCPATH`` environment variable (musl's
``src/locale/locale_map.c``: ``getenv("MUSL_LOCPATH")``, no default path), and the ``musl-locales``
package (``main/musl-locales``, upstream CMake install prefix ``/usr/share/i18n/locales/musl``) provides
them. Its ``/etc/profile.d`` script sets the variable only for login shells, which a container's process
is not, so the migrated image sets it with ``ENV``.

What this module decides, for :mod:`.packages` (where apt packages are mapped) and the stage writers:

- :func:`is_locale_setup`: a ``RUN`` piece that generates locales (``locale-gen``, ``localedef``,
  ``update-locale``, ``dpkg-reconfigure locales``, a ``sed``/``echo`` of ``/etc/locale.gen`` or
  ``/etc/default/locale``): dropped, with a report line saying what replaces it.
- :func:`env_locales`: the locales an ``ENV`` selects (``LANG``, ``LC_ALL``, ``LANGUAGE``, ``LC_*``) other
  than ``C``/``POSIX``/``C.UTF-8``: they need ``musl-locales`` in the runtime; the ``ENV`` is kept.
- :func:`runtime_packages`: ``musl-locales`` when the apt packages or an ``ENV`` ask for locales, with the
  report's change line and the behavioural note (:data:`MUSL_LOCALE_NOTE`).
- :func:`env_lines`: ``ENV MUSL_LOCPATH=…`` after the ``apk add`` that installs ``musl-locales``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.model import Instruction
from alpinist.dockerfile.shell import command_name, strip_wrappers

__all__ = [
    "MUSL_LOCALES",
    "MUSL_LOCALE_NOTE",
    "MUSL_LOCPATH",
    "env_lines",
    "env_locales",
    "is_locale_setup",
    "locale_setup_note",
    "runtime_packages",
]

MUSL_LOCALES = "musl-locales"
MUSL_LOCPATH = "/usr/share/i18n/locales/musl"

#: What changes for the service (musl's locale support, not glibc's), said once in the report's notes.
MUSL_LOCALE_NOTE = (
    "locales on musl: every locale other than C/POSIX is UTF-8 (LC_CTYPE has no other character set); collation is byte "
    "order (strcoll is strcmp: LC_COLLATE has no effect, sorted() with locale.strxfrm sorts by code point); "
    "LC_NUMERIC and LC_MONETARY stay C (decimal point '.', no thousands grouping: locale.format_string and "
    "locale.currency do not localize); setlocale() accepts any locale name, even one musl-locales lacks; "
    "translated messages and day/month names (LC_MESSAGES, LC_TIME) come from musl-locales' catalogs, only "
    "for the languages it ships. Check the service's number, date and sorting output"
)

_SETUP_COMMANDS = frozenset({"locale-gen", "localedef", "update-locale"})
_LOCALE_FILES = ("/etc/locale.gen", "/etc/default/locale")
_LOCALE_VARS = frozenset(
    {
        "LANG",
        "LANGUAGE",
        "LC_ALL",
        "LC_CTYPE",
        "LC_COLLATE",
        "LC_MESSAGES",
        "LC_NUMERIC",
        "LC_MONETARY",
        "LC_TIME",
    }
)
_BUILTIN = re.compile(r"^(C|POSIX|C\.UTF-?8|C\.utf-?8)?$")


def is_locale_setup(words: tuple[str, ...]) -> bool:
    """Does this simple command generate or select locales the Debian way (nothing to do on Alpine)?"""
    ws = strip_wrappers(words)
    if not ws:
        return False
    name = command_name(ws)
    if name in _SETUP_COMMANDS:
        return True
    if name == "dpkg-reconfigure" and "locales" in ws[1:]:
        return True
    return name in ("sed", "echo", "printf", "tee", "cp", "ln") and any(
        w.startswith(_LOCALE_FILES) or w.endswith(_LOCALE_FILES) for w in ws[1:]
    )


def locale_setup_note(text: str) -> str:
    """The report line for a dropped locale-generation command."""
    return (
        f"`{text}` dropped: Alpine generates no locales; {MUSL_LOCALES} (runtime apk) provides them and "
        f"ENV MUSL_LOCPATH={MUSL_LOCPATH} makes musl read them (the input's LANG/LC_ALL ENV is kept)"
    )


def env_locales(instructions: Iterable[Instruction]) -> list[tuple[str, int]]:
    """``(locale, line)`` for each locale other than C/POSIX/C.UTF-8 an ``ENV`` of ``instructions`` sets."""
    out: list[tuple[str, int]] = []
    for ins in instructions:
        if ins.cmd != "ENV":
            continue
        for key, value in zip(ins.words[0::2], ins.words[1::2], strict=False):
            if key not in _LOCALE_VARS:
                continue
            for part in value.split(":"):  # LANGUAGE=de_DE:de
                if not _BUILTIN.match(part.strip()):
                    out.append((part.strip(), ins.line))
    return out


def runtime_packages(mapped_runtime: Iterable[str], env: Iterable[Instruction], c: Collector) -> list[str]:
    """``[musl-locales]`` to add to a stage's runtime packages when its ENV selects a locale the apt
    packages did not already bring (``locales``, ``locales-all`` map to it); records the report lines.
    Returns ``[]`` when nothing is to add (the note is still recorded when the apt mapping added it)."""
    have = MUSL_LOCALES in set(mapped_runtime)
    wanted = env_locales(env)
    if not have and not wanted:
        return []
    if wanted:
        names = ", ".join(dict.fromkeys(name for name, _ in wanted))
        how = "provided by" if have else "added to the runtime:"
        c.change(
            f"ENV selects {names}: kept; {how} {MUSL_LOCALES}, with ENV MUSL_LOCPATH={MUSL_LOCPATH}",
            wanted[0][1],
        )
    c.note(MUSL_LOCALE_NOTE)
    return [] if have else [MUSL_LOCALES]


def env_lines(packages: Iterable[str]) -> list[str]:
    """``ENV MUSL_LOCPATH=…`` when ``packages`` (an ``apk add`` of the output) installs musl-locales."""
    return [f"ENV MUSL_LOCPATH={MUSL_LOCPATH}"] if MUSL_LOCALES in set(packages) else []
