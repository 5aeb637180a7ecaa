# ruff: noqa: F811  (the session fixture imported from tests.scan_fixtures is a parameter here)
"""Every verb in every format on every corpus image and every test Dockerfile, byte for byte against goldens.

The goldens in ``tests/golden/`` were written by the code as it was before the redesign of issue 9 (commit
noted in ``tests/golden/README.md``), so a refactoring that changes what a user sees fails here. Volatile
parts are normalized on both sides before comparing (:func:`normalize`): timestamps, the tool version, UUIDs
of CycloneDX/SPDX documents, the temporary database path and the absolute path of the checkout.

To rewrite the goldens after an intended change of output: ``ALPINIST_WRITE_GOLDEN=1 pytest
tests/test_golden_outputs.py`` and review the diff like code.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from alpinist import __version__
from alpinist.cli.app import main
from tests.conftest import CORPUS, oci_ref
from tests.scan_fixtures import scan_db  # noqa: F401  (fixture)

GOLDEN = Path(__file__).parent / "golden"
REAL_REPO = Path(__file__).resolve().parents[1]
WRITE = os.environ.get("ALPINIST_WRITE_GOLDEN") == "1"
# Paths are printed (and tables wrap around them): every run reaches the checkout and the corpus through the
# same two links, so a clone in a longer or shorter folder prints the same bytes.
# a folder of a fixed length, not $TMPDIR: its length is part of the printed paths (tables wrap around
# them), so a TMPDIR or a user id of another length would change the bytes; /tmp is on every machine this
# runs on. One digit of the user id keeps two users' links apart in the common case.
LINKS = (
    Path("/tmp" if Path("/tmp").is_dir() else tempfile.gettempdir()) / f"alpinist-golden-{os.getuid() % 10}"
)
REPO = LINKS / "repo"
LINKED_CORPUS = LINKS / "corpus"


def _link(link: Path, target: Path) -> None:
    """``link`` -> ``target``, replaced atomically (several test workers may do this at once)."""
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    spare = link.with_name(f".{link.name}.{os.getpid()}")
    spare.unlink(missing_ok=True)
    spare.symlink_to(target.resolve())
    spare.replace(link)


_link(REPO, REAL_REPO)
_link(LINKED_CORPUS, CORPUS)


def linked_ref(tag: str) -> str:
    return oci_ref(tag).replace(str(CORPUS), str(LINKED_CORPUS))


IMAGES = ("alpine:3.20.3", "alpine:3.18.9", "debian:12-slim", "python-app:debian", "python-app:alpine")
DOCKERFILES = sorted(
    [*(REPO / "tests" / "dockerfiles").glob("*.Dockerfile"), *(REPO / "examples").glob("*/Dockerfile*")],
    key=str,
)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


CASES: list[tuple[str, list[str]]] = []
for _tag in IMAGES:
    for _fmt in ("table", "json", "cyclonedx", "spdx"):
        CASES.append((f"sbom/{_slug(_tag)}.{_fmt}", ["sbom", linked_ref(_tag), "-f", _fmt, "--no-cache"]))
    for _fmt in ("table", "json", "sarif", "cyclonedx", "markdown"):
        CASES.append(
            (f"scan/{_slug(_tag)}.{_fmt}", ["scan", linked_ref(_tag), "-f", _fmt, "@db", "--offline"])
        )
for _fmt in ("table", "markdown", "json", "html"):
    CASES.append(
        (
            f"compare/story.{_fmt}",
            [
                "compare",
                linked_ref("python-app:debian"),
                linked_ref("python-app:alpine"),
                linked_ref("alpine:3.20.3"),
                "--labels",
                "before,after,java",
                "--base",
                linked_ref("debian:12-slim"),
                "-f",
                _fmt,
                "@db",
                "--offline",
            ],
        )
    )
for _path in DOCKERFILES:
    _name = _slug(str(_path.relative_to(REPO)))
    for _fmt in ("table", "json", "sarif"):
        CASES.append((f"lint/{_name}.{_fmt}", ["lint", str(_path), "-f", _fmt]))
    for _fmt in ("text", "json"):
        CASES.append(
            (
                f"migrate/{_name}.{_fmt}",
                ["migrate", str(_path), "--offline", "--report-format", _fmt, "@report"],
            )
        )
CASES.append(("db/status.json", ["db", "status", "--format", "json", "@db"]))

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_AGE = re.compile(r"\b\d+ (?:s|min|h|d)\b")


def normalize(text: str, db: Path) -> str:
    text = text.replace(str(db), "<DB>").replace(str(db.parent), "<DBDIR>")
    text = text.replace(str(REPO), "<REPO>").replace(str(LINKED_CORPUS), "<CORPUS>")
    # a path printed resolved would make tables wrap differently in another checkout: make it visible
    text = text.replace(str(REAL_REPO), "<REAL-REPO>").replace(str(CORPUS.resolve()), "<REAL-CORPUS>")
    text = _TIMESTAMP.sub("<TIME>", text)
    text = _UUID.sub("<UUID>", text)
    text = text.replace(f"alpinist/{__version__}", "alpinist/<VERSION>")
    text = re.sub(rf'("version"\s*:\s*"){re.escape(__version__)}"', r'\1<VERSION>"', text)
    text = re.sub(r'("age_seconds"\s*:\s*)\d+', r"\1<AGE>", text)
    return _AGE.sub("<AGE>", text)


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out


@pytest.fixture(autouse=True)
def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    monkeypatch.delenv("ALPINIST_DB", raising=False)


@pytest.mark.parametrize(("name", "argv"), CASES, ids=[c[0] for c in CASES])
def test_output_is_unchanged(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path, name: str, argv: list[str]
) -> None:
    report = tmp_path / "report"
    # the session database through a link of a fixed length too (every worker's copy has the same records)
    db = LINKS / "db" / "advisories.db"
    _link(db.parent, scan_db.parent)
    args: list[str] = []
    for arg in argv:
        if arg == "@db":
            args += ["--db", str(db)]
        elif arg == "@report":
            args += ["--report", str(report), "-o", str(tmp_path / "Dockerfile.out")]
        else:
            args.append(arg)
    code, out = run(capsys, args)
    if argv[0] == "migrate":
        dockerfile = tmp_path / "Dockerfile.out"
        out = (dockerfile.read_text(encoding="utf-8") if dockerfile.exists() else "") + "\n--- report ---\n"
        out += report.read_text(encoding="utf-8") if report.exists() else ""
    got = f"exit {code}\n" + normalize(out.replace(str(scan_db), str(db)), db)
    path = GOLDEN / name
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden {path}: run with ALPINIST_WRITE_GOLDEN=1 once"
    assert got == path.read_text(encoding="utf-8")
