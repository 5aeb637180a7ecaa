"""Issue 14: the conventions a Trivy, Grype or hadolint user expects, one test per item.

Item 3 (database set-up messages), 5 (migrate refuses impossible targets), 6 (lint: instructions
without their argument), 7 (conventions of the command line) and 8 (pre-commit hook, completion).
Everything runs through the real CLI entry point; "no network" is a loopback port nobody listens on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from alpinist.cli.app import main
from tests.conftest import OCI_LAYOUT

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "dockerfiles"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def closed_loopback_port() -> int:
    """A loopback port nobody listens on: connecting is refused, as without network."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ------------------------------------------------------------------------------------------ item 3


def test_item3_database_setup_messages(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    missing = tmp_path / "nonexistent"
    # db update --mirror DIR that does not exist: one line naming it (was 12 warnings and a secdb error)
    code, out, err = run(["db", "update", "--db", str(tmp_path / "a.db"), "--mirror", str(missing)], capsys)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"alpinist: error: --mirror {missing}: no such directory (a directory mirror holds the feed files "
        "as HOST/PATH; an http(s) URL names a web mirror)"
    ]
    assert not (tmp_path / "a.db").exists()

    # a first scan without a database and without network: bounded retries, then what to do instead
    db = tmp_path / "b.db"
    mirror = f"http://127.0.0.1:{closed_loopback_port()}"
    image = f"oci:{OCI_LAYOUT}:alpine:3.20.3"
    code, out, err = run(["scan", "--db", str(db), "--mirror", mirror, image], capsys)
    assert code == 1 and out == ""
    last = err.splitlines()[-1]
    assert last.startswith(f"alpinist: error: no advisory database at {db}, and building it failed: ")
    assert "--mirror" in last and "alpinist db import FILE" in last
    # the retry warnings are log records (on stderr in a real run; which stream the CLI's handler holds
    # depends on what ran before in this worker, so they are counted where they are made)
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2  # FIRST_UPDATE_ATTEMPTS = 3: two retries, not four
    assert not db.exists()


# ------------------------------------------------------------------------------------------ item 5

PY311 = 'FROM python:3.11-slim\nHEALTHCHECK CMD curl -fsS http://localhost:8000/health || exit 1\nCMD ["python", "app.py"]\n'


def test_item5_migrate_refuses_impossible_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from alpinist.dockerfile.migrate import ALPINE_RELEASES

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(PY311)
    out_file = tmp_path / "Dockerfile.alpine"
    base = ["migrate", "--offline", str(dockerfile), "-o", str(out_file)]

    # Alpine 3.10 reached its end of life before Python 3.11 existed: refused, with the valid choices
    code, out, err = run([*base, "--to", "alpine:3.10"], capsys)
    assert code == 64 and out == "" and not out_file.exists()
    assert len(err.splitlines()) == 1
    assert "no python:3.11-alpine3.10 image exists" in err
    assert "reached its end of life on 2021-05-01" in err
    choices = err.split("for Python 3.11 choose ")[1].strip().split(", ")
    assert "alpine:3.22" in choices and "alpine:3.10" not in choices  # supported ones (date-dependent)
    # a release alpinist does not know is refused with the list
    code, _, err = run([*base, "--to", "alpine:3.99"], capsys)
    assert code == 64 and "Alpine 3.99 is not a release alpinist knows" in err and "alpine:3.22" in err

    # the table: each release's python3 and python image range; 3.11 exists on 3.15 … 3.23, not 3.10
    table = {r.release: r for r in ALPINE_RELEASES}
    assert table["3.22"].python3 == "3.12" and not table["3.10"].has_python_image("3.11")
    assert next(r.release for r in ALPINE_RELEASES if r.has_python_image("3.11")) == "3.15"

    # a patch release is explained, not silently dropped; the localhost rewrite is under "May break"
    code, _, err = run([*base, "--to", "alpine:3.22.99", "--report-format", "json"], capsys)
    assert code == 0
    report = json.loads(err)
    risks = [r["message"] for r in report["risks"]]
    assert any("not 3.22.99" in r and "alpine:3.22.99 is written as given" in r for r in risks)
    localhost = [r for r in report["risks"] if "127.0.0.1 instead of localhost" in r["message"]]
    assert len(localhost) == 1 and localhost[0]["line"] == 2
    assert "ALLOWED_HOSTS" in localhost[0]["message"]
    assert "FROM python:3.11-alpine3.22" in out_file.read_text()


