"""Issue 14: the conventions a Trivy, Grype or hadolint user expects, one test per item.

Item 3 (database set-up messages), 5 (migrate refuses impossible targets), 6 (lint: instructions
without their argument), 7 (conventions of the command line) and 8 (pre-commit hook, completion).
Everything runs through the real CLI entry point; "no network" is a loopback port nobody listens on.
"""

from __future__ import annotations

import json
import socket
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
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
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
    retries = [line for line in err.splitlines() if "retrying in" in line]
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
