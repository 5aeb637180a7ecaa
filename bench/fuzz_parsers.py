"""A longer fuzzing run of the image-side parsers: the targets of ``tests/test_fuzz_parsers.py``.

    PYTHONPATH=src python bench/fuzz_parsers.py [--examples N] [-k EXPR]

Runs every fuzz target with ``N`` random examples each (default 5000; the test command runs 150,
derandomized) and fresh randomness on every run, then prints pytest's summary (one line per failing
target, with hypothesis' shrunk example). Exit 0 when nothing but the documented ``AlpinistError``
types escaped. About 100 s for 1,500 examples per target on 2 cores (one process), so about
5 to 6 minutes for the default.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per fuzz target")
    parser.add_argument("-k", default=None, help="run only the targets matching this pytest -k expression")
    args = parser.parse_args()
    os.environ["ALPINIST_FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["ALPINIST_FUZZ_RANDOM"] = "1"
    import pytest

    argv = [str(REPO / "tests" / "test_fuzz_parsers.py"), "-q", "-p", "no:cacheprovider", "--durations=0"]
    argv += ["--hypothesis-show-statistics"]
    if args.k:
        argv += ["-k", args.k]
    return int(pytest.main(argv))


if __name__ == "__main__":
    sys.exit(main())