# ------------------------------------------------------------------------------------------ item 6


def test_item6_lint_reports_instructions_without_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM python:3.12-slim\nENV\nHEALTHCHECK CMD\nUSER\nCMD ["python"]\n')
    code, out, _ = run(["lint", "-f", "json", str(dockerfile)], capsys)
    assert code == 0
    found = {(f["rule"], f["line"], f["severity"]) for f in json.loads(out)["findings"]}
    assert {("ALP024", 2, "error"), ("ALP024", 3, "error"), ("ALP024", 4, "error")} <= found
    # the empty USER no longer hides the root-user finding
    assert ("ALP001", 4, "error") in found
    code, _, _ = run(["lint", "--fail-on", "error", str(dockerfile)], capsys)
    assert code == 2


# ------------------------------------------------------------------------------------------ item 7


def test_item7_conventions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALPINIST_QUIET", raising=False)
    bad = tmp_path / "Dockerfile"
    bad.write_text('FROM python:3.12-slim\nUSER\nCMD ["python"]\n')

    # -o into a missing directory: one line naming it, before any work (was a raw [Errno 2])
    missing = tmp_path / "nodir" / "report.json"
    code, out, err = run(["lint", "-f", "json", "-o", str(missing), str(bad)], capsys)
    assert code == 64 and out == ""
    assert err.splitlines() == [
        f"alpinist: error: --output {missing}: the directory {missing.parent} does not exist (create it first)"
    ]
    code, _, err = run(["migrate", "--offline", str(bad), "-o", str(missing)], capsys)
    assert code == 64 and "does not exist (create it first)" in err

    # migrate with a missing file exits 1, like lint (was 64)
    nope = tmp_path / "nope"
    lint_code, _, lint_err = run(["lint", str(nope)], capsys)
    migrate_code, _, migrate_err = run(["migrate", str(nope)], capsys)
    assert lint_code == migrate_code == 1
    assert migrate_err == lint_err == f"alpinist: error: {nope}: cannot read: No such file or directory\n"

    # -q/--quiet, before or after the verb: no warnings or notes; the report stays
    image = f"oci:{OCI_LAYOUT}:alpine:3.20.3"
    db = tmp_path / "x.db"
    (tmp_path / "feeds").mkdir()  # an empty directory mirror: every feed file is missing
    _, _, loud = run(["scan", "--db", str(db), "--mirror", str(tmp_path / "feeds"), image], capsys)
    assert "alpinist: no advisory database at" in loud  # a note the quiet run must not print
    for argv in (["-q", "scan"], ["scan", "-q"], ["scan", "--quiet"]):
        code, _, err = run([*argv, "--db", str(db), "--mirror", str(tmp_path / "feeds"), image], capsys)
        assert code == 1
        assert err.splitlines() == [err.splitlines()[0]] and err.startswith("alpinist: error: ")

    # piping into head exits 0 (a real pipe closed by the reader, in a subprocess)
    proc = subprocess.Popen(
        [sys.executable, "-m", "alpinist", "sbom", "-f", "json", f"oci:{OCI_LAYOUT}:python-app:debian"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)
    proc.stdout.close()  # as head does after its lines
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, stderr
    assert stderr == b""


def test_item7_exit_code_and_ignore_unfixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import CORPUS

    mirror = CORPUS / "advisories" / "feeds"
    if not mirror.is_dir():
        pytest.skip(f"no feed mirror at {mirror}")
    db = tmp_path / "adv.db"
    image = f"oci:{OCI_LAYOUT}:alpine:3.18.9"
    base = ["scan", "--db", str(db), "--mirror", str(mirror), "-f", "json", image]
    code, out, err = run(base, capsys)
    assert code == 0, err
    findings = json.loads(out)["findings"]
    assert findings and any(f.get("fixed_version") or f.get("fixed") for f in findings)

    code, _, _ = run([*base, "--exit-code", "1"], capsys)  # any finding fails without --fail-on
    assert code == 1
    code, _, _ = run([*base, "--exit-code", "5", "--fail-on", "low"], capsys)
    assert code == 5
    code, _, _ = run([*base, "--fail-on", "low"], capsys)
    assert code == 2  # unchanged without --exit-code
    code, _, _ = run([*base, "--exit-code", "7", "--severity", "critical", "--fail-on", "critical"], capsys)
    assert code in (0, 7)

    _, only_fixed, _ = run([*base, "--only-fixed"], capsys)
    _, ignore_unfixed, _ = run([*base, "--ignore-unfixed"], capsys)
    assert json.loads(only_fixed)["findings"] == json.loads(ignore_unfixed)["findings"]


def test_item7_wheels_heading_is_never_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "requirements.txt").write_text("# nothing pinned yet\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
        'CMD ["python", "app.py"]\n'
    )
    # not --offline (that says "not checked"); no requirement means the index is never asked
    index = f"http://127.0.0.1:{closed_loopback_port()}/simple"
    argv = ["migrate", "--index-url", index, str(dockerfile), "-o", str(tmp_path / "out")]
    code, _, err = run(argv, capsys)
    assert code == 0
    lines = err.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("Wheels for "))
    assert lines[heading + 1].startswith("  - nothing to check: no requirements in ")


