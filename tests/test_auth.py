"""Registry credentials (config files, credential helpers) and the bearer/basic challenge flow."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpinist.errors import AuthError
from alpinist.images.auth import Credentials, RegistryAuth, parse_challenges, resolve_credentials
from tests.registry_server import REGISTRY_USER, RunningRegistry, TokenServer, start_registry, tools_missing


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_json(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with nothing but a docker config dir and a PATH holding tmp_path/bin."""
    (tmp_path / "bin").mkdir()
    return {
        "HOME": str(tmp_path / "home"),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "PATH": f"{tmp_path / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }


def fake_helper(tmp_path: Path, name: str, body: str) -> Path:
    """An executable ``docker-credential-<name>`` that logs its stdin, then runs ``body`` (sh)."""
    script = tmp_path / "bin" / f"docker-credential-{name}"
    log = tmp_path / f"{name}.stdin"
    script.write_text(f'#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > {log}\n{body}\n')
    script.chmod(0o755)
    return log


# -- config files ----------------------------------------------------------------------------------
def test_auths_entry_base64(env: dict[str, str]) -> None:
    write_json(
        Path(env["DOCKER_CONFIG"]) / "config.json",
        {"auths": {"registry.example.org": {"auth": b64("alice:s3cr:et")}}},
    )
    creds = resolve_credentials("registry.example.org", env=env)
    assert creds is not None
    assert (creds.username, creds.password) == ("alice", "s3cr:et")  # only the first ':' splits
    assert creds.source.endswith("config.json")
    assert resolve_credentials("other.example.org", env=env) is None


def test_home_docker_config_when_no_docker_config_env(env: dict[str, str]) -> None:
    del env["DOCKER_CONFIG"]
    write_json(Path(env["HOME"]) / ".docker" / "config.json", {"auths": {"r.example": {"auth": b64("u:p")}}})
    creds = resolve_credentials("r.example", env=env)
    assert creds is not None and creds.username == "u"


@pytest.mark.parametrize(
    "key", ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io"]
)
@pytest.mark.parametrize("host", ["docker.io", "registry-1.docker.io", "index.docker.io"])
def test_docker_hub_aliases(env: dict[str, str], key: str, host: str) -> None:
    write_json(Path(env["DOCKER_CONFIG"]) / "config.json", {"auths": {key: {"auth": b64("hub:pw")}}})
    creds = resolve_credentials(host, env=env)
    assert creds is not None and (creds.username, creds.password) == ("hub", "pw")


def test_key_spellings_with_scheme_and_path(env: dict[str, str]) -> None:
    write_json(
        Path(env["DOCKER_CONFIG"]) / "config.json",
        {
            "auths": {
                "http://127.0.0.1:5000/v2/": {"auth": b64("loc:al")},
                "127.0.0.1:5001": {"auth": b64("x:y")},
            }
        },
    )
    creds = resolve_credentials("127.0.0.1:5000", env=env)
    assert creds is not None and creds.username == "loc"
    assert resolve_credentials("127.0.0.1", env=env) is None  # the port is part of the registry


def test_identity_token(env: dict[str, str]) -> None:
    write_json(
        Path(env["DOCKER_CONFIG"]) / "config.json",
        {"auths": {"r.example": {"auth": "", "identitytoken": "refresh-me"}}},
    )
    creds = resolve_credentials("r.example", env=env)
    assert creds == Credentials(identity_token="refresh-me", source=creds.source if creds else "")
    assert creds is not None and not creds.has_basic


def test_explicit_credentials_win(env: dict[str, str]) -> None:
    write_json(Path(env["DOCKER_CONFIG"]) / "config.json", {"auths": {"r.example": {"auth": b64("file:pw")}}})
    creds = resolve_credentials("r.example", ("cli", "pw2"), env=env)
    assert creds is not None and (creds.username, creds.password, creds.source) == ("cli", "pw2", "explicit")


def test_registry_auth_file_and_xdg_runtime_dir_come_first(env: dict[str, str], tmp_path: Path) -> None:
    write_json(
        Path(env["DOCKER_CONFIG"]) / "config.json", {"auths": {"r.example": {"auth": b64("docker:1")}}}
    )
    xdg = tmp_path / "run"
    write_json(xdg / "containers" / "auth.json", {"auths": {"r.example": {"auth": b64("podman:2")}}})
    env["XDG_RUNTIME_DIR"] = str(xdg)
    creds = resolve_credentials("r.example", env=env)
    assert creds is not None and creds.username == "podman"
    env["REGISTRY_AUTH_FILE"] = str(write_json(tmp_path / "explicit-auth.json", {"auths": {}}))
    # REGISTRY_AUTH_FILE replaces the XDG file; with no entry there the docker config answers
    creds = resolve_credentials("r.example", env=env)
    assert creds is not None and creds.username == "docker"
    write_json(Path(env["REGISTRY_AUTH_FILE"]), {"auths": {"r.example": {"auth": b64("skopeo:3")}}})
    creds = resolve_credentials("r.example", env=env)
    assert creds is not None and creds.username == "skopeo"


def test_broken_config_is_an_auth_error_naming_the_file(env: dict[str, str]) -> None:
    path = Path(env["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(AuthError, match=r"config\.json: not valid JSON"):
        resolve_credentials("r.example", env=env)
    write_json(path, {"auths": {"r.example": {"auth": b64("no-colon")}}})
    with pytest.raises(AuthError, match="not base64 of user:password"):
        resolve_credentials("r.example", env=env)


# -- credential helpers ----------------------------------------------------------------------------
def test_cred_helper_for_one_registry(env: dict[str, str], tmp_path: Path) -> None:
    log = fake_helper(
        tmp_path, "test", """echo '{"ServerURL":"x","Username":"helper-user","Secret":"helper-pw"}'"""
    )
    write_json(
        Path(env["DOCKER_CONFIG"]) / "config.json",
        {"credHelpers": {"r.example:5000": "test"}, "auths": {"r.example:5000": {"auth": b64("file:pw")}}},
    )
    creds = resolve_credentials("r.example:5000", env=env)
    assert creds is not None
    assert (creds.username, creds.password, creds.source) == (
        "helper-user",
        "helper-pw",
        "docker-credential-test",
    )
    assert log.read_text() == "r.example:5000"


def test_creds_store_for_docker_hub_gets_the_index_url(env: dict[str, str], tmp_path: Path) -> None:
    log = fake_helper(tmp_path, "test", """echo '{"Username":"<token>","Secret":"id-token"}'""")
    write_json(Path(env["DOCKER_CONFIG"]) / "config.json", {"auths": {}, "credsStore": "test"})
    creds = resolve_credentials("docker.io", env=env)
    assert creds is not None and creds.identity_token == "id-token" and not creds.has_basic
    assert log.read_text() == "https://index.docker.io/v1/"


def test_helper_without_credentials_means_anonymous(env: dict[str, str], tmp_path: Path) -> None:
    fake_helper(tmp_path, "test", "echo 'credentials not found in native keychain'; exit 1")
    write_json(Path(env["DOCKER_CONFIG"]) / "config.json", {"credsStore": "test"})
    assert resolve_credentials("r.example", env=env) is None


def test_helper_failure_is_an_auth_error(env: dict[str, str], tmp_path: Path) -> None:
    fake_helper(tmp_path, "test", "echo 'keychain is locked' >&2; exit 1")
    write_json(Path(env["DOCKER_CONFIG"]) / "config.json", {"credsStore": "test"})
    with pytest.raises(AuthError, match=r"docker-credential-test failed for r\.example: keychain is locked"):
        resolve_credentials("r.example", env=env)
    fake_helper(tmp_path, "test", "echo 'not json'")
    with pytest.raises(AuthError, match="docker-credential-test returned something that is not JSON"):
        resolve_credentials("r.example", env=env)


def test_missing_helper_is_skipped(env: dict[str, str]) -> None:
    write_json(Path(env["DOCKER_CONFIG"]) / "config.json", {"credsStore": "absent-helper-xyz"})
    assert resolve_credentials("r.example", env=env) is None


# -- challenges ------------------------------------------------------------------------------------
def test_parse_bearer_challenge_with_quoted_commas() -> None:
    (c,) = parse_challenges(
        ['Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push"']
    )
    assert c.scheme == "bearer"
    assert c.params == {
        "realm": "https://auth.example/token",
        "service": "reg.example",
        "scope": "repository:a/b:pull,push",
    }


def test_parse_basic_and_unquoted() -> None:
    basic, other = parse_challenges(
        ['Basic realm="Registry Realm"', "Bearer realm=https://x/token, error=invalid"]
    )
    assert basic.scheme == "basic" and basic.params == {"realm": "Registry Realm"}
    assert other.params == {"realm": "https://x/token", "error": "invalid"}


# -- the flow against a real registry with a real token server -------------------------------------


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[tuple[RunningRegistry, TokenServer]]:
    missing = tools_missing()
    if missing:  # the test command installs them: a skip here would hide that from CI
        pytest.fail(f"registry tests need: {', '.join(missing)} (the test command installs them)")
    tokens = TokenServer(tmp_path, {REGISTRY_USER[0]: REGISTRY_USER[1]}, anonymous_pull=False, expires_in=120)
    reg = start_registry(tmp_path / "reg", token=tokens, token_credentials=REGISTRY_USER)
    try:
        reg.push("alpine:3.20.3")
        tokens.requests.clear()  # forget skopeo's push
        yield reg, tokens
    finally:
        reg.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.registry
def test_bearer_flow_caches_tokens_per_scope_until_expiry(
    token_registry: tuple[RunningRegistry, TokenServer],
) -> None:
    reg, tokens = token_registry
    clock = Clock()
    auth = RegistryAuth(reg.host, Credentials(*REGISTRY_USER), clock=clock)
    url = f"{reg.url}/v2/library/alpine/manifests/3.20.3"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    with httpx.Client(auth=auth) as client:
        first = client.get(url, headers=accept)
        assert first.status_code == 200
        assert first.headers["docker-content-digest"] == reg.pushed["library/alpine:3.20.3"]
        assert len(tokens.token_requests()) == 1
        (request,) = tokens.token_requests()
        assert request["query"]["scope"] == ["repository:library/alpine:pull"]
        assert request["query"]["service"] == [TokenServer.service]
        assert request["authorization"] == "Basic " + b64(f"{REGISTRY_USER[0]}:{REGISTRY_USER[1]}")
        # the cached token goes out up front: one request, no new token
        second = client.get(url, headers=accept)
        assert second.status_code == 200 and len(second.history) == 0
        assert len(tokens.token_requests()) == 1
        clock.now += 121  # past expires_in
        third = client.get(url, headers=accept)
        assert third.status_code == 200
        assert len(tokens.token_requests()) == 2


@pytest.mark.registry
def test_wrong_password_at_the_token_server(token_registry: tuple[RunningRegistry, TokenServer]) -> None:
    reg, _ = token_registry
    auth = RegistryAuth(reg.host, Credentials(REGISTRY_USER[0], "wrong", source="test"))
    with httpx.Client(auth=auth) as client, pytest.raises(AuthError) as err:
        client.get(f"{reg.url}/v2/library/alpine/manifests/3.20.3")
    assert reg.host in str(err.value)
    assert "refused the credentials from test (HTTP 401)" in str(err.value)


@pytest.mark.registry
def test_anonymous_token_without_access_gets_a_second_401(
    token_registry: tuple[RunningRegistry, TokenServer],
) -> None:
    reg, tokens = token_registry
    with httpx.Client(auth=RegistryAuth(reg.host, None)) as client:
        response = client.get(f"{reg.url}/v2/library/alpine/manifests/3.20.3")
    assert response.status_code == 401  # RegistrySource turns this into AuthError
    (request,) = tokens.token_requests()
    assert request["authorization"] is None


@pytest.mark.registry
def test_access_token_field_is_accepted(tmp_path: Path) -> None:
    missing = tools_missing()
    if missing:  # the test command installs them: a skip here would hide that from CI
        pytest.fail(f"registry tests need: {', '.join(missing)} (the test command installs them)")
    tokens = TokenServer(tmp_path, {"u": "p"}, anonymous_pull=True, token_field="access_token")
    reg = start_registry(tmp_path / "reg", token=tokens, token_credentials=("u", "p"))
    try:
        reg.push("alpine:3.20.3")
        with httpx.Client(auth=RegistryAuth(reg.host, None)) as client:
            response = client.get(
                f"{reg.url}/v2/library/alpine/manifests/3.20.3",
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            )
        assert response.status_code == 200
        assert response.headers["docker-content-digest"] == reg.pushed["library/alpine:3.20.3"]
    finally:
        reg.stop()


@pytest.mark.registry
def test_basic_flow_against_htpasswd_registry(tmp_path: Path) -> None:
    missing = tools_missing()
    if missing:  # the test command installs them: a skip here would hide that from CI
        pytest.fail(f"registry tests need: {', '.join(missing)} (the test command installs them)")
    reg = start_registry(tmp_path / "reg", htpasswd=REGISTRY_USER)
    try:
        auth = RegistryAuth(reg.host, Credentials(*REGISTRY_USER))
        with httpx.Client(auth=auth) as client:
            assert client.get(f"{reg.url}/v2/").status_code == 200
            again = client.get(f"{reg.url}/v2/")
            assert again.status_code == 200 and len(again.history) == 0  # Basic sent up front now
        bad = RegistryAuth(reg.host, Credentials(REGISTRY_USER[0], "nope"))
        with httpx.Client(auth=bad) as client:
            assert client.get(f"{reg.url}/v2/").status_code == 401
        with httpx.Client(auth=RegistryAuth(reg.host, None)) as client, pytest.raises(AuthError) as err:
            client.get(f"{reg.url}/v2/")
        assert f"registry {reg.host} requires credentials" in str(err.value)
    finally:
        reg.stop()
