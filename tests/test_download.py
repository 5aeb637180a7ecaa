"""The feed downloader against a real loopback HTTP server: mirror layout, retries, bounds, errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from alpinist.advisories.download import Fetcher, mirror_url, parse_retry_after
from alpinist.errors import FeedError
from tests.feed_server import FEEDS, FeedServer, feed_server_fixture  # noqa: F401 - registers the fixture

SECDB_320 = "https://secdb.alpinelinux.org/v3.20/main.json"
SECDB_320_FILE = FEEDS / "secdb.alpinelinux.org" / "v3.20" / "main.json"


def fetcher_for(server: FeedServer, sleeps: list[float] | None = None, **kwargs: object) -> Fetcher:
    record = sleeps if sleeps is not None else []
    return Fetcher(mirror=server.url, sleep=record.append, **kwargs)  # type: ignore[arg-type]


def test_mirror_url_maps_host_and_path_under_the_mirror() -> None:
    assert (
        mirror_url(SECDB_320, "http://m.example/feeds/")
        == "http://m.example/feeds/secdb.alpinelinux.org/v3.20/main.json"
    )
    assert (
        mirror_url("https://services.nvd.nist.gov/rest/json/cves/2.0?startIndex=0", "http://m")
        == "http://m/services.nvd.nist.gov/rest/json/cves/2.0?startIndex=0"
    )
    assert mirror_url(SECDB_320, None) == SECDB_320
    with pytest.raises(FeedError, match="not an absolute http"):
        mirror_url("file:///etc/passwd", "http://m")


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_get_to_file_fetches_through_the_mirror(feed_server: FeedServer, tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    with fetcher_for(feed_server) as fetcher:
        dest = fetcher.get_to_file(
            SECDB_320, tmp_path / "main.json", progress=lambda n, t: progress.append((n, t))
        )
    assert dest.read_bytes() == SECDB_320_FILE.read_bytes()
    assert [r.path for r in feed_server.requests] == ["/secdb.alpinelinux.org/v3.20/main.json"]
    assert progress[-1] == (SECDB_320_FILE.stat().st_size, SECDB_320_FILE.stat().st_size)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.json"]  # no temporary file left behind


def test_retries_5xx_and_honours_retry_after(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.fail(503, times=2, headers={"Retry-After": "7"})
    sleeps: list[float] = []
    with fetcher_for(feed_server, sleeps) as fetcher:
        dest = fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert dest.read_bytes() == SECDB_320_FILE.read_bytes()
    assert sleeps == [7.0, 7.0]
    assert len(feed_server.requests) == 3


def test_backoff_doubles_without_retry_after(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.fail(500, times=3)
    sleeps: list[float] = []
    with fetcher_for(feed_server, sleeps, base_delay=2.0) as fetcher:
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert sleeps == [2.0, 4.0, 8.0]


def test_gives_up_after_the_last_attempt(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.fail(502, times=10)
    with fetcher_for(feed_server, attempts=3) as fetcher, pytest.raises(FeedError) as info:
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    message = str(info.value)
    assert f"{feed_server.url}/secdb.alpinelinux.org/v3.20/main.json" in message
    assert "HTTP 502" in message and "gave up after 3 attempts" in message
    assert info.value.status == 502
    assert len(feed_server.requests) == 3
    assert not (tmp_path / "main.json").exists()


def test_retry_after_beyond_max_delay_fails_at_once(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.fail(429, times=1, headers={"Retry-After": "3600"})
    sleeps: list[float] = []
    with fetcher_for(feed_server, sleeps, max_delay=60) as fetcher, pytest.raises(FeedError, match="3600s"):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert sleeps == [] and len(feed_server.requests) == 1


def test_404_is_not_retried_and_names_url_and_status(feed_server: FeedServer, tmp_path: Path) -> None:
    with fetcher_for(feed_server) as fetcher, pytest.raises(FeedError) as info:
        fetcher.get_to_file("https://secdb.alpinelinux.org/v3.21/main.json", tmp_path / "x.json")
    assert info.value.status == 404
    assert (
        str(info.value) == f"feed {feed_server.url}/secdb.alpinelinux.org/v3.21/main.json: HTTP 404 Not Found"
    )
    assert len(feed_server.requests) == 1


def test_a_body_cut_mid_transfer_is_retried(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.cut("/secdb.alpinelinux.org/", keep=100, times=1)
    sleeps: list[float] = []
    with fetcher_for(feed_server, sleeps) as fetcher:
        dest = fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert dest.read_bytes() == SECDB_320_FILE.read_bytes()
    assert len(sleeps) == 1


def test_a_body_always_cut_fails_and_leaves_nothing(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.cut("/secdb.alpinelinux.org/", keep=100)
    (tmp_path / "main.json").write_text("previous download")
    with fetcher_for(feed_server, attempts=2) as fetcher, pytest.raises(FeedError, match="connection broke"):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert (tmp_path / "main.json").read_text() == "previous download"  # never half-overwritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.json"]


def test_a_body_over_the_bound_is_refused(feed_server: FeedServer, tmp_path: Path) -> None:
    with (
        fetcher_for(feed_server, max_bytes=1000) as fetcher,
        pytest.raises(FeedError, match="limit of 1000 bytes"),
    ):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert list(tmp_path.iterdir()) == []
    with fetcher_for(feed_server) as fetcher, pytest.raises(FeedError, match="limit of 1000 bytes"):
        fetcher.get_json(SECDB_320, max_bytes=1000)


def test_get_json_decodes_and_rejects_non_json(feed_server: FeedServer) -> None:
    with fetcher_for(feed_server) as fetcher:
        doc = fetcher.get_json(SECDB_320)
        assert doc["distroversion"] == "v3.20" and doc["reponame"] == "main"
        feed_server.garbage("/secdb.alpinelinux.org/")
        with pytest.raises(FeedError) as info:
            fetcher.get_json(SECDB_320)
    assert "not valid JSON" in str(info.value)
    assert "\n" not in str(info.value)


def test_query_parameters_and_headers_reach_the_server(feed_server: FeedServer) -> None:
    with fetcher_for(feed_server) as fetcher:
        page = fetcher.get_json(
            "https://services.nvd.nist.gov/rest/json/cves/2.0",
            params={"startIndex": 10, "resultsPerPage": 5},
            headers={"apiKey": "k-123"},
        )
    assert page["startIndex"] == 10 and len(page["vulnerabilities"]) == 5 and page["totalResults"] == 169
    (request,) = feed_server.requests
    assert request.param("startIndex") == "10" and request.headers["apikey"] == "k-123"
    assert request.headers["user-agent"].startswith("alpinist/")


def test_connection_refused_is_a_feed_error(tmp_path: Path) -> None:
    server = FeedServer().start()
    url = server.url
    server.stop()  # nothing listens on that port any more
    sleeps: list[float] = []
    with Fetcher(mirror=url, sleep=sleeps.append, attempts=2) as fetcher, pytest.raises(FeedError) as info:
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert "ConnectError" in str(info.value) and url in str(info.value)
    assert len(sleeps) == 1


def test_the_loopback_guard_stops_a_direct_upstream_request(tmp_path: Path) -> None:
    """Without a mirror the Fetcher would go to the real host: the conftest guard must fail that."""
    with (
        Fetcher(sleep=lambda s: None, attempts=1) as fetcher,
        pytest.raises(pytest.fail.Exception, match="loopback"),
    ):
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")


def test_an_injected_client_is_used_and_left_open(feed_server: FeedServer, tmp_path: Path) -> None:
    client = httpx.Client()
    with Fetcher(mirror=feed_server.url, client=client) as fetcher:
        fetcher.get_to_file(SECDB_320, tmp_path / "main.json")
    assert not client.is_closed
    client.close()
