"""Debian security tracker: fetched from the loopback feed server, parsed as a stream.

``BOOKWORM`` is written by hand from ``advisories/raw/debian-vuln-list/bookworm-open/INDEX.csv`` (the
derived bookworm verdict of every id) with the rules of ``raw/debian-vuln-list/README.md``:

- "open, unfixed (unimportant)" -> ``unimportant`` (NEGLIGIBLE);
- "open, no bookworm fix: <ignored|postponed|no-dsa>" -> that status;
- "open, unfixed" -> ``open``;
- "fixed for bookworm in X" -> ``fixed`` X; "not affected (bookworm)" -> ``not-affected``;
- "sid fixed X; no [bookworm] line -> vulnerable iff bookworm's version < X": compared by hand with
  bookworm's archive version (the tracker compares with that, README rule 4): X above it -> still open
  (``unimportant`` when the sid line says so), X at or below it -> ``fixed`` X. Where the INDEX says
  "check DSA-…" and the DSA record is in ``raw/debian-vuln-list/tracker/DSA`` (README's table), the DSA's
  bookworm version is the fix.
Severity: the urgency in the INDEX's sid line ("(unimportant)", "(low)"), None when it has none.
Packages other than the INDEX's ``src_pkg`` that the records name for bookworm (curl, gcc-11, minizip,
libxmltok) are read from the record files named in the comments.
"""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.feeds.debian.tracker import DebianTrackerSource, classify_release
from alpinist.advisories.model import Affected, Vulnerability
from alpinist.errors import FeedError
from tests.feed_server import FeedServer, feed_server_fixture, fetch_and_parse_source  # noqa: F401 - registers the fixture

INDEX_CSV = (
    Path(__file__).resolve().parents[1].parent
    / "shared/corpus/advisories/raw/debian-vuln-list/bookworm-open/INDEX.csv"
)
TRACKER_PATH = "/security-tracker.debian.org/tracker/data/json"

U, F, OP, NA = "unimportant", "fixed", "open", "not-affected"
IGN, POST, NODSA = "ignored", "postponed", "no-dsa"
NEG = "NEGLIGIBLE"

