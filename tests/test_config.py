"""Issue 14, item 7: a config file (project and user) and an environment variable for every option, with
the precedence flag > environment > project file > user file > default. Everything runs through the
real CLI entry point on a corpus image."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from alpinist.cli.app import LazyGroup, app, main
from alpinist.cli.config import project_config_path
from tests.conftest import OCI_LAYOUT

IMAGE = f"oci:{OCI_LAYOUT}:alpine:3.20.3"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def sbom_format(out: str) -> str:
    """Which of sbom's formats ``out`` is, told from the document itself."""
    if out.lstrip().startswith("{"):
        doc = json.loads(out)
        if doc.get("bomFormat") == "CycloneDX":
            return "cyclonedx"
        if "spdxVersion" in doc:
            return "spdx"
        if doc.get("schema", "").startswith("alpinist-sbom/"):
            return "json"
        raise AssertionError(f"unknown JSON document: {sorted(doc)[:5]}")
    assert "alpine:3.20.3" in out  # the table's panel title
    return "table"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (a git root) as the working directory, and an empty user config dir."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return root


def user_file(project: Path) -> Path:
    path = project.parent / "xdg" / "alpinist" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_precedence_flag_env_project_user_default(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[str] = []
    # default
    steps.append(sbom_format(run(["sbom", IMAGE], capsys)[1]))
    # user file
    user_file(project).write_text("sbom:\n  format: spdx\n")
    steps.append(sbom_format(run(["sbom", IMAGE], capsys)[1]))
    # project file beats the user file
    (project / ".alpinist.yaml").write_text("format: cyclonedx\n")
    steps.append(sbom_format(run(["sbom", IMAGE], capsys)[1]))
    # the environment beats both files; the verb's own variable beats the shared one
    monkeypatch.setenv("ALPINIST_FORMAT", "json")
    steps.append(sbom_format(run(["sbom", IMAGE], capsys)[1]))
    monkeypatch.setenv("ALPINIST_SBOM_FORMAT", "spdx")
    steps.append(sbom_format(run(["sbom", IMAGE], capsys)[1]))
    # the flag beats everything
    steps.append(sbom_format(run(["sbom", "--format", "table", IMAGE], capsys)[1]))
    assert steps == ["table", "spdx", "cyclonedx", "json", "spdx", "table"]


def test_project_file_is_found_from_a_subdirectory_but_not_past_the_repository_root(
    project: Path, tmp_path: Path
) -> None:
    sub = project / "services" / "api"
    sub.mkdir(parents=True)
    assert project_config_path(sub) is None
    (project / ".alpinist.yml").write_text("format: json\n")
    assert project_config_path(sub) == project / ".alpinist.yml"
    # a file above the repository root belongs to another project
    (project / ".alpinist.yml").unlink()
    (tmp_path / ".alpinist.yaml").write_text("format: json\n")
    assert project_config_path(sub) is None


def test_config_option_and_variable_replace_the_project_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".alpinist.yaml").write_text("sbom:\n  format: spdx\n")
    other = tmp_path / "ci.yaml"
    other.write_text("sbom:\n  format: cyclonedx\n")
    assert sbom_format(run(["--config", str(other), "sbom", IMAGE], capsys)[1]) == "cyclonedx"
    monkeypatch.setenv("ALPINIST_CONFIG", str(other))
    assert sbom_format(run(["sbom", IMAGE], capsys)[1]) == "cyclonedx"
    code, out, err = run(["--config", str(tmp_path / "missing.yaml"), "sbom", IMAGE], capsys)
    assert code == 64 and out == ""
    assert f"config file {tmp_path / 'missing.yaml'}: no such file" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("formt: json\n", "no verb has an option 'formt'"),
        ("sbom:\n  formt: json\n", "sbom.formt: sbom has no option 'formt' (known: "),
        ("sbom:\n  format: nope\n", "sbom.format: 'nope' is not one of"),
        ("sbom: json\n", "sbom: expected a mapping of sbom's options"),
        ("scan:\n  fail-on: [high]\n", "scan.fail-on: expected one value, not a list"),
        ("scan:\n  only-fixed: 1\n", "scan.only-fixed: expected true or false"),
        ("db:\n  update:\n    mirrorr: x\n", "db.update.mirrorr: db.update has no option 'mirrorr'"),
        ("[1, 2\n", "not valid YAML"),
        ("- format\n", "expected a mapping of option names to values"),
    ],
)
def test_bad_config_is_a_usage_error_naming_the_file(
    project: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".alpinist.yaml").write_text(text)
    verb = ["db", "update", "--db", str(project / "a.db")] if text.startswith("db") else ["sbom", IMAGE]
    if text.startswith("scan"):
        verb = ["scan", "--db", str(project / "a.db"), IMAGE]
    code, out, err = run(verb, capsys)
    assert code == 64 and out == ""
    assert f"config file {project / '.alpinist.yaml'}: " in err and message in err
    assert not (project / "a.db").exists()


