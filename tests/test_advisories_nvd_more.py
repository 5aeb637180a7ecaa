"""NVD API pages and CNA blocks of the shapes the other NVD tests do not cover, and the bounded JSON walker
every streamed feed shares (issue 13).

Records are modelled on the corpus' real ones (``advisories/raw/nvd/CVE-2026-15310.json``: its
``metrics``, ``descriptions`` and ``affected`` layout) and served by the loopback feed server as the NVD
API answers them (``tests/feed_server.py`` pages the overlay's ``all.json``). Each test pins what alpinist
makes of them: the rows, the skip counters, the exact warning or error line.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.feed import (
    JsonShapeError,
    json_events,
    object_members,
)
from alpinist.advisories.feeds.nvd import api as nvd_api
from alpinist.advisories.feeds.nvd import cpe_products
from alpinist.advisories.feeds.nvd.api import NvdSource, RateLimiter
from alpinist.advisories.feeds.nvd.cna import cna_affected
from alpinist.advisories.model import Affected, CvssScore, VersionRange, Vulnerability
from alpinist.errors import FeedError
from alpinist.models import Package
from tests.feed_server import NVD_FILE, NVD_PATH, FeedServer, feed_server_fixture  # noqa: F401 - the fixture
from tests.test_advisories_feeds_more import fetch_and_parse as fetch_all

NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
NVD_ALL = "services.nvd.nist.gov/rest/json/cves/2.0/all.json"
PAGE0 = f"{NVD_URL}?startIndex=0&resultsPerPage=2000"
NVD_LOGGER = "alpinist.advisories.feeds.nvd.api"
V31_NONE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"  # no impact at all: base score 0.0


def cve(cve_id: str, **fields: Any) -> dict[str, Any]:
    """One ``vulnerabilities[]`` item of an API 2.0 answer, with the fields every real record has."""
    record: dict[str, Any] = {
        "id": cve_id,
        "sourceIdentifier": "cna@python.org",
        "published": "2026-03-02T17:16:20.880",
        "lastModified": "2026-06-18T09:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": f"{cve_id} in CPython."}],
        "references": [{"url": f"https://github.com/python/cpython/issues/{cve_id[-4:]}"}],
    }
    record.update(fields)
    return {"cve": record}


def serve(server: FeedServer, items: list[dict[str, Any]]) -> None:
    server.put(NVD_ALL, json.dumps({"vulnerabilities": items}))


def fetch_and_parse(
    server: FeedServer, workdir: Path, **source_options: Any
) -> tuple[NvdSource, list[Affected], list[Vulnerability]]:
    source = NvdSource(**source_options)
    _, affected, vulns = fetch_all(source, server, workdir)
    return source, affected, vulns


# -- CVSS metrics -------------------------------------------------------------------------------------------


def test_metrics_without_a_rating_or_unusable_are_banded_or_skipped_with_a_warning(
    feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A v3.1 metric without ``baseSeverity`` is rated from its score (0.0: NEGLIGIBLE, the spec's NONE);
    a metric without ``cvssData``, or without its score, is skipped with one warning each and counted; a
    ``metrics`` that is not an object is read as no metrics."""
    metrics = {
        "cvssMetricV31": [
            {
                "source": "nvd@nist.gov",
                "type": "Primary",
                "cvssData": {"version": "3.1", "vectorString": V31_NONE, "baseScore": 0.0},
            }
        ],
        "cvssMetricV30": [{"source": "cna@python.org", "type": "Secondary"}],
        "cvssMetricV2": [
            {
                "source": "nvd@nist.gov",
                "type": "Primary",
                "cvssData": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:N/I:N/A:P"},
                "baseSeverity": "MEDIUM",
            }
        ],
    }
    serve(feed_server, [cve("CVE-2099-2001", metrics=metrics), cve("CVE-2099-2002", metrics=[])])
    with caplog.at_level(logging.WARNING, logger=NVD_LOGGER):
        source, affected, vulns = fetch_and_parse(feed_server, tmp_path)
    assert affected == []
    by_id = {v.id: v for v in vulns}
    assert by_id["CVE-2099-2001"].cvss == (
        CvssScore("3.1", V31_NONE, 0.0, "NEGLIGIBLE", "nvd@nist.gov", True),
    )
    assert by_id["CVE-2099-2002"].cvss == ()
    assert [r.getMessage() for r in caplog.records if r.name == NVD_LOGGER] == [
        "NVD CVE-2099-2001: CVSS 3.0 metric without cvssData; score ignored",
        "NVD CVE-2099-2001: CVSS 2.0 metric without vectorString or baseScore; score ignored",
    ]
    assert source.stats.skipped == {"malformed CVSS metric": 2}
    assert source.stats.records == 2