# (id, source package) -> (status, fixed_version, severity)
BOOKWORM: dict[tuple[str, str], tuple[str, str | None, str | None]] = {
    ("CVE-2005-2541", "tar"): (U, None, NEG),
    ("CVE-2007-5686", "shadow"): (U, None, NEG),
    ("CVE-2011-3374", "apt"): (U, None, NEG),
    ("CVE-2011-3389", "gnutls28"): (U, None, NEG),
    ("CVE-2011-3389", "curl"): (F, "7.24.0-1", None),  # record: "- curl 7.24.0-1" (sid) <= bookworm 7.88.1
    ("CVE-2011-4116", "perl"): (U, None, NEG),
    ("CVE-2013-4392", "systemd"): (U, None, NEG),
    ("CVE-2015-3276", "openldap"): (U, None, NEG),
    ("CVE-2016-2781", "coreutils"): (IGN, None, "LOW"),
    ("CVE-2017-14159", "openldap"): (U, None, NEG),
    ("CVE-2017-17740", "openldap"): (U, None, NEG),
    ("CVE-2017-18018", "coreutils"): (U, None, NEG),
    ("CVE-2018-20796", "glibc"): (U, None, NEG),
    ("CVE-2018-5709", "krb5"): (U, None, NEG),
    ("CVE-2018-6829", "libgcrypt20"): (U, None, NEG),
    ("CVE-2019-1010022", "glibc"): (U, None, NEG),
    ("CVE-2019-1010023", "glibc"): (U, None, NEG),
    ("CVE-2019-1010024", "glibc"): (U, None, NEG),
    ("CVE-2019-1010025", "glibc"): (U, None, NEG),
    ("CVE-2019-19882", "shadow"): (F, "1:4.8.1-1", NEG),  # sid fix 1:4.8.1-1 <= bookworm 1:4.13+dfsg1-1
    ("CVE-2019-9192", "glibc"): (U, None, NEG),
    ("CVE-2020-15719", "openldap"): (U, None, NEG),
    ("CVE-2021-45346", "sqlite3"): (U, None, NEG),
    ("CVE-2022-0563", "util-linux"): (U, None, NEG),
    ("CVE-2022-27943", "gcc-12"): (U, None, NEG),
    ("CVE-2022-3219", "gnupg2"): (U, None, NEG),
    ("CVE-2022-37434", "zlib"): (F, "1:1.2.11.dfsg-4.1", None),  # <= bookworm 1:1.2.13.dfsg-1
    ("CVE-2022-4899", "libzstd"): (F, "1.5.4+dfsg2-1", None),  # <= bookworm 1.5.4+dfsg2-5
    ("CVE-2023-27043", "python3.11"): (NODSA, None, None),
    ("CVE-2023-29383", "shadow"): (NODSA, None, None),
    ("CVE-2023-31437", "systemd"): (U, None, NEG),
    ("CVE-2023-31438", "systemd"): (U, None, NEG),
    ("CVE-2023-31439", "systemd"): (U, None, NEG),
    ("CVE-2023-31484", "perl"): (F, "5.36.0-7+deb12u3", None),
    ("CVE-2023-31486", "perl"): (U, None, NEG),  # sid fix 5.38.2-2 > bookworm 5.36.0-7
    ("CVE-2023-4016", "procps"): (NODSA, None, None),
    ("CVE-2023-4039", "gcc-12"): (NODSA, None, None),
    ("CVE-2023-4039", "gcc-11"): (NODSA, None, None),  # record: "[bookworm] - gcc-11 <no-dsa>"
    ("CVE-2023-45853", "zlib"): (IGN, None, None),
    ("CVE-2023-45853", "minizip"): (NODSA, None, None),  # record: "[bookworm] - minizip <no-dsa>"
    ("CVE-2023-4641", "shadow"): (NODSA, None, None),
    ("CVE-2023-4911", "glibc"): (F, "2.36-9+deb12u3", None),  # DSA-5514-1
    ("CVE-2023-50495", "ncurses"): (NODSA, None, None),
    ("CVE-2023-52425", "expat"): (NODSA, None, None),
    ("CVE-2023-52425", "libxmltok"): (IGN, None, None),  # record: "[bookworm] - libxmltok <ignored>"
    ("CVE-2023-52426", "expat"): (U, None, NEG),  # sid fix 2.6.0-1 > bookworm 2.5.0-1
    ("CVE-2023-5363", "openssl"): (F, "3.0.11-1~deb12u2", None),  # DSA-5532-1
    ("CVE-2024-0232", "sqlite3"): (NODSA, None, None),
    ("CVE-2024-10041", "pam"): (NODSA, None, None),
    ("CVE-2024-12133", "libtasn1-6"): (OP, None, None),
    ("CVE-2024-12243", "gnutls28"): (OP, None, None),  # sid fix 3.8.9-2 > bookworm 3.7.9-2
    ("CVE-2024-2236", "libgcrypt20"): (OP, None, None),
    ("CVE-2024-22365", "pam"): (NODSA, None, None),
    ("CVE-2024-2379", "curl"): (U, None, NEG),
    ("CVE-2024-2511", "openssl"): (F, "3.0.14-1~deb12u1", None),
    ("CVE-2024-26458", "krb5"): (OP, None, None),
    ("CVE-2024-26461", "krb5"): (OP, None, None),
    ("CVE-2024-26462", "krb5"): (OP, None, None),
    ("CVE-2024-28757", "expat"): (U, None, NEG),  # sid fix 2.6.1-2 > bookworm 2.5.0-1
    ("CVE-2024-28757", "libxmltok"): (IGN, None, None),  # record: "[bookworm] - libxmltok <ignored>"
    ("CVE-2024-3094", "xz-utils"): (NA, None, None),
    ("CVE-2024-33601", "glibc"): (OP, None, None),  # sid fix 2.37-19 > bookworm 2.36-9
    ("CVE-2024-45491", "expat"): (OP, None, None),
    ("CVE-2024-4603", "openssl"): (POST, None, None),
    ("CVE-2024-4741", "openssl"): (POST, None, None),
    ("CVE-2024-50602", "expat"): (OP, None, None),
    ("CVE-2024-5535", "openssl"): (POST, None, None),
    ("CVE-2024-56433", "shadow"): (NODSA, None, None),
    ("CVE-2024-6119", "openssl"): (F, "3.0.14-1~deb12u2", None),  # DSA-5764-1 (tracker/DSA)
    ("CVE-2024-7592", "python3.11"): (OP, None, None),
    ("CVE-2024-8176", "expat"): (F, "2.5.0-1+deb12u2", None),
    ("CVE-2024-8176", "libxmltok"): (IGN, None, None),  # record: "[bookworm] - libxmltok <ignored>"
    ("CVE-2025-1390", "libcap2"): (NODSA, None, None),
    ("CVE-2025-27587", "openssl"): (OP, None, None),  # sid fix 3.5.0-1 > bookworm 3.0.x
    ("CVE-2025-29088", "sqlite3"): (OP, None, None),
    ("CVE-2025-30258", "gnupg2"): (NODSA, None, None),
    ("CVE-2025-31115", "xz-utils"): (OP, None, None),  # sid fix 5.8.1-1 > bookworm 5.4.1
    ("CVE-2025-3576", "krb5"): (NODSA, None, None),
    ("CVE-2025-40909", "perl"): (NODSA, None, None),
    ("CVE-2025-4598", "systemd"): (OP, None, None),  # sid fix 257.6-1 > bookworm 252.x
    ("CVE-2025-4802", "glibc"): (OP, None, None),  # sid fix 2.39-4 > bookworm 2.36-9
    ("CVE-2025-49794", "libxml2"): (POST, None, None),
    ("CVE-2025-49796", "libxml2"): (NODSA, None, None),
    ("CVE-2025-5278", "coreutils"): (OP, None, None),
    ("CVE-2025-59375", "expat"): (OP, None, None),
    ("CVE-2025-6020", "pam"): (OP, None, None),
    ("CVE-2025-6021", "libxml2"): (NODSA, None, None),
    ("CVE-2025-6141", "ncurses"): (NODSA, None, None),
    ("CVE-2025-6297", "dpkg"): (F, "1.21.23", None),
    ("CVE-2025-6965", "sqlite3"): (NODSA, None, None),
    ("CVE-2025-7458", "sqlite3"): (OP, None, None),  # sid fix 3.42.0-1 > bookworm 3.40.1
    ("CVE-2025-8058", "glibc"): (F, "2.36-9+deb12u13", None),
    ("CVE-2025-9230", "openssl"): (OP, None, None),
    ("TEMP-0290435-0B57B5", "tar"): (U, None, NEG),
    ("TEMP-0517018-A83CE6", "sysvinit"): (U, None, NEG),
    ("TEMP-0628843-DBAD28", "shadow"): (U, None, NEG),
    ("TEMP-0841856-B18BAF", "bash"): (U, None, NEG),
}

