"""NVD CVE API 2.0: ``https://services.nvd.nist.gov/rest/json/cves/2.0``, for CVSS and CPE ranges.

Download (https://nvd.nist.gov/developers/vulnerabilities):

- paging with ``startIndex``/``resultsPerPage`` (at most 2,000) until ``totalResults``, one file a page;
- the API key, when given, in the ``apiKey`` header (never in the URL, so never in an error message);
- rate limits: 5 requests per rolling 30 s without a key, 50 with one - a sliding-window limiter with an
  injectable clock and sleep waits before a request would exceed them; 403 (NVD's rate-limit answer),
  429 and 503 are retried with backoff by the ``Fetcher``;
- incremental: with ``since``, only CVEs modified since then (``lastModStartDate``/``lastModEndDate``,
  ISO-8601; the API refuses windows over 120 days, so a longer span is split into several).

Parse, per CVE: ``Vulnerability(id, summary (English description), published, modified, references,
cvss)`` with one ``CvssScore`` per ``metrics.cvssMetricV2/V30/V31/V40`` entry (base severity from
``cvssData``, or beside it for v2; ``primary`` when ``type`` is ``Primary``); a ``Rejected`` CVE is marked
withdrawn. And from ``configurations[].nodes[].cpeMatch[]`` with ``vulnerable: true`` and an application
CPE (``cpe:2.3:a:VENDOR:PRODUCT:VERSION:UPDATE:...``): ``Affected(namespace="cpe",
package="VENDOR:PRODUCT")`` - one row per product of a CVE with every range of it
(``versionStart/End Including/Excluding``) or exact version (from the CPE string), status ``fixed`` when
some range has an exclusive end (the first version without the flaw), else ``open``. ``fixed_version`` is
the lowest such end, for display; matching goes by the ranges, which for CPython are per release branch
(3.11.x fixes apply to 3.11), never only the first fix. A "running on" configuration (``operator: AND``)
whose platform CPEs are only non-Linux operating systems (CPython vulnerable only on Windows) gives no
row: it cannot apply to an image.

And from ``cve.affected[].affectedData[]``, the CNA's own ranges (CVE JSON 5 ``affected``, which the API passes
through since June 2026, undocumented by NIST): ``Affected(namespace="cna")`` rows, see ``cna.py``.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alpinist.advisories.cvss import cvss_band
from alpinist.advisories.feed import (
    Batcher,
    FeedBatch,
    JsonShapeError,
    ParseStats,
    SourceBase,
    as_list,
    build_json,
    check_file_size,
    end_of_document,
    json_events,
    members,
    next_event,
    object_members,
    streamed_json_errors,
)
from alpinist.advisories.feeds.nvd.cna import cna_affected, ranged_row
from alpinist.advisories.model import Affected, CvssScore, Severity, VersionRange, Vulnerability
from alpinist.errors import FeedError

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher

log = logging.getLogger(__name__)

NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
NVD_MAX_PAGE_SIZE = 2000
MAX_WINDOW = timedelta(days=120)
PUBLIC_LIMIT = 5  # requests per window without an API key
KEY_LIMIT = 50  # with one
RATE_WINDOW = 30.0  # seconds
MAX_PAGE_BYTES = 256 * 1024 * 1024  # a 2,000-CVE page is ~10-30 MB
NVD_RETRY_STATUSES = frozenset({403, 429, 500, 502, 503, 504})
MAX_PAGES = 100_000  # far above the ~150 pages of the whole NVD: a server that never ends is refused

_METRICS = (
    ("cvssMetricV40", "4.0"),
    ("cvssMetricV31", "3.1"),
    ("cvssMetricV30", "3.0"),
    ("cvssMetricV2", "2.0"),
)
_SEVERITIES: dict[str, Severity] = {
    "NONE": "NEGLIGIBLE",
    "LOW": "LOW",
    "MEDIUM": "MEDIUM",
    "HIGH": "HIGH",
    "CRITICAL": "CRITICAL",
}


class RateLimiter:
    """At most ``limit`` calls in any rolling ``window`` seconds: ``acquire()`` sleeps until allowed."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._calls: collections.deque[float] = collections.deque()

    def acquire(self) -> None:
        while True:
            now = self.clock()
            while self._calls and self._calls[0] <= now - self.window:
                self._calls.popleft()
            if len(self._calls) < self.limit:
                self._calls.append(now)
                return
            self.sleep(self._calls[0] + self.window - now)


