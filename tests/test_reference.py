from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpinist.errors import BadReference
from alpinist.images.reference import parse_reference, parse_registry_name


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest"),
    [
        ("python:3.11", "docker.io", "library/python", "3.11", None),
        ("python", "docker.io", "library/python", "latest", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("docker.io/python:3.11-slim", "docker.io", "library/python", "3.11-slim", None),
        ("index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", None),
        ("ghcr.io/org/app:v1.2", "ghcr.io", "org/app", "v1.2", None),
        ("127.0.0.1:5000/library/alpine:3.20.3", "127.0.0.1:5000", "library/alpine", "3.20.3", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app", "localhost:5000", "app", "latest", None),
        (
            "alpine@sha256:" + "ab" * 32,
            "docker.io",
            "library/alpine",
            None,
            "sha256:" + "ab" * 32,
        ),
        (
            "quay.io/a/b/c:1@sha256:" + "cd" * 32,
            "quay.io",
            "a/b/c",
            "1",
            "sha256:" + "cd" * 32,
        ),
    ],
)
def test_docker_normalization(text: str, domain: str, path: str, tag: str | None, digest: str | None) -> None:
    ref = parse_registry_name(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)


def test_digest_wins_over_tag_when_fetching() -> None:
    ref = parse_registry_name("alpine:3.20@sha256:" + "ef" * 32)
    assert ref.reference == "sha256:" + "ef" * 32
    assert str(ref) == "docker.io/library/alpine:3.20@sha256:" + "ef" * 32


@pytest.mark.parametrize(
    "text",
    ["Python:3.11", "python:", "python@sha256:short", "ghcr.io/Org/app", "a b", "", "python:tag with space"],
)
def test_invalid_names_are_refused(text: str) -> None:
    with pytest.raises(BadReference):
        parse_registry_name(text)


@pytest.mark.parametrize(
    ("text", "transport", "path", "ref"),
    [
        ("oci:/srv/oci:python-app:debian", "oci", "/srv/oci", "python-app:debian"),
        ("oci:/srv/oci", "oci", "/srv/oci", None),
        ("oci-archive:a.tar:alpine:3.20.3", "oci-archive", "a.tar", "alpine:3.20.3"),
        ("docker-archive:/tmp/x.tar", "docker-archive", "/tmp/x.tar", None),
        ("docker-archive:/tmp/x.tar:@1", "docker-archive", "/tmp/x.tar", "@1"),
        ("dir:/rootfs", "dir", "/rootfs", None),
    ],
)
def test_local_transports(text: str, transport: str, path: str, ref: str | None) -> None:
    parsed = parse_reference(text)
    assert (parsed.transport, parsed.path, parsed.ref) == (transport, path, ref)


@pytest.mark.parametrize("text", ["registry:python:3.11", "docker://python:3.11", "python:3.11"])
def test_registry_spellings(text: str) -> None:
    parsed = parse_reference(text)
    assert parsed.transport == "registry"
    assert parsed.registry is not None and str(parsed.registry) == "docker.io/library/python:3.11"


@pytest.mark.parametrize("text", ["docker-daemon:alpine:3", "podman:alpine", "oci:", "dir:"])
def test_unsupported_or_empty(text: str) -> None:
    with pytest.raises(BadReference):
        parse_reference(text)


@given(st.text(max_size=60))
def test_parse_never_crashes(text: str) -> None:
    with contextlib.suppress(BadReference):
        parse_reference(text)
