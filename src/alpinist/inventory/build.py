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

from alpinist import __version__
from alpinist.errors import DigestMismatch
from alpinist.images.open import PullOptions, open_source
from alpinist.images.reference import ImageRef, parse_reference
from alpinist.inventory.serialize import inventory_from_dict, inventory_to_dict
from alpinist.models import Inventory

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
    """Inventory of the image at ``reference`` (any transport).

    The layer reader and the catalogers (isal, zstandard, the parsers: ~90 ms of imports) are imported
    only when layers are read: a warm run, answered from the inventory cache, needs neither."""
    options = options or PullOptions()
    ref = parse_reference(reference)

    if ref.transport == "dir":
        from alpinist.images.layers import Limits
        from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
        from alpinist.inventory.image_facts import image_facts

        lim = limits if isinstance(limits, Limits) else Limits()
        catalogers = default_catalogers()
        selector = selector_for(catalogers)
        from alpinist.images.dirview import view_from_directory

        assert ref.path is not None
        view = view_from_directory(Path(ref.path), selector, max_file_bytes=lim.max_file_bytes)
        facts = image_facts(ref, None, (), view)
        os_info, packages = run_catalogers(view, facts.env, (), catalogers)
        return Inventory(facts, os_info, packages)

    source = open_source(ref, options)
    try:
        resolved = source.resolve()
        cache_path = _inventory_cache_path(options, resolved.manifest_digest, resolved.config_digest)
        if use_cache:
            cached = _load_cached(cache_path, ref, resolved.name)
            if cached is not None:
                return cached
        from alpinist.images.layers import Limits, build_view
        from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
        from alpinist.inventory.image_facts import image_facts

        lim = limits if isinstance(limits, Limits) else Limits()
        catalogers = default_catalogers()
        selector = selector_for(catalogers)
        try:
            view, layers = build_view(source, resolved, selector, lim, progress=layer_progress)
        except DigestMismatch as exc:
            if ref.transport == "registry":
                # a cached copy that went bad on disk must not poison the next run: drop it
                from alpinist.images.cache import BlobCache

                BlobCache(cache_root(options)).discard(exc.digest)
            raise
    finally:
        source.close()
    facts = image_facts(ref, resolved, layers, view)
    layer_ids = tuple(layer.diff_id or layer.digest for layer in layers)
    os_info, packages = run_catalogers(view, facts.env, layer_ids, catalogers)
    inv = Inventory(facts, os_info, packages)
    if use_cache:
        _store_cached(cache_path, inv)
    return inv