# INDEX.csv ids the corpus feed does not carry, and why (named exceptions: each is asserted absent).
NOT_IN_FEED = {
    "CVE-2010-0928": "NOTE-only record: no package line",
    "CVE-2025-45582": "NOTE-only record: no package line",
    "CVE-2022-41409": "initial triage (TODO: check) record: no package line",
    "CVE-2023-45918": "initial triage (TODO: check) record: no package line",
    "CVE-2023-7104": "initial triage (TODO: check) record: no package line",
    "CVE-2024-28085": "stale initial-triage record (README: not for today's bookworm status)",
    "CVE-2024-2961": "stale initial-triage record (README: not for today's bookworm status)",
    "CVE-2024-45490": "stale initial-triage record (README: not for today's bookworm status)",
    "CVE-2010-4756": "glibc <removed> in sid, eglibc historical: the feed carries no bookworm entry",
    "CVE-2025-6170": "INDEX says 'open, unfixed' but the corpus feed omits it; the same shape is CVE-2025-9230",
}


def fetch_and_parse(
    server: FeedServer, workdir: Path
) -> tuple[DebianTrackerSource, list[Affected], list[Vulnerability]]:
    source = DebianTrackerSource()
    affected, vulns = fetch_and_parse_source(source, server, workdir)
    return source, affected, vulns


@pytest.fixture(name="parsed")
def parsed_fixture(
    feed_server: FeedServer, tmp_path: Path
) -> tuple[DebianTrackerSource, list[Affected], list[Vulnerability]]:
    return fetch_and_parse(feed_server, tmp_path)


