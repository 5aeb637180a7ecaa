"""What ``alpinist migrate`` is asked: the Alpine target (``--to``) and the options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from alpinist.dockerfile.wheels import DEFAULT_INDEX_URL

#: The Alpine release used when ``--to alpine`` names none (the newest stable branch alpinist knows).
DEFAULT_ALPINE = "3.22"


NONROOT_UID = 65532


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
    """``alpine`` → the default release; ``alpine:3.22``; ``alpine:3.22.2``. ValueError otherwise."""
    name, _, tag = value.strip().partition(":")
    if name != "alpine":
        raise ValueError(f"--to {value!r}: only alpine[:VERSION] is supported")
    if not tag:
        return AlpineTarget(DEFAULT_ALPINE, DEFAULT_ALPINE)
    m = re.fullmatch(r"(3\.\d+)(\.\d+)?", tag)
    if m is None:
        raise ValueError(
            f"--to {value!r}: give an Alpine release such as alpine:{DEFAULT_ALPINE} (not edge/latest)"
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
