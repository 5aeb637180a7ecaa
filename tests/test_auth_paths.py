"""Issue 13, item 4: the registry and auth error paths, each against real servers on loopback.

The real ``docker-registry`` with the real ``TokenServer`` of ``registry_server.py`` (its identity-token
grant, its 403 switch, its key rotation), the fault proxy of ``fault_proxy.py`` in front of the real
registry, and two small loopback servers for what neither can do: one that announces a body larger
than the limits (and then holds it back), and one that speaks TLS with a self-signed certificate.
Every case expects a success, or one clear line (the CLI's ``alpinist: error: ...``, exit 1; 64 for a
usage error) and no loop: token requests and attempts are counted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpinist import net
from alpinist.cli.app import main
from alpinist.errors import AuthError, RegistryError
from alpinist.images.auth import Credentials, RegistryAuth
from alpinist.images.cache import BlobCache
from alpinist.images.manifest import MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES
from alpinist.images.registry import RegistrySource
from alpinist.models import Platform
from tests.fault_proxy import Fault, FaultProxy
from tests.registry_server import (
    OCI_MANIFEST,
    REGISTRY_BIN,
    REGISTRY_USER,
    LoopbackHandler,
    RunningRegistry,
    TokenServer,
    _require_tools,
    self_signed,
    serve_loopback,
    start_registry,
)

AMD64 = Platform("linux", "amd64")
ALPINE = "library/alpine:3.20.3"
BLOCKED = ("blocked", "a valid password")  # a real user the token server answers 403
REFRESH_GOOD = "identity-token-of-alpinist"
REFRESH_BLOCKED = "identity-token-of-blocked"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_timeout_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ALPINIST_TIMEOUT", raising=False)
    yield
    net.set_deadlines(None)


# -- helpers -----------------------------------------------------------------------------------------


def sbom(capsys: pytest.CaptureFixture[str], image: str, *args: str) -> tuple[int, str, str]:
    """``alpinist sbom IMAGE -f json --no-cache ARGS`` in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(["sbom", image, "-f", "json", "--no-cache", *args])
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("alpinist: error:")]


def packages(out: str) -> set[str]:
    return {p["name"] for p in json.loads(out)["packages"]}


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("*.part")) if root.exists() else []


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def docker_config(auths: dict[str, Any]) -> Path:
    """Write ``$DOCKER_CONFIG/config.json`` (conftest points DOCKER_CONFIG at the test's own dir)."""
    path = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}))
    return path


def source(name: str, tmp_path: Path, **kw: Any) -> tuple[RegistrySource, list[float]]:
    """A ``RegistrySource`` whose retry waits are recorded, not slept."""
    sleeps: list[float] = []
    repo, _, tag = name.rpartition(":")
    kw.setdefault("cache", BlobCache(tmp_path / "cache"))
    return RegistrySource(repo, tag, platform=AMD64, sleep=sleeps.append, **kw), sleeps


def restart(reg: RunningRegistry) -> None:
    """Stop the registry and start it again on the same port with the same config (which now names
    the token server's new certificate): how a registry picks up a rotated signing key."""
    reg.process.terminate()
    reg.process.wait(timeout=10)
    with (reg.workdir / "registry.log").open("ab") as log:
        reg.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(reg.workdir / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=reg.workdir,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{reg.url}/v2/", timeout=2).headers.get("docker-distribution-api-version"):
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("docker-registry did not come back")


def auth_token_server(workdir: Path) -> TokenServer:
    tokens = TokenServer(
        workdir,
        {REGISTRY_USER[0]: REGISTRY_USER[1], BLOCKED[0]: BLOCKED[1]},
        anonymous_pull=False,
        refresh_tokens={REFRESH_GOOD: REGISTRY_USER[0], REFRESH_BLOCKED: BLOCKED[0]},
    )
    tokens.forbidden.add(BLOCKED[0])
    return tokens


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A token-auth registry, no anonymous pulls; alpine:3.20.3 under two repositories."""
    _require_tools()
    workdir = tmp_path_factory.mktemp("registry-auth-paths")
    reg = start_registry(workdir, token=auth_token_server(workdir), token_credentials=REGISTRY_USER)
    try:
        reg.push("alpine:3.20.3")
        reg.push("alpine:3.20.3", "library/alpine-two")
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def tokens(auth_registry: RunningRegistry) -> TokenServer:
    assert auth_registry.token_server is not None
    auth_registry.token_server.requests.clear()
    return auth_registry.token_server


# -- 1. identity tokens: the OAuth2 refresh-token grant --------------------------------------------------


@pytest.mark.registry
def test_identity_token_is_traded_at_the_token_server(
    auth_registry: RunningRegistry, tokens: TokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    docker_config({auth_registry.host: {"auth": "", "identitytoken": REFRESH_GOOD}})
    code, out, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}")
    assert code == 0, err
    assert {"musl", "busybox"} <= packages(out)
    requests = tokens.token_requests()
    assert requests  # the pull needed a token, and every token came from the refresh grant
    for request in requests:
        assert request["method"] == "POST" and request["authorization"] is None
        assert request["form"]["grant_type"] == ["refresh_token"]
        assert request["form"]["refresh_token"] == [REFRESH_GOOD]
        assert request["form"]["service"] == [TokenServer.service]
        assert request["form"]["scope"] == ["repository:library/alpine:pull"]
    assert len(requests) == 1  # one token for the whole pull


@pytest.mark.registry
def test_refused_identity_token_is_one_line(
    auth_registry: RunningRegistry, tokens: TokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = docker_config({auth_registry.host: {"identitytoken": "revoked-long-ago"}})
    code, _, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}")
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: registry {auth_registry.host}: token server {tokens.realm} refused "
        f"the credentials from {config} (HTTP 401)"
    ]
    assert len(tokens.token_requests()) == 1  # refused once: not asked again


# -- 2. the token server's and the registry's refusals ---------------------------------------------------


@pytest.mark.registry
@pytest.mark.parametrize(
    ("how", "status"),
    [("wrong-password", 401), ("forbidden-user", 403), ("forbidden-identity-token", 403)],
)
def test_token_server_refusals_are_one_line(
    auth_registry: RunningRegistry,
    tokens: TokenServer,
    capsys: pytest.CaptureFixture[str],
    how: str,
    status: int,
) -> None:
    args: tuple[str, ...] = ()
    who = "the credentials given"
    if how == "wrong-password":
        args = ("--creds", f"{REGISTRY_USER[0]}:wrong")
    elif how == "forbidden-user":
        args = ("--creds", f"{BLOCKED[0]}:{BLOCKED[1]}")
    else:
        who = (
            f"the credentials from {docker_config({auth_registry.host: {'identitytoken': REFRESH_BLOCKED}})}"
        )
    code, _, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}", *args)
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: registry {auth_registry.host}: token server {tokens.realm} refused {who} "
        f"(HTTP {status})"
    ]
    assert len(tokens.token_requests()) == 1


@pytest.mark.registry
def test_a_token_without_the_scope_is_refused_once_then_one_line(
    auth_registry: RunningRegistry, tokens: TokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anonymous callers get a token without pull access: the registry refuses it (401,
    insufficient scope) and alpinist says so once, without asking for another token."""
    code, _, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}")
    assert code == 1
    (line,) = error_lines(err)
    assert line.startswith(
        f"alpinist: error: registry {auth_registry.host}: manifest {auth_registry.host}/{ALPINE}: "
        "authentication failed (no credentials were found) [UNAUTHORIZED: "
    )
    (request,) = tokens.token_requests()
    assert request["authorization"] is None


