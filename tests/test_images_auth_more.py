"""More of ``images/auth.py``: config files and credential helpers that answer oddly, and registries and
token servers whose 401s the flow cannot or must not answer, each pinned by the line the user reads.

The 401s come from a small loopback server (``Challenger``): it answers with the ``WWW-Authenticate``
values a test chooses, which a real ``docker-registry`` cannot be configured to send (unsupported
schemes, realms that are not URLs, challenges without a service or scope, password changes mid-run).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from alpinist.errors import AuthError
from alpinist.images import auth as auth_module
from alpinist.images.auth import (
    Credentials,
    LimitedStream,
    RegistryAuth,
    TokenServerError,
    parse_challenges,
    resolve_credentials,
)
from tests import test_auth
from tests.registry_server import LoopbackHandler, serve_loopback
from tests.test_auth import write_json

env = test_auth.env  # the same fixture: an environment with only a docker config dir and tmp_path/bin


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def basic(user: str, password: str) -> str:
    return "Basic " + b64(f"{user}:{password}")


def config_path(env: dict[str, str]) -> Path:
    return Path(env["DOCKER_CONFIG"]) / "config.json"


def fake_helper(tmp_path: Path, name: str, body: str) -> Path:
    """An executable ``docker-credential-<name>`` that logs its stdin, then runs ``body`` (sh)."""
    script = tmp_path / "bin" / f"docker-credential-{name}"
    log = tmp_path / f"{name}.stdin"
    script.write_text(f'#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > {log}\n{body}\n')
    script.chmod(0o755)
    return log


def helper_error(env: dict[str, str], tmp_path: Path, body: str) -> str:
    """The AuthError line of resolving ``r.example`` with ``credsStore`` = a helper running ``body``."""
    fake_helper(tmp_path, "test", body)
    write_json(config_path(env), {"credsStore": "test"})
    with pytest.raises(AuthError) as err:
        resolve_credentials("r.example", env=env)
    return str(err.value)


# -- config files ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "auth",
    [
        pytest.param("dXNlcjpwYXN", id="bad-padding"),
        pytest.param(b64(b"\xff\xfe:\xfd"), id="not-utf8"),
    ],
)
def test_auth_entry_that_does_not_decode_names_the_entry(env: dict[str, str], auth: str) -> None:
    path = write_json(config_path(env), {"auths": {"r.example": {"auth": auth}}})
    with pytest.raises(AuthError) as err:
        resolve_credentials("r.example", env=env)
    assert str(err.value) == f"{path}: auths['r.example']: 'auth' is not base64 of user:password"


def test_config_that_is_a_directory_cannot_be_read(env: dict[str, str]) -> None:
    path = config_path(env)
    path.mkdir(parents=True)
    with pytest.raises(AuthError) as err:
        resolve_credentials("r.example", env=env)
    assert str(err.value) == f"{path}: cannot read: Is a directory"


@pytest.mark.parametrize("doc", [[], "text", 5])
def test_config_that_is_json_but_not_an_object(env: dict[str, str], doc: object) -> None:
    path = write_json(config_path(env), doc)
    with pytest.raises(AuthError) as err:
        resolve_credentials("r.example", env=env)
    assert str(err.value) == f"{path}: not a JSON object"


def test_cred_helpers_of_other_registries_are_not_run(env: dict[str, str], tmp_path: Path) -> None:
    """``credHelpers`` for other hosts (and an empty helper name for this one) leave the ``auths`` entry
    in charge; the other registries' helpers are never started."""
    other_log = fake_helper(tmp_path, "other", """echo '{"Username":"o","Secret":"p"}'""")
    write_json(
        config_path(env),
        {
            "credHelpers": {"other.example": "other", "r.example:5000": "other", "r.example": ""},
            "auths": {"r.example": {"auth": b64("file:pw")}},
        },
    )
    creds = resolve_credentials("r.example", env=env)
    assert creds is not None and (creds.username, creds.password) == ("file", "pw")
    assert not other_log.exists()


def test_username_and_password_fields_of_an_auths_entry(env: dict[str, str]) -> None:
    """Some tools write ``username``/``password`` instead of ``auth``; entries that are not objects and
    entries without any credential are passed over."""
    path = write_json(
        config_path(env),
        {
            "auths": {
                "https://r.example/v1/": "not an object",
                "r.example": {"auth": "", "identitytoken": ""},
                "http://r.example": {"username": "alice", "password": "pw:with:colons"},
            }
        },
    )
    creds = resolve_credentials("r.example", env=env)
    assert creds == Credentials(username="alice", password="pw:with:colons", source=str(path))
    # only a username is no credential at all: anonymous
    write_json(path, {"auths": {"r.example": {"username": "alice"}}})
    assert resolve_credentials("r.example", env=env) is None


