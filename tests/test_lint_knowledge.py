"""knowledge.py's facts against the data they were taken from: the corpus' Alpine secdb records and
Debian package list; base image facts from names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alpinist.dockerfile.knowledge import DISTRO_PYTHON, base_facts, distro_python, image_distro, image_python
from alpinist.dockerfile.parse import parse_image_name
from alpinist.versions import sort_key

CORPUS = Path("/work/shared/corpus")
SECDB = CORPUS / "advisories" / "raw" / "alpine-secdb"


def _newest_python3_series(branch: str) -> str:
    doc = json.loads((SECDB / f"secdb-v{branch}-main.subset.json").read_text(encoding="utf-8"))
    [pkg] = [p["pkg"] for p in doc["packages"] if p["pkg"]["name"] == "python3"]
    versions = [k for k in pkg["secfixes"] if k != "0"]
    newest = max(versions, key=lambda v: sort_key("apk", v))
    major, minor = newest.split(".")[:2]
    return f"{major}.{minor}"


@pytest.mark.parametrize("branch", ["3.20", "3.22", "3.23"])
def test_alpine_python_matches_corpus_secdb(branch: str) -> None:
    known = distro_python("alpine", branch)
    assert known is not None and known.verified
    assert known.python == _newest_python3_series(branch)


def test_debian_12_python_matches_corpus_packages() -> None:
    rows = (
        (CORPUS / "expected" / "python-app_debian" / "packages.tsv").read_text(encoding="utf-8").splitlines()
    )
    [python3] = [r.split("\t") for r in rows if r.split("\t")[0] == "python3"]
    known = distro_python("debian", "12")
    assert known is not None and known.package_version == python3[1]
    assert python3[1].startswith(known.python + ".")


def test_every_fact_names_its_source() -> None:
    for fact in DISTRO_PYTHON:
        assert fact.source
        assert fact.verified == ("not verifiable" not in fact.source)


@pytest.mark.parametrize(
    ("distro", "release", "python"),
    [
        ("alpine", "3.22.2", "3.12"),
        ("alpine", "v3.18", "3.11"),
        ("debian", "bookworm", "3.11"),
        ("debian", "13", "3.13"),
        ("ubuntu", "noble", "3.12"),
        ("ubuntu", "22.04", "3.10"),
    ],
)
def test_distro_python_lookup(distro: str, release: str, python: str) -> None:
    known = distro_python(distro, release)
    assert known is not None and known.python == python


def test_distro_python_unknown() -> None:
    assert distro_python("alpine", "3.5") is None
    assert distro_python("fedora", "40") is None


@pytest.mark.parametrize(
    ("ref", "python", "distro"),
    [
        ("python:3.11-alpine3.22", "3.11", ("alpine", "3.22")),
        ("python:3.11.9-slim", "3.11", ("debian", None)),
        ("python:3.13.0rc2-slim-trixie", "3.13", ("debian", "13")),
        ("python:3.12", "3.12", ("debian", None)),
        ("python:latest", None, ("debian", None)),
        ("alpine:3.22.2", None, ("alpine", "3.22")),
        ("debian:bookworm-slim", None, ("debian", "12")),
        ("ubuntu:24.04", None, ("ubuntu", "24.04")),
        ("gcr.io/distroless/python3-debian12:nonroot", "3.11", ("distroless", "12")),
        ("cgr.dev/chainguard/python:latest", None, ("wolfi", None)),
        ("scratch", None, ("scratch", None)),
        ("myorg/service:1.0", None, None),
    ],
)
def test_image_python_and_distro(ref: str, python: str | None, distro: tuple[str, str | None] | None) -> None:
    image = parse_image_name(ref)
    assert image_python(image) == python
    assert image_distro(image) == distro


def test_base_facts_tools() -> None:
    alpine = base_facts(parse_image_name("alpine:3.22.2"))
    assert alpine.lacks("curl") and not alpine.lacks("wget") and alpine.has_shell
    slim = base_facts(parse_image_name("python:3.12-slim"))
    assert slim.lacks("curl") and slim.lacks("wget") and not slim.lacks("python3")
    full = base_facts(parse_image_name("python:3.12-bookworm"))
    assert not full.lacks("curl")
    distroless = base_facts(parse_image_name("gcr.io/distroless/static-debian12:nonroot"))
    assert distroless.has_shell is False and distroless.default_nonroot and distroless.lacks("python3")
    unknown = base_facts(parse_image_name("myorg/base:1"))
    assert unknown.tools is None and not unknown.lacks("curl")