def nvd_timestamp(moment: datetime) -> str:
    """The API's date format: ``2024-01-31T12:00:00.000+00:00`` (always UTC here)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def parse_since(since: str) -> datetime:
    try:
        moment = datetime.fromisoformat(since.strip())
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {since!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def windows(start: datetime, end: datetime, span: timedelta = MAX_WINDOW) -> list[tuple[datetime, datetime]]:
    """``[start, end]`` cut into consecutive windows of at most ``span``."""
    out = []
    while start < end:
        stop = min(start + span, end)
        out.append((start, stop))
        start = stop
    return out or [(start, end)]


class NvdSource(SourceBase):
    name = "nvd"
    incremental = True  # the update passes the time of the last one as ``since``

    def __init__(
        self,
        api_key: str | None = None,
        *,
        url: str = NVD_URL,
        page_size: int = NVD_MAX_PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 1 <= page_size <= NVD_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {NVD_MAX_PAGE_SIZE}")
        self.api_key = api_key or None
        self.url = url
        self.page_size = page_size
        self.clock = clock
        self.sleep = sleep  # None: the fetcher's sleep
        self.now = now
        self.stats = ParseStats()
        self._fetched: list[str] = []

    def feed_urls(self) -> list[str]:
        return list(self._fetched)

    def fetch(self, fetcher: Fetcher, workdir: Path, since: str | None) -> list[Path]:
        limiter = RateLimiter(
            KEY_LIMIT if self.api_key else PUBLIC_LIMIT,
            RATE_WINDOW,
            clock=self.clock,
            sleep=self.sleep or fetcher.sleep,
        )
        headers = {"apiKey": self.api_key} if self.api_key else {}
        spans: Sequence[tuple[datetime, datetime] | None] = [None]
        if since:
            try:
                start = parse_since(since)
            except ValueError as exc:
                raise FeedError(self.url, str(exc)) from None
            end = self.now()
            spans = windows(min(start, end), end)  # a cursor from a clock ahead of ours: one empty window
        files: list[Path] = []
        self._fetched = [self.url]
        for number, span in enumerate(spans):
            params: dict[str, str | int] = {}
            if span is not None:
                params = {
                    "lastModStartDate": nvd_timestamp(span[0]),
                    "lastModEndDate": nvd_timestamp(span[1]),
                }
            files += self._fetch_span(fetcher, workdir, number, params, headers, limiter)
        return files

    def _fetch_span(
        self,
        fetcher: Fetcher,
        workdir: Path,
        span: int,
        params: dict[str, str | int],
        headers: dict[str, str],
        limiter: RateLimiter,
    ) -> list[Path]:
        files: list[Path] = []
        start, total = 0, None
        while total is None or start < total:
            if len(files) >= MAX_PAGES:
                raise FeedError(self.url, f"more than {MAX_PAGES} pages; refused")
            page_params = {**params, "startIndex": start, "resultsPerPage": self.page_size}
            dest = workdir / f"nvd-{span:03d}-{len(files):05d}.json"
            limiter.acquire()
            fetcher.get_to_file(
                self.url,
                dest,
                params=page_params,
                headers=headers,
                max_bytes=MAX_PAGE_BYTES,
                retry_statuses=NVD_RETRY_STATUSES,
            )
            files.append(dest)
            try:
                page_total, count = _page_header(dest)
            except FeedError as exc:  # name the page's URL, not the file about to be removed
                raise FeedError(page_url(self.url, page_params), exc.reason) from None
            if total is not None and page_total != total:
                log.info("NVD: totalResults changed from %d to %d while paging", total, page_total)
            total = page_total
            if count == 0:  # the server has nothing more, whatever totalResults said
                break
            start += count
        return files

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        self.stats = ParseStats()
        batch = Batcher(self.stats)
        seen: set[str] = set()  # a CVE modified while paging can appear on two pages
        for path in files:
            check_file_size(path, MAX_PAGE_BYTES)
            with streamed_json_errors(path), path.open("rb") as fh:
                for key, item in object_members(json_events(fh), "vulnerabilities"):
                    if key != "vulnerabilities":
                        continue
                    if not isinstance(item, dict):
                        self.stats.skip("malformed CVE")
                        continue
                    self._add_cve(batch, seen, item.get("cve"), path)
                    if batch.full:
                        yield batch.take()
        if batch:
            yield batch.take()

    def _add_cve(self, batch: Batcher, seen: set[str], cve: Any, path: Path) -> None:
        if not isinstance(cve, dict) or not isinstance(cve.get("id"), str):
            self.stats.skip("malformed CVE")
            return
        cve_id: str = cve["id"]
        if cve_id in seen:
            return
        seen.add(cve_id)
        self.stats.records += 1
        batch.add_vulnerability(self._vulnerability(cve_id, cve))
        for row in cpe_affected(cve_id, cve.get("configurations")):
            batch.add_affected(row)
        for row in cna_affected(cve_id, self.name, cve.get("affected"), self.stats.skip):
            batch.add_affected(row)

    def _vulnerability(self, cve_id: str, cve: dict[str, Any]) -> Vulnerability:
        scores: list[CvssScore] = []
        metrics = cve.get("metrics")
        if not isinstance(metrics, dict):
            metrics = {}
        for key, version in _METRICS:
            for metric in as_list(metrics.get(key)):
                try:
                    scores.append(metric_score(metric, version))
                except ValueError as exc:
                    log.warning("NVD %s: %s; score ignored", cve_id, exc)
                    self.stats.skip("malformed CVSS metric")
        summary = next(
            (
                d["value"].strip()
                for d in as_list(cve.get("descriptions"))
                if isinstance(d, dict) and d.get("lang") == "en" and isinstance(d.get("value"), str)
            ),
            None,
        )
        references = tuple(
            r["url"]
            for r in as_list(cve.get("references"))
            if isinstance(r, dict) and isinstance(r.get("url"), str)
        )
        modified = _text(cve.get("lastModified"))
        return Vulnerability(
            cve_id,
            summary=summary or None,
            published=_text(cve.get("published")),
            modified=modified,
            withdrawn=(modified or "rejected") if cve.get("vulnStatus") == "Rejected" else None,
            references=references,
            cvss=tuple(scores),
        )


def metric_score(metric: Any, version: str) -> CvssScore:
    """One ``cvssMetricV*`` entry -> ``CvssScore``; raises ValueError when it lacks vector or score."""
    data = metric.get("cvssData") if isinstance(metric, dict) else None
    if not isinstance(data, dict):
        raise ValueError(f"CVSS {version} metric without cvssData")
    vector, score = data.get("vectorString"), data.get("baseScore")
    if not isinstance(vector, str) or not isinstance(score, int | float) or isinstance(score, bool):
        raise ValueError(f"CVSS {version} metric without vectorString or baseScore")
    raw = data.get("baseSeverity") or metric.get("baseSeverity")  # v2 keeps it beside cvssData
    severity = _SEVERITIES.get(raw.upper()) if isinstance(raw, str) else None
    if severity is None:
        severity = cvss_band(version, float(score))
    source = metric.get("source")
    return CvssScore(
        version=str(data.get("version") or version),
        vector=vector,
        base_score=float(score),
        severity=severity,
        source=source if isinstance(source, str) and source else "nvd",
        primary=metric.get("type") == "Primary",
    )


# -- CPE configurations -------------------------------------------------------------------------------
def split_cpe(cpe: str) -> list[str]:
    """The fields of a CPE 2.3 formatted string, split on unescaped ``:`` (escapes kept as written)."""
    fields, current, escaped = [], [], False
    for char in cpe:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def _unescape(value: str) -> str:
    return value.replace("\\", "")


def cpe_affected(cve_id: str, configurations: Any) -> list[Affected]:
    """The ``Affected`` rows (namespace ``cpe``) of one CVE's ``configurations``."""
    found: dict[
        str, tuple[list[VersionRange], list[str], list[str]]
    ] = {}  # product -> ranges, versions, fixes
    for configuration in as_list(configurations):
        nodes = configuration.get("nodes") if isinstance(configuration, dict) else None
        if _only_on_other_os(configuration, nodes):
            continue
        for node in as_list(nodes):
            if not isinstance(node, dict) or node.get("negate"):
                continue
            for match in as_list(node.get("cpeMatch")):
                if not isinstance(match, dict) or match.get("vulnerable") is not True:
                    continue
                criteria = match.get("criteria")
                fields = split_cpe(criteria) if isinstance(criteria, str) else []
                if len(fields) < 7 or fields[:2] != ["cpe", "2.3"] or fields[2] != "a":
                    continue
                version, update = _unescape(fields[5]), _unescape(fields[6])
                bounds = {k: v for k in _BOUND_KEYS if isinstance(v := match.get(k), str) and v}
                if version == "-" or (version != "*" and not version):
                    continue  # "-": the product has no versions; nothing to compare an installed one with
                product = f"{_unescape(fields[3])}:{_unescape(fields[4])}"
                ranges, versions, fixes = found.setdefault(product, ([], [], []))
                if version != "*":
                    versions.append(version + update if update not in ("*", "-", "") else version)
                elif bounds:
                    start = bounds.get("versionStartIncluding") or bounds.get("versionStartExcluding")
                    end = bounds.get("versionEndExcluding") or bounds.get("versionEndIncluding")
                    ranges.append(
                        VersionRange(
                            start=start,
                            start_inclusive="versionStartExcluding" not in bounds,
                            end=end,
                            end_inclusive="versionEndExcluding" not in bounds,
                        )
                    )
                    if "versionEndExcluding" in bounds:
                        fixes.append(bounds["versionEndExcluding"])
                else:
                    ranges.append(VersionRange())  # "*" without bounds: every version
    rows = []
    for product, (ranges, versions, fixes) in found.items():
        rows.append(ranged_row(cve_id, "nvd", "cpe", product, ranges, versions, fixes))
    return rows


