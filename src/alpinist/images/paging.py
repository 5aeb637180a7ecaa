"""The paged lists of the Distribution API, ``tags/list`` (``images.tags``) and ``_catalog``
(``images.catalog``), read one way: ``GET <path>?n=<page_size>``, then page after page.

``pages(listing, page_size)`` yields each page's JSON document through the ``RegistrySource`` of the
listing (the same client as a pull: credentials, ``--insecure-registry`` hosts, mirrors, retries,
error checks). Pages follow the ``Link: <URL>; rel="next"`` header, relative or absolute; a next page
on another origin (scheme, host, port) is refused, as is a link back to a page already read. Both are
bounded: ``max_page_bytes`` per page, ``max_pages`` pages. What a page holds, and how many items are
too many, is the caller's to check.

A server without the API (404 or 405 without a distribution error, a 404/405 ``UNSUPPORTED``, or a
200 whose body is not JSON) is ``RegistryError`` naming the registry, the path and the answer, with the
listing's ``hint`` after it; every other failure is reported as for a pull (``NotFound`` for
``NAME_UNKNOWN``, ``AuthError`` for 401/403, ``RegistryError`` for the rest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from alpinist.errors import ImageError, RegistryError
from alpinist.images.registry import RegistrySource

MAX_PAGES = 10_000
NOT_THE_API_CODES = frozenset({"UNSUPPORTED"})


@dataclass(frozen=True)
class Listing:
    """One paged endpoint of one registry, and how messages name it."""

    source: RegistrySource
    path: str  # /v2/<repo>/tags/list, /v2/_catalog
    what: str  # the request as messages name it: "tags of HOST/REPO", "catalog of HOST"
    api: str  # "tags API", "catalog API"
    hint: str = ""  # appended to the no-API error: "; list the images in a file ..."

    def no_api(self, why: str) -> RegistryError:
        return RegistryError(
            f"{self.source.server}: the registry does not answer the {self.api} (GET {self.path}: {why})"
            f"{self.hint}"
        )


def pages(
    listing: Listing, page_size: int, *, max_page_bytes: int, max_pages: int = MAX_PAGES
) -> Iterator[Any]:
    """The JSON document of every page of ``listing``, first to last (see the module's docstring)."""
    source, what = listing.source, listing.what
    origin = httpx.URL(source.base_url)
    url = str(origin.join(f"{listing.path}?n={page_size}"))
    seen = {url}

    def refuse(status: int, code: str | None, detail: str) -> ImageError | None:
        if status in (404, 405) and (code is None or code in NOT_THE_API_CODES):
            return listing.no_api(f"HTTP {status}{detail}")
        return None  # NAME_UNKNOWN is NotFound, 401/403 AuthError, the rest RegistryError, as for a pull

    for _ in range(max_pages):
        body, response = source.fetch(url, what, max_page_bytes, refuse=refuse)
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise listing.no_api("HTTP 200, but not JSON") from None
        yield doc
        link = response.links.get("next", {}).get("url")
        if not link:
            return
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
    raise RegistryError(f"{what}: more than {max_pages} pages; stopped there")
