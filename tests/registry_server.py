"""A real registry for tests: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1.

``start_registry(workdir, htpasswd=..., token=...)`` writes a ``config.yml`` (storage in ``workdir``,
a free loopback port), starts the server, waits for ``/v2/`` to answer and returns a
``RunningRegistry`` with helpers to push corpus images with ``skopeo`` and to put manifests.
``TokenServer`` is a small real token service for the registry's ``auth.token`` mode: it signs
ES256 JWTs with a key whose self-signed certificate is the registry's ``rootcertbundle`` (the
certificate rides in the JWT header's ``x5c``, which distribution 2.8 checks against that bundle).

Pytest fixtures are at the bottom (``registry``, ``registry_htpasswd``, ``registry_token``,
``fresh_registry``); register them with ``pytest_plugins = ["tests.registry_server"]`` in
``tests/conftest.py``, or import the ``*_fixture`` functions into a test module.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

REGISTRY_BIN = os.environ.get("ALPINIST_DOCKER_REGISTRY", "/usr/bin/docker-registry")
REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("ALPINIST_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))
CORPUS_OCI = CORPUS / "images" / "oci"
START_TIMEOUT = 20.0

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def tools_missing() -> list[str]:
    """The external programs these fixtures need that are not installed."""
    missing = [] if os.access(REGISTRY_BIN, os.X_OK) else [REGISTRY_BIN]
    missing += [tool for tool in ("skopeo", "htpasswd") if shutil.which(tool) is None]
    if not (CORPUS_OCI / "index.json").is_file():
        missing.append(str(CORPUS_OCI))
    return missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackHandler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler with ``reply(status, headers, body)`` (Content-Length set)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Run a ``ThreadingHTTPServer`` with ``handler`` on 127.0.0.1 in a thread; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def self_signed(common_name: str, dns_name: str | None = None) -> tuple[Any, Any]:
    """A new EC P-256 key and a self-signed CA certificate for it, valid from yesterday for 30 days;
    ``dns_name``: the host name it is for (a subjectAltName, as TLS clients check)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if dns_name is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
    return key, builder.sign(key, hashes.SHA256())


