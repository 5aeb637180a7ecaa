"""A registry's repositories: ``GET /v2/_catalog?n=<page_size>``, page after page (``images.paging``).

``list_repositories(registry, options, prefix=...)`` asks ``registry`` (``host[:port]``) through the same
client as a pull (``images.registry``): the same credentials (a token registry is asked for the scope
``registry:catalog:*``, which its challenge names), ``--insecure-registry`` hosts and mirrors. A mirrored
registry's catalog is the mirror's: with ``--registry-mirror gcr.io=127.0.0.1:5000/gcr`` the catalog
of ``gcr.io`` is the repositories of ``127.0.0.1:5000`` under ``gcr/``, named as they are on ``gcr.io``
(``gcr/distroless/python3`` is ``distroless/python3``), so that they are pulled through the mirror too.

``prefix`` keeps the repositories under it, whole path segments: ``team`` keeps ``team`` and
``team/app``, not ``teamx/app``. The catalog API has no filter, so every page is read and the
repositories are filtered here. The result is sorted, each repository once.

Bounds: ``MAX_PAGE_BYTES`` per page (1000 repositories of 255 characters are 260 kB),
``paging.MAX_PAGES`` pages, ``max_repositories`` repositories under the prefix (more is an error, not a
silent truncation).

Errors: Docker Hub has no catalog for anyone (it answers 401 whatever the credentials), so it is refused
before any request; a registry without the catalog API (404 or 405 without a distribution error,
``UNSUPPORTED``, a 200 that is not the catalog's JSON) is ``RegistryError``; both say so and suggest
``--images FILE``. Authentication failures are ``AuthError`` as for a pull.
"""

from __future__ import annotations

from typing import Any

from alpinist.errors import BadReference, RegistryError
from alpinist.images.mirrors import canonical_registry, mirror_for
from alpinist.images.open import PullOptions, registry_source
from alpinist.images.paging import Listing, pages
from alpinist.images.reference import DOCKER_HUB, is_registry_host, is_repository_path

MAX_PAGE_BYTES = 8 * 1024 * 1024
CATALOG_PATH = "/v2/_catalog"
USE_A_FILE = "; list the images in a file, one reference a line, and use --images FILE"


def check_registry(registry: str) -> str:
    """``registry`` as image names carry it (``host[:port]``, lower case); ``BadReference`` when it is not
    a registry host (a bare word such as ``team`` would be a Docker Hub repository, not a registry)."""
    host = registry.strip()
    if not host or "/" in host or not is_registry_host(host):
        raise BadReference(f"{registry!r} is not a registry HOST[:PORT] (for example 127.0.0.1:5000)")
    if "." not in host and ":" not in host and host.lower() != "localhost":
        raise BadReference(
            f"{registry!r} is not a registry host: a registry name has a '.' or a ':port' (or is localhost)"
        )
    return canonical_registry(host)


def check_prefix(prefix: str | None) -> str:
    """The prefix without surrounding slashes ("" for none); ``BadReference`` when it is no repository path."""
    text = (prefix or "").strip("/")
    if text and not is_repository_path(text):
        raise BadReference(
            f"{prefix!r} is not a repository path prefix (lower-case components separated by '/')"
        )
    return text


def under(repository: str, prefix: str) -> bool:
    """``repository`` is ``prefix`` or below it, whole path segments (``team`` holds ``team/app``, not
    ``teamx/app``); every repository is under the empty prefix."""
    return not prefix or repository == prefix or repository.startswith(f"{prefix}/")


def list_repositories(
    registry: str,
    options: PullOptions,
    *,
    prefix: str | None = None,
    page_size: int = 1000,
    max_repositories: int = 100_000,
) -> tuple[str, ...]:
    """The repositories of ``registry`` under ``prefix`` (every one without), sorted."""
    if page_size < 1 or max_repositories < 1:
        raise ValueError(
            f"page_size ({page_size}) and max_repositories ({max_repositories}) must be positive"
        )
    for scheme in ("registry:", "docker://"):  # as image references may spell it
        registry = registry.removeprefix(scheme)
    host, wanted = check_registry(registry), check_prefix(prefix)
    mirror = mirror_for(host, options.mirrors)
    if host == DOCKER_HUB and mirror is None:
        raise RegistryError(
            f"{host}: Docker Hub does not offer the catalog API (GET {CATALOG_PATH}) to anyone{USE_A_FILE}"
        )
    mirror_prefix = mirror[1] if mirror is not None else ""
    api_prefix = "/".join(p for p in (mirror_prefix, wanted) if p)
    # the repository is never asked for: only the registry's catalog endpoint is
    with registry_source(f"{host}/catalog", "latest", options) as source:
        scope = f" under {wanted}/" if wanted else ""
        listing = Listing(source, CATALOG_PATH, f"catalog of {source.server}", "catalog API", USE_A_FILE)
        found: set[str] = set()
        for doc in pages(listing, page_size, max_page_bytes=MAX_PAGE_BYTES):
            for repository in _page_repositories(listing, doc):
                if not under(repository, api_prefix):
                    continue
                found.add(repository[len(mirror_prefix) + 1 :] if mirror_prefix else repository)
                if len(found) > max_repositories:
                    raise RegistryError(
                        f"{listing.what}: more than {max_repositories} repositories{scope}; stopped there "
                        "(narrow it with REGISTRY/PREFIX, or list the images in a file for --images FILE)"
                    )
    return tuple(sorted(found))


def _page_repositories(listing: Listing, doc: Any) -> list[str]:
    """The repositories of one page: ``{"repositories": [...]}`` (``null`` is none)."""
    if not isinstance(doc, dict) or "repositories" not in doc:
        raise listing.no_api('HTTP 200, but not {"repositories": [...]}')
    repositories = doc["repositories"]
    if repositories is None:
        return []
    if not isinstance(repositories, list):
        raise RegistryError(f"{listing.what}: 'repositories' is not a list")
    for name in repositories:
        if not isinstance(name, str) or not is_repository_path(name) or len(name) > 255:
            raise RegistryError(f"{listing.what}: {name!r} is not a repository name")
    return repositories
