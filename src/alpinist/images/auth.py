"""Registry credentials (docker/podman config files, credential helpers) and the challenge flow.

Where credentials come from, first match wins:

1. explicit ``(username, password)`` (``--username/--password``);
2. the containers auth file: ``$REGISTRY_AUTH_FILE``, else ``$XDG_RUNTIME_DIR/containers/auth.json``;
3. the docker config: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.

In one file, ``credHelpers[<registry>]`` wins over an ``auths`` entry, which wins over ``credsStore``.
Docker Hub is stored under several keys (``https://index.docker.io/v1/``, ``index.docker.io``,
``registry-1.docker.io``, ``docker.io``); any of them matches any Docker Hub host.

``RegistryAuth`` is an ``httpx.Auth`` implementing the distribution spec's token flow: a request
goes out (with a cached token when one is known), a 401 carries ``WWW-Authenticate``; for ``Bearer``
a token is fetched from the realm (GET with service+scope, basic credentials if any; or the OAuth2
refresh-token POST when only an identity token is known) and the request is retried; for ``Basic`` it
is retried with the credentials. A 401 on the retry is returned to the caller, which reports it as
``AuthError``; a realm that rejects the credentials raises ``AuthError`` at once. A realm that fails
(HTTP 5xx, 429) raises ``TokenServerError`` marked transient, which the registry client retries; one that
answers garbage (not JSON, no token, oversized) raises it at once. Both name the realm's URL.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from alpinist.errors import AuthError

log = logging.getLogger(__name__)

DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io")
DOCKER_HUB_HOSTS = frozenset({"index.docker.io", "registry-1.docker.io", "docker.io"})
HELPER_TIMEOUT = 30.0
DEFAULT_TOKEN_LIFETIME = 60  # seconds; the token spec's default when expires_in is absent
MAX_TOKEN_RESPONSE = 1024 * 1024
TOKEN_EXPIRY_MARGIN = 10.0  # renew a little early so a token never expires in flight


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    identity_token: str | None = None  # an OAuth2 refresh token (docker's "identitytoken")
    source: str = "explicit"  # where they came from, for messages: a file path or a helper name

    @property
    def origin(self) -> str:
        """For messages: "the credentials given" or "the credentials from <file or helper>"."""
        return "the credentials given" if self.source == "explicit" else f"the credentials from {self.source}"

    @property
    def has_basic(self) -> bool:
        return self.username is not None and self.password is not None


class TokenServerError(AuthError):
    """The token server (the challenge's realm) failed; ``transient``: worth another try (5xx, 429).
    ``reason`` is the message without the registry's name."""

    def __init__(self, registry: str, reason: str, *, transient: bool = False) -> None:
        self.reason = reason
        self.transient = transient
        super().__init__(f"registry {registry}: {reason}")


def _hub(host: str) -> bool:
    return host in DOCKER_HUB_HOSTS


def _key_host(key: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000`` (auth file keys come in all these spellings)."""
    text = key.strip()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.split("/", 1)[0].lower()


def _same_registry(key: str, host: str) -> bool:
    key_host = _key_host(key)
    if _hub(host):
        return _hub(key_host)
    return key_host == host.lower()


def helper_server_url(host: str) -> str:
    """What docker passes to a credential helper for a registry host."""
    return DOCKER_HUB_KEYS[0] if _hub(host) else host


def auth_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """The candidate credential files, in the order they are consulted."""
    env = os.environ if env is None else env
    files: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]).expanduser())
    elif env.get("XDG_RUNTIME_DIR"):
        files.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    if env.get("DOCKER_CONFIG"):
        files.append(Path(env["DOCKER_CONFIG"]).expanduser() / "config.json")
    else:
        home = env.get("HOME") or str(Path.home())
        files.append(Path(home) / ".docker" / "config.json")
    return files


def _decode_auth(value: str, where: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(value, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError(f"{where}: 'auth' is not base64 of user:password") from None
    user, sep, password = text.partition(":")
    if not sep:
        raise AuthError(f"{where}: 'auth' is not base64 of user:password")
    return user, password


def _helper_failure(message: str, status: int) -> str:
    """What a failed helper said, for the error line: its first line, unless that looks like credentials
    (a helper that printed its answer and still failed must not put the secret on stderr)."""
    first = message.splitlines()[0].strip() if message else ""
    if not first:
        return f"exit status {status}"
    lowered = first.lower()
    if first.startswith(("{", "[")) or "secret" in lowered or "password" in lowered or "token" in lowered:
        return f"exit status {status} (its output is not shown: it may hold credentials)"
    return first


def run_credential_helper(helper: str, host: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Ask ``docker-credential-<helper> get`` for the registry's credentials (None: it has none)."""
    program = f"docker-credential-{helper}"
    env = dict(os.environ if env is None else env)
    path = shutil.which(program, path=env.get("PATH"))
    if path is None:
        log.warning("credential helper %s is configured but not on PATH; continuing without it", program)
        return None
    try:
        proc = subprocess.run(
            [path, "get"],
            input=helper_server_url(host).encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AuthError(f"credential helper {program} did not answer within {HELPER_TIMEOUT:.0f}s") from None
    except OSError as exc:
        raise AuthError(f"credential helper {program} could not run: {exc}") from None
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        message = out or proc.stderr.decode("utf-8", "replace").strip()
        if "credentials not found" in message.lower():
            return None
        raise AuthError(
            f"credential helper {program} failed for {host}: {_helper_failure(message, proc.returncode)}"
        )
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        raise AuthError(f"credential helper {program} returned something that is not JSON") from None
    if not isinstance(doc, dict):
        raise AuthError(f"credential helper {program} returned JSON that is not an object")
    username = doc.get("Username")
    secret = doc.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str):
        raise AuthError(f"credential helper {program} returned no Username/Secret")
    if username == "<token>":  # docker's convention for an identity token
        return Credentials(identity_token=secret, source=program)
    return Credentials(username=username, password=secret, source=program)


def _from_file(path: Path, host: str, env: Mapping[str, str]) -> Credentials | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuthError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AuthError(f"{path}: not valid JSON") from None
    if not isinstance(doc, dict):
        raise AuthError(f"{path}: not a JSON object")

    helpers = doc.get("credHelpers")
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if isinstance(helper, str) and helper and _same_registry(str(key), host):
                return run_credential_helper(helper, host, env)

    auths = doc.get("auths")
    if isinstance(auths, dict):
        # exact host keys first, then the aliases (Docker Hub's several spellings)
        keys = sorted((str(k) for k in auths), key=lambda k: _key_host(k) != host.lower())
        for key in keys:
            entry = auths[key]
            if not _same_registry(key, host) or not isinstance(entry, dict):
                continue
            where = f"{path}: auths[{key!r}]"
            token = entry.get("identitytoken")
            if isinstance(token, str) and token:
                return Credentials(identity_token=token, source=str(path))
            auth = entry.get("auth")
            if isinstance(auth, str) and auth:
                user, password = _decode_auth(auth, where)
                return Credentials(username=user, password=password, source=str(path))
            user_v, pass_v = entry.get("username"), entry.get("password")
            if isinstance(user_v, str) and isinstance(pass_v, str):
                return Credentials(username=user_v, password=pass_v, source=str(path))

    store = doc.get("credsStore")
    if isinstance(store, str) and store:
        return run_credential_helper(store, host, env)
    return None


def resolve_credentials(
    host: str,
    explicit: tuple[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials | None:
    """The credentials for registry ``host`` (``host[:port]``), or None for anonymous access."""
    if explicit is not None:
        return Credentials(username=explicit[0], password=explicit[1], source="explicit")
    env = os.environ if env is None else env
    for path in auth_files(env):
        creds = _from_file(path, host.lower(), env)
        if creds is not None:
            return creds
    return None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer" or "basic"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` header values (quoted commas allowed inside values).

    Uses the stdlib's RFC 2068 list splitting (``urllib.request.parse_http_list``), which honours
    quoted strings, rather than a hand-written tokenizer.
    """
    challenges: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        if not scheme:
            continue
        params: dict[str, str] = {}
        for item in urllib.request.parse_http_list(rest):
            key, sep, val = item.partition("=")
            if not sep:
                continue
            val = val.strip()
            if len(val) >= 2 and val[0] == val[-1] == '"':
                val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            params[key.strip().lower()] = val
        challenges.append(Challenge(scheme.lower(), params))
    return challenges


class LimitedStream(httpx.SyncByteStream):
    """At most ``limit`` raw bytes of a response body; the rest is never read (the connection is
    dropped when the response closes). httpx reads some bodies whole on its own (a 401 before the
    auth flow's retry, a redirect, a response an auth flow reads): this bounds them."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        left = self._limit
        for chunk in self._inner:
            if len(chunk) >= left:
                if left:
                    yield chunk[:left]
                return
            left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class RegistryAuth(httpx.Auth):
    """Answer a registry's 401 challenges (Bearer tokens or Basic), caching tokens per scope."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self._clock = clock
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}  # (realm, service, scope)
        self._current: tuple[str, str, str] | None = None  # the last token used successfully
        self._basic = False  # the registry asked for Basic once: send it up front from then on
        self.token_requests = 0
        self._realms: set[str] = set()  # the token servers asked, as scheme://host/path

    def realm_of(self, url: httpx.URL) -> str | None:
        """The realm ``url`` is a request to (a token server this auth asked), else None."""
        key = _without_query(url)
        return key if key in self._realms else None

    # -- preemptive header ------------------------------------------------------------------------
    def _preemptive(self) -> str | None:
        if self._basic and self.credentials is not None and self.credentials.has_basic:
            return _basic_header(self.credentials.username or "", self.credentials.password or "")
        if self._current is not None:
            cached = self._tokens.get(self._current)
            if cached is not None and cached[1] > self._clock():
                return f"Bearer {cached[0]}"
        return None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        origin = (request.url.scheme, request.url.host, request.url.port)
        header = self._preemptive()
        if header is not None:
            request.headers["Authorization"] = header
        response = yield request
        if response.status_code != 401:
            return
        final = response.request.url
        if (final.scheme, final.host, final.port) != origin:
            return  # a 401 from redirected-to storage is not this registry's challenge
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None and "realm" in bearer.params:
            key = (bearer.params["realm"], bearer.params.get("service", ""), bearer.params.get("scope", ""))
            cached = self._tokens.get(key)
            # the token we just sent was refused: it was revoked or lacks this scope; get a new one
            stale = cached is not None and header == f"Bearer {cached[0]}"
            if cached is None or stale or cached[1] <= self._clock():
                self._tokens.pop(key, None)
                token_request = self._token_request(*key)
                token_response = yield token_request
                if isinstance(token_response.stream, httpx.SyncByteStream):
                    # one byte over the limit is enough for _store_token to refuse it
                    token_response.stream = LimitedStream(token_response.stream, MAX_TOKEN_RESPONSE + 1)
                token_response.read()
                self._store_token(key, token_response)
            self._current = key
            request.headers["Authorization"] = f"Bearer {self._tokens[key][0]}"
            yield request
            return
        if basic is not None:
            if self.credentials is None or not self.credentials.has_basic:
                raise AuthError(f"registry {self.registry} requires credentials (Basic) and none were found")
            if header is not None and header.startswith("Basic "):
                return  # these credentials were just refused: the caller reports the 401
            self._basic = True
            request.headers["Authorization"] = _basic_header(
                self.credentials.username or "", self.credentials.password or ""
            )
            yield request
            return
        schemes = ", ".join(c.scheme for c in challenges) or "none"
        raise AuthError(f"registry {self.registry} answered 401 with an unsupported challenge ({schemes})")

    # -- token endpoint ---------------------------------------------------------------------------
    def _token_request(self, realm: str, service: str, scope: str) -> httpx.Request:
        self.token_requests += 1
        creds = self.credentials
        try:
            url = httpx.URL(realm)
        except httpx.InvalidURL:
            raise AuthError(f"registry {self.registry}: token realm {realm!r} is not a URL") from None
        if url.scheme not in ("https", "http"):
            raise AuthError(f"registry {self.registry}: token realm {realm!r} is not an http(s) URL")
        self._realms.add(_without_query(url))
        if creds is not None and creds.identity_token and not creds.has_basic:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": "alpinist",
            }
            if service:
                form["service"] = service
            if scope:
                form["scope"] = scope
            return httpx.Request("POST", url, data=form)
        params = {}
        if service:
            params["service"] = service
        if scope:
            params["scope"] = scope
        headers = {}
        if creds is not None and creds.has_basic:
            headers["Authorization"] = _basic_header(creds.username or "", creds.password or "")
        return httpx.Request("GET", url.copy_merge_params(params), headers=headers)

    def _store_token(self, key: tuple[str, str, str], response: httpx.Response) -> None:
        realm = key[0]
        status = response.status_code
        if status in (401, 403):
            who = self.credentials.origin if self.credentials else "anonymous access"
            raise AuthError(f"registry {self.registry}: token server {realm} refused {who} (HTTP {status})")
        if status != 200:
            raise TokenServerError(
                self.registry,
                f"token server {realm} failed: HTTP {status}",
                transient=status == 429 or status >= 500,
            )
        body = response.content
        if len(body) > MAX_TOKEN_RESPONSE:
            raise TokenServerError(self.registry, f"token server {realm} sent an oversized response")
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise TokenServerError(self.registry, f"token server {realm} sent a non-JSON response") from None
        token = None
        if isinstance(doc, dict):
            token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenServerError(self.registry, f"token server {realm} sent no token")
        lifetime: float = DEFAULT_TOKEN_LIFETIME
        expires = doc.get("expires_in")
        if isinstance(expires, int | float) and not isinstance(expires, bool) and expires > 0:
            lifetime = float(expires)
        expiry = self._clock() + max(lifetime - TOKEN_EXPIRY_MARGIN, lifetime / 2)
        self._tokens[key] = (token, expiry)


def _without_query(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"
