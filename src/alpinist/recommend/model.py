"""The recommendation the reports lay out: the :class:`CurrentBase`, every :class:`Evaluation` of a
candidate base (its :class:`Measurement` and compatibility :class:`Note` lines), ranked, the tags that were
listed but not tried (:class:`SkippedTag`), and the winner's next step.

Plain frozen data: reports are pure functions of :class:`Recommendation`, and this module imports no
transport, feed or network code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alpinist.advisories.model import SEVERITIES, Severity

Libc = Literal["glibc", "musl"]
Origin = Literal["refresh", "family", "explicit"]
Level = Literal["blocker", "warning", "info"]


@dataclass(frozen=True)
class Measurement:
    """What was measured on one image (a candidate, or the current base)."""

    reference: str  # as pulled: python:3.11.14-alpine3.22
    digest: str | None  # manifest digest
    os: str  # "alpine 3.22.2", "debian 12.12", "" when unknown
    libc: Libc | None
    python: str | None  # X.Y.Z of the interpreter found in the image, None when none is found
    scanned: bool  # False: the OS has no advisory feed, the counts below are not a measurement
    not_scanned: str | None  # why not ("no advisory feed for wolfi")
    by_severity: tuple[tuple[Severity, int], ...]  # all six severities, worst first (zeros when not scanned)
    vulnerabilities: int  # findings (package × advisory)
    fixable: int  # findings with a fixed version
    packages: int  # installed packages
    compressed: int  # bytes, sum of the layer blobs
    uncompressed: int | None
    user: str  # the config's User, "" for root by default
    runs_as_root: bool
    shell: str | None  # path of a shell in the image
    package_managers: tuple[str, ...]  # apk, apt, dpkg, pip… present in the image
    diff_ids: tuple[str, ...] = ()  # the layers, bottom first (a base's are a prefix of an image built on it)

    def count(self, severity: Severity) -> int:
        return dict(self.by_severity).get(severity, 0)

    @property
    def critical_high(self) -> int:
        return self.count("CRITICAL") + self.count("HIGH")


def zero_by_severity() -> tuple[tuple[Severity, int], ...]:
    return tuple((s, 0) for s in SEVERITIES)


@dataclass(frozen=True)
class Note:
    """One compatibility line: a ``blocker`` makes the candidate incompatible, a ``warning`` is work the
    move needs (a builder stage, build packages, unmapped packages), ``info`` is worth knowing."""

    level: Level
    topic: str  # python, libc, wheels, shell, packages, healthcheck, user, tag
    message: str


@dataclass(frozen=True)
class Candidate:
    """A base image to try: a reference, and what its tag says before it is pulled."""

    reference: str  # python:3.11.14-alpine3.22 (as a user writes it in FROM)
    family: str  # key of the family it came from (families.FAMILIES), "refresh" or "explicit"
    origin: Origin
    title: str  # the family as a person names it ("Alpine (python)")
    distro: str | None  # alpine, debian, distroless, ubuntu, wolfi; None for an explicit unknown one
    release: str | None  # the distro release the tag names: 3.22, 12, 24.04
    libc: Libc | None
    tag_python: str | None  # X.Y[.Z] the tag names, None when it names none


@dataclass(frozen=True)
class SkippedTag:
    """A tag that was listed and not tried, and why (pre-release, other Python, older, superseded…)."""

    repository: str
    tag: str
    reason: str


@dataclass(frozen=True)
class Evaluation:
    """One candidate: measured (or why not), its compatibility notes, and its place in the ranking."""

    candidate: Candidate
    measurement: Measurement | None
    error: str | None = None  # one line: why it could not be pulled or scanned
    notes: tuple[Note, ...] = ()
    rank: int = 0  # 1 = the recommendation

    @property
    def compatible(self) -> bool:
        return not any(n.level == "blocker" for n in self.notes)

    @property
    def scanned(self) -> bool:
        return self.measurement is not None and self.measurement.scanned

    @property
    def status(self) -> Literal["ok", "not-scanned", "error", "incompatible"]:
        if not self.compatible:
            return "incompatible"
        if self.error is not None or self.measurement is None:
            return "error"
        return "ok" if self.measurement.scanned else "not-scanned"


@dataclass(frozen=True)
class CurrentBase:
    """What the application runs on today and what it needs from a base."""

    subject: str  # the Dockerfile's path or the image reference the user gave
    kind: Literal["dockerfile", "image"]
    reference: str | None  # the base image (python:3.11.9-slim), None when not detected
    detected_by: str  # "Dockerfile line 5", "label", "3 shared layers", "not detected"
    distro: str | None
    release: str | None
    libc: Libc | None
    python: str | None  # X.Y the application runs on, None when unknown
    python_from: str  # where that comes from ("the base tag python:3.11.9-slim", "--python", …)
    package_manager: str | None  # apt, apk: what the application's Dockerfile installs with
    measurement: Measurement | None = None  # the base itself, pulled and scanned (None when not)
    error: str | None = None  # why the base could not be measured


@dataclass(frozen=True)
class NextStep:
    """What to do with the winner: a command to run (``migrate``) or a ``FROM`` line to write."""

    kind: Literal["migrate", "from"]
    text: str  # the command, or the FROM line
    line: int | None = None  # the Dockerfile line the FROM replaces


@dataclass(frozen=True)
class Recommendation:
    current: CurrentBase
    evaluations: tuple[Evaluation, ...]  # ranked: rank 1 first
    skipped: tuple[SkippedTag, ...] = ()
    listed: tuple[str, ...] = ()  # repositories whose tags were listed (registry/repository)
    next_step: NextStep | None = None
    warnings: tuple[str, ...] = ()
    ranking: tuple[str, ...] = ()  # the ranking rules, in order, as printed under the table

    @property
    def winner(self) -> Evaluation | None:
        first = self.evaluations[0] if self.evaluations else None
        if first is None or first.status != "ok":
            return None
        return first
