"""Shared fixtures: the corpus, an isolated cache, and a guard against leaving loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.pg_server import PgServer, start_postgres

# Hypothesis' default 200 ms deadline fails on a loaded 2-core CI runner for reasons that are not bugs;
# the examples are bounded by max_examples instead (tests that need a deadline set their own).
settings.register_profile("alpinist", deadline=None)
settings.load_profile("alpinist")

pytest_plugins = ["tests.registry_server", "tests.feed_server", "tests.index_server"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
OCI_LAYOUT = CORPUS / "images" / "oci"
EXPECTED = CORPUS / "expected"
PEERS = CORPUS / "peers"
# the test harness's own knobs: every other ALPINIST_* variable is an option's and is cleared per test
HARNESS_VARIABLES = frozenset(
    {"ALPINIST_SKIP_CORPUS_PIN", "ALPINIST_WRITE_GOLDEN", "ALPINIST_CACHE_DIR", "ALPINIST_FUZZ_EXAMPLES",
     "ALPINIST_FUZZ_RANDOM", "ALPINIST_DOCKER_REGISTRY", "ALPINIST_LAYER_WORKERS"}
)
TAGS = ("alpine:3.20.3", "alpine:3.18.9", "debian:12-slim", "python-app:debian", "python-app:alpine")


def expected_dir(tag: str) -> Path:
    return EXPECTED / tag.replace(":", "_")


def oci_ref(tag: str) -> str:
    return f"oci:{OCI_LAYOUT}:{tag}"


def read_tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


def pytest_configure(config: pytest.Config) -> None:
    if not OCI_LAYOUT.is_dir():
        raise pytest.UsageError(f"the corpus is missing: {OCI_LAYOUT} (clone with ../shared beside it)")
    # the controller checks once, not every xdist worker; bench/mutation.py, which runs a module's tests
    # thousands of times on a copy of the same tree, skips it
    if not hasattr(config, "workerinput") and not os.environ.get("ALPINIST_SKIP_CORPUS_PIN"):
        from tests.corpus_pin import check

        changed = check(CORPUS)
        if changed is not None:
            raise pytest.UsageError(changed)


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX and friends never leave the machine


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to connect to a host other than loopback fails the test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            pytest.fail(f"test tried to reach {address!r}: only loopback is allowed")
        real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback(address):
            pytest.fail(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect_ex(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "localhost") and not _is_loopback((host,)):
            pytest.fail(f"test tried to resolve {host!r}: only loopback is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test gets its own cache dir and docker config: nothing from the developer's home leaks in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ALPINIST_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / "docker"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))  # no user config.yaml leaks in
    for name in [n for n in os.environ if n.startswith("ALPINIST_")]:
        if name not in HARNESS_VARIABLES:
            monkeypatch.delenv(name)  # ALPINIST_FORMAT=json in a developer's shell would change outputs
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)  # containers/auth.json must not leak in
    yield


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throw-away PostgreSQL server for the session (``tests/pg_server.py``; one per xdist worker)."""
    with start_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty fleet store's URL on each backend: an SQLite file, or a fresh database on the session's
    PostgreSQL server (started only when a postgresql case runs)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'fleet.db'}"  # sqlite:///tmp/…: three slashes, then the path
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Dask scheduler and two single-threaded workers on 127.0.0.1 (tests/dask_cluster.py)."""
    from tests.dask_cluster import start_dask_cluster

    with start_dask_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster
