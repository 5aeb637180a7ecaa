"""A long fuzzing run of the feed parsers (issue 12): secdb, the Debian tracker, OSV, NVD and CNA blocks.

    PYTHONPATH=src python bench/fuzz_feeds.py                      # hypothesis, 5,000 examples per property
    PYTHONPATH=src python bench/fuzz_feeds.py --examples 20000
    PYTHONPATH=src python bench/fuzz_feeds.py --atheris 300        # coverage-guided, when atheris is installed

The hypothesis mode runs the properties of ``tests/test_fuzz_feeds.py`` (generated JSON, mutated corpus
records, damaged bytes) with a large budget, unseeded and without a deadline. The atheris mode
(``pip install atheris``: binary wheels on PyPI for CPython 3.11 on Linux x86-64) feeds raw bytes to the
same parsers, the first byte choosing which: only ``FeedError`` may escape; anything else stops the run
with the input saved by libFuzzer (``crash-*``).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_hypothesis(examples: int, workers: int) -> int:
    env = {**os.environ, "ALPINIST_FUZZ_EXAMPLES": str(examples), "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz_feeds.py"]
    if workers > 1:
        command += ["-n", str(workers)]
    print(f"hypothesis: {examples} examples per property", flush=True)
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def run_atheris(seconds: int) -> int:
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        print("atheris is not installed: pip install atheris (or run without --atheris)", file=sys.stderr)
        return 64
    with atheris.instrument_imports():
        from alpinist.advisories.feeds.alpine.secdb import AlpineSecdbSource
        from alpinist.advisories.feeds.debian.tracker import DebianTrackerSource
        from alpinist.advisories.feeds.nvd.api import NvdSource
        from alpinist.advisories.feeds.osv.records import OsvSource
    from alpinist.errors import FeedError

    logging.disable(logging.WARNING)  # the parsers' warnings about skipped records, by the thousand
    workdir = Path(tempfile.mkdtemp(prefix="alpinist-fuzz-"))
    parsers = [
        ("secdb.json", lambda: AlpineSecdbSource(["3.20"])),
        ("debian-tracker.json", DebianTrackerSource),
        ("nvd-000-00000.json", NvdSource),
        ("osv-PyPI.zip", OsvSource),
    ]

    def one_input(data: bytes) -> None:
        if not data:
            return
        name, make = parsers[data[0] % len(parsers)]
        path = workdir / name
        path.write_bytes(data[1:])
        try:
            for _ in make().parse([path]):
                pass
        except FeedError:
            pass

    seeds = _seeds(workdir / "seeds", len(parsers))
    args = [sys.argv[0], f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-max_len=65536", str(seeds)]
    atheris.Setup(args, one_input)
    atheris.Fuzz()
    return 0


def _seeds(directory: Path, count: int) -> Path:
    """A seed corpus from the corpus samples of the fuzz tests: one file per sample, its first byte choosing
    the parser (the order of ``parsers``)."""
    import io
    import json
    import zipfile

    sys.path.insert(0, str(REPO))
    from tests import test_fuzz_feeds as samples

    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, record in enumerate(samples.OSV_RECORDS[:4]):
            archive.writestr(f"REC-{number}.json", json.dumps(record))
    documents = [
        json.dumps(samples.SECDB).encode(),
        json.dumps(samples.TRACKER).encode(),
        json.dumps({"totalResults": 4, "vulnerabilities": samples.NVD_ITEMS[:4]}).encode(),
        buffer.getvalue(),
    ]
    for index, document in enumerate(documents[:count]):
        (directory / f"seed-{index}").write_bytes(bytes([index]) + document)
    return directory


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=5000, help="hypothesis examples per property")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (1: none)")
    parser.add_argument("--atheris", type=int, metavar="SECONDS", help="run atheris this long instead")
    args = parser.parse_args()
    if args.atheris:
        return run_atheris(args.atheris)
    return run_hypothesis(args.examples, args.workers)


if __name__ == "__main__":
    sys.exit(main())
