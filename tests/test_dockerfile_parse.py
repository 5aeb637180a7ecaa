"""The Dockerfile parser adapter: stages, ARG before FROM, heredocs, escapes, forms, continuations,
comments, ignore comments, errors; the shell reader (package operations); image names."""

from __future__ import annotations

from pathlib import Path

import pytest

from alpinist.dockerfile import DockerfileError, parse_dockerfile, parse_image_name, read_dockerfile
from alpinist.dockerfile.parse import MAX_DOCKERFILE_BYTES, expand_word
from alpinist.dockerfile.shell import package_operations, split_commands, stage_package_operations

FIXTURES = Path(__file__).parent / "dockerfiles"


# ------------------------------------------------------------------ stages and FROM


def test_tricky_file_stages_and_arg_substitution() -> None:
    df = read_dockerfile(FIXTURES / "tricky-parse.Dockerfile")
    assert [a.line for a in df.args_before_from] == [2, 3, 4]
    assert df.global_args == {"PY_VERSION": "3.12", "BASE": "python:3.12-slim-bookworm"}
    build, final = df.stages
    assert (build.index, build.name, build.start_line, build.end_line) == (0, "build", 6, 21)
    assert build.base.raw == "${BASE}"
    assert build.base_resolved.repository == "python"
    assert build.base_resolved.tag == "3.12-slim-bookworm"
    assert (final.index, final.name, final.start_line, final.end_line) == (1, None, 23, 30)
    assert final.label == "1"
    assert df.final_stage is final


def test_build_args_override_defaults() -> None:
    df = parse_dockerfile("ARG V=3.20\nFROM alpine:${V}\n", build_args={"V": "3.22"})
    assert df.stages[0].base_resolved.raw == "alpine:3.22"


def test_unresolved_from_variable_keeps_raw() -> None:
    df = parse_dockerfile("ARG BASE\nFROM $BASE\n")
    assert df.stages[0].base_resolved.raw == "$BASE"
    assert df.stages[0].base_resolved.has_variables


def test_from_other_stage_lineage_and_root_base() -> None:
    text = "FROM python:3.12-alpine AS base\nUSER 1000\nFROM base AS app\nHEALTHCHECK CMD true\nFROM app\n"
    df = parse_dockerfile(text)
    base, app, last = df.stages
    assert app.parent == 0 and last.parent == 1 and base.parent is None
    assert [s.index for s in df.lineage(last)] == [2, 1, 0]
    assert df.root_base(last).raw == "python:3.12-alpine"
    # USER and HEALTHCHECK are inherited through FROM other-stage
    user, ins = df.effective_user(last)
    assert user == "1000" and ins is not None and ins.line == 2
    hc = df.healthcheck(last)
    assert hc is not None and hc.line == 4


def test_stage_reference_case_insensitive_and_by_index() -> None:
    df = parse_dockerfile(
        "FROM alpine:3.20 AS Builder\nFROM builder\nCOPY --from=BUILDER /a /b\nCOPY --from=0 /c /d\n"
    )
    assert df.stages[1].parent == 0
    assert df.stage("BUILDER") is df.stages[0]
    assert df.stage("0") is df.stages[0]
    assert df.stage("nginx:1.27") is None
    refs = [ref for _, ref in df.final_stage.copies_from]
    assert refs == ["BUILDER", "0"]


def test_effective_user_substitutes_arg_and_env() -> None:
    df = read_dockerfile(FIXTURES / "tricky-parse.Dockerfile")
    user, ins = df.effective_user()
    assert user == "10001:10001"
    assert ins is not None and ins.value == "${UID}:${UID}"


def test_effective_user_none_without_user() -> None:
    df = parse_dockerfile("FROM alpine:3.20\nRUN true\n")
    assert df.effective_user() == (None, None)


