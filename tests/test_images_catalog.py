"""A registry's repositories (``images.catalog.list_repositories``) against the real docker-registry on
loopback: its catalog pages (distribution 2.8 honours ``n`` on ``_catalog`` and sends ``Link``), a token
registry that wants ``registry:catalog:*``, prefixes, mirrors. A registry without the catalog API is the
same real registry behind the fault proxy (``fault_proxy.py``), which answers ``/v2/_catalog`` alone
with a 404, a 405 ``UNSUPPORTED`` or an HTML page: docker-registry cannot be configured to lack the
endpoint, and behind the proxy everything else (``/v2/``, the challenge) is still the real server's, as
it is behind a reverse proxy that blocks the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alpinist.errors import AuthError, BadReference, NotFound, RegistryError
from alpinist.images import catalog
from alpinist.images.catalog import list_repositories, under
from alpinist.images.open import PullOptions
from tests.catalog_registry import (  # noqa: F401 - the fixtures register by import
    REPOSITORIES,
    TOKEN_REPOSITORIES,
    CatalogTokens,
    catalog_registry_fixture,
    catalog_token_registry_fixture,
)
from tests.fault_proxy import Fault, FaultProxy
from tests.registry_server import REGISTRY_USER, RunningRegistry

pytestmark = pytest.mark.registry


@pytest.fixture
def proxy(catalog_registry: RunningRegistry) -> Iterator[FaultProxy]:
    """The catalog registry behind the fault proxy (no fault unless a test adds one); ``log`` records
    every request path."""
    with FaultProxy(int(catalog_registry.host.rsplit(":", 1)[1])) as fault_proxy:
        yield fault_proxy


def options(
    tmp_path: Path,
    *,
    credentials: tuple[str, str] | None = None,
    mirrors: tuple[tuple[str, str], ...] = (),
) -> PullOptions:
    return PullOptions(cache_dir=tmp_path / "cache", credentials=credentials, mirrors=mirrors)


def catalog_requests(proxy: FaultProxy) -> list[str]:
    return [path for path, _ in proxy.log if path.startswith("/v2/_catalog")]


# -- the catalog ---------------------------------------------------------------------------------------
def test_every_repository_sorted(catalog_registry: RunningRegistry, tmp_path: Path) -> None:
    assert list_repositories(catalog_registry.host, options(tmp_path)) == REPOSITORIES


def test_pages_follow_the_registry_link(proxy: FaultProxy, tmp_path: Path) -> None:
    """n=2: the registry's own Link header leads from page to page, and nothing is lost or repeated."""
    assert list_repositories(proxy.host, options(tmp_path), page_size=2) == REPOSITORIES
    pages = catalog_requests(proxy)
    assert pages[0] == "/v2/_catalog?n=2"
    assert len(pages) >= len(REPOSITORIES) // 2  # 6 repositories, 2 a page
    assert all("last=" in page and "n=2" in page for page in pages[1:]), pages


def test_one_page_when_it_holds_every_repository(proxy: FaultProxy, tmp_path: Path) -> None:
    assert list_repositories(proxy.host, options(tmp_path)) == REPOSITORIES
    assert catalog_requests(proxy) == ["/v2/_catalog?n=1000"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("team", ("team/api", "team/app", "team/sub/worker")),  # not teamx/app
        ("team/", ("team/api", "team/app", "team/sub/worker")),
        ("team/sub", ("team/sub/worker",)),
        ("ops", ("ops/cache", "ops/db")),
        ("ops/db", ("ops/db",)),  # a prefix that is a whole repository name holds that repository
        ("tea", ()),  # not a segment of anything
        ("nobody", ()),
    ],
)
def test_a_prefix_matches_whole_path_segments(
    catalog_registry: RunningRegistry, tmp_path: Path, prefix: str, expected: tuple[str, ...]
) -> None:
    assert list_repositories(catalog_registry.host, options(tmp_path), prefix=prefix, page_size=3) == expected


def test_under() -> None:
    assert under("team/app", "team") and under("team", "team") and under("a/b/c", "a/b")
    assert not under("teamx/app", "team") and not under("team", "team/app") and not under("tea", "team")
    assert under("anything", "")


def test_max_repositories_counts_those_under_the_prefix(
    catalog_registry: RunningRegistry, tmp_path: Path
) -> None:
    host = catalog_registry.host
    assert len(list_repositories(host, options(tmp_path), prefix="team", max_repositories=3)) == 3
    with pytest.raises(RegistryError) as err:
        list_repositories(host, options(tmp_path), prefix="team", max_repositories=2, page_size=2)
    assert str(err.value) == (
        f"catalog of {host}: more than 2 repositories under team/; stopped there "
        "(narrow it with REGISTRY/PREFIX, or list the images in a file for --images FILE)"
    )


def test_an_oversized_page_is_refused(
    catalog_registry: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "MAX_PAGE_BYTES", 40)
    with pytest.raises(
        RegistryError, match=rf"catalog of {catalog_registry.host}: .*exceeds the 40-byte limit"
    ):
        list_repositories(catalog_registry.host, options(tmp_path))