def _only_on_other_os(configuration: Any, nodes: Any) -> bool:
    """Whether ``configuration`` is NVD's "running on/with" form (``operator: AND``) whose platform, the
    CPEs not vulnerable themselves, is only operating systems other than Linux (CPython vulnerable only
    on Windows or macOS): it cannot apply to a container image, which runs on Linux."""
    if not isinstance(configuration, dict) or configuration.get("operator") != "AND":
        return False
    platforms = [
        split_cpe(match["criteria"])
        for node in as_list(nodes)
        if isinstance(node, dict) and not node.get("negate")
        for match in as_list(node.get("cpeMatch"))
        if isinstance(match, dict)
        and match.get("vulnerable") is False
        and isinstance(match.get("criteria"), str)
    ]
    if not platforms:
        return False
    return all(
        len(f) > 4 and f[:3] == ["cpe", "2.3", "o"] and "linux" not in f"{f[3]}:{f[4]}".lower()
        for f in platforms
    )


_BOUND_KEYS = ("versionStartIncluding", "versionStartExcluding", "versionEndIncluding", "versionEndExcluding")


def page_url(url: str, params: dict[str, str | int]) -> str:
    """The upstream URL of one page, query included (what an error names)."""
    from urllib.parse import urlencode

    return f"{url}?{urlencode(params)}" if params else url


def _page_header(path: Path) -> tuple[int, int]:
    """``(totalResults, number of CVEs on the page)`` of a downloaded page: one pass over the events (the
    depth bound of ``json_events``), nothing built but the top-level scalars."""
    total: int | None = None
    count = 0
    check_file_size(path, MAX_PAGE_BYTES)
    with streamed_json_errors(path), path.open("rb") as fh:
        events = json_events(fh)
        if next_event(events)[0] != "start_map":
            raise JsonShapeError("expected a JSON object at the top level")
        for key, event, value in members(events):
            if key == "totalResults" and event == "number":
                if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
                    total = int(value)
            elif key == "vulnerabilities" and event == "start_array":
                depth = 1
                for event, _ in events:
                    if event in ("start_map", "start_array"):
                        if depth == 1 and event == "start_map":
                            count += 1  # a CVE item
                        depth += 1
                    elif event in ("end_map", "end_array"):
                        depth -= 1
                        if depth == 0:
                            break
            else:
                build_json(events, event, value)
        end_of_document(events)
    if total is None:
        raise FeedError(str(path), "not an NVD API response: no 'totalResults'")
    return total, count


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
