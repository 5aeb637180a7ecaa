"""The candidate families and how a repository's tags become candidates.

``FAMILIES`` is the one documented table of the other bases ``recommend`` tries (docs/RECOMMEND.md
prints it). Each family names a repository and the shape of its stable tags; ``select`` reads a tag list
(as the registry's ``/v2/NAME/tags/list`` returns it) and keeps, for each distro release, the newest
stable tag with the application's Python minor, for the newest ``releases`` releases. Every tag of the
family's shape that is left out is a :class:`~alpinist.recommend.model.SkippedTag` with its reason: a
pre-release (``rc``, alpha, beta), another Python minor, a Windows image, an unstable channel, an older
release, superseded by a newer patch, not newer than the current base (refresh).

``refresh_family`` makes the family of the current base's own repository: tags of the same shape as the
current one (``3.11.9-slim`` → ``N.N.N-slim``) that are newer.

Tags are matched with regular expressions on purpose: the Docker Hub tag grammar of these images is a
convention, not a version scheme any library parses (``3.11.9-slim-bookworm``, ``3.12-24.04_stable``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alpinist.dockerfile.knowledge import DEBIAN_CODENAMES
from alpinist.recommend.model import Candidate, Libc, SkippedTag

# a Python version as the tags write it, with an optional pre-release marker (3.14.0rc1, 3.13.0a4, 3.12.0b2)
_PY = r"(?P<py>\d+\.\d+(?:\.\d+)?)(?P<pre>(?:a|b|rc)\d+)?"
_WINDOWS = re.compile(r"windows|nanoserver", re.IGNORECASE)


@dataclass(frozen=True)
class Family:
    """A family of bases: where its tags are, their shape, and what the tag tells before a pull.

    ``tags`` is a full-match regular expression with the optional groups ``py`` (the Python version),
    ``pre`` (a pre-release marker: such tags are skipped), ``release`` (the distro release, turned into a
    number by ``release_of``) and ``variant`` (which must be in ``variants``; the first listed is preferred).
    """

    key: str  # unique: python-slim, python-alpine, distroless-debian12…
    group: str  # what --family names: python-slim, python-alpine, distroless, ubuntu, wolfi
    title: str
    repository: str  # as written in FROM: python, gcr.io/distroless/python3-debian12
    distro: str  # the distro the scanner will find: debian, alpine, ubuntu, wolfi (distroless is Debian)
    libc: Libc
    tags: str
    python: str | None = None  # the Python minor fixed by the repository (distroless: Debian's python3)
    release: str | None = None  # the release fixed by the repository
    variants: tuple[str, ...] = ()
    note: str = ""  # what the family is, for the docs

    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.tags)

    def release_of(self, found: str | None) -> str | None:
        """The release as a number (``bookworm`` → ``12``), the fixed one, or None."""
        if found is None:
            return self.release
        if self.distro == "debian":
            return DEBIAN_CODENAMES.get(found)
        return found


FAMILIES: tuple[Family, ...] = (
    Family(
        "python-slim",
        "python-slim",
        "Debian slim (python)",
        "python",
        "debian",
        "glibc",
        rf"{_PY}-slim-(?P<release>[a-z]+)",
        note="the Docker Official Image on Debian slim, release named in the tag (bookworm, trixie)",
    ),
    Family(
        "python-alpine",
        "python-alpine",
        "Alpine (python)",
        "python",
        "alpine",
        "musl",
        rf"{_PY}-alpine(?P<release>3\.\d+)",
        note="the Docker Official Image on Alpine, CPython built for musl in /usr/local",
    ),
    Family(
        "distroless-debian12",
        "distroless",
        "distroless (Debian 12)",
        "gcr.io/distroless/python3-debian12",
        "debian",
        "glibc",
        r"(?P<variant>nonroot|latest|debug-nonroot|debug)",
        python="3.11",
        release="12",
        variants=("nonroot", "latest"),
        note="Google's distroless: Debian 12's python3 (3.11), no shell, no package manager",
    ),
    Family(
        "distroless-debian13",
        "distroless",
        "distroless (Debian 13)",
        "gcr.io/distroless/python3-debian13",
        "debian",
        "glibc",
        r"(?P<variant>nonroot|latest|debug-nonroot|debug)",
        python="3.13",
        release="13",
        variants=("nonroot", "latest"),
        note="Google's distroless: Debian 13's python3 (3.13), no shell, no package manager",
    ),
    Family(
        "ubuntu",
        "ubuntu",
        "Ubuntu chiselled (ubuntu/python)",
        "ubuntu/python",
        "ubuntu",
        "glibc",
        rf"{_PY}-(?P<release>\d\d\.\d\d)(?P<variant>_stable|_candidate|_beta|_edge)",
        variants=("_stable",),
        note="Canonical's chiselled Python on Ubuntu LTS, stable channel only; no shell",
    ),
    Family(
        "wolfi",
        "wolfi",
        "Wolfi (Chainguard)",
        "cgr.dev/chainguard/python",
        "wolfi",
        "glibc",
        r"(?P<variant>latest|latest-dev)",
        variants=("latest",),
        note="Chainguard's Wolfi Python (free tier: latest only); Python minor measured after the pull",
    ),
)

FAMILY_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(["refresh", *(f.group for f in FAMILIES)]))


def numbers(text: str) -> tuple[int, ...]:
    """``3.11.9`` → (3, 11, 9); ``24.04`` → (24, 4); non-numeric parts are ignored."""
    return tuple(int(n) for n in re.findall(r"\d+", text))


def python_minor(version: str | None) -> str | None:
    """``3.11.9`` → ``3.11``."""
    if not version:
        return None
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


def _candidate(family: Family, tag: str, release: str | None, py: str | None) -> Candidate:
    return Candidate(
        reference=f"{family.repository}:{tag}",
        family=family.key,
        origin="family",
        title=family.title,
        distro=family.distro if family.group != "distroless" else "distroless",
        release=release,
        libc=family.libc,
        tag_python=py or family.python,
    )


def select(
    family: Family, tags: Iterable[str], python: str | None, releases: int = 2
) -> tuple[tuple[Candidate, ...], tuple[SkippedTag, ...]]:
    """The candidates of ``family`` among ``tags`` and the tags of its shape that were left out.

    ``python`` (``X.Y``) keeps only tags of that Python minor (all when None); ``releases``: how many of
    the newest distro releases are tried.
    """
    pattern = family.pattern()
    skipped: list[SkippedTag] = []
    # release -> [(sort key, tag, python)]
    kept: dict[str | None, list[tuple[tuple[int, ...], int, str, str | None]]] = {}

    def skip(tag: str, reason: str) -> None:
        skipped.append(SkippedTag(family.repository, tag, reason))

    if family.python and python and family.python != python:
        return (), tuple(
            SkippedTag(family.repository, t, f"Python {family.python}, not {python}")
            for t in sorted(tags)
            if pattern.fullmatch(t)
        )
    for tag in tags:
        found = pattern.fullmatch(tag)
        if found is None:
            if python and tag.startswith(python) and _WINDOWS.search(tag):
                skip(tag, "Windows image")
            continue
        groups = found.groupdict()
        py, pre, variant = groups.get("py"), groups.get("pre"), groups.get("variant")
        if pre:
            skip(tag, "pre-release")
            continue
        if variant is not None and variant not in family.variants:
            skip(
                tag, f"variant {variant.strip('_')} (only {', '.join(v.strip('_') for v in family.variants)})"
            )
            continue
        if python and py and python_minor(py) != python:
            skip(tag, f"Python {python_minor(py)}, not {python}")
            continue
        release = family.release_of(groups.get("release"))
        if groups.get("release") is not None and release is None:
            skip(tag, f"unknown {family.distro} release {groups.get('release')}")
            continue
        preference = family.variants.index(variant) if variant in family.variants else 0
        kept.setdefault(release, []).append((numbers(py or ""), -preference, tag, py))
    ordered = sorted(kept, key=lambda r: numbers(r or ""), reverse=True)
    out: list[Candidate] = []
    for index, release in enumerate(ordered):
        entries = sorted(kept[release], reverse=True)
        if index >= releases:
            for _, _, tag, _ in entries:
                skip(tag, f"older release (the newest {releases} are tried)")
            continue
        _, _, best, py = entries[0]
        out.append(_candidate(family, best, release, py))
        for _, _, tag, _ in entries[1:]:
            skip(tag, f"superseded by {best}")
    return tuple(out), tuple(skipped)


# ---------------------------------------------------------------------------------------------- refresh

_LEADING_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(.*)$")


def refresh_pattern(tag: str) -> re.Pattern[str] | None:
    """The shape of ``tag``'s siblings: its leading version generalised (with an optional pre-release
    marker, so those can be reported) and every other number in it; None for a tag without a version."""
    found = _LEADING_VERSION.match(tag)
    if found is None:
        return None
    version, rest = found.groups()
    parts = len(version.split("."))
    lead = r"\.".join([r"\d+"] * parts)
    tail = re.sub(r"\\?\d+", r"\\d+", re.escape(rest))
    return re.compile(rf"(?P<py>{lead})(?P<pre>(?:a|b|rc)\d+)?{tail}")


def refresh(
    repository: str,
    current_tag: str,
    tags: Sequence[str],
    python: str | None,
    *,
    title: str,
    distro: str | None,
    release: str | None,
    libc: Libc | None,
    python_repository: bool,
) -> tuple[tuple[Candidate, ...], tuple[SkippedTag, ...]]:
    """The newest tag of ``repository`` with the shape of ``current_tag`` and newer than it.

    ``python_repository``: the leading version of the tags is a Python version (``python:3.11.9-slim``),
    so only tags of Python minor ``python`` are kept; else (``debian:12.5-slim``) every newer one is.
    """
    pattern = refresh_pattern(current_tag)
    if pattern is None:
        return (), ()
    mine = numbers(current_tag)
    lead_now = numbers(_LEADING_VERSION.match(current_tag).group(1))  # type: ignore[union-attr]
    skipped: list[SkippedTag] = []
    newer: list[tuple[tuple[int, ...], str]] = []
    for tag in tags:
        found = pattern.fullmatch(tag)
        if found is None or tag == current_tag:
            continue
        if found.group("pre"):
            skipped.append(SkippedTag(repository, tag, "pre-release"))
            continue
        lead = numbers(found.group("py"))
        if python_repository and python and python_minor(found.group("py")) != python:
            skipped.append(
                SkippedTag(repository, tag, f"Python {python_minor(found.group('py'))}, not {python}")
            )
            continue
        rest_now, rest = mine[len(lead_now) :], numbers(tag)[len(lead) :]
        if lead <= lead_now or rest < rest_now:
            skipped.append(SkippedTag(repository, tag, f"not newer than the current {current_tag}"))
            continue
        newer.append((numbers(tag), tag))
    if not newer:
        return (), tuple(skipped)
    newer.sort(reverse=True)
    best = newer[0][1]
    skipped += [SkippedTag(repository, tag, f"superseded by {best}") for _, tag in newer[1:]]
    found = pattern.fullmatch(best)
    py = found.group("py") if found is not None and python_repository else None
    candidate = Candidate(
        reference=f"{repository}:{best}",
        family="refresh",
        origin="refresh",
        title=f"refresh ({title})",
        distro=distro,
        release=release,
        libc=libc,
        tag_python=py,
    )
    return (candidate,), tuple(skipped)
