"""Facts about base images and distributions that lint and migrate need, each with where it comes from.

``DISTRO_PYTHON``: the Python ``major.minor`` of a release's own ``python3`` package. Sources:

- **Debian 11/12/13**: verified with Debian's apt from this workplace (``apt-cache madison python3``
  against ``deb.debian.org`` bullseye/bookworm/trixie main, amd64): ``3.9.2-3``, ``3.11.2-1+b1``,
  ``3.13.5-1``. Debian 12 also in the corpus: ``expected/python-app_debian/packages.tsv`` lists
  ``python3 3.11.2-1+b1``.
- **Alpine 3.20, 3.22, 3.23**: the corpus' secdb records of ``python3`` on each branch
  (``advisories/raw/alpine-secdb/secdb-v3.{20,22,23}-main.subset.json`` and
  ``vuln-list/alpine/3.{20,22,23}/main/python3.json``): secfixes are written in the branch's APKBUILD,
  and the newest key of each branch is a 3.12 release (v3.20 ``3.12.11-r0``, v3.22 ``3.12.15-r0``,
  v3.23 ``3.12.11-r0``), with no 3.13 key. Alpine's APKINDEX is not reachable here.
- **Alpine 3.18, 3.19, 3.21, Ubuntu 22.04, 24.04**: not verifiable from this workplace (the corpus has
  no python3 record for those branches; only Debian's archive is reachable). Taken from the
  distributions' release notes (Alpine 3.18/3.19: Python 3.11; 3.21: 3.12; Ubuntu jammy: 3.10, noble:
  3.12) and marked ``verified=False``.

``python:X.Y[...]`` Docker Official Images carry their own CPython in ``/usr/local``; the tag names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alpinist.dockerfile.model import ImageName

__all__ = [
    "DISTRO_PYTHON",
    "BaseFacts",
    "DistroPython",
    "base_facts",
    "distro_python",
    "image_distro",
    "image_python",
]


@dataclass(frozen=True)
class DistroPython:
    distro: str
    release: str
    python: str
    package_version: str | None
    source: str
    verified: bool


_APT = "Debian apt, deb.debian.org {suite}/main amd64 (apt-cache madison python3)"
_SECDB = "corpus secdb {branch}/main python3: newest secfix {key}"
_NOTES = "{distro} release notes (not verifiable here)"

DISTRO_PYTHON: tuple[DistroPython, ...] = (
    DistroPython("alpine", "3.18", "3.11", None, _NOTES.format(distro="Alpine 3.18"), False),
    DistroPython("alpine", "3.19", "3.11", None, _NOTES.format(distro="Alpine 3.19"), False),
    DistroPython("alpine", "3.20", "3.12", None, _SECDB.format(branch="v3.20", key="3.12.11-r0"), True),
    DistroPython("alpine", "3.21", "3.12", None, _NOTES.format(distro="Alpine 3.21"), False),
    DistroPython("alpine", "3.22", "3.12", None, _SECDB.format(branch="v3.22", key="3.12.15-r0"), True),
    DistroPython("alpine", "3.23", "3.12", None, _SECDB.format(branch="v3.23", key="3.12.11-r0"), True),
    DistroPython("debian", "11", "3.9", "3.9.2-3", _APT.format(suite="bullseye"), True),
    DistroPython("debian", "12", "3.11", "3.11.2-1+b1", _APT.format(suite="bookworm"), True),
    DistroPython("debian", "13", "3.13", "3.13.5-1", _APT.format(suite="trixie"), True),
    DistroPython("ubuntu", "22.04", "3.10", None, _NOTES.format(distro="Ubuntu 22.04"), False),
    DistroPython("ubuntu", "24.04", "3.12", None, _NOTES.format(distro="Ubuntu 24.04"), False),
)

_BY_KEY = {(d.distro, d.release): d for d in DISTRO_PYTHON}

DEBIAN_CODENAMES = {"bullseye": "11", "bookworm": "12", "trixie": "13", "buster": "10", "forky": "14"}
UBUNTU_CODENAMES = {"jammy": "22.04", "noble": "24.04", "focal": "20.04"}


def distro_python(distro: str, release: str) -> DistroPython | None:
    """The ``python3`` of ``distro`` ``release`` (``alpine``/``3.22.2`` → 3.12), or None if unknown."""
    distro = distro.lower()
    if distro == "alpine":
        m = re.match(r"v?(\d+)\.(\d+)", release)
        key = f"{m.group(1)}.{m.group(2)}" if m else release
    elif distro == "debian":
        key = DEBIAN_CODENAMES.get(release, release.split(".")[0])
    elif distro == "ubuntu":
        key = UBUNTU_CODENAMES.get(release, release)
    else:
        return None
    return _BY_KEY.get((distro, key))


_PY_TAG = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?(?:[a-z]+\d*)?(?:-(.*))?$")
_ALPINE_SUFFIX = re.compile(r"alpine(\d+\.\d+)?")


def image_python(image: ImageName) -> str | None:
    """``X.Y`` of the CPython an image carries when its name says so: ``python:3.11.9-slim`` → ``3.11``,
    ``gcr.io/distroless/python3-debian12`` → ``3.11`` (Debian 12's python3). None when unknown."""
    name = image.name
    tag = image.tag or ""
    if name == "python" and not (image.registry or "").startswith("cgr.dev"):
        m = _PY_TAG.match(tag)
        return f"{m.group(1)}.{m.group(2)}" if m else None
    if name.startswith("python3-debian"):
        known = distro_python("debian", name.removeprefix("python3-debian"))
        return known.python if known else None
    return None


def image_distro(image: ImageName) -> tuple[str, str | None] | None:
    """(distribution, release or None) an image is built on, from its name and tag.

    ``alpine:3.22.2`` → (alpine, 3.22); ``python:3.11-alpine3.22`` → (alpine, 3.22);
    ``python:3.11-slim-bookworm`` → (debian, 12); ``python:3.11-slim`` → (debian, None);
    ``debian:12-slim`` → (debian, 12); ``ubuntu:24.04`` → (ubuntu, 24.04); distroless → (distroless, …).
    """
    name = image.name
    repo = image.repository
    tag = image.tag or ""
    # Known images are recognised by the last path component, so a mirror (``127.0.0.1:5000/x/alpine``)
    # counts as the image it mirrors; vendors with their own ``python`` images are checked first.
    if image.is_scratch:
        return ("scratch", None)
    if "distroless" in repo:
        m = re.search(r"debian(\d+)", name + "-" + tag)
        return ("distroless", m.group(1) if m else None)
    if (image.registry or "").startswith("cgr.dev") or "chainguard" in repo or name == "wolfi-base":
        return ("wolfi", None)
    if name in ("alpine", "busybox"):
        if name == "busybox":
            return ("busybox", None)
        m = re.match(r"(\d+\.\d+)", tag)
        return ("alpine", m.group(1) if m else None)
    if name in ("debian", "ubuntu"):
        codes = DEBIAN_CODENAMES if name == "debian" else UBUNTU_CODENAMES
        first = tag.split("-")[0]
        if first in codes:
            return (name, codes[first])
        m = re.match(r"(\d+(?:\.\d+)?)", first)
        return (name, m.group(1) if m and name == "ubuntu" else (m.group(1).split(".")[0] if m else None))
    m = _ALPINE_SUFFIX.search(tag)
    if m:
        return ("alpine", m.group(1))
    for code, num in DEBIAN_CODENAMES.items():
        if code in tag.split("-"):
            return ("debian", num)
    if name in (
        "python",
        "node",
        "ruby",
        "golang",
        "openjdk",
        "eclipse-temurin",
        "buildpack-deps",
        "php",
        "perl",
    ):
        return ("debian", None)
    return None


@dataclass(frozen=True)
class BaseFacts:
    """What a base image is known to contain. ``None`` means unknown (no finding is made from it)."""

    distro: str | None
    release: str | None
    has_shell: bool | None
    tools: frozenset[str] | None  # commands known present; None = unknown image
    python: str | None
    default_nonroot: bool

    def lacks(self, tool: str) -> bool:
        """True only when the image is known and known not to ship ``tool``."""
        return self.tools is not None and tool not in self.tools


_BUSYBOX_TOOLS = frozenset({"sh", "wget", "nc", "ash"})
_DEBIAN_MIN = frozenset({"sh", "bash"})
_FULL_DEBIAN_TOOLS = frozenset({"sh", "bash", "curl", "wget"})


def base_facts(image: ImageName) -> BaseFacts:
    """Tools, shell, Python and default user of a base image, as far as its name tells.

    Alpine and busybox images have busybox's ``wget`` and ``nc`` applets but no ``curl``; Debian and
    Ubuntu images (``-slim`` or not) have neither ``curl`` nor ``wget``; the full (non-slim) ``python``,
    ``node``… official images are built on ``buildpack-deps`` and do have ``curl`` and ``wget``;
    distroless and scratch have no shell and no tools. Chainguard images and ``:nonroot`` tags run as
    a non-root user by default.
    """
    tag = image.tag or ""
    py = image_python(image)
    nonroot = "nonroot" in tag or (image.registry or "").startswith("cgr.dev")
    distro = image_distro(image)
    if distro is None:
        return BaseFacts(None, None, None, None, py, nonroot)
    kind, release = distro
    tools: frozenset[str] | None
    shell: bool | None
    if kind == "wolfi":
        tools, shell = None, None
    elif kind in ("scratch", "distroless"):
        tools, shell = frozenset({"python3", "python"} if py else set()), False
        if "debug" in tag:
            tools, shell = tools | _BUSYBOX_TOOLS, True
    elif kind in ("alpine", "busybox"):
        tools, shell = _BUSYBOX_TOOLS, True
    elif image.name in ("debian", "ubuntu") or "slim" in tag:
        tools, shell = _DEBIAN_MIN, True
    elif image.name in ("python", "node", "ruby", "golang", "buildpack-deps", "php", "perl"):
        tools, shell = _FULL_DEBIAN_TOOLS, True
    else:
        tools, shell = None, True
    if tools is not None and py:
        tools = tools | {"python", "python3", f"python{py}"}
    return BaseFacts(kind, release, shell, tools, py, nonroot)