# -- token server ---------------------------------------------------------------------------------
class TokenServer:
    """Issues registry bearer tokens (JWT, ES256) on loopback; records every request it gets.

    ``users`` maps user -> password. Anonymous callers get pull access when ``anonymous_pull``.
    ``token_field`` chooses whether the response carries ``token`` or ``access_token``.
    ``refresh_tokens`` maps an OAuth2 refresh token (docker's ``identitytoken``) -> user: a POST with
    ``grant_type=refresh_token`` gets a token for that user, an unknown refresh token a 401.
    A user in ``forbidden`` (valid credentials or refresh token) is answered 403 ``access denied``.
    ``rotate_key()`` writes a new signing certificate to ``cert_path`` (what the registry trusts once
    restarted) and, unless ``keep_signing=True``, signs with the new key from then on.
    """

    issuer = "alpinist-test-issuer"
    service = "alpinist-test-registry"

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str] | None = None,
        *,
        anonymous_pull: bool = False,
        token_field: str = "token",
        expires_in: int = 300,
        refresh_tokens: dict[str, str] | None = None,
    ) -> None:
        self.users = dict(users or {})
        self.anonymous_pull = anonymous_pull
        self.token_field = token_field
        self.expires_in = expires_in
        self.refresh_tokens = dict(refresh_tokens or {})
        self.forbidden: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self.cert_path = workdir / "token-signer.pem"
        self._key, self._cert_der_b64 = self._new_signer()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _new_signer(self) -> tuple[Any, str]:
        """A new ES256 key; its self-signed certificate is written to ``cert_path``."""
        from cryptography.hazmat.primitives import serialization

        key, cert = self_signed("alpinist test token signer")
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    def rotate_key(self, *, keep_signing: bool = False) -> None:
        """A new signing certificate in ``cert_path`` (a registry restarted now trusts only it); tokens
        are signed with the new key unless ``keep_signing`` (a rotation the token server missed)."""
        signer = self._new_signer()
        if not keep_signing:
            self._key, self._cert_der_b64 = signer

    def token_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/token"]

    def _issue(self, subject: str, scopes: list[str], authenticated: bool) -> str:
        import jwt

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = wanted if authenticated else [a for a in wanted if a == "pull" and self.anonymous_pull]
            if kind == "repository" and granted:
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": [self._cert_der_b64]})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                """The OAuth2 refresh-token grant (how docker trades an identity token for a token)."""
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                server.requests.append(
                    {
                        "path": url.path,
                        "method": "POST",
                        "query": {},
                        "form": form,
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                if url.path != "/token":
                    self.send_error(404)
                    return
                if form.get("grant_type", [""])[0] != "refresh_token":
                    self._reply(400, {"error": "unsupported_grant_type"})
                    return
                user = server.refresh_tokens.get(form.get("refresh_token", [""])[0])
                if user is None:
                    self._reply(401, {"error": "invalid_grant", "details": "unknown refresh token"})
                    return
                if user in server.forbidden:
                    self._reply(403, {"details": "access denied"})
                    return
                if form.get("service", [""])[0] != server.service:
                    self._reply(400, {"details": "unknown service"})
                    return
                scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
                token = server._issue(user, scopes, authenticated=True)
                self._reply(200, {"access_token": token, "expires_in": server.expires_in})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                record = {
                    "path": url.path,
                    "method": "GET",
                    "query": query,
                    "authorization": self.headers.get("Authorization"),
                }
                server.requests.append(record)
                if url.path != "/token":
                    self.send_error(404)
                    return
                user = None
                header = self.headers.get("Authorization")
                if header:
                    scheme, _, value = header.partition(" ")
                    try:
                        user, _, password = base64.b64decode(value).decode().partition(":")
                    except ValueError:
                        user, password = "", ""
                    if scheme.lower() != "basic" or server.users.get(user) != password:
                        self._reply(401, {"details": "invalid credentials"})
                        return
                    if user in server.forbidden:
                        self._reply(403, {"details": "access denied"})
                        return
                if query.get("service", [""])[0] != server.service:
                    self._reply(400, {"details": "unknown service"})
                    return
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                token = server._issue(user or "", scopes, authenticated=user is not None)
                self._reply(200, {server.token_field: token, "expires_in": server.expires_in})

            def _reply(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- the registry ---------------------------------------------------------------------------------
@dataclass
class RunningRegistry:
    host: str  # 127.0.0.1:PORT
    storage: Path
    workdir: Path
    process: subprocess.Popen[bytes]
    credentials: tuple[str, str] | None = None
    token_server: TokenServer | None = None
    pushed: dict[str, str] = field(default_factory=dict)  # "repo:tag" -> manifest digest

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def push(self, tag: str, repository: str | None = None, *, fmt: str | None = None) -> str:
        """Copy a corpus image (``alpine:3.20.3``) to ``<repository or its name>:<its tag>``.

        Returns the manifest digest as written (``fmt="v2s2"`` converts to Docker's schema 2).
        """
        name, _, image_tag = tag.partition(":")
        repository = repository or (f"library/{name}" if "/" not in name else name)
        digest_file = self.workdir / f"digest-{uuid.uuid4().hex}"
        policy = self.workdir / "policy.json"
        if not policy.exists():
            policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        cmd = [
            "skopeo",
            "--policy",
            str(policy),
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            "--digestfile",
            str(digest_file),
        ]
        if self.credentials is not None:
            cmd += ["--dest-creds", f"{self.credentials[0]}:{self.credentials[1]}"]
        if fmt is not None:
            cmd += ["--format", fmt]
        cmd += [f"oci:{CORPUS_OCI}:{tag}", f"docker://{self.host}/{repository}:{image_tag}"]
        env = dict(os.environ)
        # never let the developer's own auth files leak into the push
        env["REGISTRY_AUTH_FILE"] = str(self.workdir / "skopeo-auth.json")
        env["DOCKER_CONFIG"] = str(self.workdir / "skopeo-docker-config")
        proc = subprocess.run(cmd, capture_output=True, env=env, timeout=300, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"skopeo copy {tag} failed: {proc.stderr.decode(errors='replace')}")
        digest = digest_file.read_text().strip()
        self.pushed[f"{repository}:{image_tag}"] = digest
        return digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> httpx.Response:
        """PUT a manifest or index as is (anonymous or basic auth registries only)."""
        auth = httpx.BasicAuth(*self.credentials) if self.credentials else None
        response = httpx.put(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            content=body,
            headers={"Content-Type": media_type},
            auth=auth,
            timeout=30,
        )
        response.raise_for_status()
        return response

    def blob_data_path(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        algo, hexpart = digest.split(":", 1)
        return self.storage / "docker" / "registry" / "v2" / "blobs" / algo / hexpart[:2] / hexpart / "data"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.token_server is not None:
            self.token_server.stop()


def start_registry(
    workdir: Path,
    *,
    htpasswd: tuple[str, str] | None = None,
    token: TokenServer | None = None,
    token_credentials: tuple[str, str] | None = None,
) -> RunningRegistry:
    """Start docker-registry with storage under ``workdir``; optional htpasswd or token auth."""
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    auth_lines: list[str] = []
    credentials = None
    if htpasswd is not None:
        out = subprocess.run(
            ["htpasswd", "-Bbn", htpasswd[0], htpasswd[1]], capture_output=True, check=True, timeout=60
        ).stdout
        pwfile = workdir / "htpasswd"
        pwfile.write_bytes(out)
        auth_lines = ["auth:", "  htpasswd:", "    realm: alpinist-test", f"    path: {pwfile}"]
        credentials = htpasswd
    elif token is not None:
        auth_lines = [
            "auth:",
            "  token:",
            f"    realm: {token.realm}",
            f"    service: {token.service}",
            f"    issuer: {token.issuer}",
            f"    rootcertbundle: {token.cert_path}",
        ]
        credentials = token_credentials
    for _ in range(3):  # the free port may be taken between choosing it and binding it: try another
        registry = _launch(workdir, storage, auth_lines, credentials, token)
        if registry is not None:
            return registry
    if token is not None:
        token.stop()
    raise RuntimeError(f"docker-registry did not start: {(workdir / 'registry.log').read_text()[-2000:]}")


def _launch(
    workdir: Path,
    storage: Path,
    auth_lines: list[str],
    credentials: tuple[str, str] | None,
    token: TokenServer | None,
) -> RunningRegistry | None:
    port = free_port()
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {uuid.uuid4().hex}",
        *auth_lines,
    ]
    config = workdir / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    with (workdir / "registry.log").open("wb") as log:
        process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=workdir
        )
    registry = RunningRegistry(f"127.0.0.1:{port}", storage, workdir, process, credentials, token)
    deadline = time.monotonic() + START_TIMEOUT
    while process.poll() is None:
        try:
            answer = httpx.get(f"{registry.url}/v2/", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
            continue
        if answer.headers.get("docker-distribution-api-version") == "registry/2.0":
            return registry
        break  # someone else answers on this port
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)
    return None


def push_platform_index(registry: RunningRegistry, repository: str = "library/multi") -> dict[str, str]:
    """Push ``alpine:3.20.3`` and ``alpine:3.18.9`` and an OCI index naming them linux/amd64 and
    linux/arm64/v8 under ``<repository>:latest``; a Docker manifest list of the same two (in Docker's
    schema 2) under ``<repository>-docker:list``. Returns tag -> digest of what was pushed.
    """
    pushed: dict[str, str] = {}
    for fmt, repo, index_type, manifest_type, tag in (
        (None, repository, OCI_INDEX, OCI_MANIFEST, "latest"),
        ("v2s2", f"{repository}-docker", DOCKER_LIST, DOCKER_MANIFEST, "list"),
    ):
        amd64 = registry.push("alpine:3.20.3", repo, fmt=fmt)
        arm64 = registry.push("alpine:3.18.9", repo, fmt=fmt)
        entries = []
        for digest, platform in (
            (amd64, {"architecture": "amd64", "os": "linux"}),
            (arm64, {"architecture": "arm64", "os": "linux", "variant": "v8"}),
        ):
            size = int(
                httpx.head(
                    f"{registry.url}/v2/{repo}/manifests/{digest}",
                    headers={"Accept": manifest_type},
                    auth=httpx.BasicAuth(*registry.credentials) if registry.credentials else None,
                    timeout=30,
                ).headers["content-length"]
            )
            entries.append({"mediaType": manifest_type, "digest": digest, "size": size, "platform": platform})
        body = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": entries}).encode()
        response = registry.put_manifest(repo, tag, body, index_type)
        pushed[f"{repo}:{tag}"] = response.headers["docker-content-digest"]
        pushed[f"{repo}:{tag}/amd64"] = amd64
        pushed[f"{repo}:{tag}/arm64"] = arm64
    return pushed


# -- pytest fixtures ------------------------------------------------------------------------------
REGISTRY_USER = ("alpinist", "correct horse battery staple")


def _require_tools() -> None:
    missing = tools_missing()
    if missing:
        pytest.fail(f"registry tests need: {', '.join(missing)} (the test command installs them)")


@pytest.fixture(scope="session", name="registry")
def registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """An anonymous registry with alpine:3.20.3, python-app:alpine and the multi-platform indexes."""
    _require_tools()
    reg = start_registry(tmp_path_factory.mktemp("registry-anon"))
    try:
        reg.push("alpine:3.20.3")
        reg.push("python-app:alpine")
        reg.pushed.update(push_platform_index(reg))
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session", name="registry_htpasswd")
def registry_htpasswd_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry behind htpasswd (``REGISTRY_USER``) with alpine:3.20.3 and python-app:alpine."""
    _require_tools()
    reg = start_registry(tmp_path_factory.mktemp("registry-htpasswd"), htpasswd=REGISTRY_USER)
    try:
        reg.push("alpine:3.20.3")
        reg.push("python-app:alpine")
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session", name="registry_token")
def registry_token_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry with bearer-token auth from a loopback ``TokenServer``; alpine:3.20.3 pushed.

    ``REGISTRY_USER`` may push and pull; anonymous callers may pull.
    """
    _require_tools()
    workdir = tmp_path_factory.mktemp("registry-token")
    tokens = TokenServer(workdir, {REGISTRY_USER[0]: REGISTRY_USER[1]}, anonymous_pull=True)
    reg = start_registry(workdir, token=tokens, token_credentials=REGISTRY_USER)
    try:
        reg.push("alpine:3.20.3")
        yield reg
    finally:
        reg.stop()


@pytest.fixture(name="fresh_registry")
def fresh_registry_fixture(tmp_path: Path) -> Iterator[RunningRegistry]:
    """A registry of the test's own (its storage may be changed), with alpine:3.20.3 pushed."""
    _require_tools()
    reg = start_registry(tmp_path / "registry")
    try:
        reg.push("alpine:3.20.3")
        yield reg
    finally:
        reg.stop()
