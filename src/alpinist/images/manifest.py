"""Parse OCI and Docker manifests, indexes and configs; choose a platform from an index."""

from __future__ import annotations

import json
import platform as _platform
from typing import Any

from alpinist.errors import ManifestError, NotFound
from alpinist.models import Descriptor, Platform

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])

LAYER_GZIP = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)
LAYER_ZSTD = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
LAYER_TAR = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.docker.image.rootfs.diff.tar",
    }
)
LAYER_TYPES = LAYER_GZIP | LAYER_ZSTD | LAYER_TAR

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution spec's own limit for manifests
MAX_CONFIG_BYTES = 16 * 1024 * 1024

_ARCH_ALIASES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "i386": "386"}


def host_platform() -> Platform:
    machine = _platform.machine().lower()
    arch = _ARCH_ALIASES.get(machine, machine)
    variant = "v8" if arch == "arm64" else ("v7" if machine == "armv7l" else None)
    return Platform("linux", arch, variant)


def parse_json(data: bytes, what: str) -> Any:
    """``data`` parsed as JSON; ``ManifestError`` naming ``what`` when it is not."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{what} is not JSON: {exc}") from None
    except RecursionError:  # found by tests/test_fuzz_parsers.py: "[[[[..." deeper than Python's stack
        raise ManifestError(f"{what} is not a manifest: JSON nested too deeply") from None


def load_json(data: bytes, what: str) -> dict[str, Any]:
    doc = parse_json(data, what)
    if not isinstance(doc, dict):
        raise ManifestError(f"{what} is JSON but not an object")
    return doc


def _platform_of(obj: Any) -> Platform | None:
    if not isinstance(obj, dict):
        return None
    os_ = obj.get("os")
    arch = obj.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        return None
    variant = obj.get("variant")
    return Platform(os_, arch, variant if isinstance(variant, str) and variant else None)


def descriptor(obj: Any, what: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise ManifestError(f"{what}: descriptor is not an object")
    media_type = obj.get("mediaType")
    digest = obj.get("digest")
    size = obj.get("size")
    if not isinstance(digest, str) or not isinstance(size, int) or size < 0:
        raise ManifestError(f"{what}: descriptor lacks a digest or a size")
    annotations = obj.get("annotations") or {}
    if not isinstance(annotations, dict):
        annotations = {}
    return Descriptor(
        media_type=media_type if isinstance(media_type, str) else "",
        digest=digest,
        size=size,
        platform=_platform_of(obj.get("platform")),
        annotations=tuple(sorted((str(k), str(v)) for k, v in annotations.items())),
    )


def media_type_of(doc: dict[str, Any], fallback: str | None = None) -> str:
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if fallback:
        return fallback
    # OCI allows mediaType to be absent: tell an index from a manifest by its fields.
    if "manifests" in doc:
        return OCI_INDEX
    if "layers" in doc:
        return OCI_MANIFEST
    raise ManifestError("document is neither an index nor a manifest")


def index_entries(doc: dict[str, Any], what: str) -> list[Descriptor]:
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise ManifestError(f"{what}: index has no manifests list")
    return [descriptor(m, what) for m in manifests]


def _platform_matches(have: Platform | None, want: Platform) -> bool:
    if have is None:
        return False
    if have.os != want.os or have.architecture != want.architecture:
        return False
    return not (want.variant and have.variant and want.variant != have.variant)


def select_platform(entries: list[Descriptor], want: Platform, what: str) -> Descriptor:
    """Pick the manifest for ``want`` from an index (attestation manifests are skipped)."""
    images = [
        e
        for e in entries
        if e.annotation("vnd.docker.reference.type") != "attestation-manifest"
        and not (e.platform and e.platform.os == "unknown")
    ]
    exact = [e for e in images if _platform_matches(e.platform, want)]
    if exact:
        # prefer an exact variant match, then no variant
        exact.sort(key=lambda e: e.platform is None or e.platform.variant != want.variant)
        return exact[0]
    if len(images) == 1 and images[0].platform is None:
        return images[0]
    available = ", ".join(sorted({str(e.platform) for e in images if e.platform})) or "none"
    raise NotFound(f"{what}: no manifest for platform {want} (available: {available})")


def parse_manifest(doc: dict[str, Any], what: str) -> tuple[Descriptor, tuple[Descriptor, ...]]:
    """Config descriptor and layer descriptors of an image manifest."""
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"{what}: unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
    config = descriptor(doc.get("config"), f"{what} config")
    layers_raw = doc.get("layers")
    if not isinstance(layers_raw, list):
        raise ManifestError(f"{what}: manifest has no layers list")
    layers = tuple(descriptor(layer, f"{what} layer {i}") for i, layer in enumerate(layers_raw))
    for layer in layers:
        if layer.media_type and layer.media_type not in LAYER_TYPES:
            raise ManifestError(f"{what}: unsupported layer media type {layer.media_type}")
    return config, layers


def config_platform(config: dict[str, Any]) -> Platform | None:
    return _platform_of(config)
