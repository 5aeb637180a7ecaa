"""Image references as skopeo and syft spell them.

=====================  ==========================================================
``docker-archive:PATH[:REF]``   a ``docker save`` tarball (REF: a RepoTag, or ``@N`` index)
``oci-archive:PATH[:REF]``      a tar of an OCI image layout (REF: ref.name annotation)
``oci:DIR[:REF]``               an OCI image layout directory
``dir:ROOTFS``                  an unpacked root filesystem (syft's meaning of ``dir:``)
``registry:NAME``, ``docker://NAME``, bare ``NAME[:TAG|@DIGEST]``   a registry
=====================  ==========================================================

Bare names are normalized the Docker way: ``python:3.11`` -> ``docker.io/library/python:3.11``.
The path part of the local transports ends at the first ``:`` (as in skopeo), so ``REF`` may itself
contain colons: ``oci:images/oci:python-app:debian``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alpinist.errors import BadReference

DOCKER_HUB = "docker.io"
LOCAL_TRANSPORTS = ("docker-archive", "oci-archive", "oci", "dir")

# The grammar of github.com/distribution/reference, reduced to what a client needs.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_DOMAIN_RE = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")


@dataclass(frozen=True)
class RegistryRef:
    domain: str  # docker.io, ghcr.io, 127.0.0.1:5000
    path: str  # library/python
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


@dataclass(frozen=True)
class ImageRef:
    transport: str  # registry, docker-archive, oci-archive, oci, dir
    original: str
    path: str | None = None  # local transports
    ref: str | None = None  # tag / ref.name / @index inside a local archive or layout
    registry: RegistryRef | None = None

    def __str__(self) -> str:
        return self.original


def is_registry_host(text: str) -> bool:
    """``host[:port]`` as a reference's domain is spelled (``127.0.0.1:5000``, ``[::1]:5000``, ``gcr.io``)."""
    return _DOMAIN_RE.match(text) is not None


def is_repository_path(text: str) -> bool:
    """Lower-case path components joined by ``/`` (``library/python``, ``gcr/distroless``)."""
    return _PATH_RE.match(text) is not None


def parse_registry_name(text: str) -> RegistryRef:
    """Normalize ``NAME[:TAG][@DIGEST]`` the way Docker does."""
    if not text or text != text.strip():
        raise BadReference(f"invalid image reference {text!r}")
    rest, at, digest = text.partition("@")
    if at and not _DIGEST_RE.match(digest):
        raise BadReference(f"invalid digest in {text!r}")
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise BadReference(f"invalid tag {tag!r} in {text!r}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        domain, path = first, remainder
        if not _DOMAIN_RE.match(domain):
            raise BadReference(f"invalid registry host {domain!r} in {text!r}")
    else:
        domain, path = DOCKER_HUB, rest
    if domain in ("index.docker.io", "registry-1.docker.io"):
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _PATH_RE.match(path):
        raise BadReference(f"invalid repository name {path!r} in {text!r} (must be lowercase)")
    if tag is None and not at:
        tag = "latest"
    return RegistryRef(domain, path, tag, digest if at else None)


def parse_reference(text: str) -> ImageRef:
    for transport in LOCAL_TRANSPORTS:
        prefix = f"{transport}:"
        if text.startswith(prefix):
            body = text[len(prefix) :]
            if transport == "dir":
                path, ref = body, None
            else:
                path, sep, ref_part = body.partition(":")
                ref = ref_part if sep and ref_part else None
            if not path:
                raise BadReference(f"{text!r}: {transport}: needs a path")
            return ImageRef(transport, text, path=path, ref=ref)
    body = text
    for prefix in ("registry:", "docker://"):
        if text.startswith(prefix):
            body = text[len(prefix) :]
            break
    else:
        if re.match(r"^[a-z][a-z0-9+.-]*:(?!\d)", text) and "/" not in text.split(":", 1)[0]:
            scheme = text.split(":", 1)[0]
            # "python:3.11" is a name with a tag; "docker-daemon:x" or "podman:x" are transports we lack
            if scheme in ("docker-daemon", "podman", "containers-storage", "singularity", "sif", "file"):
                raise BadReference(f"transport {scheme!r} is not supported (no daemon is used)")
    return ImageRef("registry", text, registry=parse_registry_name(body))
