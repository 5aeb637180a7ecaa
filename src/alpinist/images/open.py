"""Turn a parsed reference into the transport that reads it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alpinist.images.manifest import host_platform
from alpinist.images.reference import ImageRef
from alpinist.images.source import ImageSource
from alpinist.models import Platform
from alpinist.net import Deadlines

if TYPE_CHECKING:
    from alpinist.images.registry import RegistrySource


@dataclass(frozen=True)
class PullOptions:
    platform: Platform = field(default_factory=host_platform)
    cache_dir: Path | None = None  # None: the user cache dir (or ALPINIST_CACHE_DIR)
    credentials: tuple[str, str] | None = None
    insecure_hosts: frozenset[str] = frozenset()
    # (registry, location) pairs: read the registry's images from location (images.mirrors); no fallback
    mirrors: tuple[tuple[str, str], ...] = ()
    progress: Callable[[str, int, int], None] | None = None  # (blob digest, bytes done, total)
    # stall timeout and minimum throughput of downloads; None: net.current_deadlines() (--timeout, env)
    deadlines: Deadlines | None = None


def open_source(ref: ImageRef, options: PullOptions) -> ImageSource:
    """The transport for ``ref`` (``dir:`` has none: it is read by ``images.dirview``)."""
    if ref.transport in ("oci", "oci-archive"):
        from alpinist.images.oci import OCILayoutSource

        assert ref.path is not None
        return OCILayoutSource(
            ref.path,
            ref.ref,
            archive=ref.transport == "oci-archive",
            platform=options.platform,
            reference=ref.original,
        )
    if ref.transport == "docker-archive":
        from alpinist.images.oci import DockerArchiveSource

        assert ref.path is not None
        return DockerArchiveSource(ref.path, ref.ref, reference=ref.original)
    if ref.transport == "registry":
        assert ref.registry is not None
        return registry_source(ref.registry.name, ref.registry.reference, options)
    raise ValueError(f"no image source for transport {ref.transport!r}")


def registry_source(name: str, reference: str, options: PullOptions) -> RegistrySource:
    """The registry transport for ``name`` (``host/repository``) at ``reference`` (a tag or digest),
    with every pull option applied: platform, cache, credentials, insecure hosts, mirrors, progress,
    deadlines."""
    from alpinist.images.cache import default_cache_dir, writable_cache
    from alpinist.images.registry import RegistrySource

    return RegistrySource(
        name,
        reference,
        platform=options.platform,
        cache=writable_cache(options.cache_dir or default_cache_dir()),
        credentials=options.credentials,
        insecure_hosts=options.insecure_hosts,
        mirrors=options.mirrors,
        progress=options.progress,
        deadlines=options.deadlines,
    )
