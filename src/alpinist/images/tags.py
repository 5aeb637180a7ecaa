"""A repository's tags: ``GET /v2/<repo>/tags/list?n=<page_size>``, page after page.

``list_tags(name, options)`` asks the registry of ``name`` (``[host/]repository``, no tag) through the
same client as a pull (``images.registry``): the same credentials, ``--insecure-registry`` hosts,
mirrors (a mirrored registry's tags are the mirror's, with no fallback), retries and error checks.
The tags come in the order the registry returns them (distribution sorts them), a tag repeated by an
overlapping page only once.

Pages follow the ``Link: <URL>; rel="next"`` header, relative or absolute; a next page on another
origin (scheme, host, port) is refused, as is a link back to a page already read. Everything is
bounded: ``MAX_PAGE_BYTES`` per page, ``MAX_PAGES`` pages, ``max_tags`` tags (more is an error, not a
silent truncation).

Errors (one line naming the host and the repository): an unknown repository (404 ``NAME_UNKNOWN``)
is ``NotFound``; a server without the tags API (404 or 405 without a distribution error, a 405
``UNSUPPORTED``, or a body that is not the tags list's JSON) is ``RegistryError``; authentication
failures are ``AuthError`` as for a pull.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from alpinist.errors import BadReference, ImageError, RegistryError
from alpinist.images.open import PullOptions, registry_source
from alpinist.images.registry import RegistrySource, valid_tag

MAX_PAGE_BYTES = 8 * 1024 * 1024  # 1000 tags of 128 characters are 140 kB: room for larger pages
MAX_PAGES = 10_000
NOT_THE_API_CODES = frozenset({"UNSUPPORTED"})


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
    path = f"/v2/{source.api_repository}/tags/list"
    what = f"tags of {source.location}"
    origin = httpx.URL(source.base_url)
    url = f"{path}?n={page_size}"
    seen: set[str] = set()
    tags: dict[str, None] = {}

    def refuse(status: int, code: str | None, detail: str) -> ImageError | None:
        if status in (404, 405) and (code is None or code in NOT_THE_API_CODES):
            return _no_api(source, path, f"HTTP {status}{detail}")
        return None  # NAME_UNKNOWN is NotFound, 401/403 AuthError, the rest RegistryError, as for a pull

    for _ in range(MAX_PAGES):
        body, response = source.fetch(url, what, MAX_PAGE_BYTES, refuse=refuse)
        for tag in _page_tags(source, path, body):
            tags[tag] = None
            if len(tags) > max_tags:
                raise RegistryError(
                    f"{what}: more than {max_tags} tags; stopped there (raise max_tags to list them all)"
                )
        link = response.links.get("next", {}).get("url")
        if not link:
            return tuple(tags)
        target = response.url.join(link)
        if (target.scheme, target.host, target.port) != (origin.scheme, origin.host, origin.port):
            raise RegistryError(
                f"{what}: the next page is on another origin ({target.scheme}://{target.netloc.decode()}); "
                "refused"
            )
        url = str(target)
        if url in seen:
            raise RegistryError(f"{what}: the next page links back to a page already read ({target.path})")
        seen.add(url)
    raise RegistryError(f"{what}: more than {MAX_PAGES} pages; stopped there")


def _no_api(source: RegistrySource, path: str, why: str) -> RegistryError:
    return RegistryError(f"{source.server}: the registry does not answer the tags API (GET {path}: {why})")


def _page_tags(source: RegistrySource, path: str, body: bytes) -> list[str]:
    """The tags of one page: ``{"name": ..., "tags": [...]}`` (``"tags": null`` is none)."""
    try:
        doc: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _no_api(source, path, "HTTP 200, but not JSON") from None
    if not isinstance(doc, dict) or "tags" not in doc or not isinstance(doc.get("name"), str):
        raise _no_api(source, path, 'HTTP 200, but not {"name": ..., "tags": [...]}')
    tags = doc["tags"]
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise RegistryError(f"tags of {source.location}: 'tags' is not a list")
    for tag in tags:
        if not isinstance(tag, str) or not valid_tag(tag):
            raise RegistryError(f"tags of {source.location}: {tag!r} is not a valid tag")
    return tags