# ------------------------------------------------------------------------------------------ item 8


def test_item8_pre_commit_hook_and_completion(tmp_path: Path) -> None:
    import re
    import shlex

    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "alpinist-lint"]
    assert hook["language"] == "python" and hook["entry"] == "alpinist lint"
    pattern = re.compile(hook["files"])
    for name in ("Dockerfile", "app/Dockerfile", "svc.Dockerfile", "Dockerfile.alpine"):
        assert pattern.search(name), name
    for name in ("Dockerfile.md/x", "README.md", "dockerfile_test.py"):
        assert not pattern.search(name), name

    # run the hook as pre-commit does: entry + args + every matching file on one command line
    good = tmp_path / "Dockerfile"
    good.write_text(
        "FROM python:3.12-slim@sha256:" + "a" * 64 + "\nRUN useradd -u 65532 app\nUSER 65532:65532\n"
        'HEALTHCHECK CMD ["python3", "-c", "print(1)"]\nCMD ["python3", "-m", "app"]\n'
    )
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text('FROM python:3.12-slim\nUSER\nCMD ["python"]\n')
    # pre-commit pipes the output; the table's width is then COLUMNS (set to 80 in pytest-xdist workers),
    # else its default: unset here, so the long temporary paths are not folded
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"PYTHONPATH": str(REPO / "src")}
    entry = [sys.executable, "-m", "alpinist", *shlex.split(hook["entry"])[1:], *hook["args"]]
    ok = subprocess.run([*entry, str(good)], capture_output=True, env=env, timeout=120, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    both = subprocess.run(
        [*entry, str(good), str(bad)], capture_output=True, env=env, timeout=120, check=False
    )
    assert both.returncode == 2
    assert b"ALP024" in both.stdout and str(bad).encode() in both.stdout

    # shell completion (documented in the README): click's, through the real entry point
    script = subprocess.run(
        [sys.executable, "-m", "alpinist"],
        capture_output=True,
        env={**env, "_ALPINIST_COMPLETE": "bash_source"},
        timeout=60,
        check=False,
    )
    assert script.returncode == 0 and b"_alpinist_completion" in script.stdout
    words = subprocess.run(
        [sys.executable, "-m", "alpinist"],
        capture_output=True,
        env={**env, "_ALPINIST_COMPLETE": "bash_complete", "COMP_WORDS": "alpinist sc", "COMP_CWORD": "1"},
        timeout=60,
        check=False,
    )
    assert b"plain,scan" in words.stdout
    readme = (REPO / "README.md").read_text()
    assert "_ALPINIST_COMPLETE=bash_source alpinist" in readme and "alpinist-lint" in readme