def test_healthcheck_none_and_forms() -> None:
    df = read_dockerfile(FIXTURES / "tricky-parse.Dockerfile")
    hc = df.healthcheck()
    assert hc is not None and hc.words == ("NONE",)
    exec_form = parse_dockerfile(
        'FROM a\nHEALTHCHECK --interval=5s CMD ["python3", "-c", "import x"]\n'
    ).healthcheck()
    assert exec_form is not None
    assert exec_form.args == ("python3", "-c", "import x") and exec_form.json
    assert exec_form.flag("interval") == "5s"
    shell_form = parse_dockerfile("FROM a\nHEALTHCHECK CMD curl -f http://x/ || exit 1\n").healthcheck()
    assert shell_form is not None and shell_form.args == "curl -f http://x/ || exit 1"


# ------------------------------------------------------------------ instructions


def test_continuation_with_comment_inside_is_one_instruction() -> None:
    df = read_dockerfile(FIXTURES / "tricky-parse.Dockerfile")
    run = df.stages[0].instructions[0]
    assert (run.cmd, run.line, run.end_line) == ("RUN", 8, 12)
    assert isinstance(run.args, str)
    assert "apt-get install -y --no-install-recommends gcc libpq-dev" in run.args
    assert "a comment inside a continuation" not in run.args


def test_heredoc_run_and_copy() -> None:
    df = read_dockerfile(FIXTURES / "tricky-parse.Dockerfile")
    run, copy = df.stages[0].instructions[1], df.stages[0].instructions[2]
    assert (run.line, run.end_line) == (13, 17)
    assert [h.name for h in run.heredocs] == ["EOF"]
    assert (
        run.heredocs[0].content
        == "set -e\npython -m venv /venv\n/venv/bin/pip install --no-cache-dir psycopg==3.2.3\n"
    )
    assert run.shell_script == run.heredocs[0].content
    assert (copy.cmd, copy.line, copy.end_line) == ("COPY", 18, 20)
    assert copy.heredocs[0].name == "CONF"
    assert copy.words[-1] == "/etc/app.conf"


def test_heredoc_as_data_is_not_the_script() -> None:
    df = parse_dockerfile("FROM a\nRUN cat <<EOF > /etc/x\napk add curl\nEOF\n")
    run = df.final_stage.instructions[0]
    assert run.shell_script == "cat <<EOF > /etc/x"
    assert package_operations(run) == ()


def test_exec_and_shell_forms() -> None:
    df = parse_dockerfile(
        'FROM a\nRUN ["/bin/sh", "-c", "apk add curl"]\nCMD ["python", "-m", "app"]\nENTRYPOINT exec app\n'
    )
    run, cmd, entry = df.final_stage.instructions
    assert run.json and run.args == ("/bin/sh", "-c", "apk add curl") and run.shell_script == "apk add curl"
    assert cmd.json and cmd.args == ("python", "-m", "app") and cmd.shell_script is None
    assert not entry.json and entry.args == "exec app"


def test_flags_and_value() -> None:
    df = parse_dockerfile(
        "FROM --platform=$BUILDPLATFORM alpine:3.20 AS b\n"
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=t pip install x\n"
        "COPY --from=b --chown=65532:65532 /src /dst\n"
    )
    stage = df.final_stage
    assert stage.platform == "$BUILDPLATFORM"
    run, copy = stage.instructions
    assert run.flag_values("mount") == ("type=cache,target=/root/.cache", "type=secret,id=t")
    assert run.value == "pip install x"
    assert copy.flag("from") == "b" and copy.flag("chown") == "65532:65532" and copy.flag("link") is None
    assert copy.words == ("/src", "/dst")


def test_env_values_unquoted_and_expanded() -> None:
    df = parse_dockerfile("FROM a\nARG V=1\nENV A=\"x y\" B=${V}-z C='$V'\nENV OLD legacy form value\n")
    env = df.final_stage.env
    assert env["A"] == "x y" and env["B"] == "1-z" and env["C"] == "$V" and env["OLD"] == "legacy form value"


def test_global_arg_needs_redeclaration_inside_stage() -> None:
    df = parse_dockerfile("ARG U=7\nFROM a\nUSER $U\nFROM a\nARG U\nUSER $U\n")
    first, second = df.stages
    assert df.effective_user(first)[0] == ""  # not redeclared: empty, as BuildKit does
    assert df.effective_user(second)[0] == "7"


def test_escape_directive_backtick() -> None:
    df = read_dockerfile(FIXTURES / "escape-backtick.Dockerfile")
    assert df.escape == "`"
    run = df.final_stage.instructions[0]
    assert (run.line, run.end_line) == (3, 4)
    assert "Write-Host hello" in str(run.args)
    workdir = df.final_stage.instructions[1]
    assert workdir.words == ("C:\\\\app",)


def test_backslash_is_literal_under_backtick_escape() -> None:
    with pytest.raises(DockerfileError, match=r":4: unknown instruction 'apt-get'"):
        parse_dockerfile("# escape=`\nFROM a\nRUN apt-get update && \\\napt-get install x\n", "D")


def test_onbuild_lowercase_keywords_and_crlf_bom() -> None:
    df = parse_dockerfile("\ufefffrom alpine:3.20\r\nonbuild run echo hi\r\nuser 1000\r\n")
    onbuild, user = df.final_stage.instructions
    assert onbuild.cmd == "ONBUILD" and onbuild.sub_cmd == "RUN" and onbuild.value == "echo hi"
    assert user.cmd == "USER" and user.line == 3


# ------------------------------------------------------------------ ignore comments


def test_ignore_comments() -> None:
    df = read_dockerfile(FIXTURES / "ignore-comments.Dockerfile")
    assert df.ignore_file == frozenset({"ALP004", "ALP017"})
    first, second, user = df.final_stage.instructions
    assert first.ignore == frozenset({"ALP002", "ALP013"})
    assert second.ignore == frozenset({"ALP013"})  # the comment sits inside its continuation lines
    assert user.ignore == frozenset({"ALP001"})


def test_ignore_comment_inside_heredoc_is_data() -> None:
    df = parse_dockerfile("FROM a\nRUN <<EOF\n# alpinist ignore=ALP002\napk add x\nEOF\nRUN true\n")
    assert all(not i.ignore for i in df.final_stage.instructions)


def test_ignore_comment_is_case_insensitive_and_skips_blank_lines() -> None:
    df = parse_dockerfile("FROM a\n#  Alpinist ignore = alp008 , ALP009\n\nRUN sudo true\n")
    assert df.final_stage.instructions[0].ignore == frozenset({"ALP008", "ALP009"})


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"D:1: parse error: file with no instructions"),
        ("FROM a\nRUN <<EOF\nnever closed\n", r"D:2: parse error: unterminated heredoc"),
        ("FROM a\nFROMX b\n", r"D:2: unknown instruction 'FROMX'"),
        ("RUN true\nFROM a\n", r"D:1: RUN before the first FROM"),
        ("ARG A=1\n", r"D: no FROM instruction"),
        ("FROM\n", r"D:1: FROM without an image"),
        ("FROM a b c d\n", r"D:1: FROM expects"),
        ("FROM a\nRUN a\x00b\n", r"NUL bytes"),
    ],
)
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        parse_dockerfile(text, "D")


def test_read_errors(tmp_path: Path) -> None:
    with pytest.raises(DockerfileError, match="cannot read"):
        read_dockerfile(tmp_path / "missing")
    big = tmp_path / "big"
    big.write_bytes(b"#" * (MAX_DOCKERFILE_BYTES + 1))
    with pytest.raises(DockerfileError, match="larger than"):
        read_dockerfile(big)
    latin = tmp_path / "latin"
    latin.write_bytes(b"FROM a\nLABEL x=\xe9\n")
    with pytest.raises(DockerfileError, match=r"not UTF-8 text \(byte 15\)"):
        read_dockerfile(latin)


# ------------------------------------------------------------------ image names