@pytest.mark.registry
def test_registry_403_access_denied_is_one_line(
    auth_registry: RunningRegistry, tokens: TokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry that denies a repository outright (403 DENIED, as Docker Hub and Harbor do; the
    distribution registry itself answers 401 in token mode) in front of the real one."""
    port = int(auth_registry.host.rsplit(":", 1)[1])
    denied = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
    with FaultProxy(port) as proxy:
        proxy.faults = [Fault("status", "/manifests/", status=403, body=denied)]
        code, _, err = sbom(capsys, f"{proxy.host}/{ALPINE}", "--creds", ":".join(REGISTRY_USER))
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: registry {proxy.host}: manifest {proxy.host}/{ALPINE}: access denied (HTTP 403) "
        "[DENIED: requested access to the resource is denied]"
    ]
    assert [kind for _, kind in proxy.log] == ["status"]  # not retried


# -- 3. a cached token the registry refuses ------------------------------------------------------------


@pytest.fixture
def rotating_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    _require_tools()
    reg = start_registry(tmp_path / "reg", token=auth_token_server(tmp_path), token_credentials=REGISTRY_USER)
    try:
        reg.push("alpine:3.20.3")
        yield reg
    finally:
        reg.stop()


@pytest.mark.registry
def test_a_refused_cached_token_is_renewed_once(rotating_registry: RunningRegistry, tmp_path: Path) -> None:
    reg = rotating_registry
    tokens = reg.token_server
    assert tokens is not None
    tokens.requests.clear()
    src, sleeps = source(f"{reg.host}/{ALPINE}", tmp_path, credentials=REGISTRY_USER)
    with src:
        resolved = src.resolve()
        assert len(tokens.token_requests()) == 1
        # the signing key rotates: the registry, restarted, no longer trusts the token alpinist holds
        tokens.rotate_key()
        restart(reg)
        with src.open_blob(resolved.layers[0]) as fh:  # the cached token goes out, is refused, renewed
            assert len(fh.read()) == resolved.layers[0].size
        assert len(tokens.token_requests()) == 2
        # a rotation the token server missed: the renewed token is refused too -> one error, no loop
        tokens.rotate_key(keep_signing=True)
        restart(reg)
        with pytest.raises(AuthError) as err:
            src.resolve()
    assert len(tokens.token_requests()) == 3
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"registry {reg.host}: manifest {reg.host}/{ALPINE}: authentication failed ")
    assert "(the credentials given were rejected) [UNAUTHORIZED: " in message
    assert sleeps == []


# -- 4. one auth, two repositories: two scopes, two tokens, each reused -----------------------------------


@pytest.mark.registry
def test_switching_scopes_gets_one_token_per_scope_and_reuses_each(
    auth_registry: RunningRegistry, tokens: TokenServer
) -> None:
    auth = RegistryAuth(auth_registry.host, Credentials(*REGISTRY_USER))
    accept = {"Accept": OCI_MANIFEST}
    digest = auth_registry.pushed[ALPINE]
    with httpx.Client(auth=auth, base_url=auth_registry.url) as client:
        for repository in ("library/alpine", "library/alpine-two", "library/alpine", "library/alpine-two"):
            response = client.get(f"/v2/{repository}/manifests/3.20.3", headers=accept)
            assert response.status_code == 200, repository
            assert response.headers["docker-content-digest"] == digest
    scopes = [r["query"]["scope"] for r in tokens.token_requests()]
    assert scopes == [["repository:library/alpine:pull"], ["repository:library/alpine-two:pull"]]
    assert auth.token_requests == 2


# -- 5. a blob download that gives up --------------------------------------------------------------------


@pytest.fixture
def proxy(registry: RunningRegistry) -> Iterator[FaultProxy]:
    with FaultProxy(int(registry.host.rsplit(":", 1)[1])) as fault_proxy:
        yield fault_proxy


@pytest.mark.registry
@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("status", 503, "HTTP 503"),
        ("status", 500, "HTTP 500"),
        ("reset", 0, "connection broke: "),
    ],
    ids=["503", "500", "reset"],
)
def test_a_blob_download_gives_up_after_its_retries(
    proxy: FaultProxy, tmp_path: Path, kind: str, status: int, reason: str
) -> None:
    src, sleeps = source(f"{proxy.host}/{ALPINE}", tmp_path)
    with src:
        layer = src.resolve().layers[0]
        proxy.faults = [Fault(kind, f"/blobs/{layer.digest}", status=status, after=100_000)]
        with pytest.raises(RegistryError) as err, src.open_blob(layer) as blob:
            blob.read()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(
        f"registry {proxy.host}: blob {layer.digest} of {proxy.host}/{ALPINE}: {reason}"
    )
    assert message.endswith("(gave up after 5 attempts)")
    assert [k for p, k in proxy.log if layer.digest in p] == [kind] * 5
    assert len(sleeps) == 4
    assert parts(tmp_path / "cache") == []
    assert not src.cache.has(layer.digest)


# -- 6. a connection break mid-manifest (and mid-config) -------------------------------------------------


@pytest.mark.registry
@pytest.mark.parametrize("kind", ["reset", "truncate"])
@pytest.mark.parametrize("what", ["manifest", "config"])
def test_a_break_mid_manifest_is_retried(
    registry: RunningRegistry, proxy: FaultProxy, tmp_path: Path, kind: str, what: str
) -> None:
    path = "/manifests/3.20.3" if what == "manifest" else f"/blobs/{config_digest(registry)}"
    proxy.faults = [Fault(kind, path, times=1, after=100)]
    src, sleeps = source(f"{proxy.host}/{ALPINE}", tmp_path)
    with src:
        resolved = src.resolve()
    assert resolved.manifest_digest == registry.pushed[ALPINE]
    assert [k for p, k in proxy.log if path in p] == [kind, None]
    assert len(sleeps) == 1


@pytest.mark.registry
@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_a_persistent_break_mid_manifest_is_one_line(
    registry: RunningRegistry, proxy: FaultProxy, tmp_path: Path, kind: str
) -> None:
    proxy.faults = [Fault(kind, "/manifests/", after=100)]
    src, sleeps = source(f"{proxy.host}/{ALPINE}", tmp_path)
    with src, pytest.raises(RegistryError) as err:
        src.resolve()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"registry {proxy.host}: manifest {proxy.host}/{ALPINE}: connection broke")
    assert message.endswith("(gave up after 5 attempts)")
    assert [k for _, k in proxy.log] == [kind] * 5
    assert len(sleeps) == 4


def config_digest(registry: RunningRegistry) -> str:
    response = httpx.get(
        f"{registry.url}/v2/{ALPINE.replace(':', '/manifests/')}",
        headers={"Accept": OCI_MANIFEST},
        timeout=10,
    )
    return str(response.json()["config"]["digest"])


# -- 7. a Content-Length over the limit ------------------------------------------------------------------

CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
SMALL_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": CONFIG_DIGEST,
            "size": len(CONFIG),
        },
        "layers": [],
    }
).encode()


@pytest.fixture
def boaster() -> Iterator[tuple[str, list[str]]]:
    """A loopback registry that announces a manifest (``/big/``) or a config (``/bigconfig/``) larger
    than the limits, sends the headers and then holds the body back until the test ends: a client
    that read the body would stall, not refuse. Yields (host, the paths asked)."""
    asked: list[str] = []
    release = threading.Event()

    class Boaster(LoopbackHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path == "/v2/library/bigconfig/manifests/1":
                self.reply(200, [("Content-Type", OCI_MANIFEST)], SMALL_MANIFEST)
                return
            announced = MAX_MANIFEST_BYTES + 1 if "/manifests/" in self.path else MAX_CONFIG_BYTES + 1
            self.send_response(200)
            self.send_header("Content-Type", OCI_MANIFEST)
            self.send_header("Content-Length", str(announced))
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            release.wait(15)
            self.close_connection = True

    with serve_loopback(Boaster) as port:
        yield f"127.0.0.1:{port}", asked
        release.set()


@pytest.mark.parametrize(
    ("image", "what", "limit"),
    [
        ("library/big:1", "manifest {host}/library/big:1", MAX_MANIFEST_BYTES),
        ("library/bigconfig:1", f"config {CONFIG_DIGEST} of {{host}}/library/bigconfig:1", MAX_CONFIG_BYTES),
    ],
    ids=["manifest", "config"],
)
def test_content_length_over_the_limit_is_refused_before_the_body(
    boaster: tuple[str, list[str]], capsys: pytest.CaptureFixture[str], image: str, what: str, limit: int
) -> None:
    host, asked = boaster
    code, _, err = sbom(capsys, f"{host}/{image}", "--timeout", "5s")
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: {what.format(host=host)}: size {limit + 1} exceeds the {limit}-byte limit"
    ]
    assert len([p for p in asked if "/v2/library/" in p]) == (1 if what.startswith("manifest") else 2)


# -- 8. TLS: a self-signed certificate ------------------------------------------------------------------

TLS_NAME = "registry.test"


class ToLoopback(httpx.BaseTransport):
    """Sends every request to 127.0.0.1 on the URL's port while TLS still speaks to (SNI) and checks
    the certificate of the URL's host name: a non-loopback registry name (which alpinist talks https
    to) served by a local TLS server, without DNS."""

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        self._inner = httpx.HTTPTransport(verify=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions = {**request.extensions, "sni_hostname": request.url.host}
        request.url = request.url.copy_with(host="127.0.0.1")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A loopback https server with a self-signed certificate for ``registry.test``; (port, cert)."""
    from cryptography.hazmat.primitives import serialization

    key, cert = self_signed(TLS_NAME, TLS_NAME)
    cert_path = tmp_path / "tls.pem"
    key_path = tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class Answer(LoopbackHandler):
        def do_GET(self) -> None:
            self.reply(200, [("Content-Type", "application/json")], b'{"hello": "tls"}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), cert_path
    finally:
        server.shutdown()
        server.server_close()


def test_tls_verification_failure_is_one_line_and_not_retried(
    tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, cert = tls_server
    name = f"{TLS_NAME}:{port}/library/alpine:3.20.3"
    # the control: trusting the certificate, the same path reaches the server over TLS
    trusted, _ = source(name, tmp_path, transport=ToLoopback(ssl.create_default_context(cafile=str(cert))))
    with trusted:
        assert trusted.base_url == f"https://{TLS_NAME}:{port}"
        body, _ = trusted.fetch("/v2/", "ping", 1024)
    assert json.loads(body) == {"hello": "tls"}
    # the system's trust store does not know a self-signed certificate: one line, no retry
    src, sleeps = source(name, tmp_path, transport=ToLoopback())
    with src, pytest.raises(RegistryError) as err:
        src.resolve()
    message = str(err.value)
    assert message.startswith(f"registry {TLS_NAME}:{port}: TLS verification failed: ")
    assert "certificate verify failed" in message and "\n" not in message
    assert sleeps == []


# -- 9. the CLI's --creds, --platform and ALPINIST_USERNAME/ALPINIST_PASSWORD ----------------------------


@pytest.mark.registry
def test_creds_option_end_to_end(
    auth_registry: RunningRegistry, tokens: TokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}", "--creds", ":".join(REGISTRY_USER))
    assert code == 0, err
    assert "musl" in packages(out)
    (request,) = tokens.token_requests()
    assert request["authorization"] == "Basic " + b64(":".join(REGISTRY_USER))


@pytest.mark.parametrize("bad", ["nocolon", "user-only"])
def test_creds_without_a_colon_is_a_usage_error(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, _, err = sbom(capsys, "127.0.0.1:1/library/alpine:1", "--creds", bad)
    assert code == 64
    assert "--creds" in err and "expected USER:PASSWORD" in err


@pytest.mark.registry
def test_username_and_password_variables_in_a_real_process(
    auth_registry: RunningRegistry, tokens: TokenServer, tmp_path: Path
) -> None:
    def run(password: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT / "src"),
            "ALPINIST_USERNAME": REGISTRY_USER[0],
            "ALPINIST_PASSWORD": password,
        }
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "alpinist",
                "sbom",
                f"{auth_registry.host}/{ALPINE}",
                "-f",
                "json",
                "--no-cache",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    good = run(REGISTRY_USER[1])
    assert good.returncode == 0, good.stderr
    assert "musl" in packages(good.stdout)
    (request,) = tokens.token_requests()
    assert request["authorization"] == "Basic " + b64(":".join(REGISTRY_USER))
    bad = run("wrong")
    assert bad.returncode == 1
    assert error_lines(bad.stderr) == [
        f"alpinist: error: registry {auth_registry.host}: token server {tokens.realm} refused "
        "the credentials given (HTTP 401)"
    ]


@pytest.mark.registry
def test_username_variable_in_process_and_creds_wins_over_it(
    auth_registry: RunningRegistry,
    tokens: TokenServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same variables in-process (so branch coverage sees them), and ``--creds`` over them."""
    monkeypatch.setenv("ALPINIST_USERNAME", BLOCKED[0])
    monkeypatch.setenv("ALPINIST_PASSWORD", BLOCKED[1])
    code, _, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}")
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: registry {auth_registry.host}: token server {tokens.realm} refused "
        "the credentials given (HTTP 403)"
    ]
    code, _, err = sbom(capsys, f"{auth_registry.host}/{ALPINE}", "--creds", ":".join(REGISTRY_USER))
    assert code == 0, err
    assert [r["authorization"] for r in tokens.token_requests()] == [
        "Basic " + b64(":".join(BLOCKED)),
        "Basic " + b64(":".join(REGISTRY_USER)),
    ]


@pytest.mark.registry
@pytest.mark.parametrize("repository", ["library/multi:latest", "library/multi-docker:list"])
@pytest.mark.parametrize(("platform", "arch"), [("linux/arm64/v8", "arm64"), ("linux/amd64", "amd64")])
def test_platform_option_picks_the_manifest(
    registry: RunningRegistry, capsys: pytest.CaptureFixture[str], repository: str, platform: str, arch: str
) -> None:
    code, out, err = sbom(capsys, f"{registry.host}/{repository}", "--platform", platform)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["image"]["manifest_digest"] == registry.pushed[f"{repository}/{arch}"]
    assert doc["os"]["version_id"] == ("3.18.9" if arch == "arm64" else "3.20.3")


@pytest.mark.registry
def test_an_absent_platform_is_one_line_listing_the_available_ones(
    registry: RunningRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = sbom(capsys, f"{registry.host}/library/multi:latest", "--platform", "linux/s390x")
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: manifest {registry.host}/library/multi:latest: no manifest for platform "
        "linux/s390x (available: linux/amd64, linux/arm64/v8)"
    ]


@pytest.mark.parametrize("bad", ["linux", "linux/arm64/v8/extra", "/amd64"])
def test_a_malformed_platform_is_a_usage_error(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, _, err = sbom(capsys, "127.0.0.1:1/library/alpine:1", "--platform", bad)
    assert code == 64
    assert "--platform" in err and "OS/ARCH[/VARIANT]" in err
