"""The feed downloader's remaining failure modes, against real servers on 127.0.0.1 (issue 13).

Each test pins what a user of ``Fetcher`` sees: the exact error text, whether a failure is retried (the
sleeps the fetcher asked for, the requests the server saw), and what is left on disk. The shared feed
server (``tests/feed_server.py``) cannot send a ``Content-Encoding``: ``GzipFeedServer`` below is the same
server answering some paths with ``Content-Encoding: gzip`` (the file in its overlay is the encoded body).
A connect timeout comes from a real listening socket whose accept queue is full (the kernel drops the
SYN), a directory mirror from a directory laid out like the corpus.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpinist.advisories.download import Fetcher
from alpinist.errors import FeedError
from alpinist.net import Deadlines
from tests.feed_server import (  # noqa: F401 - registers the fixture
    FEEDS,
    FeedServer,
    _Handler,
    feed_server_fixture,
)

SECDB_320 = "https://secdb.alpinelinux.org/v3.20/main.json"
SECDB_320_PATH = "/secdb.alpinelinux.org/v3.20/main.json"
SECDB_320_FILE = FEEDS / "secdb.alpinelinux.org" / "v3.20" / "main.json"


class _GzipHandler(_Handler):
    feeds: GzipFeedServer

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        if status == 200 and self.path in self.feeds.gzipped:
            headers = {**headers, "Content-Encoding": "gzip"}
        super()._send(status, headers, body)


class GzipFeedServer(FeedServer):
    """The feed server, answering the request paths in ``gzipped`` with ``Content-Encoding: gzip`` (a
    mode the shared server lacks; the overlay file is sent as is, so it must be the encoded body)."""

    def __init__(self, overlay: Path) -> None:
        super().__init__(overlay=overlay)
        self.gzipped: set[str] = set()

    def start(self) -> GzipFeedServer:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass = type("Handler", (_GzipHandler,), {"feeds": self})
        return self


@pytest.fixture(name="gzip_server")
def gzip_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GzipFeedServer]:
    server = GzipFeedServer(tmp_path_factory.mktemp("gzip-overlay")).start()
    try:
        yield server
    finally:
        server.stop()


def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError, match=r"^attempts must be at least 1$"):
        Fetcher(attempts=0)


# -- Content-Encoding: the bound applies to the decoded body ------------------------------------------------


def test_a_gzip_bomb_is_refused_after_decoding(gzip_server: GzipFeedServer, tmp_path: Path) -> None:
    """2 MiB of zeros travel as ~2 KiB of gzip: the wire length passes the 1 MiB bound, the decoded body
    does not; nothing is left at ``dest``, and the refusal is not retried."""
    bomb = gzip.compress(b"0" * (2 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024
    gzip_server.put("secdb.alpinelinux.org/v3.20/main.json", bomb)
    gzip_server.gzipped.add(SECDB_320_PATH)
    sleeps: list[float] = []
    with (
        Fetcher(mirror=gzip_server.url, sleep=sleeps.append, max_bytes=1024 * 1024) as fetcher,
        pytest.raises(FeedError) as info,
    ):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert str(info.value) == (
        f"feed {gzip_server.url}{SECDB_320_PATH}: response exceeds the limit of 1048576 bytes; refused"
    )
    assert sleeps == [] and len(gzip_server.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_gzip_body_within_the_bound_is_decoded(gzip_server: GzipFeedServer, tmp_path: Path) -> None:
    gzip_server.put("secdb.alpinelinux.org/v3.20/main.json", gzip.compress(SECDB_320_FILE.read_bytes()))
    gzip_server.gzipped.add(SECDB_320_PATH)
    with Fetcher(mirror=gzip_server.url, sleep=lambda s: None) as fetcher:
        doc = fetcher.get_json(SECDB_320)
    assert doc["distroversion"] == "v3.20" and doc["reponame"] == "main"


def test_a_body_that_is_not_the_encoding_it_claims_fails_at_once(
    gzip_server: GzipFeedServer, tmp_path: Path
) -> None:
    """A decoding error is not a transport failure: named with the exception type, never retried."""
    gzip_server.gzipped.add(SECDB_320_PATH)  # the corpus file itself, plain JSON, announced as gzip
    sleeps: list[float] = []
    with (
        Fetcher(mirror=gzip_server.url, sleep=sleeps.append) as fetcher,
        pytest.raises(FeedError) as info,
    ):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert str(info.value).startswith(f"feed {gzip_server.url}{SECDB_320_PATH}: DecodingError: ")
    assert sleeps == [] and len(gzip_server.requests) == 1
    assert list(tmp_path.iterdir()) == []


# -- deadlines: a stall or a trickle ends the fetch, not retried -------------------------------------------


def test_a_server_that_sends_nothing_is_a_stall_not_retried(feed_server: FeedServer, tmp_path: Path) -> None:
    release = feed_server.hold(SECDB_320_PATH)
    sleeps: list[float] = []
    deadlines = Deadlines(stall=0.5, min_rate=0)
    try:
        with (
            Fetcher(mirror=feed_server.url, sleep=sleeps.append, deadlines=deadlines) as fetcher,
            pytest.raises(FeedError) as info,
        ):
            fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    finally:
        release.set()
    assert str(info.value) == (
        f"feed {feed_server.url}{SECDB_320_PATH}: "
        "stalled: no data for 0.5s (the stall timeout; --timeout / ALPINIST_TIMEOUT)"
    )
    assert sleeps == [] and len(feed_server.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_trickle_below_the_minimum_rate_is_refused_not_retried(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """100 bytes every 50 ms (~2 KB/s) against a 1 MiB/s minimum over 0.3 s."""
    feed_server.slow(SECDB_320_PATH, chunk=100, delay=0.05)
    sleeps: list[float] = []
    deadlines = Deadlines(stall=10, min_rate=1024 * 1024, window=0.3)
    with (
        Fetcher(mirror=feed_server.url, sleep=sleeps.append, deadlines=deadlines) as fetcher,
        pytest.raises(FeedError) as info,
    ):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    message = str(info.value)
    assert message.startswith(f"feed {feed_server.url}{SECDB_320_PATH}: too slow: ")
    assert message.endswith("below the minimum of 1.0 MiB/s over 0.3s (--timeout / ALPINIST_TIMEOUT)")
    assert sleeps == [] and len(feed_server.requests) == 1
    assert list(tmp_path.iterdir()) == []


# -- connecting -----------------------------------------------------------------------------------------


def test_a_connect_timeout_is_retried_then_reported(tmp_path: Path) -> None:
    """Unlike a read stall, a connect timeout is a transport failure: retried with backoff, then named."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued: list[socket.socket] = []
    try:
        while True:  # fill the accept queue (never accepted): further SYNs are dropped
            probe = socket.socket()
            probe.settimeout(0.3)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                probe.close()
                break
            queued.append(probe)
            assert len(queued) < 64, "the kernel kept accepting connections: cannot provoke a timeout"
        sleeps: list[float] = []
        client = httpx.Client(timeout=httpx.Timeout(5.0, connect=0.3))
        with (
            client,
            Fetcher(mirror=f"http://127.0.0.1:{port}", client=client, sleep=sleeps.append, attempts=2) as f,
            pytest.raises(FeedError) as info,
        ):
            f.get_to_file(SECDB_320, tmp_path / "main.json")
    finally:
        for probe in queued:
            probe.close()
        listener.close()
    assert str(info.value) == (
        f"feed http://127.0.0.1:{port}{SECDB_320_PATH}: timed out (ConnectTimeout) (gave up after 2 attempts)"
    )
    assert sleeps == [1.0]
    assert list(tmp_path.iterdir()) == []


