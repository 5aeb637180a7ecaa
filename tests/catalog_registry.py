"""Registries with a known catalog, for ``images.catalog`` and ``fleet.listing``: the real loopback
``docker-registry`` (``registry_server.py``), fresh for the session so that no other test's pushes show
up in its catalog.

``catalog_registry`` (anonymous) holds repositories under two prefixes and one beside them:
``team/api``, ``team/app`` (tags ``3.20.3``, ``v1``, ``v2``), ``team/sub/worker``, ``ops/cache``,
``ops/db`` and ``teamx/app`` (which the prefix ``team`` must not match), each ``alpine:3.20.3``.

``catalog_token_registry`` answers with bearer tokens from ``CatalogTokens``: ``REGISTRY_USER`` may list
the catalog; ``team/app``, ``team/secret`` and ``other/tool`` are pushed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.registry_server import (
    OCI_MANIFEST,
    REGISTRY_USER,
    RunningRegistry,
    TokenServer,
    start_registry,
    tools_missing,
)

REPOSITORIES = ("ops/cache", "ops/db", "team/api", "team/app", "team/sub/worker", "teamx/app")
APP_TAGS = ("3.20.3", "v1", "v2")
TOKEN_REPOSITORIES = ("other/tool", "team/app", "team/secret")


class CatalogTokens(TokenServer):
    """The project's ``TokenServer`` grants ``repository:`` scopes only; a registry's auth service also
    grants the catalog (``registry:catalog:*``) to whom it chooses. This one grants it to authenticated
    users, and withholds every access to the repositories in ``denied`` (set after the pushes: a user who
    sees a repository in the catalog but may not read it). The token is the parent's, re-signed with the
    same key after its ``access`` claim is changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.denied: set[str] = set()

    def _issue(self, subject: str, scopes: list[str], authenticated: bool) -> str:
        import jwt

        token = super()._issue(subject, scopes, authenticated)
        claims = jwt.decode(token, options={"verify_signature": False})
        access = [grant for grant in claims["access"] if grant["name"] not in self.denied]
        if authenticated and "registry:catalog:*" in scopes:
            access.append({"type": "registry", "name": "catalog", "actions": ["*"]})
        claims["access"] = access
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": [self._cert_der_b64]})


def _require_tools() -> None:
    missing = tools_missing()
    if missing:
        pytest.fail(f"registry tests need: {', '.join(missing)} (the test command installs them)")


@pytest.fixture(scope="session", name="catalog_registry")
def catalog_registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    _require_tools()
    registry = start_registry(tmp_path_factory.mktemp("registry-catalog"))
    try:
        for repository in REPOSITORIES:
            registry.push("alpine:3.20.3", repository)
        manifest = httpx.get(
            f"{registry.url}/v2/team/app/manifests/3.20.3", headers={"Accept": OCI_MANIFEST}, timeout=30
        )
        manifest.raise_for_status()
        for tag in APP_TAGS[1:]:
            registry.put_manifest("team/app", tag, manifest.content, OCI_MANIFEST)
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope="session", name="catalog_token_registry")
def catalog_token_registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    _require_tools()
    workdir = tmp_path_factory.mktemp("registry-catalog-token")
    tokens = CatalogTokens(workdir, {REGISTRY_USER[0]: REGISTRY_USER[1]})
    registry = start_registry(workdir, token=tokens, token_credentials=REGISTRY_USER)
    try:
        for repository in TOKEN_REPOSITORIES:
            registry.push("alpine:3.20.3", repository)
        yield registry
    finally:
        registry.stop()
