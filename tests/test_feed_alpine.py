"""Alpine secdb: fetched from the loopback feed server (corpus feeds), parsed into Affected rows.

Expected values are read by hand from ``advisories/feeds/secdb.alpinelinux.org/v3.20/main.json`` and the
counts from ``advisories/raw/alpine-secdb/README.md`` (ids per branch).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from alpinist.advisories.download import Fetcher
from alpinist.advisories.feeds.alpine.secdb import AlpineSecdbSource, normalize_branch, split_ids
from alpinist.advisories.model import Affected
from alpinist.advisories.sources import DEFAULT_ALPINE_BRANCHES
from alpinist.errors import FeedError
from tests.feed_server import FEEDS, FeedServer, feed_server_fixture  # noqa: F401 - registers the fixture


def fetch_and_parse(
    server: FeedServer, workdir: Path, branches: tuple[str, ...] = DEFAULT_ALPINE_BRANCHES
) -> tuple[AlpineSecdbSource, list[Path], list[Affected]]:
    source = AlpineSecdbSource(branches)
    with Fetcher(mirror=server.url, sleep=lambda s: None) as fetcher:
        files = source.fetch(fetcher, workdir, None)
    rows = [row for batch in source.parse(files) for row in batch.affected]
    return source, files, rows


def index(rows: list[Affected]) -> dict[tuple[str, str, str], Affected]:
    out: dict[tuple[str, str, str], Affected] = {}
    for row in rows:
        key = (row.namespace, row.package, row.vuln_id)
        assert key not in out, f"duplicate row {key}"
        out[key] = row
    return out


@pytest.fixture(name="alpine_rows")
def alpine_rows_fixture(feed_server: FeedServer, tmp_path: Path) -> dict[tuple[str, str, str], Affected]:
    return index(fetch_and_parse(feed_server, tmp_path)[2])


def test_default_branches_skip_the_missing_3_21(
    feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        source, files, rows = fetch_and_parse(feed_server, tmp_path)
    assert "3.21" in DEFAULT_ALPINE_BRANCHES
    assert sorted(f.name for f in files) == sorted(
        f"alpine-v{b}-{r}.json"
        for b in ("3.18", "3.19", "3.20", "3.22", "3.23")
        for r in ("main", "community")
    )
    assert source.missing == [
        "https://secdb.alpinelinux.org/v3.21/main.json",
        "https://secdb.alpinelinux.org/v3.21/community.json",
    ]
    assert "v3.21/main.json" in caplog.text and "skipped" in caplog.text
    requested = {r.path for r in feed_server.requests}
    assert "/secdb.alpinelinux.org/v3.21/main.json" in requested
    assert len(feed_server.requests) == 12  # 6 branches x 2 repositories, no retries on 404
    # README: ids per branch (community.json is empty everywhere)
    per_namespace: dict[str, int] = {}
    for row in rows:
        per_namespace[row.namespace] = per_namespace.get(row.namespace, 0) + 1
    assert per_namespace == {
        "alpine:3.18": 89,
        "alpine:3.19": 93,
        "alpine:3.20": 358,
        "alpine:3.22": 402,
        "alpine:3.23": 181,
    }
    assert all(row.source == "alpine" and row.severity is None for row in rows)
    assert source.stats.vulnerabilities == 0  # secdb carries no descriptions


def test_openssl_3_20_first_fixed_versions(alpine_rows: dict[tuple[str, str, str], Affected]) -> None:
    def row(vuln: str) -> Affected:
        return alpine_rows[("alpine:3.20", "openssl", vuln)]

    assert row("CVE-2023-5363") == Affected(
        "CVE-2023-5363", "alpine", "alpine:3.20", "openssl", "fixed", "3.1.4-r0"
    )
    assert row("CVE-2024-6119").fixed_version == "3.3.2-r0"
    assert row("CVE-2022-3602").fixed_version == "3.0.7-r0"  # one of two ids under "3.0.7-r0"
    assert row("CVE-2022-3786").fixed_version == "3.0.7-r0"
    assert row("CVE-2021-3449").fixed_version == "1.1.1k-r0"
    assert row("CVE-2026-31790").fixed_version == "3.3.7-r0"
    openssl = [k for k in alpine_rows if k[:2] == ("alpine:3.20", "openssl")]
    assert len(openssl) == 78  # raw/PROVENANCE.md: v3.20 openssl.json, 78 ids / 41 fixed versions


def test_key_zero_means_never_affected(alpine_rows: dict[tuple[str, str, str], Affected]) -> None:
    for vuln in ("CVE-2022-1292", "CVE-2022-2068", "CVE-2022-2274", "CVE-2023-0466", "CVE-2023-4807"):
        row = alpine_rows[("alpine:3.20", "openssl", vuln)]
        assert row.status == "not-affected" and row.fixed_version is None
    assert alpine_rows[("alpine:3.20", "zlib", "CVE-2023-45853")].status == "not-affected"
    assert alpine_rows[("alpine:3.20", "busybox", "CVE-2021-42373")].status == "not-affected"


def test_apk_versions_are_kept_verbatim(alpine_rows: dict[tuple[str, str, str], Affected]) -> None:
    assert alpine_rows[("alpine:3.20", "ncurses", "CVE-2023-29491")].fixed_version == "6.4_p20230424-r0"
    assert alpine_rows[("alpine:3.20", "musl", "CVE-2020-28928")].fixed_version == "1.2.2_pre2-r0"
    # ALPINE-13661 and CVE-2022-28391 share busybox "1.35.0-r7"; non-CVE ids are kept
    assert alpine_rows[("alpine:3.20", "busybox", "ALPINE-13661")].fixed_version == "1.35.0-r7"
    assert alpine_rows[("alpine:3.20", "busybox", "CVE-2022-28391")].fixed_version == "1.35.0-r7"


def test_fixes_are_per_branch(alpine_rows: dict[tuple[str, str, str], Affected]) -> None:
    # raw/alpine-secdb/README.md: CVE-2023-42366 fixed in 1.36.1-r25 (v3.20), -r16 (v3.19), -r6 (v3.18)
    assert alpine_rows[("alpine:3.20", "busybox", "CVE-2023-42366")].fixed_version == "1.36.1-r25"
    assert alpine_rows[("alpine:3.19", "busybox", "CVE-2023-42366")].fixed_version == "1.36.1-r16"
    assert alpine_rows[("alpine:3.18", "busybox", "CVE-2023-42366")].fixed_version == "1.36.1-r6"


# A community.json written by hand in secdb's layout: one entry string holding two ids (as real secdb
# entries sometimes do: "CVE-x GHSA-y"), and an id listed under two versions.
MULTI_ID = {
    "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
    "archs": ["x86_64"],
    "reponame": "community",
    "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
    "distroversion": "v3.20",
    "packages": [
        {
            "pkg": {
                "name": "py3-example",
                "secfixes": {
                    "1.3.0-r0": ["CVE-2023-2222", "CVE-2024-3333  CVE-2024-4444"],
                    "1.2.4_git20230717-r5": ["CVE-2023-1111 GHSA-abcd-efgh-ijkl"],
                    "1.2.9-r1": ["CVE-2023-2222"],
                },
            }
        }
    ],
}


def test_one_string_can_hold_several_ids(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put("secdb.alpinelinux.org/v3.20/community.json", json.dumps(MULTI_ID))
    _, _, rows = fetch_and_parse(feed_server, tmp_path, ("3.20",))
    example = {r.vuln_id: r.fixed_version for r in rows if r.package == "py3-example"}
    assert example == {
        "CVE-2023-1111": "1.2.4_git20230717-r5",
        "GHSA-abcd-efgh-ijkl": "1.2.4_git20230717-r5",
        "CVE-2023-2222": "1.2.9-r1",  # listed under two versions: the lower (first) fix counts
        "CVE-2024-3333": "1.3.0-r0",
        "CVE-2024-4444": "1.3.0-r0",
    }
    assert {r.namespace for r in rows} == {"alpine:3.20"}


def test_split_ids_and_branch_names() -> None:
    assert split_ids("CVE-2022-1 CVE-2022-2") == ["CVE-2022-1", "CVE-2022-2"]
    assert split_ids("CVE-2021-1234 (see upstream)") == ["CVE-2021-1234"]
    assert normalize_branch("v3.20") == normalize_branch("3.20.3") == "3.20"
    with pytest.raises(ValueError):
        normalize_branch("edge")


def test_branch_mismatch_is_refused(feed_server: FeedServer, tmp_path: Path) -> None:
    wrong = (FEEDS / "secdb.alpinelinux.org" / "v3.20" / "main.json").read_bytes()
    feed_server.put("secdb.alpinelinux.org/v3.19/main.json", wrong)  # says v3.20
    with pytest.raises(FeedError, match=r"fetched as branch v3.19 but the file says distroversion v3.20"):
        fetch_and_parse(feed_server, tmp_path, ("3.19",))


def test_no_branch_at_all_is_an_error(feed_server: FeedServer, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=re.escape("no secdb file found for branches 3.21, 3.99")):
        fetch_and_parse(feed_server, tmp_path, ("3.21", "3.99"))


def test_truncated_secdb_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.truncate("/secdb.alpinelinux.org/v3.20/main.json", keep=500)
    with pytest.raises(FeedError) as info:
        fetch_and_parse(feed_server, tmp_path, ("3.20",))
    assert "alpine-v3.20-main.json" in str(info.value) and "not valid JSON" in str(info.value)


def test_non_json_secdb_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.garbage("/secdb.alpinelinux.org/v3.20/main.json")
    with pytest.raises(FeedError, match=re.escape("alpine-v3.20-main.json: not valid JSON")):
        fetch_and_parse(feed_server, tmp_path, ("3.20",))


def test_json_of_the_wrong_shape_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.put("secdb.alpinelinux.org/v3.20/main.json", '{"distroversion": "v3.20"}')
    with pytest.raises(FeedError, match="expected an object with a 'packages' list"):
        fetch_and_parse(feed_server, tmp_path, ("3.20",))
