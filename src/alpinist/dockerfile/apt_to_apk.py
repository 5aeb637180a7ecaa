"""Debian/Ubuntu (apt) package names to Alpine (apk) package names, for ``alpinist migrate``.

Each entry says which Alpine packages the **builder** stage needs (headers, compilers, build tools) and
which the **runtime** stage needs (shared libraries the built extensions load, tools the service runs).
A ``-dev`` package therefore maps to its Alpine ``-dev`` package in the builder *and* to the library it
links against in the runtime: ``libpq-dev`` → builder ``postgresql-dev``, runtime ``libpq``, because
``psycopg2`` compiled in the builder loads ``libpq.so`` at run time.

A package missing from the table is **reported as unmapped, never guessed**: Alpine names follow no rule
a program could apply safely (``libxslt1-dev`` → ``libxslt-dev`` but ``libjpeg62-turbo-dev`` →
``jpeg-dev``, ``dnsutils`` → ``bind-tools``). Entries with neither builder nor runtime packages are apt
plumbing with no meaning on Alpine (``apt-transport-https``, ``python3-venv``): they are dropped, with
their note in the report.

The same table is printed in ``docs/migrate.md`` (a test checks the two agree).

============================  ============================  ============================
apt                           builder (apk)                 runtime (apk)
============================  ============================  ============================
build-essential               build-base
gcc                           gcc musl-dev
g++                           g++ musl-dev
make                          make
libpq-dev                     postgresql-dev                libpq
libssl-dev                    openssl-dev
libffi-dev                    libffi-dev                    libffi
default-libmysqlclient-dev    mariadb-dev                   mariadb-connector-c
libxml2-dev                   libxml2-dev                   libxml2
libxslt1-dev                  libxslt-dev                   libxslt
zlib1g-dev                    zlib-dev                      zlib
libjpeg-dev                   jpeg-dev                      libjpeg-turbo
curl                                                        curl
============================  ============================  ============================

(abridged: :data:`APT_TO_APK` holds every entry; ``docs/migrate.md`` lists them all.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "APT_TO_APK",
    "AptMapping",
    "Coverage",
    "MappedPackages",
    "coverage",
    "lookup",
    "map_packages",
    "markdown_table",
    "split_apt_pin",
]


@dataclass(frozen=True)
class AptMapping:
    """Where one apt package goes on Alpine: ``build`` packages for the builder, ``runtime`` for the final
    stage. Both empty: nothing to install on Alpine (``note`` says why) or, when ``unavailable``, no Alpine
    package exists (reported, not installed). ``evidence``: the aports APKBUILD the entry was checked
    against (empty for some entries that predate the check)."""

    apt: str
    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    note: str = ""
    unavailable: bool = False
    evidence: str = ""

    @property
    def dropped(self) -> bool:
        return not self.build and not self.runtime and not self.unavailable

    @property
    def status(self) -> str:
        """``mapped``, ``dropped`` or ``none`` (the data file's status column)."""
        if self.unavailable:
            return "none"
        return "dropped" if self.dropped else "mapped"


_STATUSES = frozenset({"mapped", "dropped", "none"})


def _load(text: str) -> tuple[AptMapping, ...]:
    """The rows of ``data/apt_to_apk.tsv``: ``apt, builder, runtime, status, note, evidence``, ``#`` comments
    and the header line skipped. Raises ValueError naming the line for a malformed row."""
    out: list[AptMapping] = []
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != 6:
            raise ValueError(f"apt_to_apk.tsv row {lineno}: {len(cells)} columns, expected 6")
        apt, build, runtime, status, note, evidence = cells
        if status not in _STATUSES or (status == "mapped") != bool(build or runtime):
            raise ValueError(f"apt_to_apk.tsv row {lineno}: status {status!r} does not fit {apt}")
        out.append(
            AptMapping(apt, tuple(build.split()), tuple(runtime.split()), note, status == "none", evidence)
        )
    return tuple(out)


#: The mapping table, in the order docs/migrate.md prints it (toolchain, libraries, tools, Python, plumbing,
#: then the entries added from the frequency list with their aports evidence). Read once from
#: ``data/apt_to_apk.tsv``, shipped with the package.
APT_TO_APK: tuple[AptMapping, ...] = _load(
    resources.files("alpinist.dockerfile").joinpath("data/apt_to_apk.tsv").read_text(encoding="utf-8")
)

_BY_NAME = {m.apt: m for m in APT_TO_APK}
if len(_BY_NAME) != len(APT_TO_APK):  # pragma: no cover - guards edits of the table
    raise RuntimeError("duplicate apt name in APT_TO_APK")

# ``name=version``, ``name:arch``, ``name/release``: apt's selectors (the version cannot carry over)
_APT_PIN = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9+.-]*)(?::(?P<arch>[a-z0-9-]+))?(?:(?P<sel>[=/])(?P<what>.+))?$"
)


def split_apt_pin(word: str) -> tuple[str, str | None]:
    """``curl=7.88.1-10+deb12u8`` → (``curl``, ``=7.88.1-10+deb12u8``); ``curl`` → (``curl``, None).

    Raises ValueError for a word that is not an apt package name (a ``$VARIABLE``, a glob, a path).
    """
    match = _APT_PIN.match(word)
    if match is None:
        raise ValueError(word)
    sel = match.group("sel")
    arch = match.group("arch")
    extra = (f":{arch}" if arch else "") + (f"{sel}{match.group('what')}" if sel else "")
    return match.group("name"), extra or None


