"""Domain values shared by every stage of the pipeline (frozen dataclasses).

image reference -> ImageFacts + FileView -> Inventory(Package...) -> (findings) -> reports
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

PackageType = Literal["apk", "deb", "python", "binary"]

_T = TypeVar("_T")
_FIELD_COUNTS: dict[type, int] = {}


def frozen_from(cls: type[_T], values: dict[str, Any]) -> _T:
    """``cls(**values)`` for a frozen dataclass without ``__post_init__``, ``values`` naming every field.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (1.5-4 µs an object
    of 6-21 fields here); the loops that make thousands per scan (advisory rows, records, findings) hand
    the dict to the instance as its ``__dict__`` instead (0.5 µs). The object is the same: equality, hash,
    ``replace``, ``asdict``, still frozen. ``values`` becomes the object's own: the caller must not keep it.
    """
    count = _FIELD_COUNTS.get(cls)
    if count is None:
        count = _FIELD_COUNTS[cls] = len(fields(cls))  # type: ignore[arg-type]
    if len(values) != count:
        raise TypeError(f"{cls.__name__}: {len(values)} fields given, {count} expected")
    made: _T = object.__new__(cls)
    object.__setattr__(made, "__dict__", values)
    return made


@dataclass(frozen=True)
class VersionRange:
    """An interval of versions (an advisory's affected range); ``None`` bounds are open."""

    start: str | None = None
    start_inclusive: bool = True
    end: str | None = None
    end_inclusive: bool = False


def env_lookup(env: tuple[str, ...], key: str) -> str | None:
    """The value of ``key`` in a config's ``Env`` list (``KEY=VALUE`` strings), or None."""
    for item in env:
        k, sep, v = item.partition("=")
        if sep and k == key:
            return v
    return None


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform must be OS/ARCH[/VARIANT], got {text!r}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a manifest or index says about a blob."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


@dataclass(frozen=True)
class LayerInfo:
    index: int
    digest: str  # digest of the blob as stored (compressed)
    media_type: str
    compressed_size: int
    uncompressed_size: int | None  # known once the layer has been read
    diff_id: str | None  # digest of the uncompressed tar, from the config
    created_by: str | None = None


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]  # e.g. ("CMD-SHELL", "curl -f http://localhost/ || exit 1")
    interval: int | None = None  # nanoseconds, as in the image config
    timeout: int | None = None
    start_period: int | None = None
    retries: int | None = None

    @property
    def disabled(self) -> bool:
        return self.test[:1] == ("NONE",)

    @property
    def command(self) -> str:
        """The check as one command line (shell or exec form)."""
        if not self.test or self.disabled:
            return ""
        if self.test[0] == "CMD-SHELL":
            return " ".join(self.test[1:])
        if self.test[0] == "CMD":
            return " ".join(self.test[1:])
        return " ".join(self.test)


@dataclass(frozen=True)
class ImageFacts:
    """What the manifest, the config and the final filesystem say about an image."""

    reference: str  # as the user wrote it
    transport: str  # registry, oci, oci-archive, docker-archive, dir
    name: str | None  # normalized name (docker.io/library/python:3.11) where there is one
    manifest_digest: str | None
    config_digest: str | None
    media_type: str | None
    platform: Platform | None
    created: str | None
    layers: tuple[LayerInfo, ...]
    user: str
    healthcheck: Healthcheck | None
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    working_dir: str
    labels: tuple[tuple[str, str], ...]
    shell: str | None = None  # path of a shell found in the final filesystem
    package_managers: tuple[str, ...] = ()  # apk, apt, dpkg, pip... found in the final filesystem

    @property
    def compressed_size(self) -> int:
        return sum(layer.compressed_size for layer in self.layers)

    @property
    def uncompressed_size(self) -> int | None:
        sizes = [layer.uncompressed_size for layer in self.layers]
        if any(s is None for s in sizes):
            return None
        return sum(s for s in sizes if s is not None)

    @property
    def runs_as_root(self) -> bool:
        user = self.user.split(":", 1)[0]
        return user in ("", "root", "0")

    def env_value(self, key: str) -> str | None:
        return env_lookup(self.env, key)


@dataclass(frozen=True)
class OSInfo:
    id: str  # alpine, debian, ubuntu...
    version_id: str  # 3.20.3, 12
    version: str  # most precise version known: /etc/alpine-release, /etc/debian_version (12.15)
    codename: str | None = None  # bookworm
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()

    @property
    def release(self) -> str:
        """The advisory branch: alpine 3.20.3 -> 3.20, debian 12 -> 12."""
        if self.id == "alpine":
            return ".".join(self.version_id.split(".")[:2])
        return self.version_id.split(".")[0] if self.version_id else ""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    type: PackageType
    purl: str
    layer: str | None = None  # diff digest (or blob digest) of the layer that introduced it
    layer_index: int | None = None
    arch: str | None = None
    # apk: origin package; deb: source package (+ its version when it differs)
    origin: str | None = None
    source_version: str | None = None
    licenses: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()  # where the evidence was found (db file, dist-info dir, binary)
    files: tuple[str, ...] = ()  # files the package database says the package owns
    owner: str | None = None  # python: the OS package that owns this distribution ("deb:python3-pip")
    vendored: bool = False  # python: a copy inside another package (_vendor/, embedded wheel)
    cpes: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # human-readable evidence (CPython: ENV PYTHON_VERSION=..., binary...)
    metadata: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.type, self.name, self.version, self.locations[0] if self.locations else "")


@dataclass(frozen=True)
class Inventory:
    image: ImageFacts
    os: OSInfo | None
    packages: tuple[Package, ...]
    schema_version: str = "1"
