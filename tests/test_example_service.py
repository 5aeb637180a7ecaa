"""The example service (``examples/python-spring-equivalent``): its own tests, its Dockerfiles, and the
healthchecks those Dockerfiles declare, run against the real service.

The Debian image is built for real in ``test_example_build.py``. The Alpine image cannot be built here
(no apk repository is reachable from this machine), so ``Dockerfile.alpine`` is checked as a file: it is
what ``alpinist migrate`` writes today, ``alpinist lint`` finds nothing at warning level or above in it,
its structure is the one the story needs, and its healthcheck passes against the running service.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpinist.cli.app import main as cli_main
from alpinist.dockerfile.lint import lint_file
from alpinist.dockerfile.model import Dockerfile, Stage
from alpinist.dockerfile.parse import read_dockerfile
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "python-spring-equivalent"
STARTED = re.compile(r"started on 127\.0\.0\.1 port (?P<port>\d+) \(http\)")


@pytest.fixture(scope="module")
def service_port() -> Iterator[int]:
    """``python3 -m app`` (the image's CMD) on a free loopback port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVER_")}
    env |= {"SERVER_ADDRESS": "127.0.0.1", "SERVER_PORT": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=EXAMPLE,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        found = STARTED.search(first)
        assert found, f"the service did not start: {first!r}"
        drain = proc.stderr  # the access log must not fill the pipe and block the server
        threading.Thread(target=lambda: [None for _ in drain], daemon=True).start()
        yield int(found["port"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_example_own_tests_pass() -> None:
    """The example is its own project (``pytest.ini`` there): run its suite as a user would, in its directory."""
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    summary = proc.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed[1]) >= 30, summary  # the suite was collected, not skipped
    assert not re.search(r"failed|error|skipped|xfail", summary), summary


def test_requirements_are_pinned_or_absent() -> None:
    lines = [ln.split("#", 1)[0].strip() for ln in (EXAMPLE / "requirements.txt").read_text().splitlines()]
    requirements = [ln for ln in lines if ln]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+(\[[^\]]+\])?==[^=;\s]+", r) for r in requirements), requirements


# -- the "before": Dockerfile.k8s ---------------------------------------------------------------------
def test_before_dockerfiles_carry_the_story_findings() -> None:
    """Root, apt lists and pip's cache left behind: what the team's Debian Dockerfile had; the curl the
    healthcheck needs is installed, so the healthcheck rule has nothing to say about it."""
    for name in ("Dockerfile.k8s", "Dockerfile.k8s.corpus"):
        result = lint_file(EXAMPLE / name)
        warnings = sorted((f.rule, f.message.split()[0]) for f in result.findings if f.severity == "warning")
        assert warnings == [("ALP001", "the"), ("ALP002", "apt-get"), ("ALP002", "pip")], (name, warnings)


def test_before_dockerfiles_differ_only_in_how_python_arrives() -> None:
    """``Dockerfile.k8s.corpus`` (what the build test builds) keeps ``Dockerfile.k8s``'s runtime contract."""
    k8s = read_dockerfile(EXAMPLE / "Dockerfile.k8s")
    corpus = read_dockerfile(EXAMPLE / "Dockerfile.k8s.corpus")
    assert k8s.final_stage.base.raw == "python:3.11.9-slim"
    assert corpus.final_stage.base_resolved.raw == "debian:12-slim"
    for df in (k8s, corpus):
        stage = df.final_stage
        assert df.effective_user() == (None, None)  # root
        assert [i.original for i in stage.of("EXPOSE", "HEALTHCHECK", "CMD", "WORKDIR")] == [
            "WORKDIR /app",
            "EXPOSE 8080",
            "HEALTHCHECK CMD curl -f http://localhost:8080/actuator/health || exit 1",
            'CMD ["python3", "-m", "app"]',
        ]
        runs = " ".join(str(r.args) for r in stage.runs)
        assert "pip install -r requirements.txt" in runs and "--no-cache-dir" not in runs
        assert "apt-get install -y" in runs and "curl" in runs and "lists" not in runs


def test_before_healthcheck_passes_against_the_service(service_port: int) -> None:
    check = read_dockerfile(EXAMPLE / "Dockerfile.k8s").healthcheck()
    assert check is not None and isinstance(check.args, str)
    assert ":8080/" in check.args
    for port, expected in ((service_port, 0), (closed_port(), 1)):
        command = check.args.replace(":8080/", f":{port}/")
        proc = subprocess.run(["sh", "-c", command], capture_output=True, timeout=30, check=False)
        assert proc.returncode == expected, (command, proc.stderr)


# -- the "after": Dockerfile.alpine, written by alpinist migrate --------------------------------------
# Alpine's own python3 package per release (pkgs.alpinelinux.org, main): 3.11 in 3.19, 3.12 in 3.20 to 3.22.
ALPINE_PYTHON3 = {"3.19": "3.11", "3.20": "3.12", "3.21": "3.12", "3.22": "3.12"}
MIGRATE_ARGS = ["migrate", "Dockerfile.k8s", "--to", "alpine:3.22", "--offline"]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli_main(args)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def stage_python(df: Dockerfile, stage: Stage) -> str | None:
    """The Python X.Y a stage runs: from a ``python:X.Y-alpineA.B`` base, or Alpine's ``python3`` package."""
    base = df.root_base(stage)
    tag = base.tag or ""
    if base.name == "python":
        found = re.match(r"(\d+\.\d+)(\.\d+)?-alpine(\d+\.\d+)", tag)
        return found[1] if found else None
    if base.name == "alpine":
        installs = " ".join(str(r.args) for r in stage.runs if "apk add" in str(r.args))
        if re.search(r"\bpython3\b", installs):
            return ALPINE_PYTHON3.get(".".join(tag.split(".")[:2]))
    return None


def test_dockerfile_alpine_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A snapshot: ``Dockerfile.alpine`` is exactly what ``alpinist migrate`` writes today (regenerate it with
    the command in its header, from the example's directory, when migrate changes on purpose). It decides
    nothing about correctness: the tests below check it against the story's requirements (lint clean, the
    builder's Python equals the runtime's, non-root, no curl, the healthcheck passes against the service)."""
    monkeypatch.chdir(EXAMPLE)
    out = tmp_path / "Dockerfile.alpine"
    code, _, report = run_cli([*MIGRATE_ARGS, "-o", str(out)], capsys)
    assert code == 0, report
    assert out.read_bytes() == (EXAMPLE / "Dockerfile.alpine").read_bytes()
    assert "--offline" in report  # the report says the index was not asked


def test_dockerfile_alpine_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["lint", str(EXAMPLE / "Dockerfile.alpine"), "--format", "json"], capsys)
    assert code == 0, err
    findings = json.loads(out)["findings"]
    assert [f for f in findings if f["severity"] in ("warning", "error")] == []


def test_dockerfile_alpine_structure() -> None:
    """Multi-stage, builder and runtime on the same Python, non-root, no caches, urllib healthcheck in exec
    form. (The image cannot be built here: no apk repository is reachable, so the file is what is checked.)"""
    df = read_dockerfile(EXAMPLE / "Dockerfile.alpine")
    assert len(df.stages) >= 2
    runtime = df.final_stage
    sources = {ref for _, ref in runtime.copies_from}
    builders = [st for st in df.stages[:-1] if st.name in sources or str(st.index) in sources]
    assert builders, "the runtime copies nothing from a builder stage"
    builder = builders[0]

    for stage in (builder, runtime):  # both on the target release
        base = df.root_base(stage)
        tag = base.tag or ""
        assert (base.name == "alpine" and tag.startswith("3.22")) or (
            base.name == "python" and tag.endswith("-alpine3.22")
        ), base.raw
    runtime_python = stage_python(df, runtime)
    assert runtime_python is not None
    assert stage_python(df, builder) == runtime_python  # the story's 3.11-vs-3.12 bug cannot happen

    # what the builder installs reaches the runtime: a venv (or site-packages) copied over
    pip = [r for r in builder.runs if "pip install" in str(r.args)]
    assert pip and all("--no-cache-dir" in str(r.args) for r in pip)
    copied = [ins.words for ins, ref in runtime.copies_from if ref == builder.name]
    assert any(any("venv" in w or "site-packages" in w for w in words) for words in copied), copied

    # non-root: the runtime creates uid/gid 65532 (nonroot) and runs as it
    user, _ = df.effective_user()
    assert user in ("nonroot", "nonroot:nonroot", "65532", "65532:65532"), user
    creates = " ".join(str(r.args) for r in runtime.runs)
    assert re.search(r"adduser\b.*-u 65532", creates) and "nonroot" in creates

    for stage in df.stages:
        for run in stage.runs:
            text = str(run.args)
            assert "apt-get" not in text
            if "apk add" in text:
                assert "--no-cache" in text, text

    check = df.healthcheck()
    assert check is not None and check.json and isinstance(check.args, tuple)
    assert check.args[:1] == ("CMD",) or check.args[0].startswith("python")
    command = check.args[1:] if check.args[0] == "CMD" else check.args
    assert command[0] in ("python3", "python") and command[1] == "-c"
    assert "urllib" in command[2] and "/actuator/health" in command[2]
    assert not re.search(r"\b(curl|wget)\b", " ".join(str(r.args) for r in runtime.runs))
    assert [i.original for i in runtime.of("CMD", "EXPOSE")] == [
        "EXPOSE 8080",
        'CMD ["python3", "-m", "app"]',
    ]


def test_dockerfile_alpine_healthcheck_passes_against_the_service(service_port: int) -> None:
    check = read_dockerfile(EXAMPLE / "Dockerfile.alpine").healthcheck()
    assert check is not None and isinstance(check.args, tuple)
    command = list(check.args[1:] if check.args[0] == "CMD" else check.args)
    assert ":8080/" in command[2]
    for port, ok in ((service_port, True), (closed_port(), False)):
        argv = [sys.executable, *command[1:2], command[2].replace(":8080/", f":{port}/")]
        proc = subprocess.run(argv, capture_output=True, timeout=30, check=False)
        assert (proc.returncode == 0) is ok, (argv, proc.stderr)