# Paths a mapped package keeps elsewhere on Alpine: (apt name, Debian path, where Alpine's package has it).
# A Dockerfile that names the Debian path (a COPY destination, a -c option) breaks on Alpine. Evidence:
# aports main/supervisor/APKBUILD@0c1f5197 installs its own supervisord.conf as /etc/supervisord.conf, whose
# [include] is `files = /etc/supervisor.d/*.ini` (main/supervisor/supervisord.conf@8a5ac0dc).
MOVED_PATHS: tuple[tuple[str, str, str], ...] = (
    ("supervisor", "/etc/supervisor/supervisord.conf", "/etc/supervisord.conf"),
    ("supervisor", "/etc/supervisor/conf.d/", "/etc/supervisor.d/ (files named *.ini)"),
)


def lookup(apt_name: str) -> AptMapping | None:
    """The mapping of one apt package name (without version), or None when it is not in the table."""
    return _BY_NAME.get(apt_name)


@dataclass(frozen=True)
class MappedPackages:
    """The result of mapping the packages of one or more ``apt-get install`` commands.

    ``build``/``runtime``: apk names, first-seen order, no duplicates. ``unmapped``: words as written that
    the table does not know (or that are not package names). ``dropped``: mappings with nothing to install.
    ``pins``: ``(word, apt package)`` for version/arch/release selectors that could not be carried over.
    ``unavailable``: entries the table knows have no Alpine package (not installed; ``note`` says why).
    """

    build: tuple[str, ...]
    runtime: tuple[str, ...]
    mapped: tuple[AptMapping, ...]
    unmapped: tuple[str, ...]
    dropped: tuple[AptMapping, ...]
    pins: tuple[tuple[str, str], ...]
    unavailable: tuple[AptMapping, ...] = ()


def map_packages(words: tuple[str, ...] | list[str]) -> MappedPackages:
    """Map apt package words (as written after ``apt-get install``) to Alpine builder/runtime packages."""
    build: dict[str, None] = {}
    runtime: dict[str, None] = {}
    mapped: dict[str, AptMapping] = {}
    unmapped: dict[str, None] = {}
    dropped: dict[str, AptMapping] = {}
    unavailable: dict[str, AptMapping] = {}
    pins: list[tuple[str, str]] = []
    for word in words:
        try:
            name, pin = split_apt_pin(word)
        except ValueError:
            unmapped[word] = None
            continue
        entry = _BY_NAME.get(name)
        if entry is None:
            unmapped[word] = None
            continue
        if entry.unavailable:
            unavailable[name] = entry
            continue
        if pin is not None:
            pins.append((word, name))
        if entry.dropped:
            dropped[name] = entry
            continue
        mapped[name] = entry
        build.update(dict.fromkeys(entry.build))
        runtime.update(dict.fromkeys(entry.runtime))
    return MappedPackages(
        tuple(build),
        tuple(runtime),
        tuple(mapped.values()),
        tuple(unmapped),
        tuple(dropped.values()),
        tuple(pins),
        tuple(unavailable.values()),
    )


def _short_evidence(evidence: str) -> str:
    """``main/mesa/APKBUILD@85aac2168…; subpackages= at …: mesa-gl …`` → ``main/mesa@85aac2168 (mesa-gl …)``."""
    if not evidence or evidence.startswith("not in aports"):
        return evidence
    head, _, subs = evidence.partition("; subpackages= at ")
    path, _, commit = head.partition("@")
    short = f"{path.removesuffix('/APKBUILD')}@{commit[:10]}"
    if subs:
        short += f" (subpackages at {subs[:10]}: {subs.partition(': ')[2]})"
    return short


def markdown_table() -> str:
    """The table as docs/migrate.md prints it (generated from the data, checked by a test)."""
    lines = ["| apt | builder (apk) | runtime (apk) | note | aports evidence |", "|---|---|---|---|---|"]
    for m in APT_TO_APK:
        build = " ".join(f"`{p}`" for p in m.build)
        runtime = " ".join(f"`{p}`" for p in m.runtime)
        note = ("**no Alpine package**: " if m.unavailable else "") + m.note
        lines.append(f"| `{m.apt}` | {build} | {runtime} | {note} | {_short_evidence(m.evidence)} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Coverage:
    """How much of a frequency list (apt names, most installed first) the table covers."""

    names: int
    mapped: int
    dropped: int
    unavailable: int
    absent: tuple[str, ...]
    installs: int = 0
    installs_mapped: int = 0

    def sentence(self) -> str:
        return (
            f"{self.names} names: {self.mapped} mapped, {self.dropped} dropped (nothing to install on Alpine), "
            f"{self.unavailable} with no Alpine package, {len(self.absent)} not in the table"
        )

    def weighted(self) -> str:
        share = 100 * self.installs_mapped / self.installs if self.installs else 0.0
        return f"{self.installs_mapped} of {self.installs} installs mapped ({share:.1f} %)"


def coverage(counts: dict[str, int] | list[str] | tuple[str, ...]) -> Coverage:
    """Count apt names by what the table does with them; with ``{name: dockerfiles}`` also the installs
    (a name counted once per Dockerfile that installs it) the table maps."""
    weights = counts if isinstance(counts, dict) else dict.fromkeys(counts, 1)
    mapped = dropped = unavailable = installs_mapped = 0
    absent: list[str] = []
    for name, n in weights.items():
        entry = _BY_NAME.get(name)
        if entry is None:
            absent.append(name)
        elif entry.unavailable:
            unavailable += 1
        elif entry.dropped:
            dropped += 1
        else:
            mapped += 1
            installs_mapped += n
    return Coverage(
        len(weights), mapped, dropped, unavailable, tuple(absent), sum(weights.values()), installs_mapped
    )
