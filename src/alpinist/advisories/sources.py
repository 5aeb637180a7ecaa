"""The feeds as the update consumes them: ``SOURCE_NAMES`` and ``all_sources()``, read from the registry.

What a source is (the ``Source`` protocol, ``FeedBatch``, ``ParseStats``, ``Batcher``) lives in
``feed.py`` and is re-exported here; which feeds exist lives in ``registry.py``; each feed's own code
in ``feeds/<name>/``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alpinist.advisories import registry
from alpinist.advisories.feed import BATCH_SIZE, Batcher, FeedBatch, ParseStats, Source, SourceBase
from alpinist.advisories.feeds.alpine.secdb import DEFAULT_ALPINE_BRANCHES
from alpinist.advisories.feeds.osv.records import DEFAULT_OSV_ECOSYSTEMS
from alpinist.advisories.profile import SourceOptions

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_ALPINE_BRANCHES",
    "DEFAULT_OSV_ECOSYSTEMS",
    "SOURCE_NAMES",
    "Batcher",
    "FeedBatch",
    "ParseStats",
    "Source",
    "SourceBase",
    "all_sources",
]

# The default registry's feeds, in update order (``registry.source_names()`` includes any registered later).
SOURCE_NAMES: tuple[str, ...] = tuple(p.name for p in registry.PROFILES)


def all_sources(
    alpine_branches: Sequence[str] = DEFAULT_ALPINE_BRANCHES,
    nvd_api_key: str | None = None,
    *,
    osv_ecosystems: Sequence[str] = DEFAULT_OSV_ECOSYSTEMS,
    nvd_page_size: int | None = None,
) -> dict[str, Source]:
    """Every registered feed by name, in update order, with its upstream URLs as defaults."""
    options = SourceOptions(
        alpine_branches=alpine_branches,
        nvd_api_key=nvd_api_key,
        osv_ecosystems=osv_ecosystems,
        nvd_page_size=nvd_page_size,
    )
    return {p.name: p.make_source(options) for p in registry.profiles()}
