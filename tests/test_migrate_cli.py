"""``alpinist migrate`` on the command line: where the Dockerfile and the report go, options, exit codes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alpinist.cli.app import app, main
from alpinist.cli.migrate import migrate

if TYPE_CHECKING:
    from tests.index_server import IndexServer


FIXTURES = Path(__file__).resolve().parent / "migrate_fixtures"
STORY = FIXTURES / "story"
SNAPSHOT = (STORY / "snapshot-offline.Dockerfile").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command as cli.py registers it (added here too, so these tests do not depend on that line)."""
    if "migrate" not in app.commands:
        monkeypatch.setitem(app.commands, "migrate", migrate)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(["migrate", *args])
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def test_dockerfile_to_stdout_report_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(STORY / "Dockerfile"), "--offline")
    assert code == 0
    assert out == SNAPSHOT
    assert err.startswith(f"alpinist migrate: {STORY / 'Dockerfile'} -> alpine:3.22\n")
    assert "not checked: --offline: the package index was not asked" in err
    assert "May break:" in err


def test_output_file_and_json_report_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target, report = tmp_path / "Dockerfile.alpine", tmp_path / "report.json"
    code, out, err = run(
        capsys,
        str(STORY / "Dockerfile"),
        "--to",
        "alpine:3.22",
        "-o",
        str(target),
        "--offline",
        "--report-format",
        "json",
        "--report",
        str(report),
    )
    assert (code, out, err) == (0, "", "")
    assert target.read_text() == SNAPSHOT
    doc = json.loads(report.read_text())
    assert doc["changed"] is True and doc["target"] == "alpine:3.22"
    assert doc["builder_base"] == doc["runtime_base"] == "python:3.11-alpine3.22"
    assert doc["wheels"]["checked"] is False and doc["wheels"]["target"]["python"] == "3.11"
    assert doc["packages"]["runtime"] == ["libpq"]


def test_json_report_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, str(STORY / "Dockerfile"), "--offline", "--report-format", "json")
    assert code == 0 and json.loads(err)["source"] == str(STORY / "Dockerfile")


def test_already_alpine_is_written_unchanged(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "Dockerfile"
    src.write_text(SNAPSHOT)
    code, out, err = run(capsys, str(src), "--offline")
    assert code == 0 and out == SNAPSHOT
    assert "unchanged: the final stage is already on Alpine" in err
    code, out, err = run(capsys, str(src), "--offline", "--force")
    assert code == 0 and out != SNAPSHOT and "unchanged" not in err


def test_index_context_and_platform(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    wheel_files: dict[str, list[Path]],
    index_server: Callable[..., IndexServer],
) -> None:
    server = index_server([p for paths in wheel_files.values() for p in paths])
    docker_dir, context = tmp_path / "docker", tmp_path / "ctx"
    docker_dir.mkdir()
    shutil.copy(STORY / "Dockerfile", docker_dir / "Dockerfile")
    shutil.copytree(STORY, context)  # the requirements live in the context, not beside the Dockerfile
    args = [str(docker_dir / "Dockerfile"), "--context", str(context), "--index-url", server.url]
    code, out, err = run(capsys, *args, "--report-format", "json")
    assert code == 0
    doc = json.loads(err)
    assert doc["wheels"]["files"] == ["requirements.txt", "requirements-extra.txt"]
    assert {f["name"]: f["status"] for f in doc["wheels"]["findings"]}["bcrypt"] == "wheel"
    assert "linux-headers" in out  # psutil 7.0.0 compiles on musl
    code, out, err = run(capsys, *args, "--platform", "linux/arm64", "--report-format", "json")
    doc = json.loads(err)
    assert doc["wheels"]["target"]["arch"] == "aarch64"
    assert {f["name"]: f["status"] for f in doc["wheels"]["findings"]}[
        "bcrypt"
    ] == "source"  # x86_64 wheel only
    assert "cargo" in out and "rust" in out


def test_unreachable_index_warns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, str(STORY / "Dockerfile"), "--index-url", "http://127.0.0.1:9/simple")
    assert code == 0 and out == SNAPSHOT
    assert "alpinist: WARNING: the package index could not be asked about 5 requirement(s)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "debian:12"], "only alpine[:VERSION] is supported"),
        (["--to", "alpine:edge"], "give an Alpine release"),
        (["--platform", "linux/mips"], "unsupported platform"),
        (["--index-url", "ftp://x/simple"], "expected an http(s) URL"),
        (["--report-format", "xml"], "xml"),
    ],
)
def test_bad_arguments_exit_64(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, str(STORY / "Dockerfile"), "--offline", *args)
    assert code == 64 and out == "" and message in err


def test_missing_and_broken_dockerfiles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run(capsys, str(tmp_path / "nope"), "--offline")
    assert code == 1 and "cannot read: No such file or directory" in err  # as lint (issue 14)
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:3.12-slim\nFROBNICATE now\n")
    code, out, err = run(capsys, str(broken), "--offline")
    assert code == 1 and out == ""
    assert err.startswith("alpinist: error: ") and str(broken) in err and len(err.strip().splitlines()) == 1


def test_migrated_file_passes_alpinist_lint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The two verbs together, as a user runs them: lint fails the story's file, passes the migrated one."""
    target = tmp_path / "Dockerfile.alpine"
    assert run(capsys, str(STORY / "Dockerfile"), "--offline", "-o", str(target))[0] == 0
    for path, expected in ((STORY / "Dockerfile", 2), (target, 0)):
        with pytest.raises(SystemExit) as stopped:
            main(["lint", str(path), "--fail-on", "warning", "-f", "json"])
        out = capsys.readouterr().out
        assert stopped.value.code == expected, out
    findings = json.loads(out)["findings"]
    assert {(f["rule"], f["severity"]) for f in findings} == {("ALP004", "info")}
