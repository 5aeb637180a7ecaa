"""The example service (``examples/python-spring-equivalent``): its own tests, its Dockerfiles, and the
healthchecks those Dockerfiles declare, run against the real service.

The Debian image is built for real in ``test_example_build.py``. The Alpine image cannot be built here
(no apk repository is reachable from this machine), so ``Dockerfile.alpine`` is checked as a file: it is
what ``alpinist migrate`` writes today, ``alpinist lint`` finds nothing at warning level or above in it,
its structure is the one the story needs, and its healthcheck passes against the running service.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from alpinist.dockerfile.lint import lint_file
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
