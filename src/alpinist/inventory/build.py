"""The sbom stage of the pipeline: reference -> verified layers -> merged view -> inventory.

Inventories are cached by (manifest digest, config digest, cataloger version) under the cache dir,
written atomically, so a warm rerun of the same image reads only the index/manifest. The cache is only
an optimisation: an entry that cannot be read or parsed is a miss, and one that cannot be written (a
read-only cache directory, a full disk, a permission error) is one warning naming the cache path, never
a failed command: the inventory is returned all the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from alpinist import __version__
from alpinist.errors import DigestMismatch
from alpinist.images.open import PullOptions, open_source
from alpinist.images.reference import ImageRef, parse_reference
from alpinist.inventory.serialize import inventory_from_dict, inventory_to_dict
from alpinist.models import Inventory, LayerInfo

if TYPE_CHECKING:  # the modules themselves load only when an image is read (``_reading``)
    from alpinist.images.layers import Limits
    from alpinist.images.source import ResolvedImage
    from alpinist.images.view import PathSelector
    from alpinist.inventory.base import Cataloger

# Bump when a cataloger's output changes, so cached inventories from older code are not reused.
CATALOG_VERSION = "2"

log = logging.getLogger(__name__)


def cache_root(options: PullOptions) -> Path:
    from alpinist.images.cache import default_cache_dir

    return options.cache_dir or default_cache_dir()


def _inventory_cache_path(options: PullOptions, manifest_digest: str, config_digest: str) -> Path:
    key = hashlib.sha256(
        f"{manifest_digest}\0{config_digest}\0{CATALOG_VERSION}\0{__version__}".encode()
    ).hexdigest()
    return cache_root(options) / "inventory" / f"{key}.json"


def _load_cached(path: Path, ref: ImageRef, resolved_name: str | None) -> Inventory | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        inv = inventory_from_dict(doc)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return None  # a missing, unreadable or damaged cache entry is rebuilt, never trusted
    # the same manifest read through another transport names the image its own way (as image_facts does)
    name = str(ref.registry) if ref.registry is not None else resolved_name
    image = dataclasses.replace(inv.image, reference=ref.original, transport=ref.transport, name=name)
    return dataclasses.replace(inv, image=image)


def _store_cached(path: Path, inv: Inventory) -> None:
    """Write the cache entry atomically; a failure to write is one warning, never an error."""
    try:
        _write_atomically(path, inv)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        log.warning(
            "inventory cache %s not written (%s); continuing without it (set ALPINIST_CACHE_DIR to a "
            "writable directory, or pass --no-cache)",
            path.parent,
            reason,
        )


def _write_atomically(path: Path, inv: Inventory) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(inventory_to_dict(inv, include_files=True), fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_inventory(
    reference: str,
    options: PullOptions | None = None,
    *,
    limits: object | None = None,
    use_cache: bool = True,
    layer_progress: Callable[[int, int], None] | None = None,
) -> Inventory:
    """Inventory of the image at ``reference`` (any transport). A warm run, answered from the inventory
    cache, imports neither the layer reader nor the catalogers (``_reading``)."""
    options = options or PullOptions()
    ref = parse_reference(reference)
    resolved: ResolvedImage | None = None
    layers: tuple[LayerInfo, ...] = ()
    cache_path: Path | None = None

    if ref.transport == "dir":
        from alpinist.images.dirview import view_from_directory

        assert ref.path is not None
        lim, catalogers, selector = _reading(limits)
        view = view_from_directory(Path(ref.path), selector, max_file_bytes=lim.max_file_bytes)
    else:
        source = open_source(ref, options)
        try:
            resolved = source.resolve()
            cache_path = _inventory_cache_path(options, resolved.manifest_digest, resolved.config_digest)
            if use_cache:
                cached = _load_cached(cache_path, ref, resolved.name)
                if cached is not None:
                    return cached
            from alpinist.images.layers import build_view

            lim, catalogers, selector = _reading(limits)
            blobs = None
            in_cache: set[str] = set()  # the layers this run reads from the cache rather than the registry
            if ref.transport == "registry":
                from alpinist.images.cache import BlobCache

                blobs = BlobCache(cache_root(options))
                in_cache = {d.digest for d in resolved.layers if blobs.has(d.digest)}
            try:
                view, layers = build_view(source, resolved, selector, lim, progress=layer_progress)
            except DigestMismatch as exc:
                if blobs is None:
                    raise
                blobs.discard(exc.digest)  # a bad copy never stays in the cache
                if exc.digest not in in_cache:
                    raise  # it came from the registry: a damaged download is an error
                # a cached copy that went bad on disk (the cache does not fsync: a power cut can leave a
                # renamed file empty or torn) is fetched again, once
                view, layers = build_view(source, resolved, selector, lim, progress=layer_progress)
        finally:
            source.close()
    from alpinist.inventory.catalog import run_catalogers
    from alpinist.inventory.image_facts import image_facts

    facts = image_facts(ref, resolved, layers, view)
    layer_ids = tuple(layer.diff_id or layer.digest for layer in layers)
    os_info, packages = run_catalogers(view, facts.env, layer_ids, catalogers)
    inv = Inventory(facts, os_info, packages)
    if use_cache and cache_path is not None:  # a directory has no digest to key its inventory by
        _store_cached(cache_path, inv)
    return inv


def _reading(limits: object | None) -> tuple[Limits, list[Cataloger], PathSelector]:
    """The layer limits, the catalogers and the paths they select: imported only when an image is read
    (isal, zstandard, the parsers: ~90 ms), never for an inventory answered from the cache."""
    from alpinist.images.layers import Limits
    from alpinist.inventory.catalog import default_catalogers, selector_for

    catalogers = default_catalogers()
    return (limits if isinstance(limits, Limits) else Limits()), catalogers, selector_for(catalogers)