def test_every_index_row_is_reproduced(
    parsed: tuple[DebianTrackerSource, list[Affected], list[Vulnerability]],
) -> None:
    _, affected, _ = parsed
    got = {(r.vuln_id, r.package): (r.status, r.fixed_version, r.severity) for r in affected}
    assert len(got) == len(affected) == 97  # README: 84 open and 13 resolved entries
    assert got == BOOKWORM
    assert {r.namespace for r in affected} == {"debian:bookworm"}
    assert {r.source for r in affected} == {"debian"}

    index_ids = [row["id"] for row in csv.DictReader(INDEX_CSV.open(encoding="utf-8"))]
    assert len(index_ids) == 101
    fed_ids = {vuln for vuln, _ in got}
    for vuln in index_ids:
        assert (vuln in fed_ids) != (vuln in NOT_IN_FEED), vuln
    # the INDEX's own source package is among each id's rows
    for row in csv.DictReader(INDEX_CSV.open(encoding="utf-8")):
        if row["id"] in fed_ids:
            assert (row["id"], row["src_pkg"]) in BOOKWORM, row["id"]


def test_notes_keep_the_raw_urgency_and_the_no_dsa_reason(
    parsed: tuple[DebianTrackerSource, list[Affected], list[Vulnerability]],
) -> None:
    _, affected, _ = parsed
    notes = {(r.vuln_id, r.package): r.severity_note for r in affected}
    assert notes[("CVE-2016-2781", "coreutils")] == "low; ignored: Minor issue"
    assert (
        notes[("CVE-2023-52425", "expat")]
        == "not yet assigned; no-dsa: Minor issue; can be fixed via point release"
    )
    assert (
        notes[("CVE-2024-4603", "openssl")]
        == "not yet assigned; postponed: Minor issue, fix along with next update round"
    )
    assert notes[("CVE-2011-3374", "apt")] == "unimportant"


def test_one_vulnerability_per_id_with_the_description(
    parsed: tuple[DebianTrackerSource, list[Affected], list[Vulnerability]],
) -> None:
    source, _, vulns = parsed
    assert len(vulns) == len({v.id for v in vulns}) == 91
    by_id = {v.id: v for v in vulns}
    assert by_id["TEMP-0841856-B18BAF"].summary == "Privilege escalation possible to other user than root"
    assert by_id["CVE-2024-2379"].summary == "QUIC certificate check bypass with wolfSSL"
    assert by_id["CVE-2011-3374"].summary is not None and by_id["CVE-2011-3374"].summary.startswith(
        "It was found that apt-key in apt"
    )
    assert source.stats.records == 97 and source.stats.skipped == {}


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ({"status": "resolved", "fixed_version": "0", "urgency": "unimportant"}, ("not-affected", None, NEG, "unimportant")),
        ({"status": "resolved", "fixed_version": "2.36-9+deb12u3", "urgency": "high"}, ("fixed", "2.36-9+deb12u3", "HIGH", "high")),
        ({"status": "open", "urgency": "medium**"}, ("open", None, "MEDIUM", "medium**")),
        ({"status": "open", "urgency": "low*"}, ("open", None, "LOW", "low*")),
        ({"status": "open", "urgency": "not yet assigned"}, ("open", None, None, "not yet assigned")),
        ({"status": "open"}, ("open", None, None, None)),
        ({"status": "undetermined", "urgency": "high"}, ("open", None, "HIGH", "high")),
        ({"status": "open", "urgency": "end-of-life"}, ("end-of-life", None, None, "end-of-life")),
        ({"status": "open", "urgency": "unimportant", "nodsa": "Minor issue", "nodsa_reason": "ignored"},
         ("unimportant", None, NEG, "unimportant; ignored: Minor issue")),
        ({"status": "open", "urgency": "low", "nodsa": "", "nodsa_reason": ""}, ("no-dsa", None, "LOW", "low; no-dsa")),
    ],
)  # fmt: skip
def test_classify_release(
    release: dict[str, Any], expected: tuple[str, str | None, str | None, str | None]
) -> None:
    assert classify_release(release) == expected


# A tracker document written by hand in the upstream shape: several releases per id, a package name with
# a dot, an entry the tracker could not classify (kept out, counted) and a malformed one.
MULTI_RELEASE = {
    "python3.11": {
        "CVE-2024-0450": {
            "description": "zipfile quoted-overlap",
            "scope": "local",
            "releases": {
                "bookworm": {"status": "resolved", "fixed_version": "3.11.2-6+deb12u2", "urgency": "not yet assigned", "repositories": {"bookworm": "3.11.2-6+deb12u6"}},
                "bullseye": {"status": "open", "urgency": "end-of-life", "repositories": {}},
                "sid": {"status": "resolved", "fixed_version": "0", "urgency": "not yet assigned", "repositories": {}},
                "trixie": {"status": "resolved", "fixed_version": "3.11.8-1", "urgency": "low**", "repositories": {}},
                "forky": {"status": "weird", "urgency": "low"},
            },
        },
        "CVE-2099-0001": "not an object",
    },
}  # fmt: skip


