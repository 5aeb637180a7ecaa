"""A repository's tags: ``GET /v2/<repo>/tags/list?n=<page_size>``, page after page.

``list_tags(name, options)`` asks the registry of ``name`` (``[host/]repository``, no tag) through the
same client as a pull (``images.registry``): the same credentials, ``--insecure-registry`` hosts,
mirrors (a mirrored registry's tags are the mirror's, with no fallback), retries and error checks.
The tags come in the order the registry returns them (distribution sorts them), a tag repeated by an
overlapping page only once.

Pages are read by ``images.paging`` (as the catalog's are): the ``Link: <URL>; rel="next"`` header,
relative or absolute, same origin only, no page twice. Everything is bounded: ``MAX_PAGE_BYTES`` per
page, ``paging.MAX_PAGES`` pages, ``max_tags`` tags (more is an error, not a silent truncation).

Errors (one line naming the host and the repository): an unknown repository (404 ``NAME_UNKNOWN``)
is ``NotFound``; a server without the tags API (404 or 405 without a distribution error, a 405
``UNSUPPORTED``, or a body that is not the tags list's JSON) is ``RegistryError``; authentication
failures are ``AuthError`` as for a pull.
"""

from __future__ import annotations

from typing import Any

from alpinist.errors import BadReference, RegistryError
from alpinist.images.open import PullOptions, registry_source
from alpinist.images.paging import Listing, pages
from alpinist.images.registry import RegistrySource, valid_tag

MAX_PAGE_BYTES = 8 * 1024 * 1024  # 1000 tags of 128 characters are 140 kB: room for larger pages


def list_tags(
    name: str, options: PullOptions, *, page_size: int = 1000, max_tags: int = 100_000
) -> tuple[str, ...]:
    """The tags of repository ``name`` (``python``, ``ghcr.io/org/app``), in the registry's order."""
    if page_size < 1 or max_tags < 1:
        raise ValueError(f"page_size ({page_size}) and max_tags ({max_tags}) must be positive")
    for prefix in ("registry:", "docker://"):  # as image references may spell it
        name = name.removeprefix(prefix)
    slash, colon = name.rfind("/"), name.rfind(":")
    if "@" in name or colon > slash:
        raise BadReference(f"{name!r}: list the tags of a repository name, without a tag or digest")
    # the reference is never asked for: only the repository's tags endpoint is
    with registry_source(name, "latest", options) as source:
        return _collect(source, page_size, max_tags)


def _collect(source: RegistrySource, page_size: int, max_tags: int) -> tuple[str, ...]:
    listing = Listing(
        source, f"/v2/{source.api_repository}/tags/list", f"tags of {source.location}", "tags API"
    )
    tags: dict[str, None] = {}
    for doc in pages(listing, page_size, max_page_bytes=MAX_PAGE_BYTES):
        for tag in _page_tags(listing, doc):
            tags[tag] = None
            if len(tags) > max_tags:
                raise RegistryError(
                    f"{listing.what}: more than {max_tags} tags; stopped there (raise max_tags to list them all)"
                )
    return tuple(tags)


def _page_tags(listing: Listing, doc: Any) -> list[str]:
    """The tags of one page: ``{"name": ..., "tags": [...]}`` (``"tags": null`` is none)."""
    if not isinstance(doc, dict) or "tags" not in doc or not isinstance(doc.get("name"), str):
        raise listing.no_api('HTTP 200, but not {"name": ..., "tags": [...]}')
    tags = doc["tags"]
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise RegistryError(f"{listing.what}: 'tags' is not a list")
    for tag in tags:
        if not isinstance(tag, str) or not valid_tag(tag):
            raise RegistryError(f"{listing.what}: {tag!r} is not a valid tag")
    return tags
