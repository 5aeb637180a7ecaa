"""The registry transport: OCI Distribution API v2 over httpx, with the blob cache in front.

``RegistrySource(name, reference, ...)`` resolves ``name`` (``host/repository``) at ``reference`` (a tag
or a digest) to one image manifest for one platform:

* ``GET /v2/<repo>/manifests/<ref>`` with every manifest media type accepted; the bytes are verified
  against the reference's digest when the reference is one, else against ``Docker-Content-Digest``,
  else their own sha256 names them; an index or manifest list is narrowed with
  ``manifest.select_platform`` and the chosen manifest is fetched by digest and verified;
* the config blob is fetched, size-bounded and verified;
* manifests and configs are kept in the blob cache by digest, so a digest-pinned second run needs no
  request at all, and a tag needs one (the tag's manifest) while every blob comes from the cache;
* ``open_blob`` streams a layer from the cache when it is there; else it streams the download itself:
  the caller (``layers.py``) decompresses and parses the bytes as they arrive, while each piece it
  reads is written to the cache's ``.part``. At the end of the body the digest and size are checked
  and the ``.part`` is renamed into the cache; a mismatch, an error, a cancel or a stream closed before
  its end removes the ``.part`` and nothing enters the cache.

With ``mirrors`` (``images.mirrors``), an image of a mirrored registry is read from the mirror only:
every request goes to the mirror's host, the repository under the mirror's path prefix, over plain
http when the mirror is loopback or an insecure host, with the credentials stored for the mirror's
host. There is no fallback to the registry itself: a mirror that fails or lacks the image is an
error naming the mirror (an air-gapped or policy-bound setup must never reach the origin behind the
user's back). The image keeps its own name (``reference``, ``ResolvedImage.name``), so reports and
the inventory cache do not depend on where the bytes came from.

``fetch`` is the one public request of the API besides the image's: a GET with this source's
client, credentials, retries and error checking, for other endpoints (``images.tags``).

Transient failures (429, 500, 502, 503, 504, connection errors, a body cut short, a token server's
5xx or connection failure) are retried with exponential backoff and jitter, honouring ``Retry-After``,
with bounded attempts and a bounded total wait. A layer whose connection breaks mid-body is resumed
where it broke (``Range: bytes=N-``; the reader has taken the first N bytes already): a 206 goes on
from there, a registry that ignores the range and answers 200 has its first N bytes skipped. The
resumed requests count against the same bounded attempts and total wait. TLS is verified; plain http is used only for loopback
hosts and hosts the user listed as insecure.

Deadlines (``net.Deadlines``, from ``--timeout`` / ``ALPINIST_TIMEOUT``): no byte for the stall timeout
(the client's read timeout) or a body slower than the minimum throughput ends the request at once,
without a retry, with one line naming the registry, the blob and the rule. ``net.cancel()`` (Ctrl-C,
SIGTERM) stops a download between two reads of the socket, and wakes a read that is blocked: the
cache's ``.part`` is removed on the way out. As the bytes of a layer are counted when its reader takes
them, a reader slower than the minimum throughput would fail that rule too (the layer parser reads
far faster than the default 10 KiB/s).
"""

from __future__ import annotations

import io
import ipaddress
import os
import random
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import httpx

from alpinist import __version__
from alpinist.errors import (
    AuthError,
    BadReference,
    BlobError,
    ImageError,
    ManifestError,
    NotFound,
    RegistryError,
)
from alpinist.images.auth import LimitedStream, RegistryAuth, TokenServerError, resolve_credentials
from alpinist.images.cache import BlobCache, BlobWriter
from alpinist.images.manifest import (
    ACCEPT,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    config_platform,
    index_entries,
    load_json,
    media_type_of,
    parse_manifest,
    select_platform,
)
from alpinist.images.mirrors import mirror_for
from alpinist.images.source import ResolvedImage, digest_of, split_digest, verify_bytes
from alpinist.models import Descriptor, Platform
from alpinist.net import (
    DeadlineExceeded,
    Deadlines,
    RateGuard,
    cancellable_sleep,
    check_cancelled,
    current_deadlines,
    parse_retry_after,
    response_socket,
    stall_message,
    watch_socket,
)

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ERROR_BODY = 64 * 1024