def test_every_release_gets_its_namespace(tmp_path: Path) -> None:
    path = tmp_path / "tracker.json"
    path.write_text(json.dumps(MULTI_RELEASE))
    source = DebianTrackerSource()
    rows = sorted((r for b in source.parse([path]) for r in b.affected), key=lambda r: r.namespace)
    assert [(r.namespace, r.package, r.status, r.fixed_version, r.severity) for r in rows] == [
        ("debian:bookworm", "python3.11", "fixed", "3.11.2-6+deb12u2", None),
        ("debian:bullseye", "python3.11", "end-of-life", None, None),
        ("debian:sid", "python3.11", "not-affected", None, None),
        ("debian:trixie", "python3.11", "fixed", "3.11.8-1", "LOW"),
    ]
    assert rows[-1].severity_note == "low**"
    assert source.stats.skipped == {"unknown release verdict": 1, "malformed entry": 1}


def test_truncated_tracker_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.truncate(TRACKER_PATH, keep=20000)
    with pytest.raises(FeedError) as info:
        fetch_and_parse(feed_server, tmp_path)
    message = str(info.value)
    assert "debian-tracker.json" in message and "not valid JSON (truncated or corrupt?)" in message
    assert "\n" not in message


def test_non_json_tracker_is_a_feed_error(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.garbage(TRACKER_PATH)
    with pytest.raises(FeedError, match="not valid JSON"):
        fetch_and_parse(feed_server, tmp_path)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[1, 2, 3]", "expected an object of source packages"),
        (b'{"a": {}} {"b": {}}', "not valid JSON"),
        (b'{"a": {"CVE-1": ' + b"[" * 40 + b"]" * 40 + b"}}", "nested deeper than"),
    ],
)
def test_tracker_of_the_wrong_shape_is_a_feed_error(tmp_path: Path, body: bytes, reason: str) -> None:
    path = tmp_path / "json"
    path.write_bytes(body)
    with pytest.raises(FeedError, match=reason):
        list(DebianTrackerSource().parse([path]))


def write_tracker(path: Path, ids: int, packages: tuple[str, ...] = ("linux", "glibc")) -> None:
    """A tracker JSON in the upstream shape with ``ids`` package/id entries of 4 releases each."""
    releases = ("bullseye", "bookworm", "trixie", "sid")
    with path.open("w", encoding="utf-8") as out:
        out.write("{")
        per_package = ids // len(packages)
        for p, package in enumerate(packages):
            out.write(("," if p else "") + json.dumps(package) + ":{")
            for i in range(per_package):
                entry = {
                    "description": f"issue {i} of {package}, generated for the memory test",
                    "releases": {
                        release: (
                            {"status": "resolved", "fixed_version": f"1.{i}-{k}", "urgency": "low"}
                            if (i + k) % 3 == 0
                            else {"status": "open", "urgency": "not yet assigned", "nodsa": "Minor issue"}
                        )
                        for k, release in enumerate(releases)
                    },
                }
                out.write(("," if i else "") + json.dumps(f"CVE-2024-{p}{i:06d}") + ":" + json.dumps(entry))
            out.write("}")
        out.write("}")


def test_streaming_keeps_memory_bounded(tmp_path: Path) -> None:
    """200,000 package/id/release entries (50,000 ids x 4 releases), most of them in one package.

    Built whole (json.load) this would take well over 100 MB; streamed, the peak of Python allocations
    stays at a few MB: one entry at a time plus one batch, plus the set of ids seen (for one description
    per id).
    """
    path = tmp_path / "json"
    write_tracker(path, 50_000, ("linux", "glibc"))
    assert path.stat().st_size > 20_000_000
    source = DebianTrackerSource()
    rows = vulns = 0
    tracemalloc.start()
    try:
        for batch in source.parse([path]):
            rows += len(batch.affected)
            vulns += len(batch.vulnerabilities)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 200_000 and vulns == 50_000
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
