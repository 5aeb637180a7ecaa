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

__all__ = ["APT_TO_APK", "AptMapping", "MappedPackages", "lookup", "map_packages", "split_apt_pin"]


@dataclass(frozen=True)
class AptMapping:
    """Where one apt package goes on Alpine: ``build`` packages for the builder, ``runtime`` for the final
    stage. Both empty: nothing to install on Alpine (``note`` says why)."""

    apt: str
    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    note: str = ""

    @property
    def dropped(self) -> bool:
        return not self.build and not self.runtime


def _m(apt: str, build: str = "", runtime: str = "", note: str = "") -> AptMapping:
    return AptMapping(apt, tuple(build.split()), tuple(runtime.split()), note)


_HEADERS = "Python's headers come with the python image; on the distro python3 the builder adds python3-dev"

#: The mapping table, in the order docs/migrate.md prints it (toolchain, libraries, tools, Python, plumbing).
APT_TO_APK: tuple[AptMapping, ...] = (
    # toolchain: builder only
    _m("build-essential", "build-base"),
    _m("gcc", "gcc musl-dev"),
    _m("g++", "g++ musl-dev"),
    _m("cpp", "gcc"),
    _m("make", "make"),
    _m("cmake", "cmake"),
    _m("ninja-build", "samurai", note="Alpine's ninja is samurai"),
    _m("pkg-config", "pkgconf"),
    _m("pkgconf", "pkgconf"),
    _m("autoconf", "autoconf"),
    _m("automake", "automake"),
    _m("libtool", "libtool"),
    _m("patch", "patch"),
    _m("gfortran", "gfortran"),
    _m("cargo", "cargo"),
    _m("rustc", "rust"),
    _m("libc6-dev", "musl-dev"),
    _m("libc-dev", "musl-dev"),
    _m("linux-libc-dev", "linux-headers"),
    _m(
        "git",
        "git",
        note="builder only (pip's VCS requirements); add it to the runtime if the service runs git",
    ),
    # libraries: headers in the builder, the shared library in the runtime
    _m("libpq-dev", "postgresql-dev", "libpq"),
    _m("libssl-dev", "openssl-dev", note="runtime libssl3 is already a dependency of Python"),
    _m("libffi-dev", "libffi-dev", "libffi"),
    _m("default-libmysqlclient-dev", "mariadb-dev", "mariadb-connector-c"),
    _m("libmariadb-dev", "mariadb-dev", "mariadb-connector-c"),
    _m("libmariadb-dev-compat", "mariadb-dev", "mariadb-connector-c"),
    _m("libxml2-dev", "libxml2-dev", "libxml2"),
    _m("libxslt1-dev", "libxslt-dev", "libxslt"),
    _m("zlib1g-dev", "zlib-dev", "zlib"),
    _m("libjpeg-dev", "jpeg-dev", "libjpeg-turbo"),
    _m("libjpeg62-turbo-dev", "jpeg-dev", "libjpeg-turbo"),
    _m("libpng-dev", "libpng-dev", "libpng"),
    _m("libfreetype-dev", "freetype-dev", "freetype"),
    _m("libfreetype6-dev", "freetype-dev", "freetype"),
    _m("libwebp-dev", "libwebp-dev", "libwebp"),
    _m("libtiff-dev", "tiff-dev", "tiff"),
    _m("libtiff5-dev", "tiff-dev", "tiff"),
    _m("liblcms2-dev", "lcms2-dev", "lcms2"),
    _m("libopenjp2-7-dev", "openjpeg-dev", "openjpeg"),
    _m("libyaml-dev", "yaml-dev", "yaml"),
    _m("libsqlite3-dev", "sqlite-dev", "sqlite-libs"),
    _m("libbz2-dev", "bzip2-dev", "libbz2"),
    _m("liblzma-dev", "xz-dev", "xz-libs"),
    _m("libreadline-dev", "readline-dev", "readline"),
    _m("libncurses-dev", "ncurses-dev", "ncurses-libs"),
    _m("libncurses5-dev", "ncurses-dev", "ncurses-libs"),
    _m("libsodium-dev", "libsodium-dev", "libsodium"),
    _m("libzmq3-dev", "zeromq-dev", "libzmq"),
    _m("libldap2-dev", "openldap-dev", "libldap"),
    _m("libsasl2-dev", "cyrus-sasl-dev", "libsasl"),
    _m("libcurl4-openssl-dev", "curl-dev", "libcurl"),
    _m("libkrb5-dev", "krb5-dev", "krb5-libs"),
    _m("libgmp-dev", "gmp-dev", "gmp"),
    _m("libopenblas-dev", "openblas-dev", "openblas"),
    _m("libblas-dev", "openblas-dev", "openblas"),
    _m("liblapack-dev", "lapack-dev", "lapack"),
    _m("libgeos-dev", "geos-dev", "geos"),
    _m("libmagic-dev", "file-dev", "libmagic"),
    _m("unixodbc-dev", "unixodbc-dev", "unixodbc"),
    _m("libevent-dev", "libevent-dev", "libevent"),
    _m("libuv1-dev", "libuv-dev", "libuv"),
    # runtime libraries
    _m("libpq5", runtime="libpq"),
    _m("libssl3", runtime="libssl3"),
    _m("libffi8", runtime="libffi"),
    _m("libmariadb3", runtime="mariadb-connector-c"),
    _m("libxml2", runtime="libxml2"),
    _m("libxslt1.1", runtime="libxslt"),
    _m("zlib1g", runtime="zlib"),
    _m("libjpeg62-turbo", runtime="libjpeg-turbo"),
    _m("libpng16-16", runtime="libpng"),
    _m("libyaml-0-2", runtime="yaml"),
    _m("libsqlite3-0", runtime="sqlite-libs"),
    _m("libmagic1", runtime="libmagic"),
    _m("libgomp1", runtime="libgomp"),
    _m("libstdc++6", runtime="libstdc++"),
    _m("libgcc-s1", runtime="libgcc"),
    _m("libsodium23", runtime="libsodium"),
    _m("libzmq5", runtime="libzmq"),
    _m("libopenblas0", runtime="openblas"),
    # tools the service may run
    _m("curl", runtime="curl"),
    _m("wget", runtime="wget", note="BusyBox in every Alpine image has a smaller wget already"),
    _m("ca-certificates", runtime="ca-certificates"),
    _m("tzdata", runtime="tzdata"),
    _m("netcat-openbsd", runtime="netcat-openbsd"),
    _m("bash", runtime="bash"),
    _m("procps", runtime="procps"),
    _m("iputils-ping", runtime="iputils"),
    _m("dnsutils", runtime="bind-tools"),
    _m("bind9-dnsutils", runtime="bind-tools"),
    _m("openssl", runtime="openssl"),
    _m("openssh-client", runtime="openssh-client"),
    _m("gnupg", runtime="gnupg"),
    _m("jq", runtime="jq"),
    _m("less", runtime="less"),
    _m("vim", runtime="vim"),
    _m("nano", runtime="nano"),
    _m("unzip", runtime="unzip"),
    _m("zip", runtime="zip"),
    _m("xz-utils", runtime="xz"),
    _m("file", runtime="file"),
    _m("rsync", runtime="rsync"),
    _m("gettext-base", runtime="gettext"),
    _m("tini", runtime="tini"),
    _m("dumb-init", runtime="dumb-init"),
    _m("ffmpeg", runtime="ffmpeg"),
    _m("postgresql-client", runtime="postgresql-client"),
    _m("default-mysql-client", runtime="mariadb-client"),
    _m("mariadb-client", runtime="mariadb-client"),
    _m("redis-tools", runtime="redis"),
    _m("sqlite3", runtime="sqlite"),
    # Python from the distribution
    _m("python3", runtime="python3"),
    _m("python3-dev", "python3-dev", note=_HEADERS),
    _m("python3-pip", runtime="py3-pip"),
    _m("python3-venv", note="the venv module is part of Alpine's python3"),
    _m("python-is-python3", note="the virtual environment provides python"),
    # apt plumbing with no Alpine meaning
    _m("apt-transport-https", note="apt plumbing"),
    _m("apt-utils", note="apt plumbing"),
    _m("software-properties-common", note="apt plumbing"),
    _m("lsb-release", note="Debian release helper"),
    _m("debian-archive-keyring", note="apt plumbing"),
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


def lookup(apt_name: str) -> AptMapping | None:
    """The mapping of one apt package name (without version), or None when it is not in the table."""
    return _BY_NAME.get(apt_name)


@dataclass(frozen=True)
class MappedPackages:
    """The result of mapping the packages of one or more ``apt-get install`` commands.

    ``build``/``runtime``: apk names, first-seen order, no duplicates. ``unmapped``: words as written that
    the table does not know (or that are not package names). ``dropped``: mappings with nothing to install.
    ``pins``: ``(word, apt package)`` for version/arch/release selectors that could not be carried over.
    """

    build: tuple[str, ...]
    runtime: tuple[str, ...]
    mapped: tuple[AptMapping, ...]
    unmapped: tuple[str, ...]
    dropped: tuple[AptMapping, ...]
    pins: tuple[tuple[str, str], ...]


def map_packages(words: tuple[str, ...] | list[str]) -> MappedPackages:
    """Map apt package words (as written after ``apt-get install``) to Alpine builder/runtime packages."""
    build: dict[str, None] = {}
    runtime: dict[str, None] = {}
    mapped: dict[str, AptMapping] = {}
    unmapped: dict[str, None] = {}
    dropped: dict[str, AptMapping] = {}
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
    )
