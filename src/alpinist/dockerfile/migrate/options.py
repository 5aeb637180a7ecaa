"""What ``alpinist migrate`` is asked: the Alpine target (``--to``) and the options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from alpinist.dockerfile.wheels import DEFAULT_INDEX_URL
from alpinist.errors import EXIT_USAGE, AlpinistError

#: The Alpine release used when ``--to alpine`` names none (the newest stable branch alpinist knows).
DEFAULT_ALPINE = "3.22"


NONROOT_UID = 65532


class MigrationTargetError(AlpinistError, ValueError):
    """``--to`` names a release alpinist does not know, or one no ``python:X.Y-alpineA.B`` exists for."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class AlpineRelease:
    """One Alpine release: its end of life (main repository), the ``python3`` it ships, and the Python
    minors the official image published ``python:X.Y-alpineA.B`` tags for (docker-library/python builds
    each maintained Python on the two newest Alpine releases of its time; docs/migrate.md)."""

    release: str
    end_of_life: date
    python3: str
    python_images: tuple[str, str]  # oldest and newest X.Y of python:X.Y-alpineA.B

    def has_python_image(self, py: str) -> bool:
        low, high = (_minor_key(v) for v in self.python_images)
        return low <= _minor_key(py) <= high


def _minor_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


#: The Alpine releases ``--to`` accepts (docs/migrate.md has this table).
ALPINE_RELEASES: tuple[AlpineRelease, ...] = (
    AlpineRelease("3.10", date(2021, 5, 1), "3.7", ("3.5", "3.8")),
    AlpineRelease("3.11", date(2021, 11, 1), "3.8", ("3.5", "3.8")),
    AlpineRelease("3.12", date(2022, 5, 1), "3.8", ("3.6", "3.9")),
    AlpineRelease("3.13", date(2022, 11, 1), "3.8", ("3.6", "3.9")),
    AlpineRelease("3.14", date(2023, 5, 1), "3.9", ("3.6", "3.10")),
    AlpineRelease("3.15", date(2023, 11, 1), "3.9", ("3.7", "3.11")),
    AlpineRelease("3.16", date(2024, 5, 23), "3.10", ("3.7", "3.11")),
    AlpineRelease("3.17", date(2024, 11, 22), "3.10", ("3.7", "3.12")),
    AlpineRelease("3.18", date(2025, 5, 9), "3.11", ("3.7", "3.12")),
    AlpineRelease("3.19", date(2025, 11, 1), "3.11", ("3.8", "3.13")),
    AlpineRelease("3.20", date(2026, 4, 1), "3.12", ("3.8", "3.13")),
    AlpineRelease("3.21", date(2026, 11, 1), "3.12", ("3.9", "3.14")),
    AlpineRelease("3.22", date(2027, 5, 1), "3.12", ("3.9", "3.14")),
    AlpineRelease("3.23", date(2027, 11, 1), "3.12", ("3.10", "3.14")),
)
_RELEASES = {r.release: r for r in ALPINE_RELEASES}


def alpine_release(release: str) -> AlpineRelease | None:
    return _RELEASES.get(release)


def check_python_image(py: str, release: str) -> None:
    """``MigrationTargetError`` when no ``python:{py}-alpine{release}`` was published, naming the Alpine
    releases that have one. A Python minor the table does not know (newer than it) is not refused."""
    if not re.fullmatch(r"\d+\.\d+", py):
        return
    valid = [r.release for r in ALPINE_RELEASES if r.has_python_image(py)]
    supported = [v for v in valid if _RELEASES[v].end_of_life >= date.today()]
    known = alpine_release(release)
    if not valid or known is None or known.has_python_image(py):
        return
    raise MigrationTargetError(
        f"--to alpine:{release}: no python:{py}-alpine{release} image exists (Alpine {release} "
        f"{'reached its end of life on' if known.end_of_life < date.today() else 'is supported until'} "
        f"{known.end_of_life.isoformat()}; its python:X.Y-alpine images are {known.python_images[0]} to "
        f"{known.python_images[1]}); for Python {py} choose alpine:{', alpine:'.join(supported or valid)}"
    )


DEFAULT_VENV = "/opt/venv"


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
    """``alpine`` → the default release; ``alpine:3.22``; ``alpine:3.22.2``. ``MigrationTargetError`` (a
    ValueError) otherwise, or for a release not in ``ALPINE_RELEASES``."""
    name, _, tag = value.strip().partition(":")
    if name != "alpine":
        raise MigrationTargetError(f"--to {value!r}: only alpine[:VERSION] is supported")
    if not tag:
        return AlpineTarget(DEFAULT_ALPINE, DEFAULT_ALPINE)
    m = re.fullmatch(r"(3\.\d+)(\.\d+)?", tag)
    if m is None:
        raise MigrationTargetError(
            f"--to {value!r}: give an Alpine release such as alpine:{DEFAULT_ALPINE} (not edge/latest)"
        )
    if alpine_release(m.group(1)) is None:
        raise MigrationTargetError(
            f"--to {value!r}: Alpine {m.group(1)} is not a release alpinist knows; choose one of "
            f"alpine:{', alpine:'.join(r.release for r in ALPINE_RELEASES)}"
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