@pytest.mark.parametrize(
    ("raw", "registry", "repository", "tag", "digest", "name"),
    [
        ("alpine", None, "alpine", None, None, "alpine"),
        ("alpine:3.22.2", None, "alpine", "3.22.2", None, "alpine"),
        ("python:3.11-alpine3.22", None, "python", "3.11-alpine3.22", None, "python"),
        ("library/debian:12-slim", None, "library/debian", "12-slim", None, "debian"),
        (
            "gcr.io/distroless/python3-debian12:nonroot",
            "gcr.io",
            "distroless/python3-debian12",
            "nonroot",
            None,
            "python3-debian12",
        ),
        ("127.0.0.1:5056/corpus/alpine:3.20.3", "127.0.0.1:5056", "corpus/alpine", "3.20.3", None, "alpine"),
        ("localhost/app", "localhost", "app", None, None, "app"),
        ("alpine@sha256:" + "a" * 64, None, "alpine", None, "sha256:" + "a" * 64, "alpine"),
        ("alpine:3.20@sha256:" + "b" * 64, None, "alpine", "3.20", "sha256:" + "b" * 64, "alpine"),
        ("myorg/tools", None, "myorg/tools", None, None, "tools"),
    ],
)
def test_image_names(
    raw: str, registry: str | None, repository: str, tag: str | None, digest: str | None, name: str
) -> None:
    image = parse_image_name(raw)
    assert (image.registry, image.repository, image.tag, image.digest, image.name) == (
        registry,
        repository,
        tag,
        digest,
        name,
    )


def test_scratch_and_latest() -> None:
    assert parse_image_name("scratch").is_scratch
    assert parse_image_name("alpine").tag_or_latest == "latest"
    assert parse_image_name("alpine@sha256:" + "a" * 64).tag_or_latest == ""


# ------------------------------------------------------------------ word expansion


@pytest.mark.parametrize(
    ("word", "value", "missing"),
    [
        ("$A", "1", ()),
        ("${A}x", "1x", ()),
        ("${NOPE:-d}", "d", ()),
        ("${A:-d}", "1", ()),
        ("${E:-d}", "d", ()),
        ("${E-d}", "", ()),
        ("${A:+alt}", "alt", ()),
        ("${NOPE:+alt}", "", ()),
        ("$NOPE", "", ("NOPE",)),
        ("'$A'", "$A", ()),
        ('"$A b"', "1 b", ()),
        ("\\$A", "$A", ()),
        ("a$", "a$", ()),
    ],
)
def test_expand_word(word: str, value: str, missing: tuple[str, ...]) -> None:
    assert expand_word(word, {"A": "1", "E": ""}) == type(expand_word("", {}))(value, missing)


# ------------------------------------------------------------------ shell reader


def test_split_commands_operators_quotes_comments_redirections() -> None:
    cmds = split_commands("apt-get update >/dev/null 2>&1 && echo 'a && b' | sh # trailing && rm x\nls; true")
    assert [(c.words, c.op) for c in cmds] == [
        (("apt-get", "update"), "&&"),
        (("echo", "a && b"), "|"),
        (("sh",), "\n"),
        (("ls",), ";"),
        (("true",), None),
    ]


def test_split_commands_unbalanced_quote_falls_back() -> None:
    cmds = split_commands('echo "unterminated && apk add x')
    assert cmds and cmds[0].words[0] == "echo"


def test_package_operations_apt_apk_pip() -> None:
    df = parse_dockerfile(
        "FROM a\n"
        "RUN apt-get update \\\n"
        " && apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confnew curl=7.88.1-10 build-essential \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
        "RUN apk add --no-cache --virtual .build-deps gcc musl-dev && apk del .build-deps\n"
        "RUN sudo -u app pip3 install --no-cache-dir -r requirements.txt 'uvicorn[standard]>=0.30' flask==3.0.3\n"
        "RUN python3.12 -m pip install -U pip && uv pip install --system httpx\n"
    )
    stage = df.final_stage
    apt = stage_package_operations(stage, manager="apt")
    assert [(o.action, o.names) for o in apt] == [("update", ()), ("install", ("curl", "build-essential"))]
    assert apt[1].packages == ("curl=7.88.1-10", "build-essential")
    assert apt[1].has_option("--no-install-recommends") and apt[1].line == 2
    apk = stage_package_operations(stage, manager="apk")
    assert [(o.action, o.names) for o in apk] == [
        ("install", ("gcc", "musl-dev")),
        ("remove", (".build-deps",)),
    ]
    assert apk[0].has_option("--virtual") and apk[0].has_option("--no-cache")
    pip = stage_package_operations(stage, manager="pip")
    assert [o.names for o in pip] == [("uvicorn", "flask"), ("pip",), ("httpx",)]
    assert pip[0].requirement_files == ("requirements.txt",)
    assert pip[0].command[0] == "pip3"
    assert pip[2].command[:2] == ("uv", "pip")


