"""Base-image detection: which image a compared one is built on (its label, else the longest
candidate whose layers are a prefix of its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alpinist.compare.model import BaseImage
from alpinist.models import ImageFacts

if TYPE_CHECKING:
    from alpinist.images.open import PullOptions


BASE_NAME_LABEL = "org.opencontainers.image.base.name"


BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"


@dataclass(frozen=True)
class BaseCandidate:
    """An image that may be the base of a compared one: its diff_ids, bottom layer first."""

    name: str
    diff_ids: tuple[str, ...]
    digest: str | None = None


def detect_base(facts: ImageFacts, candidates: Sequence[BaseCandidate]) -> BaseImage | None:
    """The image's base: the ``org.opencontainers.image.base.name``/``.digest`` labels when set, else the
    candidate with the longest diff_id list that is a strict prefix of the image's (first given wins a tie).
    """
    labels = dict(facts.labels)
    name, digest = labels.get(BASE_NAME_LABEL) or None, labels.get(BASE_DIGEST_LABEL) or None
    if name or digest:
        return BaseImage(name=name, digest=digest, source="label")
    ids = tuple(layer.diff_id for layer in facts.layers)
    if not ids or any(i is None for i in ids):
        return None
    best: BaseCandidate | None = None
    for cand in candidates:
        n = len(cand.diff_ids)
        if 0 < n < len(ids) and ids[:n] == cand.diff_ids and (best is None or n > len(best.diff_ids)):
            best = cand
    if best is None:
        return None
    return BaseImage(name=best.name, digest=best.digest, source="layers", layers=len(best.diff_ids))


def base_candidate(reference: str, options: PullOptions | None = None) -> BaseCandidate:
    """Resolve ``reference`` (manifest and config only, no layer is read) into a base candidate."""
    from alpinist.errors import ManifestError
    from alpinist.images.open import PullOptions, open_source
    from alpinist.images.reference import parse_reference

    ref = parse_reference(reference)
    if ref.transport == "dir":
        raise ManifestError(f"{reference}: a dir: root filesystem has no layers to match as a base image")
    source = open_source(ref, options or PullOptions())
    try:
        resolved = source.resolve()
    finally:
        source.close()
    rootfs = resolved.config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ManifestError(f"config {resolved.config_digest} of {reference}: no rootfs.diff_ids list")
    name = str(ref.registry) if ref.registry else (resolved.name or reference)
    return BaseCandidate(name=name, diff_ids=tuple(diff_ids), digest=resolved.manifest_digest)
