"""Session fixtures for the scan tests: one advisory database built from the corpus feeds, inventories.

The database is built once per session by the real update code (``advisories.update.update`` with the
real feed sources and ``Fetcher``) from the corpus feeds served on 127.0.0.1 (``tests/feed_server.py``)
through the mirror layout, exactly as ``alpinist db update --mirror`` does. Tests only read it; a test
that must change it copies it first (``copy_db``).

Import the fixtures into a test module: ``from tests.scan_fixtures import scan_db, inventories``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpinist.models import Inventory
from tests.conftest import oci_ref
from tests.feed_server import FeedServer

SCANNED_TAGS = ("alpine:3.20.3", "python-app:debian", "python-app:alpine")


@pytest.fixture(scope="session")
def scan_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from alpinist.advisories.download import Fetcher
    from alpinist.advisories.sources import all_sources
    from alpinist.advisories.update import update

    path = tmp_path_factory.mktemp("scan-db") / "advisories.db"
    server = FeedServer().start()
    try:
        with Fetcher(mirror=server.url, attempts=1) as fetcher:
            update(path, all_sources(), fetcher)
    finally:
        server.stop()
    yield path


@pytest.fixture(scope="session")
def inventories() -> dict[str, Inventory]:
    """The inventories of the scanned corpus images, built once (no inventory cache involved)."""
    from alpinist.inventory.build import build_inventory

    return {tag: build_inventory(oci_ref(tag), use_cache=False) for tag in SCANNED_TAGS}


def copy_db(src: Path, dest_dir: Path) -> Path:
    dest = dest_dir / "advisories.db"
    shutil.copyfile(src, dest)
    return dest


def set_updated_at(db: Path, when: str, source: str | None = None) -> None:
    """Rewrite ``sources.updated_at`` (all sources, or one) in a copy of the database."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        if source is None:
            conn.execute("UPDATE sources SET updated_at = ?", (when,))
        else:
            conn.execute("UPDATE sources SET updated_at = ? WHERE name = ?", (when, source))
        conn.commit()
    finally:
        conn.close()