def test_a_mirror_url_httpx_cannot_parse_is_one_error_line(tmp_path: Path) -> None:
    """A typo in ``--mirror`` (a port that is not a number) is a FeedError naming the URL, not a traceback
    (named without the query, which cannot be put on a URL httpx cannot parse)."""
    with (
        Fetcher(mirror="http://127.0.0.1:80a", sleep=lambda s: None) as fetcher,
        pytest.raises(FeedError) as info,
    ):
        fetcher.get_json(SECDB_320, params={"startIndex": 0})
    assert str(info.value) == (f"feed http://127.0.0.1:80a{SECDB_320_PATH}: invalid URL: Invalid port: '80a'")


# -- directory mirrors --------------------------------------------------------------------------------------


def test_a_directory_mirror_reports_progress_once_with_the_whole_size(tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    with Fetcher(mirror=str(FEEDS)) as fetcher:
        dest = fetcher.get_to_file(
            SECDB_320, tmp_path / "main.json", progress=lambda n, t: progress.append((n, t))
        )
    size = SECDB_320_FILE.stat().st_size
    assert dest.read_bytes() == SECDB_320_FILE.read_bytes()
    assert progress == [(size, size)]


def test_a_directory_mirror_refuses_a_url_that_is_not_http(tmp_path: Path) -> None:
    with Fetcher(mirror=f"file://{FEEDS}") as fetcher, pytest.raises(FeedError) as info:
        fetcher.get_to_file("ftp://secdb.alpinelinux.org/v3.20/main.json", tmp_path / "main.json")
    assert str(info.value) == (
        "feed ftp://secdb.alpinelinux.org/v3.20/main.json: "
        "not an absolute http(s) URL, cannot be read from a mirror directory"
    )


def test_a_directory_mirror_copy_that_cannot_be_renamed_leaves_no_part_file(tmp_path: Path) -> None:
    """``dest`` is an existing non-empty directory: the rename fails with the OS error (disk trouble is not a
    feed's fault), the temporary copy is removed and the directory is untouched."""
    dest = tmp_path / "main.json"
    dest.mkdir()
    (dest / "keep").write_text("mine")
    with Fetcher(mirror=str(FEEDS)) as fetcher, pytest.raises(IsADirectoryError):
        fetcher.get_to_file(SECDB_320, dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.json"]
    assert [p.name for p in dest.iterdir()] == ["keep"]


def test_a_directory_mirror_file_that_is_not_json(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    bad = mirror / "secdb.alpinelinux.org" / "v3.20" / "main.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"<html>502 Bad Gateway</html>")
    with Fetcher(mirror=str(mirror)) as fetcher, pytest.raises(FeedError) as info:
        fetcher.get_json(SECDB_320)
    assert str(info.value) == (f"feed {bad}: not valid JSON: Expecting value: line 1 column 1 (char 0)")
