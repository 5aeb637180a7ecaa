"""The corpus is pinned: ``tests/corpus.sha256`` lists the sha256 of every file of ``../shared/corpus`` the
tests read (all of them: 3,241 files, about 200 MB, hashed in well under a second or two).

``tests/conftest.py`` checks it at session start (the controller only, not each xdist worker) and stops
the session with one line naming the first changed, missing or added file, instead of dozens of
unrelated failures. After a deliberate corpus change (like the round that enlarged the NVD feed), update
the tests from the records, then the manifest::

    python -m tests.corpus_pin --write
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent / "corpus.sha256"


def digests(corpus: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every regular file below ``corpus`` (links are not followed)."""
    out: dict[str, str] = {}
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            out[path.relative_to(corpus).as_posix()] = digest.hexdigest()
    return out


def read_manifest(path: Path = MANIFEST) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            digest, _, name = line.partition("  ")
            pins[name] = digest
    return pins


def check(corpus: Path, manifest: Path = MANIFEST) -> str | None:
    """None when the corpus is the pinned one, else one line saying which file differs (and how many)."""
    pins = read_manifest(manifest)
    found = digests(corpus)
    changed = sorted(n for n in pins.keys() & found.keys() if pins[n] != found[n])
    missing = sorted(pins.keys() - found.keys())
    added = sorted(found.keys() - pins.keys())
    problems = [*(f"changed: {n}" for n in changed), *(f"missing: {n}" for n in missing)]
    problems += [f"added: {n}" for n in added]
    if not problems:
        return None
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (
        f"the corpus at {corpus} is not the one the tests are pinned to ({manifest.name}): "
        f"{problems[0]}{more}; update the tests from the records, then `python -m tests.corpus_pin --write`"
    )


def write(corpus: Path, manifest: Path = MANIFEST) -> int:
    found = digests(corpus)
    lines = ["# sha256 of every file of ../shared/corpus the tests read (python -m tests.corpus_pin --write)"]
    lines += [f"{digest}  {name}" for name, digest in found.items()]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(found)


if __name__ == "__main__":
    from tests.conftest import CORPUS

    if sys.argv[1:] == ["--write"]:
        print(f"{write(CORPUS)} files pinned in {MANIFEST}")
    else:
        print(check(CORPUS) or "the corpus is the pinned one")
