"""Listing a repository's tags (``images.tags``) and registry mirrors (``PullOptions.mirrors``), against
the real docker-registry on loopback; a loopback stdlib server stands in only for what a real registry
cannot be made to answer (no tags API, links to another origin, malformed lists).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from alpinist.errors import AuthError, BadReference, NotFound, RegistryError
from alpinist.images.cache import BlobCache
from alpinist.images.manifest import OCI_MANIFEST
from alpinist.images.mirrors import mirror_for, parse_mirror
from alpinist.images.open import PullOptions, open_source
from alpinist.images.reference import parse_reference
from alpinist.images.registry import RegistrySource, RetryPolicy
from alpinist.images.tags import list_tags
from alpinist.models import Platform
from tests.conftest import EXPECTED, read_tsv
from tests.registry_server import (  # noqa: F401 - the *_fixture imports register pytest fixtures
    REGISTRY_USER,
    LoopbackHandler,
    RunningRegistry,
    free_port,
    registry_fixture,
    registry_htpasswd_fixture,
    registry_token_fixture,
    serve_loopback,
)

AMD64 = Platform("linux", "amd64")
INDEX = {row["tag"]: row for row in read_tsv(EXPECTED / "INDEX.tsv")}
MANY = "tags/many"
MANY_TAGS = [f"v{i:02d}" for i in range(25)]
DISTROLESS = "gcr/distroless/python3-debian12"  # gcr.io/distroless/python3-debian12 under the prefix


def manifest_bytes(registry: RunningRegistry, repository: str, reference: str) -> bytes:
    response = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}, timeout=30
    )
    response.raise_for_status()
    return response.content


@pytest.fixture(scope="module")
def tagged(registry: RunningRegistry) -> RunningRegistry:
    """The session registry with ``tags/many`` under 25 tags and the "gcr" copy of a distroless tag."""
    if f"{MANY}:{MANY_TAGS[0]}" not in registry.pushed:
        registry.push("alpine:3.20.3", MANY)
        body = manifest_bytes(registry, MANY, "3.20.3")
        for tag in MANY_TAGS:
            registry.put_manifest(MANY, tag, body, OCI_MANIFEST)
        registry.pushed[f"{MANY}:{MANY_TAGS[0]}"] = "done"
        registry.push("alpine:3.20.3", DISTROLESS)
        registry.put_manifest(
            DISTROLESS, "nonroot", manifest_bytes(registry, DISTROLESS, "3.20.3"), OCI_MANIFEST
        )
    return registry


# -- a counting, paginating proxy in front of the real registry -----------------------------------
@dataclass
class Proxy:
    """A loopback HTTP proxy to the real registry that records the path of every request.

    Debian's docker-registry (distribution 2.8) ignores ``n`` and ``last`` on ``tags/list`` and never
    sends a ``Link`` (``test_a_registry_that_ignores_n``); distribution 3 pages as the spec says: tags
    in lexical order, ``n`` of them after ``last``, a relative ``Link`` to the next page. The proxy
    does that with the real registry's tags, and passes every other request through as it is.
    """

    upstream: str
    paths: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


PASSED_REQUEST = ("Authorization", "Accept")
PASSED_RESPONSE = ("Content-Type", "Link", "WWW-Authenticate", "Docker-Distribution-Api-Version")


@pytest.fixture
def proxy(tagged: RunningRegistry) -> Iterator[Proxy]:
    state = Proxy(tagged.url)

    class Handler(LoopbackHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            headers = {k: v for k in PASSED_REQUEST if (v := self.headers.get(k))}
            url = httpx.URL(self.path)
            answer = httpx.get(state.upstream + url.path, params=url.params, headers=headers, timeout=30)
            body = answer.content
            link = None
            if url.path.endswith("/tags/list") and "n" in url.params and answer.status_code == 200:
                doc = answer.json()
                n, last = int(url.params["n"]), url.params.get("last", "")
                after = [t for t in sorted(doc["tags"]) if t > last]
                body = json.dumps({"name": doc["name"], "tags": after[:n]}).encode()
                if len(after) > n:
                    link = f'<{url.path}?last={after[n - 1]}&n={n}>; rel="next"'
            passed = [(name, value) for name in PASSED_RESPONSE for value in answer.headers.get_list(name)]
            self.reply(answer.status_code, passed + ([("Link", link)] if link else []), body)

    with serve_loopback(Handler) as state.port:
        yield state


# -- listing tags on the real registry -------------------------------------------------------------
@pytest.mark.registry
def test_pages_follow_the_link_header(proxy: Proxy, tmp_path: Path) -> None:
    tags = list_tags(f"{proxy.host}/{MANY}", PullOptions(cache_dir=tmp_path), page_size=10)
    assert tags == tuple(sorted([*MANY_TAGS, "3.20.3"]))  # all of them, in the registry's (sorted) order
    pages = [p for p in proxy.paths if p.startswith(f"/v2/{MANY}/tags/list")]
    assert len(pages) == 3, pages  # 26 tags, 10 a page
    assert pages[0] == f"/v2/{MANY}/tags/list?n=10"
    assert all("last=" in p for p in pages[1:])


@pytest.mark.registry
def test_a_registry_that_ignores_n(tagged: RunningRegistry, tmp_path: Path) -> None:
    """distribution 2.8 sends every tag at once, in its own (storage) order: kept as it is."""
    raw = httpx.get(f"{tagged.url}/v2/{MANY}/tags/list?n=10", timeout=30)
    assert "link" not in raw.headers and len(raw.json()["tags"]) == 26
    tags = list_tags(f"{tagged.host}/{MANY}", PullOptions(cache_dir=tmp_path), page_size=10)
    assert tags == tuple(raw.json()["tags"])


@pytest.mark.registry
def test_one_page_when_it_holds_every_tag(proxy: Proxy, tmp_path: Path) -> None:
    assert len(list_tags(f"{proxy.host}/{MANY}", PullOptions(cache_dir=tmp_path))) == 26
    assert [p for p in proxy.paths if "/tags/list" in p] == [f"/v2/{MANY}/tags/list?n=1000"]


@pytest.mark.registry
def test_max_tags_is_a_clear_error(tagged: RunningRegistry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=rf"tags of {tagged.host}/{MANY}: more than 12 tags"):
        list_tags(f"{tagged.host}/{MANY}", PullOptions(cache_dir=tmp_path), page_size=10, max_tags=12)


@pytest.mark.registry
def test_unknown_repository_is_not_found(tagged: RunningRegistry, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as err:
        list_tags(f"{tagged.host}/library/nothing-here", PullOptions(cache_dir=tmp_path))
    message = str(err.value)
    assert f"{tagged.host}/library/nothing-here" in message and "NAME_UNKNOWN" in message
    assert "\n" not in message


@pytest.mark.registry
def test_list_tags_with_bearer_tokens(registry_token: RunningRegistry, tmp_path: Path) -> None:
    tokens = registry_token.token_server
    assert tokens is not None
    before = len(tokens.token_requests())
    options = PullOptions(cache_dir=tmp_path, credentials=REGISTRY_USER)
    assert list_tags(f"{registry_token.host}/library/alpine", options) == ("3.20.3",)
    asked = tokens.token_requests()[before:]
    assert len(asked) == 1
    assert asked[0]["query"]["scope"] == ["repository:library/alpine:pull"]
    assert asked[0]["authorization"].startswith("Basic ")
    with pytest.raises(AuthError, match=registry_token.host):
        list_tags(
            f"{registry_token.host}/library/alpine",
            PullOptions(cache_dir=tmp_path, credentials=(REGISTRY_USER[0], "wrong")),
        )


@pytest.mark.registry
def test_list_tags_with_basic_auth_from_the_docker_config(
    registry_htpasswd: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{registry_htpasswd.host}/library/alpine"
    with pytest.raises(AuthError, match="requires credentials"):
        list_tags(name, PullOptions(cache_dir=tmp_path))
    write_docker_config(tmp_path, monkeypatch, registry_htpasswd.host)
    assert "3.20.3" in list_tags(name, PullOptions(cache_dir=tmp_path))


def write_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{REGISTRY_USER[0]}:{REGISTRY_USER[1]}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))


@pytest.mark.parametrize("name", ["127.0.0.1:5000/a:1", "127.0.0.1:5000/a@sha256:" + "0" * 64, "A/b"])
def test_a_name_with_a_tag_or_not_a_name(name: str, tmp_path: Path) -> None:
    with pytest.raises(BadReference):
        list_tags(name, PullOptions(cache_dir=tmp_path))


# -- a loopback server that is not (quite) a registry ----------------------------------------------
@dataclass
class Fake:
    """``answers[path without query]`` = (status, headers, body); ``/v2/`` answers 200; the rest 404."""

    answers: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def fake() -> Iterator[Fake]:
    state = Fake()

    class Handler(LoopbackHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            path = self.path.split("?", 1)[0]
            status, headers, body = state.answers.get(path, (404, {}, b"404 page not found\n"))
            if path == "/v2/":
                status, headers, body = 200, {"Content-Type": "application/json"}, b"{}"
            self.reply(status, list(headers.items()), body)

    with serve_loopback(Handler) as state.port:
        yield state


def page(
    tags: list[str] | None, link: str | None = None, name: str = "x"
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if link is not None:
        headers["Link"] = f'<{link}>; rel="next"'
    return 200, headers, json.dumps({"name": name, "tags": tags}).encode()


def test_a_server_without_the_tags_api(fake: Fake, tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as err:
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))
    assert not isinstance(err.value, NotFound)
    assert str(err.value) == (
        f"{fake.host}: the registry does not answer the tags API (GET /v2/x/tags/list: HTTP 404)"
    )


def test_405_and_a_body_that_is_not_json(fake: Fake, tmp_path: Path) -> None:
    fake.answers["/v2/x/tags/list"] = (405, {}, b"method not allowed")
    with pytest.raises(
        RegistryError, match=r"does not answer the tags API \(GET /v2/x/tags/list: HTTP 405\)"
    ):
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))
    fake.answers["/v2/x/tags/list"] = (200, {"Content-Type": "text/html"}, b"<html>hello</html>")
    with pytest.raises(RegistryError, match=r"does not answer the tags API .*not JSON"):
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "does not answer the tags API"),
        (b'{"tags": []}', "does not answer the tags API"),
        (b'{"name": "x", "tags": "latest"}', "'tags' is not a list"),
        (b'{"name": "x", "tags": [1]}', "1 is not a valid tag"),
        (b'{"name": "x", "tags": ["-bad"]}', "'-bad' is not a valid tag"),
    ],
)
def test_malformed_lists(fake: Fake, tmp_path: Path, body: bytes, message: str) -> None:
    fake.answers["/v2/x/tags/list"] = (200, {"Content-Type": "application/json"}, body)
    with pytest.raises(RegistryError, match=message) as err:
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))
    assert fake.host in str(err.value)


def test_null_tags_relative_and_absolute_links(fake: Fake, tmp_path: Path) -> None:
    fake.answers["/v2/x/tags/list"] = page(["a", "b"], "/v2/x/tags/list2?n=2&last=b")
    fake.answers["/v2/x/tags/list2"] = page(["b", "c"], f"http://{fake.host}/v2/x/tags/list3?n=2&last=c")
    fake.answers["/v2/x/tags/list3"] = page(None)
    assert list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path), page_size=2) == ("a", "b", "c")
    assert [p for p in fake.paths if p != "/v2/"] == [
        "/v2/x/tags/list?n=2",
        "/v2/x/tags/list2?n=2&last=b",
        "/v2/x/tags/list3?n=2&last=c",
    ]


def test_a_next_link_to_another_origin_is_refused(fake: Fake, tmp_path: Path) -> None:
    elsewhere = free_port()
    fake.answers["/v2/x/tags/list"] = page(["a"], f"http://127.0.0.1:{elsewhere}/v2/x/tags/list?last=a")
    with pytest.raises(RegistryError, match=rf"another origin \(http://127\.0\.0\.1:{elsewhere}\); refused"):
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))
    fake.answers["/v2/x/tags/list"] = page(["a"], f"https://{fake.host}/v2/x/tags/list?last=a")
    with pytest.raises(RegistryError, match="another origin"):
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))


def test_a_link_back_to_a_page_already_read(fake: Fake, tmp_path: Path) -> None:
    fake.answers["/v2/x/tags/list"] = page(["a"], "/v2/x/tags/list?n=1&last=a")
    with pytest.raises(RegistryError, match="links back to a page already read"):
        list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path), page_size=1)
    assert len([p for p in fake.paths if "/tags/" in p]) == 2


def test_an_oversized_page_is_refused(fake: Fake, tmp_path: Path) -> None:
    from alpinist.images import tags

    fake.answers["/v2/x/tags/list"] = page([f"t{i}" for i in range(100)])
    old = tags.MAX_PAGE_BYTES
    tags.MAX_PAGE_BYTES = 200
    try:
        with pytest.raises(RegistryError, match="exceeds the 200-byte limit"):
            list_tags(f"{fake.host}/x", PullOptions(cache_dir=tmp_path))
    finally:
        tags.MAX_PAGE_BYTES = old


# -- mirrors ---------------------------------------------------------------------------------------
@pytest.mark.registry
@pytest.mark.parametrize("spelling", ["docker.io", "index.docker.io", "Registry-1.Docker.IO"])
@pytest.mark.parametrize("image", ["docker.io/library/alpine:3.20.3", "alpine:3.20.3"])
def test_docker_hub_through_a_mirror(
    tagged: RunningRegistry, tmp_path: Path, spelling: str, image: str
) -> None:
    options = PullOptions(platform=AMD64, cache_dir=tmp_path, mirrors=((spelling, tagged.host),))
    with open_source(parse_reference(image), options) as source:
        resolved = source.resolve()
    assert resolved.name == "docker.io/library/alpine:3.20.3"
    assert resolved.manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]


@pytest.mark.registry
def test_a_mirror_with_a_path_prefix(tagged: RunningRegistry, tmp_path: Path) -> None:
    options = PullOptions(platform=AMD64, cache_dir=tmp_path, mirrors=(("gcr.io", f"{tagged.host}/gcr"),))
    ref = parse_reference("gcr.io/distroless/python3-debian12:nonroot")
    with open_source(ref, options) as source:
        resolved = source.resolve()
        layer = resolved.layers[0]
        with source.open_blob(layer) as blob:
            assert len(blob.read()) == layer.size
    assert resolved.name == "gcr.io/distroless/python3-debian12:nonroot"
    assert resolved.manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    assert sorted(list_tags("gcr.io/distroless/python3-debian12", options)) == ["3.20.3", "nonroot"]


@pytest.mark.registry
def test_list_tags_through_a_mirror(tagged: RunningRegistry, tmp_path: Path) -> None:
    options = PullOptions(cache_dir=tmp_path, mirrors=(("docker.io", tagged.host),))
    assert "3.20.3" in list_tags("alpine", options)
    assert sorted(list_tags("docker.io/tags/many", options, page_size=10)) == sorted([*MANY_TAGS, "3.20.3"])
    with pytest.raises(NotFound) as err:
        list_tags("nothing-here", options)
    assert f"{tagged.host}/library/nothing-here (mirror of docker.io/library/nothing-here)" in str(err.value)


@pytest.mark.registry
def test_what_the_mirror_lacks_is_not_looked_for_elsewhere(tagged: RunningRegistry, tmp_path: Path) -> None:
    options = PullOptions(platform=AMD64, cache_dir=tmp_path, mirrors=(("docker.io", tagged.host),))
    with open_source(parse_reference("alpine:9.9.9"), options) as source, pytest.raises(NotFound) as err:
        source.resolve()
    assert str(err.value).startswith("manifest docker.io/library/alpine:9.9.9: not found on ")
    assert f"{tagged.host} (mirror of docker.io)" in str(err.value)
    # a mirror that does not answer: an error naming it, and no request to Docker Hub (the loopback
    # guard of conftest would fail the test)
    dead = f"127.0.0.1:{free_port()}"
    with (
        RegistrySource(
            "alpine",
            "3.20.3",
            platform=AMD64,
            cache=BlobCache(tmp_path / "c"),
            mirrors=(("docker.io", dead),),
            sleep=lambda _: None,
            retry=RetryPolicy(attempts=2),
        ) as source,
        pytest.raises(RegistryError, match=rf"registry {dead} \(mirror of docker\.io\): .*cannot reach"),
    ):
        source.resolve()


@pytest.mark.registry
def test_the_mirror_host_credentials_are_used(
    registry_htpasswd: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = PullOptions(
        platform=AMD64, cache_dir=tmp_path, mirrors=(("docker.io", registry_htpasswd.host),)
    )
    write_docker_config(tmp_path, monkeypatch, "docker.io")  # Docker Hub's credentials: not the mirror's
    with (
        open_source(parse_reference("alpine:3.20.3"), options) as source,
        pytest.raises(AuthError, match="requires credentials"),
    ):
        source.resolve()
    write_docker_config(tmp_path, monkeypatch, registry_htpasswd.host)
    with open_source(parse_reference("alpine:3.20.3"), options) as source:
        assert source.resolve().name == "docker.io/library/alpine:3.20.3"
    assert list_tags("alpine", options) == ("3.20.3",)


def test_mirror_scheme_and_insecure_hosts(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    cases = [
        ("docker.io", "127.0.0.1:5000", frozenset(), "http://127.0.0.1:5000", "library/python"),
        ("DOCKER.IO", "mirror.example.org", frozenset(), "https://mirror.example.org", "library/python"),
        (
            "docker.io",
            "mirror.example.org:5000/hub",
            frozenset({"mirror.example.org:5000"}),
            "http://mirror.example.org:5000",
            "hub/library/python",
        ),
        ("gcr.io", "mirror.example.org", frozenset(), "https://registry-1.docker.io", "library/python"),
    ]
    for registry, location, insecure, base, repository in cases:
        source = RegistrySource(
            "python",
            "3.11",
            platform=AMD64,
            cache=cache,
            insecure_hosts=insecure,
            mirrors=((registry, location),),
        )
        assert (source.base_url, source.api_repository) == (base, repository), (registry, location)
        assert source.reference == "docker.io/library/python:3.11"
        source.close()


def test_parse_mirror() -> None:
    assert parse_mirror("docker.io=127.0.0.1:5000") == ("docker.io", "127.0.0.1:5000")
    assert parse_mirror(" gcr.io = 127.0.0.1:5000/gcr ") == ("gcr.io", "127.0.0.1:5000/gcr")
    assert parse_mirror("localhost:5000=[::1]:5001/a/b") == ("localhost:5000", "[::1]:5001/a/b")
    assert parse_mirror("Index.Docker.io=mirror.example.org") == ("Index.Docker.io", "mirror.example.org")
    bad = {
        "docker.io": "is not REGISTRY=LOCATION",
        "=127.0.0.1:5000": "is not REGISTRY=LOCATION",
        "docker.io=": "is not REGISTRY=LOCATION",
        "docker.io/library=127.0.0.1:5000": "'docker.io/library' is not a registry HOST",
        "hub=127.0.0.1:5000": "a registry name has a '.' or a ':port'",
        "docker.io=http://127.0.0.1:5000": "without a scheme",
        "docker.io=127.0.0.1:5000/UPPER": "the path prefix 'UPPER' is not a repository path",
        "docker.io=bad host": "'bad host' is not a registry HOST",
    }
    for text, message in bad.items():
        with pytest.raises(ValueError, match=message):
            parse_mirror(text)


def test_mirror_for() -> None:
    mirrors = (("index.docker.io", "a.example:1/p"), ("docker.io", "b.example"), ("GHCR.io", "c.example"))
    assert mirror_for("docker.io", mirrors) == ("a.example:1", "p")  # the first one wins
    assert mirror_for("ghcr.io", mirrors) == ("c.example", "")
    assert mirror_for("quay.io", mirrors) is None