# -- paging -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        {"resultsPerPage": 0, "startIndex": 0, "vulnerabilities": []},
        {"resultsPerPage": 0, "startIndex": 0, "totalResults": 1.5, "vulnerabilities": []},
        {"resultsPerPage": 0, "startIndex": 0, "totalResults": "169", "vulnerabilities": []},
    ],
    ids=["absent", "fractional", "a-string"],
)
def test_a_page_without_a_usable_total_is_not_an_nvd_answer(
    feed_server: FeedServer, tmp_path: Path, page: dict[str, Any]
) -> None:
    """A JSON object that is not an API answer (a proxy's JSON error, say) ends the fetch, naming the
    page's URL; the paging cannot go on without ``totalResults``."""
    feed_server.garbage(NVD_PATH, json.dumps(page).encode())
    with pytest.raises(FeedError) as info:
        fetch_and_parse(feed_server, tmp_path)
    assert str(info.value) == f"feed {PAGE0}: not an NVD API response: no 'totalResults'"
    assert len(feed_server.requests) == 1


def test_a_server_that_never_stops_paging_is_refused(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """169 CVEs one per page against a bound of 3 pages (the real bound, 100,000, is far above NVD's ~150
    pages of 2,000): refused after the third page, naming the API, not one of its pages."""
    monkeypatch.setattr(nvd_api, "MAX_PAGES", 3)
    with pytest.raises(FeedError) as info:
        fetch_and_parse(feed_server, tmp_path, page_size=1)
    assert str(info.value) == f"feed {NVD_URL}: more than 3 pages; refused"
    assert [r.param("startIndex") for r in feed_server.requests] == ["0", "1", "2"]


class PublishingFetcher(Fetcher):
    """The real fetcher; after the first page NVD publishes one more CVE (the served ``all.json`` grows)."""

    def __init__(self, server: FeedServer, published: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(mirror=server.url, sleep=lambda s: None, **kwargs)
        self.server = server
        self.published = published
        self.pages = 0

    def get_to_file(self, *args: Any, **kwargs: Any) -> Path:
        path = super().get_to_file(*args, **kwargs)
        self.pages += 1
        if self.pages == 1:
            doc = json.loads(NVD_FILE.read_bytes())
            doc["vulnerabilities"].append(self.published)
            self.server.put(NVD_ALL, json.dumps(doc))
        return path


def test_a_cve_published_while_paging_is_logged_and_read(
    feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = NvdSource(page_size=100)
    with (
        caplog.at_level(logging.INFO, logger=NVD_LOGGER),
        PublishingFetcher(feed_server, cve("CVE-2099-3001")) as fetcher,
    ):
        files = source.fetch(fetcher, tmp_path, None)
    assert len(files) == 2
    assert "NVD: totalResults changed from 169 to 170 while paging" in [
        r.getMessage() for r in caplog.records
    ]
    ids = [v.id for batch in source.parse(files) for v in batch.vulnerabilities]
    assert len(ids) == len(set(ids)) == 170 and ids[-1] == "CVE-2099-3001"


def test_a_page_of_more_rows_than_a_batch_is_streamed_in_batches(tmp_path: Path) -> None:
    """1,200 CVEs on one page (NVD sends up to 2,000): batches of 1,000 rows, then the rest."""
    page = tmp_path / "nvd-000-00000.json"
    items = [cve(f"CVE-2099-{n:05d}") for n in range(1200)]
    page.write_text(json.dumps({"totalResults": 1200, "vulnerabilities": items}))
    source = NvdSource()
    sizes = [len(b.vulnerabilities) + len(b.affected) for b in source.parse([page])]
    assert sizes == [1000, 200]
    assert source.stats.records == source.stats.vulnerabilities == 1200


# -- files handed to parse (db import, a re-run on files already on disk) --------------------------------------


def test_a_page_file_that_is_not_an_object(tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text("[]")
    with pytest.raises(FeedError) as info:
        list(NvdSource().parse([page]))
    assert str(info.value) == f"feed {page}: expected a JSON object at the top level"


def test_a_page_file_that_is_missing_or_a_directory(tmp_path: Path) -> None:
    missing, directory = tmp_path / "gone.json", tmp_path / "dir.json"
    directory.mkdir()
    with pytest.raises(FeedError) as info:
        list(NvdSource().parse([missing]))
    assert str(info.value) == f"feed {missing}: cannot read: No such file or directory"
    with pytest.raises(FeedError) as info:
        list(NvdSource().parse([directory]))
    assert str(info.value) == f"feed {directory}: cannot read: Is a directory"


def test_impossible_limits_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match=r"^page_size must be between 1 and 2000$"):
        NvdSource(page_size=2001)
    with pytest.raises(ValueError, match=r"^a rate limit needs limit >= 1 and window > 0$"):
        RateLimiter(0, 30.0)
    with pytest.raises(ValueError, match=r"^a rate limit needs limit >= 1 and window > 0$"):
        RateLimiter(5, 0.0)


# -- the JSON walker's bounds ----------------------------------------------------------------------------------


def events_of(data: bytes) -> Iterator[tuple[str, Any]]:
    return json_events(io.BytesIO(data))


def test_a_record_of_more_values_than_the_bound_is_refused() -> None:
    """The bound is per record (per item of the streamed array): a small item passes, a large one does not."""
    small = b'{"cve": {"id": "CVE-2099-1"}}'
    large = b'{"cve": {"id": "CVE-2099-2", "references": [%s]}}' % b", ".join(b"1" for _ in range(20))
    events = events_of(b'{"vulnerabilities": [%s, %s]}' % (small, small))
    assert [item for _, item in object_members(events, "vulnerabilities", max_values=10)] == [
        {"cve": {"id": "CVE-2099-1"}},
        {"cve": {"id": "CVE-2099-1"}},
    ]
    events = events_of(b'{"vulnerabilities": [%s, %s]}' % (small, large))
    walked = object_members(events, "vulnerabilities", max_values=10)
    assert next(walked) == ("vulnerabilities", {"cve": {"id": "CVE-2099-1"}})
    with pytest.raises(JsonShapeError, match=r"^a record of more than 10 JSON values$"):
        next(walked)


def cut_after(data: bytes, count: int) -> Iterator[tuple[str, Any]]:
    """The first ``count`` events of ``data``, then nothing: an event source that ends early."""
    for number, item in enumerate(events_of(data)):
        if number == count:
            return
        yield item


@pytest.mark.parametrize(
    "count",
    [2, 5, 8, 13],
    ids=["after-a-key", "inside-the-streamed-array", "inside-an-item", "before-the-end-of-the-object"],
)
def test_an_event_stream_that_ends_early_is_refused_not_taken_as_complete(count: int) -> None:
    """ijson raises on a truncated file before its events end; the walker does not rely on that: events that
    simply stop never make a partial record or a silently shortened page."""
    data = b'{"totalResults": 1, "vulnerabilities": [{"cve": {"id": "CVE-2099-1"}}], "format": "NVD_CVE"}'
    with pytest.raises(JsonShapeError, match=r"^the JSON ends early$"):
        list(object_members(cut_after(data, count), "vulnerabilities"))


def test_events_that_go_on_after_the_top_level_object_are_refused() -> None:
    """Two documents back to back (what a parser in multiple-values mode would hand over)."""
    events = itertools.chain(events_of(b'{"totalResults": 0}'), events_of(b'{"totalResults": 1}'))
    with pytest.raises(JsonShapeError, match=r"^data after the top-level object$"):
        list(object_members(events, "vulnerabilities"))


# -- the CNA block ---------------------------------------------------------------------------------------------


def psf(*versions: Any, **fields: Any) -> dict[str, Any]:
    """One ``affectedData`` entry as the PSF writes it (CVE-2026-15310)."""
    return {
        "vendor": "Python Software Foundation",
        "product": "CPython",
        "defaultStatus": "unaffected",
        "repo": "https://github.com/python/cpython",
        "versions": list(versions),
        **fields,
    }


def cna_rows(affected: Any) -> tuple[list[Affected], list[str]]:
    skipped: list[str] = []
    return cna_affected("CVE-2099-4001", "nvd", affected, skipped.append), skipped


def test_a_cve5_affected_block_is_read_like_nvds_pass_through() -> None:
    """CVE JSON 5's ``containers.cna.affected`` (the entries themselves, no ``affectedData`` wrapper) gives
    the same row as NVD's ``cve.affected[].affectedData[]``; items of neither form are ignored."""
    entry = psf({"version": "3.12.0", "lessThan": "3.12.15", "versionType": "python", "status": "affected"})
    wrapped, _ = cna_rows([{"source": "cna@python.org", "affectedData": [entry]}])
    bare, skipped = cna_rows([entry, {"source": "cna@python.org"}, "junk"])
    assert (
        bare
        == wrapped
        == [
            Affected(
                "CVE-2099-4001",
                "nvd",
                "cna",
                "python:python",
                "fixed",
                fixed_version="3.12.15",
                ranges=(VersionRange("3.12.0", end="3.12.15"),),
            )
        ]
    )
    assert skipped == []


def test_cpes_that_name_no_application_fall_back_to_vendor_and_product() -> None:
    entry = psf(
        {"version": "3.13.0", "lessThan": "3.13.16", "status": "affected"},
        cpes=[42, "cpe:2.3:o:python:python:*:*:*:*:*:*:*:*", "cpe:2.3:a:*:python:*:*:*:*:*:*:*:*"],
    )
    rows, _ = cna_rows([{"affectedData": [entry]}])
    assert [(r.package, r.ranges) for r in rows] == [
        ("python:python", (VersionRange("3.13.0", end="3.13.16"),))
    ]


def test_version_entries_that_say_nothing_usable_are_skipped_and_counted() -> None:
    """Of each kind of odd entry: ignored when it says nothing (an unaffected exact version, a malformed
    change, a non-object), skipped and counted when it claims something alpinist cannot read."""
    entry = psf(
        "3.9.0",  # not an object: ignored
        {"version": "3.10.0", "lessThan": "3.10.22"},  # no status
        {"lessThan": "3.11.17", "status": "affected"},  # no version
        {"version": "n/a", "status": "affected"},  # not a version
        {"version": "3.8 and earlier", "status": "affected"},  # a sentence
        {"version": "3.11.0", "lessThan": "3.11.x and later", "status": "affected"},  # a sentence as bound
        {"version": "3.7.0", "status": "unaffected"},  # an exact unaffected version: says nothing
        {
            "version": "3.12.0",
            "lessThan": "*",
            "status": "affected",
            "changes": [{"at": "3.12.15", "status": "unaffected"}, {"at": 3}, "junk"],
        },
    )
    rows, skipped = cna_rows([{"affectedData": [entry]}])
    assert [(r.status, r.ranges, r.versions) for r in rows] == [
        ("fixed", (VersionRange("3.12.0", end="3.12.15"),), ())
    ]
    assert skipped == [
        "CNA version entry without version or status",
        "CNA version entry without version or status",
        "CNA version that is not a version",
        "CNA version that is not a version",
        "CNA range bound that is not a version",
    ]


def test_a_product_with_nothing_affected_gives_no_row() -> None:
    entry = psf({"version": "3.12.0", "lessThan": "3.12.15", "status": "unaffected"})
    assert cna_rows([{"affectedData": [entry]}]) == ([], [])


# -- the inventory side: which NVD products a package is looked up as -----------------------------------------


def binary(name: str, *cpes: str) -> Package:
    return Package(name, "3.11.2", "binary", f"pkg:generic/{name}@3.11.2", cpes=cpes)


def test_cpe_products_of_a_package() -> None:
    """Both CPE forms give ``vendor:product`` (lower-cased, once); CPEs without both are ignored; a CPython
    binary without a CPE is still looked up as ``python:python``, any other binary is not."""
    assert cpe_products(
        binary(
            "python",
            "cpe:2.3:a:Python:Python:3.11.2:*:*:*:*:*:*:*",
            "cpe:/a:python:python:3.11.2",
            "cpe:2.3:a:python",
            "cpe:2.3:a::python:3.11.2",
            "cpe:/a:python",
            "cpe:/a::python",
            "python-3.11.2",
        )
    ) == ["python:python"]
    assert cpe_products(binary("python", "cpe:2.3:a:python")) == ["python:python"]
    assert cpe_products(binary("node")) == []
    assert cpe_products(binary("openssl", "cpe:/a:openssl:openssl:3.1.4")) == ["openssl:openssl"]