def test_package_operations_heredoc_and_exec_form() -> None:
    df = parse_dockerfile(
        'FROM a\nRUN <<EOF\nset -e\napk add --no-cache curl\nEOF\nRUN ["apk", "add", "jq"]\n'
    )
    ops = stage_package_operations(df.final_stage)
    assert [(o.manager, o.names, o.line) for o in ops] == [("apk", ("curl",), 2), ("apk", ("jq",), 6)]


def test_package_operations_ignore_non_package_commands() -> None:
    df = parse_dockerfile("FROM a\nRUN echo apt-get install x && python -c 'import pip' && pip --version\n")
    assert stage_package_operations(df.final_stage) == ()


@pytest.mark.parametrize(
    ("run", "action", "packages", "reqs", "options"),
    [
        # -w/--wheel-dir take a value: the directory is not a requirement
        (
            "pip wheel -w /wheels -r requirements.txt",
            "wheel",
            (),
            ("requirements.txt",),
            ("-w /wheels", "-r requirements.txt"),
        ),
        (
            "pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt",
            "wheel",
            (),
            ("requirements.txt",),
            ("--no-cache-dir", "--wheel-dir=/wheels", "-r requirements.txt"),
        ),
        (
            "python3 -m pip wheel --wheel-dir=/w --no-deps psycopg2==2.9.10 'uvicorn[standard]>=0.30'",
            "wheel",
            ("psycopg2==2.9.10", "uvicorn[standard]>=0.30"),
            (),
            ("--wheel-dir=/w", "--no-deps"),
        ),
        (
            "pip3 wheel -w/wheels --requirement=reqs/prod.txt -c constraints.txt flask",
            "wheel",
            ("flask",),
            ("reqs/prod.txt",),
            ("-w/wheels", "--requirement=reqs/prod.txt", "-c constraints.txt"),
        ),
        # pip download's -d/--dest is its directory, likewise
        ("pip download -d /pkgs flask==3.0.3", "download", ("flask==3.0.3",), (), ("-d /pkgs",)),
        ("pip download --dest=/pkgs -r r.txt", "download", (), ("r.txt",), ("--dest=/pkgs", "-r r.txt")),
    ],
)
def test_package_operations_pip_wheel_and_download(
    run: str, action: str, packages: tuple[str, ...], reqs: tuple[str, ...], options: tuple[str, ...]
) -> None:
    df = parse_dockerfile(f"FROM python:3.12\nRUN {run}\n")
    (op,) = package_operations(df.final_stage.runs[0])
    assert (op.manager, op.action) == ("pip", action)
    assert (op.packages, op.requirement_files, op.options) == (packages, reqs, options)


def test_package_operations_pip_wheel_action_in_a_script_and_exec_form() -> None:
    df = parse_dockerfile(
        "FROM python:3.12\n"
        "RUN pip install -U pip && pip wheel --no-deps -w /wheels . && pip install /wheels/*.whl\n"
        'RUN ["pip", "wheel", "-w", "/w", "idna==3.10"]\n'
    )
    ops = stage_package_operations(df.final_stage, manager="pip")
    assert [(o.action, o.packages, o.line) for o in ops] == [
        ("install", ("pip",), 2),
        ("wheel", (".",), 2),
        ("install", ("/wheels/*.whl",), 2),
        ("wheel", ("idna==3.10",), 3),
    ]
    assert ops[1].command == ("pip", "wheel", "--no-deps", "-w", "/wheels", ".")
    assert [o.line for o in stage_package_operations(df.final_stage, action="wheel")] == [2, 3]