# -- credential helpers ----------------------------------------------------------------------------
def test_helper_failing_silently_reports_its_exit_status(env: dict[str, str], tmp_path: Path) -> None:
    message = helper_error(env, tmp_path, "exit 7")
    assert message == "credential helper docker-credential-test failed for r.example: exit status 7"


@pytest.mark.parametrize(
    "output",
    [
        '{"Username":"u","Secret":"hunter2"}',
        "error: token hunter2 expired",
        "wrong password hunter2",
    ],
)
def test_helper_failure_output_that_may_hold_credentials_is_not_shown(
    env: dict[str, str], tmp_path: Path, output: str
) -> None:
    message = helper_error(env, tmp_path, f"echo '{output}'; exit 1")
    assert message == (
        "credential helper docker-credential-test failed for r.example: "
        "exit status 1 (its output is not shown: it may hold credentials)"
    )
    assert "hunter2" not in message


def test_helper_that_hangs_is_cut_off(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_module, "HELPER_TIMEOUT", 1.0)
    message = helper_error(env, tmp_path, "exec sleep 30")
    assert message == "credential helper docker-credential-test did not answer within 1s"


def test_helper_that_cannot_be_executed(env: dict[str, str], tmp_path: Path) -> None:
    helper = tmp_path / "bin" / "docker-credential-test"
    helper.write_bytes(b"\x7fELF\x00\x00 not really a program")
    helper.chmod(0o755)
    write_json(config_path(env), {"credsStore": "test"})
    with pytest.raises(AuthError) as err:
        resolve_credentials("r.example", env=env)
    assert str(err.value).startswith("credential helper docker-credential-test could not run: ")
    assert "Exec format error" in str(err.value)


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ('["u", "p"]', "returned JSON that is not an object"),
        ('{"Username": "u"}', "returned no Username/Secret"),
        ('{"Username": "u", "Secret": 5}', "returned no Username/Secret"),
    ],
)
def test_helper_answers_without_credentials(
    env: dict[str, str], tmp_path: Path, answer: str, complaint: str
) -> None:
    message = helper_error(env, tmp_path, f"echo '{answer}'")
    assert message == f"credential helper docker-credential-test {complaint}"


# -- challenges ------------------------------------------------------------------------------------
def test_empty_challenges_and_parameters_without_a_value_are_skipped() -> None:
    assert parse_challenges(["", "   "]) == []
    (challenge,) = parse_challenges(['Bearer realm="https://a/token",flag,service=reg, ,scope="x"'])
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": "https://a/token", "service": "reg", "scope": "x"}


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(0, b""), (3, b"abc"), (4, b"abcd"), (5, b"abcde"), (9, b"abcdefgh")],
)
def test_limited_stream_gives_exactly_the_limit(limit: int, expected: bytes) -> None:
    class Chunks(httpx.SyncByteStream):
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            yield from (b"abcd", b"efgh")

        def close(self) -> None:
            self.closed = True

    inner = Chunks()
    stream = LimitedStream(inner, limit)
    assert b"".join(stream) == expected
    stream.close()
    assert inner.closed


@dataclass
class Challenger:
    """What the loopback server answers: a 200 to ``accept`` (an Authorization value), else a 401 with
    ``challenges``; ``/token`` answers ``token_status`` and ``token_body``; a path in ``redirects`` gets
    a 307 to that URL. ``requests`` records (method, path, Authorization, body)."""

    challenges: list[str] = field(default_factory=list)
    accept: str | None = None
    token_status: int = 200
    token_body: bytes = b'{"token": "t0k3n"}'
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]


def challenger_handler(state: Challenger) -> type[LoopbackHandler]:
    class Handler(LoopbackHandler):
        def answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((method, self.path, self.headers.get("Authorization"), body))
            if self.path.startswith("/token"):
                self.reply(state.token_status, [("Content-Type", "application/json")], state.token_body)
            elif self.path in state.redirects:
                self.reply(307, [("Location", state.redirects[self.path])], b"")
            elif state.accept is not None and self.headers.get("Authorization") == state.accept:
                self.reply(200, [("Content-Type", "application/json")], b"{}")
            else:
                self.reply(401, [("WWW-Authenticate", c) for c in state.challenges], b"{}")

        def do_GET(self) -> None:
            self.answer("GET")

        def do_POST(self) -> None:
            self.answer("POST")

    return Handler


@pytest.fixture
def challenger() -> Iterator[Challenger]:
    state = Challenger()
    with serve_loopback(challenger_handler(state)) as state.port:
        yield state


second_challenger = challenger


def get(state: Challenger, auth: RegistryAuth, path: str = "/v2/") -> httpx.Response:
    with httpx.Client(auth=auth, follow_redirects=True, timeout=10) as client:
        return client.get(state.url + path)


