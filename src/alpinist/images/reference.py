"""Image references as skopeo and syft spell them.

=====================  ==========================================================
``docker-archive:PATH[:REF]``   a ``docker save`` tarball (REF: a RepoTag, or ``@N`` index)
``oci-archive:PATH[:REF]``      a tar of an OCI image layout (REF: ref.name annotation)
``oci:DIR[:REF]``               an OCI image layout directory (``oci-dir:`` as syft spells it)
``dir:ROOTFS``                  an unpacked root filesystem (syft's meaning of ``dir:``)
``registry:NAME``, ``docker://NAME``, bare ``NAME[:TAG|@DIGEST]``   a registry
=====================  ==========================================================

A plain path is read the way ``trivy --input`` and grype read one (``path_reference``): an existing
directory holding ``oci-layout`` or ``index.json`` is an ``oci:`` layout, any other directory a ``dir:``
root filesystem, a tar holding ``manifest.json`` a ``docker-archive:``, one holding ``oci-layout`` an
``oci-archive:``. A text is a path when it starts with ``/``, ``./``, ``../`` or ``~``, or when it names an
existing file or directory and holds a ``/`` or ends in ``.tar``; a bare word (``python``) is always a
registry name, even beside a directory of that name (write ``./python``).

Bare names are normalized the Docker way: ``python:3.11`` -> ``docker.io/library/python:3.11``.
The path part of the local transports ends at the first ``:`` (as in skopeo), so ``REF`` may itself
contain colons: ``oci:images/oci:python-app:debian``.
"""

from __future__ import annotations

import os
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


_TAR_BLOCK = 512
_PEEK_MEMBERS = 10_000  # enough for any image archive's top level; the strict reader checks the rest


def _tar_top_names(path: str) -> set[str] | None:
    """The top-level member names the first headers of the tar at ``path`` show (``None``: not a tar).

    A cheap peek to tell the two archive kinds apart; ``tarstream.index_archive`` (strict, bounded) reads
    the archive later. ``./`` prefixes are dropped; a member's own name field is read, not a pax name.
    """
    names: set[str] = set()
    with open(path, "rb") as fh:
        for _ in range(_PEEK_MEMBERS):
            header = fh.read(_TAR_BLOCK)
            if len(header) < _TAR_BLOCK or header == bytes(_TAR_BLOCK):
                break
            if header[257:262] != b"ustar" and not names:
                return None
            raw_size = header[124:136]
            if raw_size[0] & 0x80:  # base-256 (GNU) for sizes above 8 GiB
                size = int.from_bytes(raw_size[1:], "big")
            else:
                try:
                    size = int(raw_size.strip(b"\0 ") or b"0", 8)
                except ValueError:
                    return names or None
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            while name.startswith("./"):
                name = name[2:]
            if name:
                names.add(name.rstrip("/"))
            if "manifest.json" in names or "oci-layout" in names:
                break
            fh.seek((size + _TAR_BLOCK - 1) // _TAR_BLOCK * _TAR_BLOCK, os.SEEK_CUR)
    return names


def looks_like_path(text: str) -> bool:
    """``text`` is spelled as a path: it starts with ``/``, ``./``, ``../`` or ``~``, or names an existing
    file or directory and holds a ``/`` or ends in ``.tar``."""
    if text.startswith(("/", "./", "../", "~")) or text in (".", ".."):
        return True
    if "/" in text or text.endswith(".tar"):
        return os.path.lexists(text)
    return False


def path_reference(text: str) -> ImageRef:
    """A plain path as the transport that reads it (``trivy --input``, grype): an OCI layout directory,
    a root filesystem directory, a docker-archive or an oci-archive tarball. ``BadReference`` when the
    path is missing or a file of neither kind."""
    path = os.path.expanduser(text)
    if os.path.isdir(path):
        layout = os.path.isfile(os.path.join(path, "oci-layout")) or os.path.isfile(
            os.path.join(path, "index.json")
        )
        return ImageRef("oci" if layout else "dir", text, path=path)
    if not os.path.exists(path):
        raise BadReference(f"{text}: no such file or directory")
    if not os.path.isfile(path):
        raise BadReference(f"{text}: not a directory, nor a regular file")
    try:
        names = _tar_top_names(path)
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise BadReference(f"{text}: cannot read it ({exc.strerror or exc})") from exc
    if names is not None and "manifest.json" in names:
        return ImageRef("docker-archive", text, path=path)
    if names is not None and ("oci-layout" in names or "index.json" in names):
        return ImageRef("oci-archive", text, path=path)
    hint = ""
    if magic[:2] == b"\x1f\x8b" or magic == b"\x28\xb5\x2f\xfd":
        hint = " (it is compressed: decompress it first, e.g. gunzip or zstd -d)"
    raise BadReference(
        f"{text}: not an image: neither a docker-archive (manifest.json) nor an oci-archive "
        f"(oci-layout) tarball{hint}"
    )


def parse_reference(text: str) -> ImageRef:
    if text.startswith("oci-dir:"):  # syft's spelling of oci:
        body = text[len("oci-dir:") :]
        path, sep, ref_part = body.partition(":")
        if not path:
            raise BadReference(f"{text!r}: oci-dir: needs a path")
        return ImageRef("oci", text, path=path, ref=ref_part if sep and ref_part else None)
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
    if looks_like_path(text):
        return path_reference(text)
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
