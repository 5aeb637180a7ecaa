"""Directory mirrors: the feed layout read from disk, as on an air-gapped machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.sources import all_sources
from alpinist.advisories.store import Store
from alpinist.advisories.update import update
from alpinist.errors import FeedError

from .conftest import CORPUS
from .feed_server import FeedServer

FEEDS = CORPUS / "advisories" / "feeds"


def _counts(db: Path) -> dict[str, int]:
    with Store.open(db) as store:
        return {s.name: s.records for s in store.status()}


def test_directory_mirror_builds_the_same_database_as_the_http_mirror(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    from_dir = tmp_path / "dir.db"
    from_http = tmp_path / "http.db"
    with Fetcher(mirror=str(FEEDS)) as fetcher:
        update(from_dir, all_sources(), fetcher)
    with Fetcher(mirror=feed_server.url) as fetcher:
        update(from_http, all_sources(), fetcher)
    assert _counts(from_dir) == _counts(from_http)
    # hand-counted from the corpus (see tests/test_db_cli.py): alpine ids, debian ids, OSV records
    # that are not withdrawn, NVD CVEs
    assert _counts(from_dir) == {"alpine": 419, "debian": 91, "osv": 2651, "nvd": 169}
    with Store.open(from_dir) as a, Store.open(from_http) as b:
        for ns, pkg in [("alpine:3.20", "openssl"), ("debian:bookworm", "glibc"), ("pypi", "jinja2")]:
            assert a.affected(ns, pkg) == b.affected(ns, pkg)
        assert a.vulnerability("CVE-2025-9230") == b.vulnerability("CVE-2025-9230")


def test_file_url_form_and_missing_files(tmp_path: Path) -> None:
    fetcher = Fetcher(mirror=f"file://{FEEDS}")
    data = fetcher.get_json("https://secdb.alpinelinux.org/v3.20/main.json")
    assert data["distroversion"] == "v3.20"
    with pytest.raises(FeedError) as exc:
        fetcher.get_to_file("https://secdb.alpinelinux.org/v3.21/main.json", tmp_path / "x.json")
    assert exc.value.status == 404
    assert not (tmp_path / "x.json").exists()


def test_directory_mirror_refuses_paths_that_leave_it(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    (root / "example.org").mkdir(parents=True)
    (tmp_path / "secret.json").write_text("{}")
    fetcher = Fetcher(mirror=str(root))
    with pytest.raises(FeedError, match="outside the mirror"):
        fetcher.get_json("https://example.org/../../secret.json")
    (root / "example.org" / "link.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(FeedError, match="outside the mirror"):
        fetcher.get_json("https://example.org/link.json")


def test_directory_mirror_size_bound(tmp_path: Path) -> None:
    root = tmp_path / "mirror" / "example.org"
    root.mkdir(parents=True)
    (root / "big.json").write_bytes(b"[" + b"0," * 1000 + b"0]")
    fetcher = Fetcher(mirror=str(tmp_path / "mirror"), max_bytes=100)
    with pytest.raises(FeedError, match="limit"):
        fetcher.get_json("https://example.org/big.json")