@pytest.mark.parametrize(
    ("challenges", "named"),
    [
        pytest.param(["Negotiate", 'NTLM realm="x"'], "negotiate, ntlm", id="other-schemes"),
        pytest.param([], "none", id="no-challenge"),
        pytest.param(['Bearer service="reg",scope="x"'], "bearer", id="bearer-without-realm"),
    ],
)
def test_a_401_the_flow_cannot_answer_is_one_line_naming_its_schemes(
    challenger: Challenger, challenges: list[str], named: str
) -> None:
    challenger.challenges = challenges
    with pytest.raises(AuthError) as err:
        get(challenger, RegistryAuth("reg.example", Credentials("u", "p")))
    assert str(err.value) == f"registry reg.example answered 401 with an unsupported challenge ({named})"
    assert challenger.paths() == ["/v2/"]  # nothing else was tried


@pytest.mark.parametrize(
    ("realm", "complaint"),
    [
        pytest.param("http://127.0.0.1:notaport/token", "is not a URL", id="invalid"),
        pytest.param("ftp://127.0.0.1/token", "is not an http(s) URL", id="ftp"),
        pytest.param("/token", "is not an http(s) URL", id="relative"),
    ],
)
def test_a_realm_that_is_not_an_http_url_is_refused_before_any_request(
    challenger: Challenger, realm: str, complaint: str
) -> None:
    challenger.challenges = [f'Bearer realm="{realm}",service="reg"']
    auth = RegistryAuth("reg.example", None)
    with pytest.raises(AuthError) as err:
        get(challenger, auth)
    assert str(err.value) == f"registry reg.example: token realm {realm!r} {complaint}"
    assert challenger.paths() == ["/v2/"]


def test_a_challenge_without_service_or_scope_asks_the_realm_without_them(challenger: Challenger) -> None:
    challenger.challenges = [f'Bearer realm="{challenger.url}/token"']
    challenger.accept = "Bearer t0k3n"
    response = get(challenger, RegistryAuth("reg.example", Credentials("u", "p")))
    assert response.status_code == 200
    assert challenger.requests[1][:3] == ("GET", "/token", basic("u", "p"))  # no query string at all


def test_an_identity_token_without_service_or_scope_posts_only_the_grant(challenger: Challenger) -> None:
    challenger.challenges = [f'Bearer realm="{challenger.url}/token"']
    challenger.accept = "Bearer t0k3n"
    response = get(challenger, RegistryAuth("reg.example", Credentials(identity_token="refresh-me")))
    assert response.status_code == 200
    method, path, authorization, body = challenger.requests[1]
    assert (method, path, authorization) == ("POST", "/token", None)
    assert dict(httpx.QueryParams(body.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-me",
        "client_id": "alpinist",
    }


@pytest.mark.parametrize("body", [b'["t0k3n"]', b'"t0k3n"', b"null"])
def test_a_token_answer_that_is_not_an_object_has_no_token(challenger: Challenger, body: bytes) -> None:
    challenger.challenges = [f'Bearer realm="{challenger.url}/token",service="reg"']
    challenger.token_body = body
    with pytest.raises(TokenServerError) as err:
        get(challenger, RegistryAuth("reg.example", None))
    assert str(err.value) == f"registry reg.example: token server {challenger.url}/token sent no token"
    assert not err.value.transient


def test_basic_credentials_refused_once_known_good_are_not_sent_twice(challenger: Challenger) -> None:
    """Basic goes up front once the registry asked for it; when those credentials stop working (a
    password changed mid-run) the 401 is returned at once, not answered with the same credentials."""
    challenger.challenges = ['Basic realm="reg"']
    challenger.accept = basic("u", "p")
    auth = RegistryAuth("reg.example", Credentials("u", "p"))
    assert get(challenger, auth).status_code == 200
    assert [a for _, _, a, _ in challenger.requests] == [None, basic("u", "p")]
    challenger.accept = basic("u", "new password")
    challenger.requests.clear()
    assert get(challenger, auth).status_code == 401
    assert [a for _, _, a, _ in challenger.requests] == [basic("u", "p")]


def test_a_401_from_redirected_storage_is_not_answered(
    challenger: Challenger, second_challenger: Challenger
) -> None:
    """A blob redirected to storage elsewhere that answers 401 is the storage's business: no token is
    fetched for its challenge and no credentials go there; the caller gets the 401."""
    storage = second_challenger
    storage.challenges = [f'Bearer realm="{storage.url}/token",service="storage"']
    challenger.redirects["/v2/a/blobs/sha256:1"] = f"{storage.url}/bucket/1"
    response = get(challenger, RegistryAuth("reg.example", Credentials("u", "p")), "/v2/a/blobs/sha256:1")
    assert response.status_code == 401
    assert storage.requests == [("GET", "/bucket/1", None, b"")]
    assert challenger.paths() == ["/v2/a/blobs/sha256:1"]
