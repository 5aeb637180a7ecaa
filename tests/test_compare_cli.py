# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""``alpinist compare`` as a user runs it: formats, ``-o``, exit codes (0, 1 with the report still written,
64), the options shared with ``scan``, the first run that builds the database through the loopback mirror.

Database: built once per session from the corpus feeds by the real update code (``tests/scan_fixtures.py``).
The numbers themselves are checked in ``test_compare_corpus.py``; here, what the command line adds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest

from alpinist.cli.app import app, main
from alpinist.cli.compare import compare
from alpinist.cli.options import database_options, image_options, policy_options
from alpinist.cli.scan import scan
from tests.conftest import oci_ref
from tests.feed_server import FeedServer
from tests.scan_fixtures import scan_db  # noqa: F401  (fixture)
from tests.test_compare_corpus import broken_alpine_layout

DEBIAN_APP = oci_ref("python-app:debian")
ALPINE_APP = oci_ref("python-app:alpine")
ALPINE = oci_ref("alpine:3.20.3")


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    for command in (scan, compare):  # until cli.py registers the verbs itself
        if command.name not in app.commands:
            app.add_command(command)
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    monkeypatch.delenv("ALPINIST_DB", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def test_markdown_to_stdout(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    code, out, err = run(
        capsys,
        "compare",
        DEBIAN_APP,
        ALPINE_APP,
        "--labels",
        "before,after",
        "--db",
        str(scan_db),
        "-f",
        "markdown",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "### alpinist compare: before · after"
    # tests/expected_findings: 158 findings before; after, the 56 apk rows of Alpine 3.20.3 and 19 CPython rows
    assert "| **Vulnerabilities** | 158 | 75 (-83) | after |" in lines
    # the corpus NVD file has CPE configurations and CNA ranges: CPython is matched, no warning
    assert "WARNING" not in err


def test_table_to_a_pipe(capsys: pytest.CaptureFixture[str], scan_db: Path) -> None:
    code, out, err = run(capsys, "compare", DEBIAN_APP, ALPINE_APP, "--db", str(scan_db))
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header == ["python-app:debian", "python-app:alpine", "Better"]  # default labels: the names
    vulns = next(line for line in out.splitlines() if line.startswith("Vulnerabilities"))
    assert vulns.split() == ["Vulnerabilities", "158", "75", "(-83)", "python-app:alpine"]
    assert "CVE diff: python-app:alpine vs python-app:debian: removes 81 ids in 32 packages" in out


@pytest.mark.parametrize("fmt", ["json", "html", "markdown", "table"])
def test_every_format_to_a_file(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"report.{fmt}"
    code, out, err = run(
        capsys, "compare", ALPINE, ALPINE_APP, "--db", str(scan_db), "-f", fmt, "-o", str(target)
    )
    assert code == 0 and out == "", err
    text = target.read_text(encoding="utf-8")
    if fmt == "json":
        doc = json.loads(text)
        assert doc["schema"] == "alpinist-compare/1"
        assert [i["label"] for i in doc["images"]] == ["alpine:3.20.3", "python-app:alpine"]
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>")
        assert "<svg" in text and "<script" not in text.lower()
    elif fmt == "markdown":
        assert text.startswith("### alpinist compare: alpine:3.20.3 · python-app:alpine")
    else:
        assert "Vulnerabilities" in text and "CVE diff:" in text


def test_an_unreadable_image_exits_1_with_the_report_written(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    bad, digest = broken_alpine_layout(tmp_path / "broken")
    code, out, err = run(
        capsys,
        "compare",
        DEBIAN_APP,
        bad,
        ALPINE_APP,
        "--labels",
        "before,bad,after",
        "--db",
        str(scan_db),
        "-f",
        "json",
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["images"][1]["error"].startswith(f"blob {digest}: ")
    assert [i["error"] for i in (doc["images"][0], doc["images"][2])] == [None, None]
    assert doc["images"][2]["vulnerabilities"] == 75
    assert doc["errors"] == [f"bad: {doc['images'][1]['error']}"]
    assert re.search(rf"^alpinist: error: bad: blob {digest}: ", err, re.MULTILINE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([ALPINE], "at least two images"),
        ([ALPINE, ALPINE_APP, "--labels", "a,b,c"], "3 labels for 2 images"),
        ([ALPINE, ALPINE_APP, "--labels", "a,a"], "its own label"),
        ([ALPINE, ALPINE_APP, "-f", "sarif"], "sarif"),
        ([ALPINE, "docker.io/library/alpine:3.20", "--offline"], "registry reference"),
        ([ALPINE, ALPINE_APP, "--base", "alpine:3.20", "--offline"], "registry reference"),
    ],
)
def test_usage_errors_exit_64(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "compare", *args, "--db", str(tmp_path / "none.db"))
    assert code == 64 and out == ""
    assert message in err
    assert not (tmp_path / "none.db").exists()


def test_no_image_at_all_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "compare")
    assert code == 64 and "IMAGE" in err


def test_offline_without_a_database_is_error_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys, "compare", ALPINE, ALPINE_APP, "--db", str(tmp_path / "none.db"), "--offline"
    )
    assert code == 1 and out == ""
    assert "advisory database does not exist, and --offline does not download it" in err


def test_the_first_compare_builds_the_database_through_the_mirror(
    capsys: pytest.CaptureFixture[str], feed_server: FeedServer, tmp_path: Path
) -> None:
    db = tmp_path / "fresh.db"
    code, out, err = run(
        capsys, "compare", ALPINE, ALPINE_APP, "--db", str(db), "--mirror", feed_server.url, "-f", "json"
    )
    assert code == 0, err
    assert db.exists() and f"downloading the feeds from {feed_server.url}" in err
    assert feed_server.requests_to("/secdb.alpinelinux.org/v3.20/main.json")
    assert [i["vulnerabilities"] for i in json.loads(out)["images"]] == [56, 75]


def _options(params: list[click.Parameter]) -> dict[str | None, dict[str, Any]]:
    """What a user sees of each option: flags, type, default, help, environment variable, callback.
    The generic ``ALPINIST_<VERB>_<OPTION>`` variables (cli.config) name the verb, so they are left out;
    an option's own variable (``ALPINIST_DB``) is compared."""
    return {
        p.name: {
            **p.to_info_dict(),
            "envvar": p.envvar if isinstance(p.envvar, str) else None,
            "callback": p.callback,
            "show_default": getattr(p, "show_default", None),
            "show_envvar": getattr(p, "show_envvar", None),
        }
        for p in params
    }


def test_the_options_are_scans_own(capsys: pytest.CaptureFixture[str]) -> None:
    """``compare`` applies the shared policy (without ``--fail-on``), database and image groups, as ``scan``
    does (with it): the same flags, defaults, help, environment variables and callbacks, in the same order."""

    @click.command()
    @policy_options(fail_on=False)
    @database_options
    @image_options
    def shared() -> None: ...

    expected = _options(shared.params)
    assert list(expected) == [
        "only_fixed",
        "severities",
        "ignore_file",
        "vex_files",
        "offline",
        "max_db_age",
        "db_path",
        "mirror",
        "platform",
        "insecure",
        "registry_mirrors",
        "creds",
        "no_cache",
        "timeout",
    ]
    ours = _options(compare.params)
    theirs = _options(scan.params)
    for name, info in expected.items():
        assert ours[name] == info, name
        assert theirs[name] == info, name
    assert [n for n in ours if n in expected] == [n for n in theirs if n in expected] == list(expected)
    # everything scan offers except what belongs to one image (its argument, --fail-on, --exit-code) and
    # the findings table's --wide (compare has no findings table)
    assert set(theirs) - set(ours) == {"image", "fail_on", "exit_code", "wide"}
    code, out, _ = run(capsys, "compare", "--help")
    assert code == 0
    for flag in (
        "--db",
        "--offline",
        "--mirror",
        "--max-db-age",
        "--ignore-file",
        "--vex",
        "--labels",
        "--base",
    ):
        assert flag in out


def test_ignore_file_from_the_command_line(
    capsys: pytest.CaptureFixture[str], scan_db: Path, tmp_path: Path
) -> None:
    """secdb v3.20 busybox ``"1.36.1-r31": ["CVE-2024-58251", "CVE-2025-46394"]``: busybox, busybox-binsh and
    ssl_client (origin busybox, 1.36.1-r29) each have both: 6 findings out of 56 (alpine:3.20.3) and 75
    (python-app:alpine, with CPython's 19)."""
    rules = tmp_path / "ignore.yaml"
    rules.write_text(
        "- id: CVE-2024-58251\n  reason: test\n- id: CVE-2025-46394\n  reason: test\n", encoding="utf-8"
    )
    code, out, err = run(
        capsys, "compare", ALPINE, ALPINE_APP, "--db", str(scan_db), "-f", "json", "--ignore-file", str(rules)
    )
    assert code == 0, err
    images = json.loads(out)["images"]
    assert [(i["vulnerabilities"], i["suppressed"]) for i in images] == [(50, 6), (69, 6)]
