"""Issue 12's fault suite for the registry client and the blob cache: the real ``docker-registry`` (and a
real token server) behind ``tests/fault_proxy.py``, which delays, trickles, stalls, resets, truncates
and fails requests on purpose. Each case expects either a retry that succeeds or one clear line naming
the server and what failed, exit 1; no ``.part`` is ever left in the blob cache. Every test is bounded
(the deadlines under test are a second or two; each CLI run is checked against a generous bound).
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alpinist import net
from alpinist.cli.app import main
from alpinist.errors import ImageError, RegistryError
from alpinist.images.cache import BlobCache
from alpinist.images.registry import RegistrySource
from alpinist.models import Platform
from alpinist.net import Deadlines, RateGuard, parse_timeout
from tests.fault_proxy import Fault, FaultProxy
from tests.registry_server import (
    REGISTRY_USER,
    RunningRegistry,
    TokenServer,
    _require_tools,
    registry_fixture,  # noqa: F401 - registers the fixture
    start_registry,
)

AMD64 = Platform("linux", "amd64")
ALPINE = "library/alpine:3.20.3"
BOUND = 20.0  # seconds: a generous bound on any one case (the deadlines under test are 1-2 s)


@pytest.fixture(autouse=True)
def _no_timeout_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ALPINIST_TIMEOUT", raising=False)
    yield
    net.set_deadlines(None)


@pytest.fixture
def proxy(registry: RunningRegistry) -> Iterator[FaultProxy]:
    with FaultProxy(int(registry.host.rsplit(":", 1)[1])) as fault_proxy:
        yield fault_proxy


def cache_dir() -> Path:
    return Path(os.environ["ALPINIST_CACHE_DIR"])


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("*.part")) if root.exists() else []


def sbom(capsys: pytest.CaptureFixture[str], image: str, *args: str) -> tuple[int, str, str, float]:
    """Run ``alpinist sbom IMAGE -f json --no-cache ARGS`` in-process: (exit code, out, err, seconds)."""
    start = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        main(["sbom", image, "-f", "json", "--no-cache", *args])
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err, elapsed


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("alpinist: error:")]


def packages(out: str) -> set[str]:
    return {p["name"] for p in json.loads(out)["packages"]}


# -- retried and survived ----------------------------------------------------------------------------


@pytest.mark.registry
@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([Fault("status", "/blobs/", times=2, status=500)], id="blob-500-twice"),
        pytest.param([Fault("status", "/manifests/", times=1, status=500)], id="manifest-500-once"),
        pytest.param([Fault("reset", "/blobs/sha256", times=1, after=200_000)], id="reset-mid-body"),
        pytest.param([Fault("truncate", "/blobs/sha256", times=1, after=200_000)], id="truncate-mid-body"),
        pytest.param([Fault("delay", "/blobs/", seconds=0.5)], id="delay-below-stall"),
    ],
)
def test_transient_faults_are_retried_and_the_sbom_is_whole(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str], faults: list[Fault]
) -> None:
    proxy.faults = faults
    code, out, err, elapsed = sbom(capsys, f"{proxy.host}/{ALPINE}", "--timeout", "5s")
    assert code == 0, err
    assert {"musl", "busybox", "alpine-baselayout"} <= packages(out)
    assert any(kind is not None for _, kind in proxy.log)  # the fault did happen
    assert parts(cache_dir()) == []
    assert elapsed < BOUND


@pytest.mark.registry
def test_persistent_500_gives_up_after_bounded_retries(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.faults = [Fault("status", "/manifests/", status=500, body=b'{"errors":[{"code":"UNKNOWN"}]}')]
    sleeps: list[float] = []
    source = RegistrySource(
        f"{proxy.host}/{ALPINE}".rsplit(":", 1)[0],
        "3.20.3",
        platform=AMD64,
        cache=BlobCache(tmp_path),
        sleep=sleeps.append,
    )
    with source, pytest.raises(RegistryError) as err:
        source.resolve()
    assert str(err.value).startswith(f"registry {proxy.host}: manifest ")
    assert "HTTP 500 [UNKNOWN] (gave up after 5 attempts)" in str(err.value)
    assert len(sleeps) == 4


# -- deadlines: one clear line, exit 1, in about the deadline ---------------------------------------------


@pytest.mark.registry
def test_stalled_blob_gives_up_after_the_stall_timeout(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.faults = [Fault("stall", "/blobs/sha256", after=100_000)]
    code, _, err, elapsed = sbom(capsys, f"{proxy.host}/{ALPINE}", "--timeout", "1s")
    assert code == 1
    (line,) = error_lines(err)
    assert f"registry {proxy.host}: blob sha256:" in line
    assert "stalled: no data for 1s (the stall timeout" in line
    assert parts(cache_dir()) == []
    assert elapsed < 10  # about the stall timeout (1 s), nowhere near 5 attempts x 60 s


@pytest.mark.registry
def test_stalled_manifest_answer_gives_up_after_the_stall_timeout(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy.faults = [Fault("delay", "/manifests/", seconds=30)]
    monkeypatch.setenv("ALPINIST_TIMEOUT", "1s")  # the environment variable, this time
    code, _, err, elapsed = sbom(capsys, f"{proxy.host}/{ALPINE}")
    assert code == 1
    (line,) = error_lines(err)
    assert f"registry {proxy.host}: manifest {proxy.host}/{ALPINE}: stalled: no data for 1s" in line
    assert elapsed < 10


@pytest.mark.registry
def test_trickle_below_the_minimum_throughput_fails(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.faults = [Fault("trickle", "/blobs/sha256", rate=4000)]
    code, _, err, elapsed = sbom(capsys, f"{proxy.host}/{ALPINE}", "--timeout", "5s,64KiB/1s")
    assert code == 1
    (line,) = error_lines(err)
    assert f"registry {proxy.host}: blob sha256:" in line
    assert "too slow:" in line and "below the minimum of 64.0 KiB/s over 1s" in line
    assert parts(cache_dir()) == []
    assert elapsed < 10


def test_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sbom", "127.0.0.1:1/x:1", "--timeout", "soon"])
    assert exc.value.code == 64
    assert "'soon' is not a duration" in capsys.readouterr().err


def test_parse_timeout() -> None:
    assert parse_timeout("30s") == Deadlines(stall=30.0)
    assert parse_timeout("10,50KiB/20s") == Deadlines(stall=10.0, min_rate=50 * 1024, window=20.0)
    assert parse_timeout("2m,off") == Deadlines(stall=120.0, min_rate=0.0, window=0.0)
    assert parse_timeout("off").read_timeout is None
    for bad in ("", "fast", "10s,10KiB", "10s,x/1s", "10s,1KiB/0s"):
        with pytest.raises(ValueError):
            parse_timeout(bad)


def test_rate_guard_measures_a_full_window() -> None:
    now = [0.0]
    guard = RateGuard(Deadlines(stall=5, min_rate=1000, window=10), clock=lambda: now[0])
    for _ in range(9):  # 9 s at 500 B/s: under the minimum, but not yet over a whole window
        now[0] += 1
        guard.feed(500)
    now[0] += 1
    with pytest.raises(net.DeadlineExceeded, match="too slow: 500 B/s over the last 10s"):
        guard.feed(500)
    fast = RateGuard(Deadlines(stall=5, min_rate=1000, window=10), clock=lambda: now[0])
    for _ in range(30):  # 2000 B/s for 30 s: never fails
        now[0] += 1
        fast.feed(2000)


# -- the token server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningRegistry, FaultProxy]]:
    """A registry whose token realm is the fault proxy in front of a real ``TokenServer``."""
    _require_tools()
    workdir = tmp_path_factory.mktemp("registry-token-faults")
    tokens = TokenServer(workdir, {REGISTRY_USER[0]: REGISTRY_USER[1]}, anonymous_pull=True)
    realm_proxy = FaultProxy(tokens.port)
    tokens.realm = f"http://{realm_proxy.host}/token"
    reg = start_registry(workdir, token=tokens, token_credentials=REGISTRY_USER)
    try:
        reg.push("alpine:3.20.3")
        yield reg, realm_proxy
    finally:
        reg.stop()
        realm_proxy.stop()


def token_source(reg: RunningRegistry, tmp_path: Path, sleeps: list[float]) -> RegistrySource:
    return RegistrySource(
        f"{reg.host}/library/alpine", "3.20.3", platform=AMD64, cache=BlobCache(tmp_path), sleep=sleeps.append
    )


@pytest.mark.registry
def test_token_server_500_once_is_retried(
    token_registry: tuple[RunningRegistry, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    reg, realm = token_registry
    realm.faults = [Fault("status", "/token", times=1, status=500)]
    code, out, err, _ = sbom(capsys, f"{reg.host}/{ALPINE}")
    assert code == 0, err
    assert "musl" in packages(out)
    assert ("/token", "status") in [(p.split("?")[0], k) for p, k in realm.log]


@pytest.mark.registry
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault("status", "/token", status=503),
            "token server {realm} failed: HTTP 503 (gave up after 5 attempts)",
        ),
        (Fault("drop", "/token"), "cannot reach token server {realm}: "),
        (
            Fault("status", "/token", status=200, body=b"<html>oops</html>"),
            "token server {realm} sent a non-JSON response",
        ),
        (Fault("status", "/token", status=200, body=b'{"nothing": 1}'), "token server {realm} sent no token"),
    ],
    ids=["5xx", "unreachable", "garbage", "no-token"],
)
def test_a_failing_token_server_is_named(
    token_registry: tuple[RunningRegistry, FaultProxy], tmp_path: Path, fault: Fault, expected: str
) -> None:
    reg, realm = token_registry
    realm.faults = [fault]
    sleeps: list[float] = []
    try:
        with token_source(reg, tmp_path, sleeps) as source, pytest.raises(RegistryError) as err:
            source.resolve()
    finally:
        realm.faults = []
    message = str(err.value)
    assert message.startswith(f"registry {reg.host}: ")
    assert expected.format(realm=f"http://{realm.host}/token") in message
    assert "cannot reach the registry" not in message


@pytest.mark.registry
def test_token_server_garbage_is_one_line_exit_1(
    token_registry: tuple[RunningRegistry, FaultProxy], capsys: pytest.CaptureFixture[str]
) -> None:
    reg, realm = token_registry
    realm.faults = [Fault("status", "/token", status=200, body=b"not json")]
    try:
        code, _, err, _ = sbom(capsys, f"{reg.host}/{ALPINE}")
    finally:
        realm.faults = []
    assert code == 1
    assert error_lines(err) == [
        f"alpinist: error: registry {reg.host}: token server http://{realm.host}/token sent a non-JSON response"
    ]


# -- the blob cache ----------------------------------------------------------------------------------


@pytest.mark.registry
def test_stale_parts_are_removed_live_ones_kept(registry: RunningRegistry, tmp_path: Path) -> None:
    import fcntl

    root = tmp_path / "cache"
    shard = root / "blobs" / "sha256"
    shard.mkdir(parents=True)
    stale = shard / ".0123456789abcdef-dead.part"
    stale.write_bytes(b"x" * 1000)
    live = shard / ".0123456789abcdef-live.part"
    live.write_bytes(b"y" * 1000)
    with live.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # a download in flight in another process
        BlobCache(root)
        assert not stale.exists()
        assert live.exists()
    assert BlobCache(root).remove_stale_parts() == [live]  # its writer is gone now


@pytest.mark.registry
@pytest.mark.parametrize(
    ("error", "words"),
    [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")],
    ids=["ENOSPC", "EACCES"],
)
def test_cache_write_errors_name_the_cache(
    registry: RunningRegistry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: int,
    words: str,
) -> None:
    """A full disk or a cache the user may not write is a failure a real server cannot produce: the
    file the cache writes refuses its bytes (the one mock of this suite)."""
    import alpinist.images.cache as cache_module

    real_fdopen = os.fdopen

    class Refusing:
        def __init__(self, fh: Any) -> None:
            self._fh = fh

        def write(self, data: bytes) -> int:
            raise OSError(error, os.strerror(error))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fh, name)

        def __enter__(self) -> Refusing:
            return self

        def __exit__(self, *exc: object) -> None:
            self._fh.close()

    monkeypatch.setattr(cache_module.os, "fdopen", lambda fd, mode: Refusing(real_fdopen(fd, mode)))
    code, _, err, _ = sbom(capsys, f"{registry.host}/{ALPINE}")
    assert code == 1
    (line,) = error_lines(err)
    shard = cache_dir() / "blobs" / "sha256"
    assert line.startswith(f"alpinist: error: blob cache {shard}: cannot write: {words}")
    assert "the blob cache is the problem" in line and "ALPINIST_CACHE_DIR" in line
    assert parts(cache_dir()) == []


def test_cache_read_permission_error_names_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = BlobCache(tmp_path)
    digest = "sha256:" + "a" * 64

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ImageError, match=r"blob cache .*: cannot read: Permission denied; the blob cache"):
        cache.open(digest)


# -- the feed fetcher's deadlines (the same rules, through the same proxy, before the feed server) ----

OSV_ZIP = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"


@pytest.fixture
def feed_proxy(feed_server: Any) -> Iterator[FaultProxy]:
    port = int(feed_server.url.rstrip("/").rsplit(":", 1)[1])
    with FaultProxy(port) as fault_proxy:
        yield fault_proxy


@pytest.mark.parametrize(
    ("fault", "deadlines", "expected"),
    [
        (Fault("stall", "all.zip", after=100_000), Deadlines(stall=1.0), "stalled: no data for 1s"),
        (Fault("delay", "all.zip", seconds=30), Deadlines(stall=1.0), "stalled: no data for 1s"),
        (
            Fault("trickle", "all.zip", rate=4000),
            Deadlines(stall=5.0, min_rate=64 * 1024, window=1.0),
            "too slow:",
        ),
    ],
    ids=["stall-mid-body", "stall-before-headers", "trickle"],
)
def test_feed_download_deadlines(
    feed_proxy: FaultProxy, tmp_path: Path, fault: Fault, deadlines: Deadlines, expected: str
) -> None:
    from alpinist.advisories.download import Fetcher
    from alpinist.errors import FeedError

    feed_proxy.faults = [fault]
    dest = tmp_path / "feeds" / "all.zip"
    start = time.monotonic()
    fetcher = Fetcher(mirror=f"http://{feed_proxy.host}", deadlines=deadlines, sleep=lambda s: None)
    with fetcher, pytest.raises(FeedError) as err:
        fetcher.get_to_file(OSV_ZIP, dest)
    elapsed = time.monotonic() - start
    assert str(err.value).startswith(f"feed http://{feed_proxy.host}/osv-vulnerabilities.")
    assert expected in str(err.value)
    assert len(feed_proxy.log) == 1  # not retried: a stalled or slow server would be so again
    assert list(dest.parent.iterdir()) == []  # no partial file
    assert elapsed < 10


def test_feed_download_500_then_success(feed_proxy: FaultProxy, tmp_path: Path) -> None:
    from alpinist.advisories.download import Fetcher

    feed_proxy.faults = [Fault("status", "all.zip", times=2, status=500)]
    dest = tmp_path / "all.zip"
    with Fetcher(mirror=f"http://{feed_proxy.host}", sleep=lambda s: None) as fetcher:
        fetcher.get_to_file(OSV_ZIP, dest)
    assert dest.stat().st_size == 2594398
    assert [kind for _, kind in feed_proxy.log] == ["status", "status", None]


def test_the_progress_bar_shows_a_stall() -> None:
    from alpinist.cli.common import stall_text

    assert stall_text(100.0, False, 101.0) == ""  # bytes arrived a second ago
    assert stall_text(100.0, False, 112.4) == "stalled 12s"
    assert stall_text(100.0, True, 160.0) == ""  # a finished download never stalls
    assert stall_text(None, False, 160.0) == ""  # nothing received yet: the bar has not started


def test_a_malformed_timeout_variable_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPINIST_TIMEOUT", "forever")
    with pytest.raises(net.TimeoutSettingError, match="ALPINIST_TIMEOUT: 'forever' is not a duration") as err:
        net.current_deadlines()
    assert err.value.exit_code == 64
