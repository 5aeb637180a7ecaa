"""The candidate families: which tags become candidates and why the others are skipped.

The tag lists are excerpts of what Docker Hub's ``/v2/library/python/tags/list`` and the other
repositories list (written by hand from their tag conventions), with the traps a tag filter meets:
release candidates, alphas and betas, Windows images, floating tags, other Python minors, old releases.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpinist.recommend.families import FAMILIES, numbers, python_minor, refresh, refresh_pattern, select

PYTHON_TAGS = [
    "3.11.9-slim",
    "3.11.9-slim-bookworm",
    "3.11.13-slim-bookworm",
    "3.11.14-slim-bookworm",
    "3.11.14-slim-trixie",
    "3.11.14-slim",
    "3.11-slim",
    "3.11-slim-bullseye",
    "3.11.2-slim-bullseye",
    "3.11.14-alpine3.22",
    "3.11.14-alpine3.21",
    "3.11.13-alpine3.22",
    "3.11-alpine3.22",
    "3.11.14-alpine3.20",
    "3.11-alpine",
    "3.12.12-alpine3.22",
    "3.12.12-slim-bookworm",
    "3.14.0rc2-alpine3.22",
    "3.14.0rc2-slim-trixie",
    "3.11.0rc1-alpine3.16",
    "3.13.0a4-slim-bookworm",
    "3.11.14-windowsservercore-ltsc2022",
    "3.11-nanoserver",
    "latest",
    "slim",
    "alpine",
]


def family(key: str):  # type: ignore[no-untyped-def]
    return next(f for f in FAMILIES if f.key == key)


def test_alpine_family_keeps_newest_patch_of_the_two_newest_releases() -> None:
    cands, skipped = select(family("python-alpine"), PYTHON_TAGS, "3.11", releases=2)
    assert [c.reference for c in cands] == ["python:3.11.14-alpine3.22", "python:3.11.14-alpine3.21"]
    assert all(c.libc == "musl" and c.distro == "alpine" and c.tag_python == "3.11.14" for c in cands)
    assert [c.release for c in cands] == ["3.22", "3.21"]
    reasons = {s.tag: s.reason for s in skipped}
    assert reasons["3.14.0rc2-alpine3.22"] == "pre-release"
    assert reasons["3.11.0rc1-alpine3.16"] == "pre-release"
    assert reasons["3.12.12-alpine3.22"] == "Python 3.12, not 3.11"
    assert reasons["3.11.13-alpine3.22"] == "superseded by 3.11.14-alpine3.22"
    assert reasons["3.11-alpine3.22"] == "superseded by 3.11.14-alpine3.22"
    assert reasons["3.11.14-alpine3.20"] == "older release (the newest 2 are tried)"
    assert reasons["3.11-windowsservercore-ltsc2022".replace("3.11-", "3.11.14-")] == "Windows image"
    assert "3.11-alpine" not in reasons  # a floating tag names no release: not of this family's shape


def test_slim_family_maps_codenames_and_orders_releases_by_number() -> None:
    cands, skipped = select(family("python-slim"), PYTHON_TAGS, "3.11", releases=3)
    assert [(c.reference, c.release) for c in cands] == [
        ("python:3.11.14-slim-trixie", "13"),
        ("python:3.11.14-slim-bookworm", "12"),
        ("python:3.11.2-slim-bullseye", "11"),
    ]
    reasons = {s.tag: s.reason for s in skipped}
    assert reasons["3.13.0a4-slim-bookworm"] == "pre-release"
    assert reasons["3.12.12-slim-bookworm"] == "Python 3.12, not 3.11"


def test_without_a_python_every_minor_is_kept_newest_first() -> None:
    cands, _ = select(family("python-alpine"), PYTHON_TAGS, None, releases=1)
    assert [c.reference for c in cands] == ["python:3.12.12-alpine3.22"]


def test_distroless_repository_fixes_python_and_prefers_nonroot() -> None:
    tags = ["latest", "nonroot", "debug", "debug-nonroot", "latest-amd64", "nonroot-arm64"]
    cands, skipped = select(family("distroless-debian12"), tags, "3.11")
    assert [c.reference for c in cands] == ["gcr.io/distroless/python3-debian12:nonroot"]
    assert cands[0].tag_python == "3.11" and cands[0].distro == "distroless" and cands[0].release == "12"
    reasons = {s.tag: s.reason for s in skipped}
    assert reasons["latest"].startswith("superseded by nonroot")
    assert reasons["debug"].startswith("variant debug")
    none, skipped13 = select(family("distroless-debian13"), tags, "3.11")
    assert none == () and {s.reason for s in skipped13} == {"Python 3.13, not 3.11"}


def test_ubuntu_keeps_only_the_stable_channel() -> None:
    tags = [
        "3.12-24.04_stable",
        "3.12-24.04_edge",
        "3.12-24.04_candidate",
        "3.11-22.04_stable",
        "3.10-22.04_stable",
    ]
    cands, skipped = select(family("ubuntu"), tags, "3.12")
    assert [c.reference for c in cands] == ["ubuntu/python:3.12-24.04_stable"]
    reasons = {s.tag: s.reason for s in skipped}
    assert reasons["3.12-24.04_edge"] == "variant edge (only stable)"
    assert reasons["3.11-22.04_stable"] == "Python 3.11, not 3.12"


def test_wolfi_python_is_unknown_until_measured() -> None:
    cands, _ = select(family("wolfi"), ["latest", "latest-dev", "sha256-abc.sig"], "3.11")
    assert [(c.reference, c.tag_python) for c in cands] == [("cgr.dev/chainguard/python:latest", None)]


def test_refresh_finds_the_newest_tag_of_the_same_shape() -> None:
    cands, skipped = refresh(
        "python",
        "3.11.9-slim",
        PYTHON_TAGS,
        "3.11",
        title="debian",
        distro="debian",
        release=None,
        libc="glibc",
        python_repository=True,
    )
    assert [(c.reference, c.origin, c.tag_python) for c in cands] == [
        ("python:3.11.14-slim", "refresh", "3.11.14")
    ]
    assert all(s.tag != "3.11-slim" for s in skipped)  # another shape (two numbers): not a sibling


def test_refresh_of_a_distro_image_and_of_an_older_release_suffix() -> None:
    cands, skipped = refresh(
        "debian",
        "12.5-slim",
        ["12.4-slim", "12.5-slim", "12.12-slim", "13.1-slim", "13.0rc1-slim", "12-slim"],
        "3.11",
        title="debian",
        distro="debian",
        release="12",
        libc="glibc",
        python_repository=False,
    )
    assert [c.reference for c in cands] == ["debian:13.1-slim"]
    reasons = {s.tag: s.reason for s in skipped}
    assert reasons == {
        "12.4-slim": "not newer than the current 12.5-slim",
        "13.0rc1-slim": "pre-release",
        "12.12-slim": "superseded by 13.1-slim",
    }
    cands, skipped = refresh(
        "python", "3.11.9-alpine3.20", ["3.11.10-alpine3.18", "3.11.10-alpine3.20"], "3.11",
        title="alpine", distro="alpine", release="3.20", libc="musl", python_repository=True,
    )  # fmt: skip
    assert [c.reference for c in cands] == ["python:3.11.10-alpine3.20"]
    assert skipped[0].tag == "3.11.10-alpine3.18"  # a newer patch on an older release is no refresh


def test_a_floating_tag_has_no_refresh() -> None:
    assert refresh_pattern("latest") is None
    assert refresh("python", "slim", PYTHON_TAGS, "3.11", title="", distro=None, release=None, libc=None,
                   python_repository=True) == ((), ())  # fmt: skip


@given(
    st.lists(
        st.from_regex(re.compile(r"3\.1[0-4](\.\d{1,2})?(rc1|a2)?-alpine3\.(1[89]|2[0-3])"), fullmatch=True)
    )
)
def test_select_never_returns_a_prerelease_or_another_minor(tags: list[str]) -> None:
    cands, skipped = select(family("python-alpine"), tags, "3.11", releases=3)
    for c in cands:
        tag = c.reference.split(":", 1)[1]
        assert "rc" not in tag and "a2" not in tag and tag.startswith("3.11")
    assert len({c.release for c in cands}) == len(cands) <= 3
    # every tag of the family's shape is either a candidate or skipped with a reason, never lost
    kept = {c.reference.split(":", 1)[1] for c in cands}
    assert kept | {s.tag for s in skipped} == set(tags)


@pytest.mark.parametrize(
    ("text", "expected"), [("3.11.9", "3.11"), ("3.12", "3.12"), ("3", None), (None, None), ("x.y", None)]
)
def test_python_minor(text: str | None, expected: str | None) -> None:
    assert python_minor(text) == expected


def test_numbers() -> None:
    assert numbers("3.11.9-slim") == (3, 11, 9)
    assert numbers("24.04") == (24, 4)
