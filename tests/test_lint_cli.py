"""``alpinist lint``: formats (JSON against schemas/lint.schema.json, SARIF against the OASIS schema),
exit codes (0, 1, 2, 64), output files, stdin, directories, options."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from alpinist.cli.app import app, main
from alpinist.cli.lint import lint as lint_command
from alpinist.dockerfile.lint import lint_file
from alpinist.reports.lint.table import render_lint_table, summary_line

FIXTURES = Path(__file__).parent / "dockerfiles"
SCHEMAS = Path(__file__).parent.parent / "src" / "alpinist" / "schemas"
STORY_ALPINE = FIXTURES / "story-alpine-handwritten.Dockerfile"

if "lint" not in app.commands:  # until cli.py registers it
    app.add_command(lint_command)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def validator(name: str) -> Any:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# ------------------------------------------------------------------ JSON


def test_json_format_valid_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["lint", str(STORY_ALPINE), "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    validator("lint.schema.json").validate(doc)
    assert doc["file"] == str(STORY_ALPINE)
    mismatch = [f for f in doc["findings"] if f["rule"] == "ALP005"]
    assert mismatch == [
        {
            "rule": "ALP005",
            "name": "python-version-mismatch",
            "severity": "error",
            "line": 13,
            "end_line": 13,
            "stage": "1",
            "message": "builder python:3.11-alpine3.22 has Python 3.11; runtime alpine:3.22.2 installs python3 = 3.12: "
            "packages copied from /usr/local/lib/python3.11/site-packages will not import",
            "fix": mismatch[0]["fix"],
        }
    ]
    assert "python:X.Y-alpineA.B" in mismatch[0]["fix"]
    assert doc["summary"] == {"error": 1, "warning": 0, "info": 3, "total": 4, "suppressed": 0}


def test_json_every_fixture_validates() -> None:
    from alpinist.reports.lint.json import lint_to_dict

    v = validator("lint.schema.json")
    for path in sorted(FIXTURES.glob("*.Dockerfile")):
        v.validate(lint_to_dict(lint_file(path)))


def test_json_lists_suppressed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["lint", str(FIXTURES / "ignore-comments.Dockerfile"), "-f", "json"], capsys)
    doc = json.loads(out)
    assert code == 0
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("ALP002", 5)]
    assert doc["summary"]["suppressed"] == 6 and len(doc["suppressed"]) == 6


# ------------------------------------------------------------------ SARIF


def test_sarif_valid_with_rules_and_locations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "lint.sarif"
    code, out, _ = run(
        ["lint", str(FIXTURES / "insecure.Dockerfile"), "-f", "sarif", "-o", str(out_file)], capsys
    )
    assert code == 0 and out == ""
    log = json.loads(out_file.read_text(encoding="utf-8"))
    validator("sarif-2.1.0.schema.json").validate(log)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:3] == ["ALP001", "ALP002", "ALP003"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["ALP001"]["defaultConfiguration"]["level"] == "error"
    assert by_id["ALP013"]["defaultConfiguration"]["level"] == "note"
    results = run_["results"]
    sudo = [r for r in results if r["ruleId"] == "ALP008"]
    assert len(sudo) == 1
    loc = sudo[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("tests/dockerfiles/insecure.Dockerfile")
    assert loc["region"] == {"startLine": 11}
    assert rules[sudo[0]["ruleIndex"]]["id"] == "ALP008"
    assert sudo[0]["level"] == "warning"
    # a finding's own severity wins over the rule default: ALP004 info on a tag, warning on latest
    pin = [r for r in results if r["ruleId"] == "ALP004"]
    assert [r["level"] for r in pin] == ["warning"]
    assert len({r["partialFingerprints"]["alpinistLint/v1"] for r in results}) == len(results)


def test_sarif_multiline_region(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["lint", str(FIXTURES / "tricky-parse.Dockerfile"), "-f", "sarif", "--select", "ALP005"], capsys
    )
    assert code == 0
    log = json.loads(out)
    validator("sarif-2.1.0.schema.json").validate(log)
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == ["ALP005"]
    [result] = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 26}


# ------------------------------------------------------------------ table


def test_table_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # on a pipe the table is COLUMNS wide: the default here
    code, out, _ = run(["lint", str(STORY_ALPINE)], capsys)
    assert code == 0
    assert "ALP005" in out and "error" in out
    assert out.rstrip().endswith(f"4 findings (1 error, 3 info) in {STORY_ALPINE}")


def test_table_escapes_control_characters() -> None:
    from alpinist.dockerfile import parse_dockerfile
    from alpinist.dockerfile.lint import lint

    result = lint(parse_dockerfile("FROM alpine:3.20\nUSER \x1b[31mroot\n", "D"), select=["ALP021"])
    console = Console(file=StringIO(), width=200)
    render_lint_table(result, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text and "\\x1b[31mroot" in text


def test_summary_line_without_findings() -> None:
    from alpinist.dockerfile import parse_dockerfile
    from alpinist.dockerfile.lint import lint

    result = lint(parse_dockerfile("FROM a\n", "X"), select=["ALP008"])
    assert summary_line(result) == "no findings in X"


# ------------------------------------------------------------------ exit codes


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [(None, 0), ("error", 2), ("ERROR", 2), ("warning", 2), ("info", 2)],
)
def test_fail_on_story(fail_on: str | None, expected: int, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["lint", str(STORY_ALPINE), "-f", "json"] + (["--fail-on", fail_on] if fail_on else [])
    code, out, _ = run(argv, capsys)
    assert code == expected
    json.loads(out)  # the report is written before the exit code is decided


def test_fail_on_below_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(
        ["lint", str(FIXTURES / "story-alpine-fixed.Dockerfile"), "--fail-on", "warning"], capsys
    )
    assert code == 0
    code, _, _ = run(["lint", str(FIXTURES / "story-alpine-fixed.Dockerfile"), "--fail-on", "info"], capsys)
    assert code == 2


def test_exit_1_unreadable_and_parse_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["lint", str(tmp_path / "missing")], capsys)
    assert code == 1 and err.startswith("alpinist: error: ") and "cannot read" in err
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM alpine:3.20\nRUN true\nCOPPY a b\n", encoding="utf-8")
    code, _, err = run(["lint", str(bad)], capsys)
    assert code == 1
    assert err.strip() == f"alpinist: error: {bad}:3: unknown instruction 'COPPY'"
    bad.write_text("FROM alpine:3.20\nRUN <<EOF\necho\n", encoding="utf-8")
    code, _, err = run(["lint", str(bad)], capsys)
    assert code == 1 and f"{bad}:2: parse error: unterminated heredoc" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["lint"],
        ["lint", "Dockerfile", "--format", "xml"],
        ["lint", "Dockerfile", "--fail-on", "critical"],
        ["lint", "Dockerfile", "--select", "ALP999"],
        ["lint", "Dockerfile", "--build-arg", "NOEQUALS"],
    ],
)
def test_exit_64_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(argv, capsys)
    assert code == 64


# ------------------------------------------------------------------ inputs and options


def test_directory_and_build_arg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG TAG=latest\nFROM alpine:${TAG}\nUSER 1\nHEALTHCHECK NONE\n", encoding="utf-8"
    )
    code, out, _ = run(["lint", str(tmp_path), "-f", "json"], capsys)
    assert code == 0
    assert [f["severity"] for f in json.loads(out)["findings"]] == ["warning"]
    code, out, _ = run(["lint", str(tmp_path), "-f", "json", "--build-arg", "TAG=3.22.2"], capsys)
    assert code == 0
    assert [f["severity"] for f in json.loads(out)["findings"]] == ["info"]


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["lint", "--list-rules"], capsys)
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["ALP001", "error", "final-user-root"]


def test_stdin_via_subprocess() -> None:
    script = (
        "import sys\n"
        "from alpinist.cli.app import app, main\n"
        "from alpinist.cli.lint import lint\n"
        "app.commands.setdefault('lint', lint)\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "lint", "-", "-f", "json", "--fail-on", "error"],
        input=b"FROM alpine:3.22.2\nUSER 0\n",
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("ALP004", 1), ("ALP017", 1), ("ALP001", 2)]
