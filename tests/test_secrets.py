"""Registry secrets never leak (issue 12): passwords, bearer tokens and credential-helper output.

A real ``docker-registry`` behind a real token server (``tests/registry_server.py``) that knows three
users, each with a password of its own, given the three ways alpinist takes credentials: ``--creds``,
``ALPINIST_USERNAME``/``ALPINIST_PASSWORD``, and a credential helper (a script
``docker-credential-<x>`` on ``PATH`` configured in ``$DOCKER_CONFIG/config.json``). Every verb that
pulls an image runs (sbom, scan, compare, baseline, gate, recommend) with the right credentials, and
sbom and scan also with wrong ones; then stdout, stderr, every file under the run's home (cache, data,
history, the advisory database), and every output file are searched for each secret, its base64, the
base64 of ``user:password`` (the Basic header), and every bearer token the token server issued (and
its signature). One run in process with every logger at DEBUG (httpx and httpcore included) is searched
the same way. The CLI has no ``-v`` flag: DEBUG logging in process is the most it can say.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from alpinist.cli.app import main

from .conftest import oci_ref
from .registry_server import RunningRegistry, TokenServer, start_registry, tools_missing
from .scan_fixtures import scan_db  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120


class RecordingTokenServer(TokenServer):
    """The test token server, remembering every token it issues (they are secrets too)."""

    def __init__(self, workdir: Path, users: dict[str, str]) -> None:
        super().__init__(workdir, users, anonymous_pull=False)
        self.issued: list[str] = []

    def _issue(self, subject: str, scopes: list[str], authenticated: bool) -> str:
        token = super()._issue(subject, scopes, authenticated)
        self.issued.append(token)
        return token


@dataclass
class Secrets:
    users: dict[str, str]  # user -> the password the token server accepts
    wrong: dict[str, str]  # user -> a wrong password, given in the failure runs
    tokens: list[str] = field(default_factory=list)

    def needles(self) -> dict[str, str]:
        """Every string that must never appear, named for the failure message."""
        out: dict[str, str] = {}
        for kind, table in (("password", self.users), ("wrong password", self.wrong)):
            for user, password in table.items():
                out[f"{kind} of {user}"] = password
                out[f"base64 {kind} of {user}"] = base64.b64encode(password.encode()).decode()
                out[f"basic header of {user} ({kind})"] = base64.b64encode(
                    f"{user}:{password}".encode()
                ).decode()
        for i, token in enumerate(self.tokens):
            out[f"bearer token {i}"] = token
            out[f"signature of bearer token {i}"] = token.rsplit(".", 1)[1]
        return out


@dataclass
class World:
    registry: RunningRegistry
    tokens: RecordingTokenServer
    secrets: Secrets
    image: str  # the pushed image, by tag
    root: Path


HELPER = "leakcheck"


def _helper_script(path: Path, user: str, secret: str, *, exit_code: int = 0) -> None:
    doc = json.dumps({"ServerURL": "x", "Username": user, "Secret": secret})
    path.write_text(
        f"#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat >/dev/null\necho '{doc}'\nexit {exit_code}\n"
    )
    path.chmod(0o755)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    missing = tools_missing()
    if missing:
        pytest.fail(f"missing test tools: {missing}")
    root = tmp_path_factory.mktemp("secrets")
    users = {name: f"pw-{name}-{secrets.token_hex(12)}" for name in ("alice", "bob", "carol")}
    wrong = {name: f"wrong-{name}-{secrets.token_hex(12)}" for name in users}
    (root / "registry").mkdir()
    tokens = RecordingTokenServer(root / "registry", users)
    registry = start_registry(root / "registry", token=tokens, token_credentials=("alice", users["alice"]))
    try:
        registry.push("alpine:3.20.3", "library/alpine")
        found = Secrets(users, wrong, tokens.issued)
        yield World(registry, tokens, found, f"{registry.host}/library/alpine:3.20.3", root)
    finally:
        registry.stop()


@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str


class Session:
    """One user's environment: home (cache, data), docker config, PATH with the helpers, outputs."""

    def __init__(self, base: Path, world: World, db: Path) -> None:
        self.world = world
        self.home = base / "home"
        self.out = base / "out"
        self.bin = base / "bin"
        self.docker = self.home / "docker"
        for d in (self.home, self.out, self.bin, self.docker):
            d.mkdir(parents=True, exist_ok=True)
        self.db = self.home / "data" / "advisories.db"
        self.db.parent.mkdir(parents=True)
        shutil.copyfile(db, self.db)
        self.runs: list[Run] = []

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ALPINIST_", "DOCKER_", "REGISTRY_AUTH"))
        }
        env.update(
            {
                "HOME": str(self.home),
                "XDG_CACHE_HOME": str(self.home / ".cache"),
                "XDG_DATA_HOME": str(self.home / ".local" / "share"),
                "ALPINIST_CACHE_DIR": str(self.home / "cache"),
                "ALPINIST_DB": str(self.db),
                "DOCKER_CONFIG": str(self.docker),
                "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(REPO / "src"),
            }
        )
        env.update(extra or {})
        return env

    def helper(self, user: str, secret: str, *, exit_code: int = 0) -> None:
        """Configure the credential helper for the registry, answering ``user``/``secret``."""
        _helper_script(self.bin / f"docker-credential-{HELPER}", user, secret, exit_code=exit_code)
        config = {"credHelpers": {self.world.registry.host: HELPER}}
        (self.docker / "config.json").write_text(json.dumps(config))

    def run(self, *args: str, env: dict[str, str] | None = None) -> Run:
        proc = subprocess.run(
            [sys.executable, "-m", "alpinist", *args],
            capture_output=True,
            text=True,
            env=self.env(env),
            timeout=TIMEOUT,
            check=False,
        )
        run = Run(list(args), proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(run)
        return run

    def assert_nothing_leaked(self, *, wrote: bool = True) -> None:
        needles = self.world.secrets.needles()
        assert self.world.secrets.tokens, "the token server issued no token: the runs never authenticated"
        for run in self.runs:
            for name, needle in needles.items():
                assert needle not in run.stdout, f"{name} in the stdout of {run.args}"
                assert needle not in run.stderr, f"{name} in the stderr of {run.args}"
        helper_scripts = {p for p in self.bin.iterdir()}  # the test's own helpers hold the secrets
        files = [
            p for d in (self.home, self.out) for p in d.rglob("*") if p.is_file() and p not in helper_scripts
        ]
        if wrote:  # the runs wrote what is searched: a database, the cache
            assert any(p.suffix == ".db" for p in files) and any("cache" in p.parts for p in files)
        for path in files:
            data = path.read_bytes()
            for name, needle in needles.items():
                assert needle.encode() not in data, f"{name} in {path}"


@pytest.fixture
def session(tmp_path: Path, world: World, scan_db: Path) -> Session:  # noqa: F811
    return Session(tmp_path, world, scan_db)


def ok(run: Run) -> None:
    assert run.code == 0, f"{run.args}: {run.stderr}"


def refused(run: Run) -> None:
    lines = run.stderr.strip().splitlines()
    assert run.code == 1, f"{run.args}: exit {run.code}: {run.stderr}"
    assert len(lines) == 1 and lines[0].startswith("alpinist: error: "), run.stderr


def test_every_verb_with_creds_leaks_nothing(session: Session, world: World) -> None:
    image, out = world.image, session.out
    creds = ["--creds", f"alice:{world.secrets.users['alice']}"]
    mirrors = [
        f"--registry-mirror={host}={world.registry.host}" for host in ("docker.io", "gcr.io", "cgr.dev")
    ]
    ok(session.run("sbom", image, *creds, "-f", "json", "-o", str(out / "sbom.json")))
    ok(session.run("sbom", image, *creds, "-f", "spdx", "-o", str(out / "sbom.spdx.json"), "--no-cache"))
    common = ["--max-db-age", "100000d", "--history", str(session.home / "data" / "history.db")]
    ok(session.run("scan", image, *creds, *common, "-f", "json", "-o", str(out / "scan.json")))
    ok(
        session.run(
            "compare", image, oci_ref("alpine:3.18.9"), *creds, "--max-db-age", "100000d", "-f", "json"
        )
    )
    baseline = out / "baseline.json"
    ok(session.run("baseline", image, *creds, "--max-db-age", "100000d", "-o", str(baseline)))
    ok(session.run("gate", image, *creds, *common, "--baseline", str(baseline), "-f", "sarif"))
    # recommend lists the candidate families' tags through the same client (none is pushed here:
    # each is a warning or one error line, which must not carry a secret either)
    recommend = session.run("recommend", image, *creds, *mirrors, "--no-index", "--max-db-age", "100000d")
    assert recommend.code in (0, 1), recommend.stderr
    # the control: the password really went to the token server (as a Basic header), and tokens came back
    basic = "Basic " + base64.b64encode(f"alice:{world.secrets.users['alice']}".encode()).decode()
    assert any(r["authorization"] == basic for r in world.tokens.requests)
    session.assert_nothing_leaked()


def test_env_and_helper_credentials_leak_nothing(session: Session, world: World) -> None:
    image, users = world.image, world.secrets.users
    env = {"ALPINIST_USERNAME": "bob", "ALPINIST_PASSWORD": users["bob"]}
    ok(session.run("sbom", image, "-f", "json", "-o", str(session.out / "env.json"), env=env))
    ok(session.run("scan", image, "--max-db-age", "100000d", "-f", "json", env=env))
    session.helper("carol", users["carol"])
    ok(session.run("sbom", image, "--no-cache", "-f", "json", "-o", str(session.out / "helper.json")))
    ok(session.run("scan", image, "--max-db-age", "100000d", "-f", "sarif"))
    session.assert_nothing_leaked()


def test_wrong_credentials_fail_with_one_line_and_leak_nothing(session: Session, world: World) -> None:
    image, wrong = world.image, world.secrets.wrong
    for args in (["sbom", image, "--no-cache"], ["scan", image, "--no-cache", "--max-db-age", "100000d"]):
        run = session.run(*args, "--creds", f"alice:{wrong['alice']}")
        refused(run)
        assert "refused the credentials given" in run.stderr
        run = session.run(*args, env={"ALPINIST_USERNAME": "bob", "ALPINIST_PASSWORD": wrong["bob"]})
        refused(run)
    session.helper("carol", wrong["carol"])
    run = session.run("sbom", image, "--no-cache")
    refused(run)
    assert f"docker-credential-{HELPER}" in run.stderr
    session.assert_nothing_leaked(wrote=False)


def test_debug_logging_in_process_leaks_nothing(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every logger at DEBUG (alpinist's, httpx's, httpcore's wire trace), one good and one bad run."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("alpinist").setLevel(logging.DEBUG)
    monkeypatch.setenv("ALPINIST_CACHE_DIR", str(tmp_path / "cache"))
    codes = []
    try:
        for password in (world.secrets.users["alice"], world.secrets.wrong["alice"]):
            with pytest.raises(SystemExit) as exc:
                main(
                    [
                        "sbom",
                        world.image,
                        "--no-cache",
                        "--creds",
                        f"alice:{password}",
                        "-o",
                        str(tmp_path / "o"),
                    ]
                )
            codes.append(exc.value.code)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.getLogger("alpinist").setLevel(logging.WARNING)
    out, err = capsys.readouterr()
    assert codes == [0, 1]
    log_text = buffer.getvalue()
    assert "httpcore" in log_text or "httpx" in log_text, "the HTTP stack logged nothing at DEBUG"
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for name, needle in world.secrets.needles().items():
        for where, text in (("the DEBUG log", log_text), ("stdout", out), ("stderr", err)):
            assert needle not in text, f"{name} in {where}"
        assert needle.encode() not in written, f"{name} in a written file"


def test_failing_helper_that_printed_its_secret(session: Session, world: World) -> None:
    """A helper that writes its answer and still exits non-zero (a broken wrapper script): the error
    must name the helper, never echo what it wrote."""
    session.helper("carol", world.secrets.users["carol"], exit_code=1)
    run = session.run("sbom", world.image, "--no-cache")
    refused(run)
    session.assert_nothing_leaked(wrote=False)
