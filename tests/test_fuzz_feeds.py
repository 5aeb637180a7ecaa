"""Issue 12: fuzzing of the feed parsers (hypothesis): secdb, the Debian tracker, OSV records (inside a zip),
NVD pages and the CNA blocks NVD passes through.

Inputs are generated JSON values, corpus records (``../shared/corpus/advisories/feeds``) with one part
replaced, dropped or retyped, and the bytes of such documents cut short or with bytes changed. Only the
documented error type may escape a parser: ``FeedError`` (an ``AlpinistError``) for a file it refuses;
anything else (a ``TypeError`` from a field of the wrong type, a ``RecursionError``, a ``MemoryError``) is a
bug. Odd records are skipped and counted, which the tests accept too.

The budget is small here (``ALPINIST_FUZZ_EXAMPLES``, default 100 examples per parser and strategy);
``bench/fuzz_feeds.py`` runs the same properties much longer.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpinist.advisories.feed import FeedBatch
from alpinist.advisories.feeds.alpine.secdb import AlpineSecdbSource
from alpinist.advisories.feeds.debian.tracker import DebianTrackerSource
from alpinist.advisories.feeds.nvd.api import NvdSource
from alpinist.advisories.feeds.nvd.cna import cna_affected
from alpinist.advisories.feeds.osv.records import OsvSource
from alpinist.errors import FeedError
from tests.feed_server import FEEDS

EXAMPLES = int(os.environ.get("ALPINIST_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None if EXAMPLES > 1000 else 2000,  # ms per example; the long bench run takes no deadline
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    derandomize=EXAMPLES <= 1000,  # the test command is reproducible; the bench explores
)

# -- corpus samples ------------------------------------------------------------------------------------------

SECDB_FILE = FEEDS / "secdb.alpinelinux.org" / "v3.20" / "main.json"
TRACKER_FILE = FEEDS / "security-tracker.debian.org" / "tracker" / "data" / "json"
OSV_ZIP = FEEDS / "osv-vulnerabilities.storage.googleapis.com" / "PyPI" / "all.zip"
NVD_FILE = FEEDS / "services.nvd.nist.gov" / "rest" / "json" / "cves" / "2.0" / "all.json"


def _secdb() -> dict[str, Any]:
    doc = json.loads(SECDB_FILE.read_bytes())
    doc["packages"] = doc["packages"][:12]
    return doc


def _tracker() -> dict[str, Any]:
    doc = json.loads(TRACKER_FILE.read_bytes())
    return {name: doc[name] for name in sorted(doc)[:8]}


def _osv_records() -> list[Any]:
    with zipfile.ZipFile(OSV_ZIP) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".json"))
        return [json.loads(archive.read(name)) for name in names[:: max(1, len(names) // 24)]]


def _nvd_cves() -> list[Any]:
    items = json.loads(NVD_FILE.read_bytes())["vulnerabilities"]
    rich = [i for i in items if i["cve"].get("affected") or i["cve"].get("configurations")]
    return rich[:16] + items[:8]


SECDB, TRACKER, OSV_RECORDS, NVD_ITEMS = _secdb(), _tracker(), _osv_records(), _nvd_cves()
CNA_BLOCKS = [i["cve"]["affected"] for i in NVD_ITEMS if i["cve"].get("affected")]

# -- strategies ---------------------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["0", "3.20", "1.2.3-r0", "CVE-2024-1", "resolved", "affected", "*", "cpe:2.3:a:x:y:*"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=16,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, originals: list[Any]) -> Any:
    """A corpus record with up to three of its parts replaced by another JSON value, dropped, or wrapped."""
    doc = json.loads(json.dumps(draw(st.sampled_from(originals))))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "drop", "wrap"]))
        if not path:
            doc = draw(json_values) if how == "replace" else [doc]
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if how == "drop":
            del parent[path[-1]]
        elif how == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        else:
            parent[path[-1]] = draw(json_values)
    return doc


@st.composite
def damaged_bytes(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> bytes:
    """A document serialized, then cut short, or with a few bytes changed or inserted."""
    data = bytearray(json.dumps(draw(documents)).encode())
    how = draw(st.sampled_from(["cut", "flip", "insert", "as is"]))
    if how == "cut" and data:
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif how == "flip" and data:
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif how == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(
            st.sampled_from([b"[" * 200, b"\xff\xfe", b"1" * 5000, b"{", b'"', b"]]]", b"\x00"])
        )
    return bytes(data)


# -- running a parser ---------------------------------------------------------------------------------------------


def drain(batches: Iterator[FeedBatch]) -> int:
    """Rows the parser yields; a ``FeedError`` (the documented refusal) counts as none."""
    try:
        return sum(len(b.affected) + len(b.vulnerabilities) for b in batches)
    except FeedError as exc:
        assert str(exc).startswith("feed ") and "\n" not in str(exc)  # one line naming the file
        return 0


def parse_file(
    directory: Path, name: str, data: bytes, parse: Callable[[list[Path]], Iterator[FeedBatch]]
) -> int:
    path = directory / name
    path.write_bytes(data)
    return drain(parse([path]))


def osv_zip(directory: Path, members: list[bytes]) -> Path:
    path = directory / "osv-PyPI.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, member in enumerate(members):
            archive.writestr(f"REC-{number}.json", member)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- the properties ---------------------------------------------------------------------------------------------


def test_the_corpus_samples_parse() -> None:
    """The unmutated samples give rows: the mutations start from real records."""
    assert SECDB["packages"] and TRACKER and OSV_RECORDS and NVD_ITEMS and CNA_BLOCKS


secdb_docs = mutated([SECDB]) | st.builds(lambda p: {"distroversion": "v3.20", "packages": p}, json_values)


@FUZZ
@given(data=st.one_of(damaged_bytes(secdb_docs), st.binary(max_size=64)))
def test_secdb(workdir: Path, data: bytes) -> None:
    parse_file(workdir, "secdb.json", data, AlpineSecdbSource(["3.20"]).parse)


tracker_docs = mutated([TRACKER]) | st.dictionaries(st.text(max_size=8), json_values, max_size=3)


@FUZZ
@given(data=st.one_of(damaged_bytes(tracker_docs), st.binary(max_size=64)))
def test_tracker(workdir: Path, data: bytes) -> None:
    parse_file(workdir, "debian-tracker.json", data, DebianTrackerSource().parse)


osv_docs = mutated(OSV_RECORDS) | json_values


@FUZZ
@given(members=st.lists(damaged_bytes(osv_docs) | st.binary(max_size=32), min_size=1, max_size=3))
def test_osv(workdir: Path, members: list[bytes]) -> None:
    drain(OsvSource().parse([osv_zip(workdir, members)]))


@FUZZ
@given(data=st.binary(min_size=0, max_size=200) | damaged_bytes(st.just(b"x").map(lambda _: {"id": "X"})))
def test_osv_archive_bytes(workdir: Path, data: bytes) -> None:
    """The archive itself damaged: a zip with its bytes changed or cut short."""
    zipped = osv_zip(workdir, [json.dumps(OSV_RECORDS[0]).encode()]).read_bytes()
    damaged = bytearray(zipped)
    if data:
        at = data[0] * len(damaged) // 256
        damaged[at : at + len(data)] = data
    parse_file(
        workdir, "osv-PyPI.zip", bytes(damaged[: len(damaged) - (data[-1] if data else 0)]), OsvSource().parse
    )


nvd_items = mutated(NVD_ITEMS) | json_values
nvd_pages = st.builds(
    lambda items, total: {"totalResults": total, "vulnerabilities": items},
    st.lists(nvd_items, max_size=3),
    json_values,
) | mutated([{"totalResults": 2, "vulnerabilities": NVD_ITEMS[:2]}])


@FUZZ
@given(data=st.one_of(damaged_bytes(nvd_pages), st.binary(max_size=64)))
def test_nvd(workdir: Path, data: bytes) -> None:
    parse_file(workdir, "nvd-000-00000.json", data, NvdSource().parse)


@FUZZ
@given(block=mutated(CNA_BLOCKS) | json_values)
def test_cna(block: Any) -> None:
    skipped: list[str] = []
    for row in cna_affected("CVE-2026-1", "nvd", block, skipped.append):
        assert row.namespace == "cna"


def test_zip_of_an_unknown_version_is_a_feed_error(workdir: Path) -> None:
    """Found by atheris (bench/fuzz_feeds.py): zipfile raises NotImplementedError for a "version needed to
    extract" above 6.3 in the central directory."""
    data = bytearray(osv_zip(workdir, [json.dumps(OSV_RECORDS[0]).encode()]).read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 104  # version 10.4
    path = workdir / "osv-PyPI.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(FeedError, match="not a zip archive"):
        list(OsvSource().parse([path]))


def test_zip_member_without_a_name_is_skipped(workdir: Path) -> None:
    """Found by atheris: ``ZipInfo.is_dir()`` raises IndexError on a member named ``""``."""
    path = workdir / "osv-PyPI.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"{}")
        archive.writestr("REC-1.json", json.dumps(OSV_RECORDS[0]))
    assert drain(OsvSource().parse([path])) > 0