def test_through_a_mirror_with_a_path_prefix(catalog_registry: RunningRegistry, tmp_path: Path) -> None:
    """gcr.io mirrored at HOST/team: the catalog is the mirror's repositories under team/, named as on
    gcr.io (the loopback guard fails the test if gcr.io itself is asked)."""
    mirrored = options(tmp_path, mirrors=(("gcr.io", f"{catalog_registry.host}/team"),))
    assert list_repositories("gcr.io", mirrored) == ("api", "app", "sub/worker")
    assert list_repositories("gcr.io", mirrored, prefix="sub") == ("sub/worker",)
    assert list_repositories("GCR.io", mirrored, prefix="app") == ("app",)


# -- credentials ---------------------------------------------------------------------------------------
def test_a_token_registry_asks_for_the_catalog_scope(
    catalog_token_registry: RunningRegistry, tmp_path: Path
) -> None:
    tokens = catalog_token_registry.token_server
    assert isinstance(tokens, CatalogTokens)
    before = len(tokens.token_requests())
    found = list_repositories(catalog_token_registry.host, options(tmp_path, credentials=REGISTRY_USER))
    assert found == TOKEN_REPOSITORIES
    asked = tokens.token_requests()[before:]
    assert [request["query"]["scope"] for request in asked] == [["registry:catalog:*"]]
    assert asked[0]["authorization"].startswith("Basic ")


def test_a_token_registry_without_credentials_is_an_auth_error(
    catalog_token_registry: RunningRegistry, tmp_path: Path
) -> None:
    with pytest.raises(AuthError) as err:
        list_repositories(catalog_token_registry.host, options(tmp_path))
    message = str(err.value)
    assert message.startswith(
        f"registry {catalog_token_registry.host}: catalog of {catalog_token_registry.host}"
    )
    assert "authentication failed (no credentials were found)" in message
    with pytest.raises(AuthError, match="refused the credentials given"):
        list_repositories(
            catalog_token_registry.host, options(tmp_path, credentials=(REGISTRY_USER[0], "wrong"))
        )


# -- registries without the catalog --------------------------------------------------------------------
NO_CATALOG = "; list the images in a file, one reference a line, and use --images FILE"


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        (Fault("status", path="/v2/_catalog", status=404, body=b"404 page not found\n"), "HTTP 404"),
        (
            Fault(
                "status",
                path="/v2/_catalog",
                status=405,
                body=b'{"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}',
            ),
            "HTTP 405 [UNSUPPORTED: The operation is unsupported.]",
        ),
        (
            Fault("status", path="/v2/_catalog", status=404, body=b'{"errors": [{"code": "UNSUPPORTED"}]}'),
            "HTTP 404 [UNSUPPORTED]",
        ),
        (
            Fault("status", path="/v2/_catalog", status=200, body=b"<html>hello</html>"),
            "HTTP 200, but not JSON",
        ),
        (
            Fault("status", path="/v2/_catalog", status=200, body=b'{"name": "x", "tags": []}'),
            'HTTP 200, but not {"repositories": [...]}',
        ),
    ],
)
def test_a_registry_without_the_catalog_api(
    proxy: FaultProxy, tmp_path: Path, fault: Fault, why: str
) -> None:
    proxy.faults.append(fault)
    with pytest.raises(RegistryError) as err:
        list_repositories(proxy.host, options(tmp_path))
    assert not isinstance(err.value, (NotFound, AuthError))
    assert str(err.value) == (
        f"{proxy.host}: the registry does not answer the catalog API (GET /v2/_catalog: {why}){NO_CATALOG}"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"repositories": "team/app"}', "'repositories' is not a list"),
        (b'{"repositories": [1]}', "1 is not a repository name"),
        (b'{"repositories": ["Team/App"]}', "'Team/App' is not a repository name"),
    ],
)
def test_a_malformed_catalog(proxy: FaultProxy, tmp_path: Path, body: bytes, message: str) -> None:
    proxy.faults.append(Fault("status", path="/v2/_catalog", status=200, body=body))
    with pytest.raises(RegistryError, match=rf"catalog of {proxy.host}: {message}"):
        list_repositories(proxy.host, options(tmp_path))


def test_null_is_an_empty_catalog(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.faults.append(Fault("status", path="/v2/_catalog", status=200, body=b'{"repositories": null}'))
    assert list_repositories(proxy.host, options(tmp_path)) == ()


@pytest.mark.parametrize(
    "hub", ["docker.io", "index.docker.io", "registry-1.docker.io", "registry:docker.io"]
)
def test_docker_hub_is_refused_without_a_request(hub: str, tmp_path: Path) -> None:
    """Docker Hub answers 401 to every catalog request: said at once, nothing is sent (the loopback guard
    would fail the test)."""
    with pytest.raises(RegistryError) as err:
        list_repositories(hub, options(tmp_path))
    assert str(err.value) == (
        f"docker.io: Docker Hub does not offer the catalog API (GET /v2/_catalog) to anyone{NO_CATALOG}"
    )


@pytest.mark.parametrize(
    ("registry", "prefix", "message"),
    [
        ("team", None, "a registry name has a '.' or a ':port'"),
        ("127.0.0.1:5000/team", None, "is not a registry HOST"),
        ("", None, "is not a registry HOST"),
        ("bad host", None, "is not a registry HOST"),
        ("127.0.0.1:5000", "Team", "'Team' is not a repository path prefix"),
        ("127.0.0.1:5000", "a//b", "is not a repository path prefix"),
    ],
)
def test_not_a_registry_or_not_a_prefix(
    registry: str, prefix: str | None, message: str, tmp_path: Path
) -> None:
    with pytest.raises(BadReference, match=message):
        list_repositories(registry, options(tmp_path), prefix=prefix)