def test_a_value_checked_by_the_option_itself_names_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --timeout checks its value in a callback, after the file was read: the error still says where
    (project / ".alpinist.yaml").write_text("timeout: bogus\n")
    code, _, err = run(["db", "update", "--db", str(project / "a.db")], capsys)
    assert code == 64
    assert "Invalid value for '--timeout': 'bogus' is not a duration" in err
    assert f"(set in {project / '.alpinist.yaml'})" in err
    assert "env var" not in err


def test_group_options_reach_sub_verbs_and_lists_come_from_the_file_and_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = project / "no-such-mirror"
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    (project / ".alpinist.yaml").write_text(f"db:\n  update:\n    mirror: {missing}\n")
    code, _, err = run(["db", "update", "--db", str(project / "a.db")], capsys)
    assert code == 1 and f"--mirror {missing}: no such directory" in err

    # a list option: YAML list in the file, space-separated in the environment
    ignore_a, ignore_b = project / "a.yaml", project / "b.yaml"
    (project / ".alpinist.yaml").write_text(f"scan:\n  vex: [{ignore_a}, {ignore_b}]\n")
    code, _, err = run(["scan", "--offline", "--db", str(project / "x.db"), IMAGE], capsys)
    assert code != 0 and str(ignore_a) in err
    (project / ".alpinist.yaml").unlink()
    monkeypatch.setenv("ALPINIST_SCAN_VEX", f"{ignore_b} {ignore_a}")
    code, _, err = run(["scan", "--offline", "--db", str(project / "x.db"), IMAGE], capsys)
    assert code != 0 and str(ignore_b) in err


def _commands(command: click.Command, ctx: click.Context, path: tuple[str, ...]):  # type: ignore[no-untyped-def]
    yield command, path
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _commands(sub, ctx, (*path, name))


def test_every_option_of_every_verb_has_an_environment_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(app, LazyGroup)
    for verb in app.list_commands(click.Context(app)):
        run([verb, "--help"], capsys)  # resolving the verb gives its options their variables
    ctx = click.Context(app)
    missing = []
    for verb in app.list_commands(ctx):
        command = app.get_command(ctx, verb)
        assert command is not None
        for cmd, path in _commands(command, ctx, (verb,)):
            for param in cmd.params:
                if isinstance(param, click.Option) and not param.envvar:
                    missing.append(f"{' '.join(path)} {param.opts[0]}")
                elif isinstance(param, click.Option) and not isinstance(param.envvar, str):
                    # the verb's own name first, then the shared one
                    flag = next(o for o in param.opts if o.startswith("--"))[2:].upper().replace("-", "_")
                    assert param.envvar == [
                        "ALPINIST_" + "_".join(p.upper() for p in path) + "_" + flag,
                        f"ALPINIST_{flag}",
                    ]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sbom:\n  format: {a: 1}\n", "sbom.format: expected a value, not a mapping"),
        ("scan:\n  vex: [[a, b]]\n", "scan.vex: expected a list of values"),
        ("db:\n  update: fast\n", "db.update: expected a mapping of update's options"),
    ],
)
def test_values_of_the_wrong_shape(
    project: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".alpinist.yaml").write_text(text)
    verb = text.split(":", 1)[0]
    argv = {"sbom": ["sbom", IMAGE], "scan": ["scan", "--db", str(project / "a.db"), IMAGE]}.get(
        verb, ["db", "update", "--db", str(project / "a.db")]
    )
    code, out, err = run(argv, capsys)
    assert code == 64 and out == ""
    assert err.strip().endswith(f"config file {project / '.alpinist.yaml'}: {message}")


def test_an_empty_file_sets_nothing_and_a_huge_or_unreadable_one_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / ".alpinist.yaml"
    config.write_text("# nothing yet\n")
    assert sbom_format(run(["sbom", IMAGE], capsys)[1]) == "table"
    config.write_text("# " + "x" * (1 << 20) + "\n")
    code, _, err = run(["sbom", IMAGE], capsys)
    assert code == 64 and f"config file {config}: larger than 1048576 bytes" in err
    config.unlink()
    config.mkdir()  # a directory where the file should be: found, not readable
    code, _, err = run(["--config", str(config), "sbom", IMAGE], capsys)
    assert code == 64 and f"config file {config}: no such file" in err


def test_user_and_project_settings_of_one_verb_are_merged_key_by_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user_file(project).write_text("sbom:\n  format: json\n  output: from-user.json\n")
    (project / ".alpinist.yaml").write_text("sbom:\n  format: spdx\n")
    code, out, _ = run(["sbom", IMAGE], capsys)
    # the project's format, the user's output file: neither file replaces the other's whole mapping
    assert code == 0 and out == ""
    assert sbom_format((project / "from-user.json").read_text()) == "spdx"


def test_no_project_file_above_a_directory_outside_any_repository(tmp_path: Path) -> None:
    lonely = tmp_path / "no" / "repo" / "here"
    lonely.mkdir(parents=True)
    assert project_config_path(lonely) is None


def test_a_bad_value_typed_on_the_command_line_keeps_clicks_message(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".alpinist.yaml").write_text("timeout: 30s\n")
    code, _, err = run(["db", "update", "--db", str(project / "a.db"), "--timeout", "bogus"], capsys)
    assert code == 64 and "'bogus' is not a duration" in err and "set in" not in err
