"""Count the apt packages that Debian/Ubuntu-based Python service Dockerfiles install.

Usage: ``python bench/apt_frequency.py DIR [--out docs/data/apt-frequency.tsv] [--header FILE]``, and
``python bench/apt_frequency.py --write-docs`` to regenerate the apt → apk table and the coverage figures of
``docs/migrate.md`` from ``src/alpinist/dockerfile/data/apt_to_apk.tsv`` and ``docs/data/apt-frequency.tsv``
(no network, no index: ``tests/test_apt_to_apk_table.py`` checks the committed docs equal that output).

``DIR`` holds one Dockerfile per file (the Dockerfiles themselves are third-party text and are not part
of this repository; the file name is the source: ``id12345`` for a file of the public-code index read
by its id, ``owner__repo__path`` for a file read by repository and path). Each file is read with
alpinist's own Dockerfile reader (:func:`alpinist.dockerfile.parse.parse_dockerfile` and
:func:`alpinist.dockerfile.shell.package_operations`, as ``alpinist migrate`` reads them), so line
continuations, ``&&``/``;``, ``sudo``/``env`` wrappers, options (``-y``, ``--no-install-recommends``)
and ``$VARIABLES`` set by ``ARG``/``ENV`` are handled the same way.

A file is kept when it parses, one of its stages is a Python image that is not Alpine-based
(``python:3.12-slim``, ``python:3.11``, ``…/python3-debian12``) or it installs a Python package from apt
(``python3``, ``python3-pip``, ``python3.10``), and its final stage is not Alpine-based. A package
counts once per Dockerfile, whichever stage installs it and however often. Words that are not apt
package names (``./google-chrome.deb``, an unset ``$VAR``) are not counted.

Writes the TSV (name, dockerfiles, first sources) sorted by count then name; the header comment is the
text of ``--header`` (how the files were gathered) followed by the counts this script computed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from alpinist.dockerfile.apt_to_apk import coverage, markdown_table, split_apt_pin
from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.model import Dockerfile, DockerfileError, ImageName
from alpinist.dockerfile.parse import parse_dockerfile
from alpinist.dockerfile.shell import package_operations

_APT_PYTHON = re.compile(r"^python3?(\.\d+)?(-pip|-dev|-venv)?$")


def _alpine(image: ImageName) -> bool:
    return image.name == "alpine" or "alpine" in (image.tag or "")


def _python_image(image: ImageName) -> bool:
    return not _alpine(image) and (image.name in ("python", "python3") or "python" in (image.tag or ""))


def apt_names(df: Dockerfile) -> list[str]:
    """The apt package names the Dockerfile installs, first-seen order, once each."""
    out: dict[str, None] = {}
    for stage in df.stages:
        for ins in stage.runs:
            for op in package_operations(ins):
                if op.manager != "apt" or op.action != "install":
                    continue
                for word in op.packages:
                    value = expand_word(word, stage.env).value if "$" in word else word
                    for piece in value.split():
                        try:
                            name, _ = split_apt_pin(piece)
                        except ValueError:
                            continue
                        out[name] = None
    return list(out)


def classify(text: str, source: str) -> tuple[str, list[str]]:
    """(``kept`` or why not, apt names) for one Dockerfile."""
    try:
        df = parse_dockerfile(text, source)
    except DockerfileError:
        return "not a Dockerfile", []
    roots = [df.root_base(stage) for stage in df.stages]
    if _alpine(roots[-1]):
        return "final stage on Alpine", []
    names = apt_names(df)
    if not any(_python_image(r) for r in roots) and not any(_APT_PYTHON.match(n) for n in names):
        return "no Python", []
    return "kept", names


REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "migrate.md"
FREQUENCY = REPO / "docs" / "data" / "apt-frequency.tsv"
SECTION = "## The apt → apk table"


def read_frequency(path: Path = FREQUENCY) -> tuple[dict[str, int], dict[str, int]]:
    """``({name: dockerfiles}, {"files": n, "kept": n, "with_apt": n})`` of a frequency TSV."""
    counts: dict[str, int] = {}
    meta: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(
            r"# files read: (\d+); kept [^:]*: (\d+); of them installing apt packages: (\d+)", line
        )
        if found:
            meta = dict(zip(("files", "kept", "with_apt"), map(int, found.groups()), strict=True))
        if line.startswith("#") or line.startswith("name\t"):
            continue
        name, n, *_ = line.split("\t")
        counts[name] = int(n)
    return counts, meta


def docs_text(current: str) -> str:
    """``docs/migrate.md`` with the apt → apk section's table and coverage figures regenerated."""
    counts, meta = read_frequency()
    cov = coverage(counts)
    lines = current.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == SECTION)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    section = "".join(lines[start:end])
    table_at = section.index("| apt | builder (apk) |")
    table_end = section.index("\n\n", table_at) + 1
    section = section[:table_at] + markdown_table() + section[table_end:]
    section = re.sub(r"(?<=installed by )\d+(?= Debian/Ubuntu-based)", str(meta["kept"]), section)
    section = re.sub(r"\(\d+(?= of them install apt packages\))", f"({meta['with_apt']}", section)
    section = re.sub(r"(?<=so all are counted: )[^.]*(?=\.)", cov.sentence(), section)
    section = re.sub(
        r"(?<=weighted by use \(a name counts once per Dockerfile that installs it\): )[^.]*\.\d[^.]*(?=\.)",
        cov.weighted(),
        section,
    )
    return "".join(lines[:start]) + section + "".join(lines[end:])


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--write-docs"]:
        DOCS.write_text(docs_text(DOCS.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"{DOCS}: apt → apk table and coverage regenerated")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/data/apt-frequency.tsv"))
    ap.add_argument("--header", type=Path, help="text for the TSV's header comment (how it was gathered)")
    ap.add_argument("--sources", type=int, default=3, help="sources listed per package (default 3)")
    args = ap.parse_args(argv)

    counts: Counter[str] = Counter()
    first: dict[str, list[str]] = {}
    verdicts: Counter[str] = Counter()
    with_apt = 0
    for path in sorted(args.directory.iterdir()):
        verdict, names = classify(path.read_text(encoding="utf-8"), path.name)
        verdicts[verdict] += 1
        if verdict != "kept":
            continue
        with_apt += bool(names)
        for name in names:
            counts[name] += 1
            first.setdefault(name, [])
            if len(first[name]) < args.sources:
                first[name].append(path.name.replace("__", "/"))

    kept = verdicts["kept"]
    lines = [f"# {line}".rstrip() for line in (args.header.read_text().splitlines() if args.header else [])]
    lines += [
        f"# files read: {sum(verdicts.values())}; kept (Debian/Ubuntu-based Python Dockerfiles): {kept};"
        f" of them installing apt packages: {with_apt}; distinct apt names: {len(counts)}",
        *(f"# left out, {why}: {n}" for why, n in sorted(verdicts.items()) if why != "kept"),
        "name\tdockerfiles\tsources",
    ]
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"{name}\t{n}\t{' '.join(first[name])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{kept} Dockerfiles kept, {with_apt} with apt installs, {len(counts)} names → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