# distribution/reference grammar: path components of lower-case alphanumerics joined by separators
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_CONTENT_RANGE_RE = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", re.IGNORECASE)
_SKIP_PIECE = 1 << 16

ProgressCallback = Callable[[str, int, int], None]
# (HTTP status, the distribution error code or None, " [CODE: message]" or "") -> the error to raise
# instead of the usual one, or None for the usual one
Refusal = Callable[[int, str | None, str], ImageError | None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries of one request, the first included
    base_delay: float = 0.5  # seconds before the first retry; doubles each time, with jitter
    max_delay: float = 30.0  # the longest single wait (also caps Retry-After)
    max_total_wait: float = 90.0  # give up rather than wait longer than this in total


def split_name(name: str) -> tuple[str, str]:
    """``host[:port]/repo`` -> (host, repo); a name without a host is on Docker Hub (``library/`` added)."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        host, repository = first.lower(), rest
    else:
        host, repository = DOCKER_HUB, name
    if host in DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    if not _REPOSITORY_RE.fullmatch(repository) or len(repository) > 255:
        raise BadReference(f"{name!r}: invalid repository name {repository!r}")
    return host, repository


def valid_tag(text: str) -> bool:
    """A tag as the distribution grammar spells it (``3.11-slim``; at most 128 characters)."""
    return _TAG_RE.fullmatch(text) is not None


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() else host


def is_loopback(host: str) -> bool:
    hostname = _hostname(host).lower()
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _ResponseStream(io.RawIOBase):
    """The raw (undecoded) body of a streaming httpx response as a readable file object, read as the
    bytes arrive: every piece is counted by ``guard`` (the minimum throughput), and a cancel stops it."""

    def __init__(self, response: httpx.Response, guard: RateGuard) -> None:
        super().__init__()
        self._response = response
        self._guard = guard
        self._chunks: Iterator[bytes] = response.iter_raw()  # no chunk size: never wait to fill one
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            check_cancelled()
            self._pending = next(self._chunks, b"")
            check_cancelled()
            self._guard.feed(len(self._pending))
            if not self._pending:
                return 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            super().close()


class _BlobStream(io.RawIOBase):
    """A layer blob read while it downloads. Each read hands out the bytes that arrived and writes them
    to the cache's ``.part`` (``BlobWriter``: bounded by the descriptor's size); the end of the body
    commits it (digest and size checked, renamed into the cache). Any error, a cancel, or a close before
    the end removes the ``.part``. A connection that breaks mid-body is resumed with a range request
    from the first byte not yet read, within the source's retry policy; the deadlines end it at once.
    One thread reads a stream (one stream per blob, as ``build_view`` uses them).

    ``checked_digest``: the stream reports its end (a read of 0 bytes) only once the cache's writer has
    checked every byte against this digest and the size, and after a failure every read raises, so a
    ``VerifyingReader`` over it need not hash the same bytes a second time."""

    def __init__(self, source: RegistrySource, desc: Descriptor, writer: BlobWriter) -> None:
        super().__init__()
        self.checked_digest = desc.digest
        self._committed = False
        self._source = source
        self._desc = desc
        self._writer = writer
        self._what = f"blob {desc.digest} of {source.reference}"
        self._url = f"/v2/{source.api_repository}/blobs/{desc.digest}"
        self._attempt = 0
        self._waited = 0.0
        self._response: httpx.Response | None = None
        self._body: _ResponseStream | None = None  # None: no body left to read
        self._watch = ExitStack()  # the response's socket, for cancel() to wake a blocked read
        self._skip = 0  # bytes still to drop: a 200 answer to a range request starts from byte 0

    def start(self) -> None:
        """Send the first request and check its answer (raises as a download did)."""
        self._attempt = 1
        self._attach(self._source._send("GET", self._url, self._what), 0)
        self._progress(0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._committed:  # the end was reached, checked and committed
            return 0
        if not self._writer.open:
            raise BlobError(self._desc.digest, f"{self._what}: read again after the download failed")
        try:
            return self._read(memoryview(buffer).cast("B"))
        except BaseException:
            self._end()
            raise

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._end()  # a stream closed before its end caches nothing
        finally:
            super().close()

    # -- internals ---------------------------------------------------------------------------------
    def _read(self, view: memoryview) -> int:
        while True:
            skipping = self._skip > 0
            target = memoryview(bytearray(min(self._skip, _SKIP_PIECE))) if skipping else view
            n = self._read_body(target)
            if n < 0:
                continue  # resumed: the new answer may start before the first byte not yet read
            if skipping and n > 0:
                self._skip -= n
                continue
            if n == 0:  # the end (a body shorter than what was read before: the commit says truncated)
                self._writer.commit()
                self._committed = True
                self._drop_response()
                return 0
            self._writer.write(bytes(view[:n]))
            self._progress(self._writer.written)
            return n

    def _read_body(self, view: memoryview) -> int:
        """Bytes of the body into ``view``: 0 at its end, -1 when a broken connection was resumed."""
        source = self._source
        if self._body is None:
            return 0
        try:
            return self._body.readinto(view)
        except httpx.TimeoutException:
            raise RegistryError(
                f"registry {source.server}: {self._what}: {stall_message(source.deadlines)}"
            ) from None
        except DeadlineExceeded as exc:
            raise RegistryError(f"registry {source.server}: {self._what}: {exc}") from None
        except httpx.TransportError as exc:  # the connection broke mid-body: go on from there
            check_cancelled()  # ... unless it broke because cancel() shut the socket down
            self._resume(f"connection broke: {exc}")
            return -1

    def _resume(self, reason: str) -> None:
        self._drop_response()
        offset = self._writer.written
        if offset == self._desc.size:
            return  # every byte arrived, only the end of the answer was lost: the commit checks them
        source = self._source
        self._waited = source._wait_to_retry(self._attempt, self._waited, self._what, reason)
        self._attempt += 1
        headers = {"Range": f"bytes={offset}-"} if offset else None
        self._attach(source._send("GET", self._url, self._what, headers), offset)

    def _attach(self, response: httpx.Response, offset: int) -> None:
        """Read the body of ``response`` from here on, which should start at byte ``offset``."""
        source = self._source
        try:
            start = 0
            if response.status_code == 206:
                content_range = response.headers.get("content-range", "")
                match = _CONTENT_RANGE_RE.fullmatch(content_range)
                start = int(match.group(1)) if match else -1
                if not 0 <= start <= offset:
                    raise RegistryError(
                        f"registry {source.server}: {self._what}: asked for bytes {offset}- and got a "
                        f"partial answer of {content_range or '(no Content-Range)'}"
                    )
            else:
                source._check(response, self._what, blob=self._desc.digest)
            self._watch.enter_context(watch_socket(response_socket(response.extensions)))
        except BaseException:
            response.close()
            raise
        self._skip = offset - start
        self._response = response
        # unbuffered: each read returns what arrived, so progress and the rate guard see it
        self._body = _ResponseStream(response, RateGuard(source.deadlines))

    def _drop_response(self) -> None:
        self._body = None
        response, self._response = self._response, None
        try:
            self._watch.close()
        finally:
            if response is not None:
                response.close()

    def _end(self) -> None:
        try:
            self._writer.abort()  # nothing once committed
        finally:
            self._drop_response()

    def _progress(self, done: int) -> None:
        progress = self._source._progress
        if progress is not None:
            progress(self._desc.digest, done, self._desc.size)


class RegistrySource:
    """An ``ImageSource`` over the OCI Distribution API."""

    transport = "registry"

    def __init__(
        self,
        name: str,
        reference: str,
        *,
        platform: Platform,
        cache: BlobCache,
        credentials: tuple[str, str] | None = None,
        insecure_hosts: frozenset[str] = frozenset(),
        mirrors: tuple[tuple[str, str], ...] = (),
        progress: ProgressCallback | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = cancellable_sleep,
        retry: RetryPolicy = RetryPolicy(),
        deadlines: Deadlines | None = None,
    ) -> None:
        self.host, self.repository = split_name(name)
        if ":" in reference and not reference.startswith(":"):
            try:
                split_digest(reference)
            except BlobError:
                raise BadReference(f"{name}@{reference}: malformed digest") from None
            self._digest: str | None = reference
        elif valid_tag(reference):
            self._digest = None
        else:
            raise BadReference(f"{name}:{reference}: invalid tag")
        self._ref = reference
        sep = "@" if self._digest else ":"
        self.reference = f"{self.host}/{self.repository}{sep}{reference}"
        self.platform = platform
        self.cache = cache
        self._progress = progress
        self._sleep = sleep
        self._retry = retry
        self.deadlines = current_deadlines() if deadlines is None else deadlines
        mirror = mirror_for(self.host, mirrors)
        self.mirrored = mirror is not None
        if mirror is None:
            self.api_host = DOCKER_HUB_API if self.host == DOCKER_HUB else self.host
            self.api_repository = self.repository  # the repository's path in the API's URLs
            self.server = self.host  # the registry as messages name it
            self.location = f"{self.host}/{self.repository}"  # the repository as messages name it
            self._auth_host = self.host  # whose credentials are looked up
        else:
            self.api_host, prefix = mirror
            self.api_repository = f"{prefix}/{self.repository}" if prefix else self.repository
            self.server = f"{self.api_host} (mirror of {self.host})"
            self.location = f"{self.api_host}/{self.api_repository} (mirror of {self.host}/{self.repository})"
            self._auth_host = self.api_host
        insecure = {h.lower() for h in insecure_hosts}
        plain = (
            is_loopback(self.api_host) or self.api_host in insecure or _hostname(self.api_host) in insecure
        )
        self.base_url = f"{'http' if plain else 'https'}://{self.api_host}"
        self._credentials = credentials
        self._auth: RegistryAuth | None = None  # built on first use: reading config files may run helpers
        self._client = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            follow_redirects=True,  # httpx drops Authorization when a redirect leaves the origin
            # the stall timeout is the read timeout: no byte for that long ends the request
            timeout=httpx.Timeout(self.deadlines.read_timeout, connect=15.0, pool=None),
            headers={"User-Agent": f"alpinist/{__version__}", "Accept-Encoding": "identity"},
            event_hooks={"response": [_bound_error_body]},
        )

    # -- ImageSource ------------------------------------------------------------------------------
    def resolve(self) -> ResolvedImage:
        what = f"manifest {self.reference}"
        data, digest, content_type = self._manifest(self._ref, None, what)
        doc = load_json(data, what)
        media_type = _media_type(doc, content_type, what)
        platform: Platform | None = None
        if media_type in INDEX_TYPES:
            chosen = select_platform(index_entries(doc, what), self.platform, what)
            if chosen.media_type and chosen.media_type not in MANIFEST_TYPES:
                raise ManifestError(
                    f"{what}: entry {chosen.digest} has unsupported media type {chosen.media_type}"
                )
            what = f"manifest {chosen.digest} ({self.reference}, {chosen.platform or self.platform})"
            data, digest, content_type = self._manifest(chosen.digest, chosen, what)
            doc = load_json(data, what)
            media_type = _media_type(doc, chosen.media_type or content_type, what)
            platform = chosen.platform
        if media_type not in MANIFEST_TYPES:
            raise ManifestError(f"{what}: unsupported media type {media_type}")
        config_desc, layers = parse_manifest(doc, what)
        config = self._config(config_desc)
        return ResolvedImage(
            name=self.reference,
            manifest_digest=digest,
            manifest_media_type=media_type,
            config_digest=config_desc.digest,
            config=config,
            layers=layers,
            platform=platform or config_platform(config),
        )

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        """The cached blob file; else the blob as it downloads, entering the cache (verified, atomic)
        when it has been read to its end (``_BlobStream``). Its status is checked here: a missing blob
        or a refused request raises before anything is returned."""
        fh = self.cache.open(descriptor.digest)
        if fh is not None:
            if os.fstat(fh.fileno()).st_size == descriptor.size:
                return fh
            fh.close()  # a cached copy of the wrong size can never verify: fetch it again
            self.cache.discard(descriptor.digest)
        check_cancelled()
        stream = _BlobStream(self, descriptor, self.cache.writer(descriptor.digest, descriptor.size))
        try:
            stream.start()
        except BaseException:
            stream.close()
            raise
        return cast(BinaryIO, stream)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistrySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- any other endpoint --------------------------------------------------------------------------
    def fetch(
        self, url: str, what: str, limit: int, *, refuse: Refusal | None = None
    ) -> tuple[bytes, httpx.Response]:
        """GET ``url`` (a path on the registry, or an absolute URL) as the image's requests go: this
        source's client, credentials and retries. Returns the body (at most ``limit`` bytes, else
        ``RegistryError``) and the closed response, for its headers and final URL. Any status but 200
        raises as for a manifest (``what`` names the request), unless ``refuse`` returns another error.
        """
        return self._get_body(url, what, limit, refuse=refuse, too_large=RegistryError)

    def _get_body(
        self,
        url: str,
        what: str,
        limit: int,
        headers: dict[str, str] | None = None,
        *,
        blob: str | None = None,
        refuse: Refusal | None = None,
        too_large: type[ImageError] = ManifestError,
    ) -> tuple[bytes, httpx.Response]:
        """GET a small body whole (a manifest, a config, a tags page), checked and bounded; a connection
        that breaks mid-body is retried like a transient status, with the same bounds."""
        waited = 0.0
        for attempt in range(1, self._retry.attempts + 1):
            with closing(self._send("GET", url, what, headers)) as resp:
                self._check(resp, what, blob=blob, refuse=refuse)
                try:
                    return self._read_limited(resp, limit, what, too_large), resp
                except _BodyBroke as exc:
                    error = exc.reason
            waited = self._wait_to_retry(attempt, waited, what, f"connection broke: {error}")
        raise AssertionError("unreachable")  # pragma: no cover

    # -- manifests and configs --------------------------------------------------------------------
    def _manifest(self, ref: str, expected: Descriptor | None, what: str) -> tuple[bytes, str, str]:
        """(bytes, digest, content type) of a manifest or index, verified; from the cache when pinned."""
        pinned = expected.digest if expected is not None else self._digest if ref == self._digest else None
        if expected is not None and expected.size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{what}: size {expected.size} exceeds the {MAX_MANIFEST_BYTES}-byte limit")
        if pinned is not None:
            cached = self.cache.read_bytes(pinned, MAX_MANIFEST_BYTES)
            if cached is not None:
                return cached, pinned, ""
        data, resp = self._get_body(
            f"/v2/{self.api_repository}/manifests/{ref}", what, MAX_MANIFEST_BYTES, {"Accept": ACCEPT}
        )
        header_digest = resp.headers.get("docker-content-digest", "").strip()
        content_type = resp.headers.get("content-type", "").split(";")[0].strip()
        if pinned is not None:
            verify_bytes(data, pinned, expected.size if expected is not None else None)
            digest = pinned
        elif header_digest and _valid_digest(header_digest):
            verify_bytes(data, header_digest)
            digest = header_digest
        else:
            digest = digest_of(data)
        if not self.cache.has(digest):  # a tag's manifest is asked for every run: written once, not each time
            self.cache.put_bytes(digest, data)
        return data, digest, content_type

    def _config(self, desc: Descriptor) -> dict[str, Any]:
        what = f"config {desc.digest} of {self.reference}"
        if desc.size > MAX_CONFIG_BYTES:
            raise ManifestError(f"{what}: size {desc.size} exceeds the {MAX_CONFIG_BYTES}-byte limit")
        data = self.cache.read_bytes(desc.digest, MAX_CONFIG_BYTES)
        if data is None or len(data) != desc.size:
            data, _ = self._get_body(
                f"/v2/{self.api_repository}/blobs/{desc.digest}", what, MAX_CONFIG_BYTES, blob=desc.digest
            )
            verify_bytes(data, desc.digest, desc.size)  # a body longer than the descriptor fails here
            self.cache.put_bytes(desc.digest, data)
        return load_json(data, what)

    # -- HTTP -------------------------------------------------------------------------------------
    def _get_auth(self) -> RegistryAuth:
        if self._auth is None:
            self._auth = RegistryAuth(self.server, resolve_credentials(self._auth_host, self._credentials))
        return self._auth

    def _backoff(self, attempt: int) -> float:
        delay = min(self._retry.max_delay, self._retry.base_delay * 2.0 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)  # jitter: concurrent clients do not retry in lockstep

    def _wait_to_retry(self, attempt: int, waited: float, what: str, reason: str) -> float:
        """Wait before attempt ``attempt + 1`` and return the total waited; or give up, one line naming
        ``what`` and ``reason``, when the attempts or the total wait are used up."""
        delay = self._backoff(attempt)
        if attempt == self._retry.attempts or waited + delay > self._retry.max_total_wait:
            raise RegistryError(
                f"registry {self.server}: {what}: {reason} (gave up after {attempt} attempts)"
            )
        self._sleep(delay)
        return waited + delay

    def _send(
        self, method: str, url: str, what: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Send with retries; the caller closes the (streaming) response."""
        auth = self._get_auth()
        waited = 0.0
        for attempt in range(1, self._retry.attempts + 1):
            check_cancelled()
            request = self._client.build_request(method, url, headers=headers)
            try:
                response = self._client.send(request, auth=auth, stream=True)
            except httpx.TransportError as exc:
                check_cancelled()
                realm = self._realm(exc, auth)
                if _tls_failure(exc):
                    raise RegistryError(f"registry {self.server}: TLS verification failed: {exc}") from None
                if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
                    stalled = stall_message(self.deadlines)
                    at = f"token server {realm}: " if realm else ""
                    raise RegistryError(f"registry {self.server}: {what}: {at}{stalled}") from None
                peer = f"token server {realm}" if realm else "the registry"
                reason = f"cannot reach {peer}: {exc or type(exc).__name__}"
                delay = self._backoff(attempt)
            except TokenServerError as exc:
                if not exc.transient:
                    raise
                reason = exc.reason
                delay = self._backoff(attempt)
            except httpx.HTTPError as exc:
                raise RegistryError(f"registry {self.server}: {what}: {exc}") from None
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                after = parse_retry_after(response.headers.get("retry-after"))
                reason = f"HTTP {response.status_code}{self._error_info(response)[1]}"
                response.close()
                delay = self._backoff(attempt) if after is None else after
                if delay > self._retry.max_delay:
                    raise RegistryError(
                        f"registry {self.server}: {what}: {reason}, told to retry after {delay:.0f}s; giving up"
                    )
            if attempt == self._retry.attempts or waited + delay > self._retry.max_total_wait:
                raise RegistryError(
                    f"registry {self.server}: {what}: {reason} (gave up after {attempt} attempts)"
                )
            self._sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _realm(exc: httpx.TransportError, auth: RegistryAuth) -> str | None:
        """The token server a failed request went to (its realm URL), or None for the registry."""
        try:
            url = exc.request.url
        except RuntimeError:  # no request attached
            return None
        return auth.realm_of(url)

    def _check(
        self, response: httpx.Response, what: str, blob: str | None = None, refuse: Refusal | None = None
    ) -> None:
        status = response.status_code
        if status == 200:
            return
        code, detail = self._error_info(response)
        refused = refuse(status, code, detail) if refuse is not None else None
        if refused is not None:
            raise refused
        if status == 401:
            auth = self._auth
            creds = auth.credentials if auth is not None else None
            who = f"{creds.origin} were rejected" if creds else "no credentials were found"
            raise AuthError(f"registry {self.server}: {what}: authentication failed ({who}){detail}")
        if status == 403:
            raise AuthError(f"registry {self.server}: {what}: access denied (HTTP 403){detail}")
        if status == 404:
            if blob is not None:
                raise NotFound(f"blob {blob}: not found in {self.location}{detail}")
            on = f" on {self.server}" if self.mirrored else ""
            raise NotFound(f"{what}: not found{on}{detail}")
        raise RegistryError(f"registry {self.server}: {what}: HTTP {status}{detail}")

    @staticmethod
    def _error_info(response: httpx.Response) -> tuple[str | None, str]:
        """The distribution spec's ``errors[0]`` code (None without one) and ``" [code: message]"``
        for messages ("" without either), when the body has them."""
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ERROR_BODY:
                    return None, ""
            doc = load_json(body, "error body")
        except (ManifestError, httpx.HTTPError):
            return None, ""
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = errors[0].get("code")
            message = errors[0].get("message")
            parts = [str(p) for p in (code, message) if isinstance(p, str) and p]
            if parts:
                return (code if isinstance(code, str) and code else None), f" [{': '.join(parts)}]"
        return None, ""

    def _read_limited(
        self, response: httpx.Response, limit: int, what: str, too_large: type[ImageError] = ManifestError
    ) -> bytes:
        """Read at most ``limit`` bytes of the body; a longer body is an error (Content-Length or not)."""
        length = response.headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            raise too_large(f"{what}: size {int(length)} exceeds the {limit}-byte limit")
        data = bytearray()
        try:
            for chunk in response.iter_bytes():
                check_cancelled()
                data += chunk
                if len(data) > limit:
                    raise too_large(f"{what}: body exceeds the {limit}-byte limit")
        except httpx.TimeoutException:  # the registry, as the other stall lines name it (a mirror's too)
            raise RegistryError(f"registry {self.server}: {what}: {stall_message(self.deadlines)}") from None
        except httpx.TransportError as exc:
            check_cancelled()
            raise _BodyBroke(f"{what}: connection broke while reading: {exc}", str(exc)) from None
        return bytes(data)


class _BodyBroke(RegistryError):
    """The connection broke while a body was read (worth another try); ``reason``: what httpx said."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason or "closed early"


def _bound_error_body(response: httpx.Response) -> None:
    """Keep at most ``MAX_ERROR_BODY`` bytes of any answer but a 200 (or a 206, a resumed layer): httpx reads a 401's body (before
    the auth flow retries) and a redirect's body whole on its own, and a registry could send gigabytes
    there. Such bodies are only ever read for their error message."""
    if response.status_code not in (200, 206) and isinstance(response.stream, httpx.SyncByteStream):
        response.stream = LimitedStream(response.stream, MAX_ERROR_BODY)


def _media_type(doc: dict[str, Any], content_type: str, what: str) -> str:
    """The document's own mediaType, else a known Content-Type, else what its fields say it is."""
    known = INDEX_TYPES | MANIFEST_TYPES
    try:
        return media_type_of(doc, content_type if content_type in known else None)
    except ManifestError:
        raise ManifestError(f"{what}: unsupported media type {content_type or '(none given)'}") from None


def _valid_digest(digest: str) -> bool:
    try:
        split_digest(digest)
    except BlobError:
        return False
    return True
