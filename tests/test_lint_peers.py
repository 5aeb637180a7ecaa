"""alpinist lint against what hadolint and checkov flag on the fixtures (recorded by
``bench/lint_peers.py --record tests/dockerfiles/peer-findings.json``; the peers are not needed here).

Every peer finding must be covered by an alpinist rule on the same line, be silenced by an ignore
comment in the fixture, or be a documented choice (docs/lint-rules.md, "Compared with hadolint and
checkov"). A changed fixture must be re-recorded (the sha256 is checked)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from alpinist.dockerfile.lint import lint_file

ROOT = Path(__file__).parent.parent
RECORD = ROOT / "tests" / "dockerfiles" / "peer-findings.json"
DOCS = ROOT / "docs" / "lint-rules.md"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_peers", ROOT / "bench" / "lint_peers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lint_peers", module)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
RECORDED = json.loads(RECORD.read_text(encoding="utf-8"))


def _path(name: str) -> Path:
    return Path(name) if name.startswith("/") else ROOT / name


STABLE = sorted(
    name
    for name in RECORDED["files"]
    if name.startswith("tests/dockerfiles/") or name.startswith("/work/shared/corpus/")
)


def test_record_covers_every_fixture() -> None:
    fixtures = {f"tests/dockerfiles/{p.name}" for p in (ROOT / "tests" / "dockerfiles").glob("*.Dockerfile")}
    assert fixtures <= set(RECORDED["files"])
    assert "/work/shared/corpus/images/recipes/python-app-debian/Dockerfile" in RECORDED["files"]
    assert RECORDED["peers"]["hadolint"].endswith("2.15.1")


@pytest.mark.parametrize("name", STABLE)
def test_no_gap_against_peers(name: str) -> None:
    path = _path(name)
    entry = RECORDED["files"][name]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], "fixture changed: re-record"
    peer = [tuple(x) for x in entry["hadolint"] + entry["checkov"]]
    result = lint_file(path)
    verdicts = BENCH.classify(
        peer,
        [(f.rule, f.line) for f in result.findings],
        path.read_text(encoding="utf-8").splitlines(),
        [(f.rule, f.line) for f in result.suppressed],
        name,
    )
    bad = [(code, line, v) for code, line, v in verdicts if v in ("GAP", "UNMAPPED")]
    assert bad == []


def test_every_choice_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    reasons = {v for v in BENCH.PEER_MAP.values() if isinstance(v, str)}
    reasons |= set(BENCH.EXPECTED_DIFFERENCES.values()) | {"builder-cache", "healthcheck-shell-form"}
    for reason in reasons:
        assert f"**{reason}**" in text, reason
    for code, target in BENCH.PEER_MAP.items():
        if isinstance(target, str):
            assert code in text, code


def test_peers_miss_the_story_bug_alpinist_catches_it() -> None:
    name = "tests/dockerfiles/story-alpine-handwritten.Dockerfile"
    entry = RECORDED["files"][name]
    peer_lines = {line for _, line in entry["hadolint"] + entry["checkov"]}
    assert 13 not in peer_lines  # neither peer says anything about the COPY of 3.11 site-packages
    assert ("ALP005", 13) in [(f.rule, f.line) for f in lint_file(_path(name)).findings]


def test_peer_covered_rules_fire_where_peers_flag() -> None:
    """Spot checks written from the recorded peer output of insecure.Dockerfile."""
    entry = RECORDED["files"]["tests/dockerfiles/insecure.Dockerfile"]
    peer = {(code, line) for code, line in entry["hadolint"] + entry["checkov"]}
    assert {
        ("DL3004", 11),
        ("CKV2_DOCKER_1", 11),
        ("CKV2_DOCKER_2", 11),
        ("DL3002", 16),
        ("CKV_DOCKER_1", 14),
    } <= peer
    ours = {(f.rule, f.line) for f in lint_file(_path("tests/dockerfiles/insecure.Dockerfile")).findings}
    assert {("ALP008", 11), ("ALP010", 11), ("ALP001", 16), ("ALP018", 14)} <= ours
