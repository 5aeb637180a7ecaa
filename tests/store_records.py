"""Advisory records hand-copied from the corpus feeds, a fake ``Source`` serving them, and a runner that
performs an update in a separate process (for the crash and lock tests).

Where each record comes from (``../shared/corpus/advisories/feeds``):

- alpine: ``secdb.alpinelinux.org/v3.20/main.json``, packages ``zlib`` and ``openssl`` (``secfixes``
  key = first fixed version, ``0`` = never affected).
- debian: ``security-tracker.debian.org/tracker/data/json``, ``zlib`` and ``openssl`` for ``bookworm``.
- osv: ``osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip``, ``PYSEC-2021-66`` (jinja2).
- nvd: ``services.nvd.nist.gov/rest/json/cves/2.0/all.json``, ``CVE-2020-28493``, ``CVE-2022-37434``.

``records(1)`` is the "old" state of every feed and ``records(2)`` the "new" one: version 2 adds a record
to every feed, so a test can tell the two databases apart.

Run as ``python -m tests.store_records DB [--version N] [--kill-at STEP[:NTH]] ...`` from the repository
root: see ``main``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alpinist.advisories.model import Affected, CvssScore, VersionRange, Vulnerability
from alpinist.advisories.sources import FeedBatch
from alpinist.errors import FeedError

SOURCE_ORDER = ("alpine", "debian", "osv", "nvd")


def _alpine(vuln: str, package: str, fixed: str) -> Affected:
    if fixed == "0":
        return Affected(vuln, "alpine", "alpine:3.20", package, "not-affected")
    return Affected(vuln, "alpine", "alpine:3.20", package, "fixed", fixed_version=fixed)


ALPINE_V1 = [
    # zlib: "0": [CVE-2023-45853, CVE-2023-6992], "1.2.11-r4": [CVE-2018-25032], "1.2.12-r2": [CVE-2022-37434]
    _alpine("CVE-2023-45853", "zlib", "0"),
    _alpine("CVE-2023-6992", "zlib", "0"),
    _alpine("CVE-2018-25032", "zlib", "1.2.11-r4"),
    _alpine("CVE-2022-37434", "zlib", "1.2.12-r2"),
    # openssl: "0": [..., CVE-2023-4807], "3.1.4-r0": [CVE-2023-5363], "3.3.1-r1": [CVE-2024-5535]
    _alpine("CVE-2023-4807", "openssl", "0"),
    _alpine("CVE-2023-5363", "openssl", "3.1.4-r0"),
    _alpine("CVE-2024-5535", "openssl", "3.3.1-r1"),
]
# openssl "3.3.2-r0": [CVE-2024-6119]
ALPINE_V2_EXTRA = [_alpine("CVE-2024-6119", "openssl", "3.3.2-r0")]

DEBIAN_V1 = [
    Affected(
        "CVE-2022-37434", "debian", "debian:bookworm", "zlib", "fixed", fixed_version="1:1.2.11.dfsg-4.1",
        severity_note="not yet assigned",
    ),
    Affected(
        "CVE-2023-45853", "debian", "debian:bookworm", "zlib", "ignored",
        severity_note="contrib/minizip not built and producing binary packages",
    ),
    Affected(
        "CVE-2023-5363", "debian", "debian:bookworm", "openssl", "fixed", fixed_version="3.0.11-1~deb12u2",
        severity_note="not yet assigned",
    ),
]  # fmt: skip
DEBIAN_V2_EXTRA = [
    Affected(
        "CVE-2024-4603", "debian", "debian:bookworm", "openssl", "postponed",
        severity_note="Minor issue, fix along with next update round",
    ),
]  # fmt: skip
DEBIAN_VULNS = [
    Vulnerability(
        "CVE-2022-37434", summary="zlib through 1.2.12 has a heap-based buffer over-read or buffer overfl ..."
    ),
    Vulnerability(
        "CVE-2023-45853", summary="MiniZip in zlib through 1.3 has an integer overflow and resultant heap ..."
    ),
    Vulnerability(
        "CVE-2023-5363", summary="Issue summary: A bug has been identified in the processing of key and  ..."
    ),
]
DEBIAN_V2_VULNS = [
    Vulnerability(
        "CVE-2024-4603", summary="Issue summary: Checking excessively long DSA keys or parameters may be ..."
    )
]

PYSEC_2021_66 = Vulnerability(
    "PYSEC-2021-66",
    aliases=("CVE-2020-28493", "SNYK-PYTHON-JINJA2-1012994", "GHSA-g3rq-g295-4j3m"),
    summary="This affects the package jinja2 from 0.0.0 and before 2.11.3. The ReDoS vulnerability is mainly due "
    "to the `_punctuation_re regex` operator and its use of multiple wildcards. The last wildcard is the most "
    "exploitable as it searches for trailing punctuation. This issue can be mitigated by Markdown to format "
    "user content instead of the urlize filter, or by implementing request timeouts and limiting process memory.",
    published="2021-02-01T20:15:00Z",
    modified="2021-03-22T16:34:00Z",
    references=(
        "https://github.com/pallets/jinja/blob/ab81fd9c277900c85da0c322a2ff9d68a235b2e6/src/jinja2/utils.py%23L20",
        "https://github.com/pallets/jinja/pull/1343",
        "https://snyk.io/vuln/SNYK-PYTHON-JINJA2-1012994",
        "https://lists.fedoraproject.org/archives/list/package-announce@lists.fedoraproject.org/message/"
        "PVAKCOO7VBVUBM3Q6CBBTPBFNP5NDXF4/",
        "https://github.com/advisories/GHSA-g3rq-g295-4j3m",
    ),
)
JINJA2_VERSIONS = (
    "2.0rc1", "2.0", "2.1", "2.1.1", "2.2", "2.2.1", "2.3", "2.3.1", "2.4", "2.4.1", "2.5", "2.5.1", "2.5.2",
    "2.5.3", "2.5.4", "2.5.5", "2.6", "2.7", "2.7.1", "2.7.2", "2.7.3", "2.8", "2.8.1", "2.9", "2.9.1", "2.9.2",
    "2.9.3", "2.9.4", "2.9.5", "2.9.6", "2.10", "2.10.1", "2.10.2", "2.10.3", "2.11.0", "2.11.1", "2.11.2",
)  # fmt: skip
OSV_V1_AFFECTED = [
    Affected(
        "PYSEC-2021-66", "osv", "pypi", "jinja2", "fixed", fixed_version="2.11.3",
        ranges=(VersionRange(start="0", end="2.11.3"),), versions=JINJA2_VERSIONS,
    )
]  # fmt: skip
# PYSEC-2014-8: jinja2 introduced 0, fixed 2.7.2 (its references and "versions" list left out)
PYSEC_2014_8 = Vulnerability(
    "PYSEC-2014-8",
    aliases=("CVE-2014-1402", "GHSA-8r7q-cvjq-x353"),
    summary="The default configuration for bccache.FileSystemBytecodeCache in Jinja2 before 2.7.2 does not "
    "properly create temporary files, which allows local users to gain privileges via a crafted .cache file "
    "with a name starting with __jinja2_ in /tmp.",
    published="2014-05-19T14:55:00Z",
    modified="2021-07-05T00:01:22.043149Z",
)
OSV_V2_EXTRA = [
    Affected(
        "PYSEC-2014-8", "osv", "pypi", "jinja2", "fixed", fixed_version="2.7.2",
        ranges=(VersionRange(start="0", end="2.7.2"),),
    )
]  # fmt: skip

CVE_2020_28493 = Vulnerability(
    "CVE-2020-28493",
    modified="2023-11-07T03:21:22.577",
    cvss=(
        CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, "MEDIUM", "nvd@nist.gov", True),
        CvssScore(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, "MEDIUM", "report@snyk.io", False
        ),
        CvssScore("2.0", "AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0, "MEDIUM", "nvd@nist.gov", True),
    ),
)
CVE_2022_37434 = Vulnerability(
    "CVE-2022-37434",
    modified="2023-07-19T00:56:46.373",
    cvss=(
        CvssScore(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "nvd@nist.gov", True
        ),
    ),
)
# CVE-2024-3094 (xz): v3.1 10.0 by nvd@nist.gov (primary) and secalert@redhat.com (secondary)
CVE_2024_3094 = Vulnerability(
    "CVE-2024-3094",
    modified="2024-05-01T17:15:37.493",
    cvss=(
        CvssScore(
            "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CRITICAL", "nvd@nist.gov", True
        ),
        CvssScore(
            "3.1",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            10.0,
            "CRITICAL",
            "secalert@redhat.com",
            False,
        ),
    ),
)


def _chunks(items: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def batches(name: str, version: int) -> list[FeedBatch]:
    """The records of one feed at one version, in batches of two rows (so that a kill can land mid-source)."""
    if name == "alpine":
        rows = ALPINE_V1 + (ALPINE_V2_EXTRA if version >= 2 else [])
        return [FeedBatch(affected=chunk) for chunk in _chunks(rows, 2)]
    if name == "debian":
        rows = DEBIAN_V1 + (DEBIAN_V2_EXTRA if version >= 2 else [])
        vulns = DEBIAN_VULNS + (DEBIAN_V2_VULNS if version >= 2 else [])
        return [
            FeedBatch(affected=a, vulnerabilities=v)
            for a, v in zip(_chunks(rows, 2), _chunks(vulns, 2), strict=True)
        ]
    if name == "osv":
        out = [FeedBatch(affected=tuple(OSV_V1_AFFECTED), vulnerabilities=(PYSEC_2021_66,))]
        if version >= 2:
            out.append(FeedBatch(affected=tuple(OSV_V2_EXTRA), vulnerabilities=(PYSEC_2014_8,)))
        return out
    if name == "nvd":
        vulns = [CVE_2020_28493, CVE_2022_37434] + ([CVE_2024_3094] if version >= 2 else [])
        return [FeedBatch(vulnerabilities=chunk) for chunk in _chunks(vulns, 2)]
    raise KeyError(name)


@dataclass
class FakeSource:
    """A feed whose records are given: ``fetch`` writes one small file, ``parse`` yields the batches
    (and raises FeedError before batch ``fail_at`` when set, like a truncated upstream file)."""

    name: str
    feed: list[FeedBatch]
    fail_at: int | None = None
    incremental: bool | None = None  # None: as the real feed of that name is (nvd is incremental)
    seen_since: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.incremental is None:
            self.incremental = self.name == "nvd"

    def fetch(self, fetcher: Any, workdir: Path, since: str | None) -> list[Path]:
        self.seen_since.append(since)
        path = workdir / f"{self.name}.json"
        path.write_text(json.dumps({"batches": len(self.feed)}), encoding="utf-8")
        return [path]

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        assert len(files) == 1 and files[0].is_file()
        for index, batch in enumerate(self.feed):
            if index == self.fail_at:
                raise FeedError(str(files[0]), "truncated JSON: unexpected end of data at byte 4096")
            yield batch

    def feed_urls(self) -> list[str]:
        return [f"https://feeds.invalid/{self.name}.json"]


def sources(version: int, **overrides: dict[str, Any]) -> dict[str, FakeSource]:
    out = {}
    for name in SOURCE_ORDER:
        extra = overrides.get(name, {})
        out[name] = FakeSource(name, batches(name, version), **extra)
    return out


# --------------------------------------------------------------------------- a separate process


def _append(log: Path, line: str) -> None:
    with log.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run one update of the fake feeds: the crash and lock tests drive this in a subprocess.

    ``--kill-at STEP[:NTH]`` SIGKILLs the process at the NTH time (default 1st) the update reaches STEP;
    ``--log FILE`` appends "TAG STEP" for every step reached; ``--pause-at STEP --go FILE`` waits at STEP
    until FILE exists.
    """
    from alpinist.advisories import update as update_module
    from alpinist.errors import AlpinistError

    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--version", type=int, default=2)
    parser.add_argument("--only", action="append")
    parser.add_argument("--kill-at")
    parser.add_argument("--log", type=Path)
    parser.add_argument("--tag", default="update")
    parser.add_argument("--pause-at")
    parser.add_argument("--go", type=Path)
    parser.add_argument("--lock-timeout", type=float)
    args = parser.parse_args(argv)

    kill_step, _, nth = (args.kill_at or "").partition(":")
    seen: dict[str, int] = {}

    def checkpoint(step: str) -> None:
        seen[step] = seen.get(step, 0) + 1
        if args.log is not None:
            _append(args.log, f"{args.tag} {step}")
        if step == kill_step and seen[step] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
        if step == args.pause_at and args.go is not None:
            while not args.go.exists():
                time.sleep(0.01)

    update_module._checkpoint = checkpoint
    try:
        update_module.update(args.db, sources(args.version), None, args.only, lock_timeout=args.lock_timeout)
    except AlpinistError as exc:
        print(f"alpinist: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
