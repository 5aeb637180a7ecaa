"""``alpinist recommend`` end to end: a real ``docker-registry`` on loopback standing in for Docker Hub (through
``--registry-mirror``), the advisory database built from the corpus feeds, the loopback package index.

The registry holds corpus images under the Python image's tag names, several tags each, as Docker Hub
would list them (the repository ``library/python``):

============================== ======================== ==============================================
tag                            corpus image             why it is there
============================== ======================== ==============================================
3.11.9-slim                    python-app:debian        the example service's current base
3.11.14-slim                   debian:12-slim           the refresh: newer, but with no Python in it
3.11.14-slim-bookworm          debian:12-slim           the Debian slim family's pick, no Python either
3.12.12-slim-bookworm          python-app:debian        another Python minor: skipped
3.14.0rc2-slim-trixie          debian:12-slim           a release candidate: skipped
3.11.2-alpine3.20              python-app:alpine        Alpine, Python 3.11.2 in /usr/local
3.11-alpine3.20                python-app:alpine        the floating tag of the same: superseded
3.11.14-alpine3.22             python-app:alpine        a stand-in for the 3.22 build (no Alpine 3.22
                                                        package is reachable from here): the report
                                                        must say its tag and its OS disagree
3.11.9-alpine3.18              alpine:3.18.9            an older release: skipped (--releases 2)
3.12.8-alpine3.20              alpine:3.20.3            another Python minor: skipped
3.13.0rc1-alpine3.20           alpine:3.20.3            a release candidate: skipped
3.11-windowsservercore-ltsc…   alpine:3.20.3            a Windows tag: skipped
============================== ======================== ==============================================

and ``cgr/chainguard/python:latest`` (``cgr.dev`` mirrored with a path prefix) is a small Wolfi-shaped image
written by the test in Wolfi's formats (os-release ``ID=wolfi``, an apk database with ``python-3.11``, no
shell): no advisory feed covers Wolfi, so it must be reported as not scanned, never as 0 CVEs. Measured, python-app:alpine has *more* critical + high findings than python-app:debian (35 against 31:
its CPython 3.11.2 is old and has 19 CPython CVEs), so where both are compatible the Debian one ranks
first: ``test_ranking_follows_the_measured_counts`` shows it. The corpus has no Debian image with a
python:3.11 interpreter other than python-app:debian itself, which is the current base here; the Debian
family's tags therefore hold debian:12-slim and are incompatible, and the Alpine tag wins the story. The other
families' repositories (distroless on ``gcr.io``, also mirrored, and ubuntu/python) are not on the mirror: their listing fails, the report
says so, and the run goes on.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpinist.cli.app import main as cli_main
from tests.conftest import REPO, oci_ref
from tests.imagebuild import Member, make_layout, tar_bytes
from tests.index_server import IndexServer
from tests.registry_server import RunningRegistry, start_registry, tools_missing

pytest_plugins = ["tests.index_server"]

from tests.index_server import index_server, wheel_files  # noqa: E402,F401 - fixtures
from tests.scan_fixtures import scan_db  # noqa: E402,F401 - fixture

EXAMPLE = REPO / "examples" / "python-spring-equivalent"
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)

TAGS: dict[str, list[str]] = {
    "python-app:debian": ["3.11.9-slim", "3.12.12-slim-bookworm"],
    "debian:12-slim": ["3.11.14-slim", "3.11.14-slim-bookworm", "3.14.0rc2-slim-trixie"],
    "python-app:alpine": ["3.11.2-alpine3.20", "3.11-alpine3.20", "3.11.14-alpine3.22"],
    "alpine:3.18.9": ["3.11.9-alpine3.18"],
    "alpine:3.20.3": ["3.12.8-alpine3.20", "3.13.0rc1-alpine3.20", "3.11-windowsservercore-ltsc2022"],
}


WOLFI_APK_DB = """P:glibc
V:2.42-r1
A:x86_64
o:glibc

P:python-3.11
V:3.11.14-r2
A:x86_64
o:python-3.11

"""


def push_wolfi(registry: RunningRegistry, workdir: Path) -> None:
    """A Wolfi-shaped image (see the module docstring), pushed as ``cgr/chainguard/python:latest``."""
    layer = tar_bytes(
        [
            Member("etc/os-release", b'ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID=20230201\n'),
            Member("lib/apk/db/installed", WOLFI_APK_DB.encode()),
            Member("usr/bin/python3.11", b"\x7fELF"),
        ]
    )
    layout = workdir / "wolfi"
    make_layout(layout, "latest", [layer], config={"User": "65532"})
    policy = workdir / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    subprocess.run(
        ["skopeo", "--policy", str(policy), "copy", "--quiet", "--dest-tls-verify=false",
         f"oci:{layout}:latest", f"docker://{registry.host}/cgr/chainguard/python:latest"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def retag(registry: RunningRegistry, repository: str, source_tag: str, tags: list[str]) -> None:
    """Put the manifest of ``repository:source_tag`` under each of ``tags`` (as a registry user would)."""
    got = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{source_tag}", headers={"Accept": ACCEPT}, timeout=30
    )
    got.raise_for_status()
    for tag in tags:
        registry.put_manifest(repository, tag, got.content, got.headers["content-type"])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    missing = tools_missing()
    if missing:
        pytest.fail(f"missing test tools: {missing}")
    registry = start_registry(tmp_path_factory.mktemp("hub"))
    try:
        for corpus_tag, tags in TAGS.items():
            registry.push(corpus_tag, "library/python")
            retag(registry, "library/python", corpus_tag.split(":", 1)[1], tags)
        push_wolfi(registry, tmp_path_factory.mktemp("wolfi"))
        yield registry
    finally:
        registry.stop()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli_main(args)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def recommend_args(hub: RunningRegistry, db: Path, *extra: str) -> list[str]:
    return [
        "recommend",
        *extra,
        "--registry-mirror",
        f"docker.io={hub.host}",
        "--registry-mirror",
        f"cgr.dev={hub.host}/cgr",
        "--registry-mirror",
        f"gcr.io={hub.host}/gcr",
        "--db",
        str(db),
        "--max-db-age",
        "100000d",
    ]


def recommend_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hub: RunningRegistry, db: Path, *args: str
) -> dict[str, Any]:
    """``recommend ARGS -f json`` through the hub's mirrors: the parsed report (exit 0 asserted)."""
    out = tmp_path / "rec.json"
    code, _, err = run([*recommend_args(hub, db, *args), "-f", "json", "-o", str(out)], capsys)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


@pytest.fixture(scope="module")
def story(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, object]:
    """The example service's recommendation as JSON (one run shared by the tests below)."""
    out = tmp_path_factory.mktemp("story") / "rec.json"
    with pytest.raises(SystemExit) as exc:
        cli_main(
            [
                *recommend_args(hub, scan_db, str(EXAMPLE / "Dockerfile.k8s"), "--no-index"),
                "-f",
                "json",
                "-o",
                str(out),
            ]
        )
    assert exc.value.code == 0
    doc: dict[str, object] = json.loads(out.read_text())
    return doc


def by_ref(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["candidate"]["reference"]: c for c in doc["candidates"]}  # type: ignore[index,union-attr]


def test_the_current_base_is_the_final_from_and_is_measured(story: dict[str, object]) -> None:
    current = story["current"]
    assert isinstance(current, dict)
    assert current["reference"] == "python:3.11.9-slim"
    assert current["python"] == "3.11"
    assert current["measurement"]["digest"]  # pulled through the mirror and scanned
    assert current["measurement"]["vulnerabilities"] > 0


def test_ranking_the_example_service(story: dict[str, object]) -> None:
    ranked = [c["candidate"]["reference"] for c in story["candidates"]]  # type: ignore[index,union-attr]
    cands = by_ref(story)
    # the two python-app:alpine tags are the same image: same counts, the newer release first
    assert ranked[:2] == ["python:3.11.14-alpine3.22", "python:3.11.2-alpine3.20"]
    assert cands["python:3.11.14-alpine3.22"]["status"] == "ok"
    # no interpreter in these images, and the Dockerfile brings none: incompatible, ranked last
    for ref in ("python:3.11.14-slim", "python:3.11.14-slim-bookworm"):
        assert cands[ref]["status"] == "incompatible"
        assert any("no Python interpreter" in n["message"] for n in cands[ref]["notes"])
    statuses = [c["status"] for c in story["candidates"]]  # type: ignore[index,union-attr]
    assert statuses == sorted(statuses, key=["ok", "not-scanned", "error", "incompatible"].index)
    # measured, the Alpine stand-in has more critical + high findings than the current base (35 against
    # 31: its CPython 3.11.2 carries 19 CVEs); it ranks first only because every Debian candidate here is
    # incompatible, and the report says so rather than calling it an improvement
    assert any(
        "more critical + high findings than the current base (35 against 31)" in w for w in story["warnings"]
    )
    # the stand-in's tag and its OS disagree, and the report says so
    notes = [n["message"] for n in cands["python:3.11.14-alpine3.22"]["notes"]]
    assert "the tag names alpine 3.22, the image is alpine 3.20.3" in notes


def test_skipped_tags_and_reasons(story: dict[str, object]) -> None:
    skipped = {(s["repository"], s["tag"]): s["reason"] for s in story["skipped"]}  # type: ignore[index,union-attr]
    assert skipped[("python", "3.14.0rc2-slim-trixie")] == "pre-release"
    assert skipped[("python", "3.13.0rc1-alpine3.20")] == "pre-release"
    assert skipped[("python", "3.12.12-slim-bookworm")] == "Python 3.12, not 3.11"
    assert skipped[("python", "3.12.8-alpine3.20")] == "Python 3.12, not 3.11"
    assert skipped[("python", "3.11-windowsservercore-ltsc2022")] == "Windows image"
    assert skipped[("python", "3.11-alpine3.20")] == "superseded by 3.11.2-alpine3.20"
    assert skipped[("python", "3.11.9-alpine3.18")] == "older release (the newest 2 are tried)"
    tried = set(by_ref(story))
    assert not any(
        ref.split(":", 1)[1] in {t for _, t in skipped} for ref in tried if ref.startswith("python:")
    )


def test_unreachable_families_are_warnings(story: dict[str, object]) -> None:
    warnings = story["warnings"]
    assert isinstance(warnings, list)
    assert any("gcr.io/distroless/python3-debian12" in w for w in warnings)
    assert any("ubuntu/python" in w for w in warnings)


def test_wolfi_is_not_scanned_never_zero(story: dict[str, object]) -> None:
    wolfi = by_ref(story)["cgr.dev/chainguard/python:latest"]
    measurement = wolfi["measurement"]
    assert measurement["scanned"] is False
    assert measurement["not_scanned"] == "no advisory feed for wolfi"
    assert measurement["python"] == "3.11.14"
    # the story's Dockerfile runs RUN and a shell-form healthcheck: a base without a shell cannot take it
    assert wolfi["status"] == "incompatible"
    assert any(n["topic"] == "shell" and n["level"] == "blocker" for n in wolfi["notes"])


def test_wolfi_for_an_app_that_needs_no_shell(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM python:3.11.9-slim\nCOPY app /app\nCMD ["python3", "-m", "app"]\n')
    doc = recommend_json(tmp_path, capsys, hub, scan_db, str(dockerfile), "--no-index", "--family", "wolfi")
    [wolfi] = doc["candidates"]
    assert wolfi["status"] == "not-scanned" and doc["next_step"] is None  # never recommended on no data
    code, table, _ = run(
        [*recommend_args(hub, scan_db, str(dockerfile), "--no-index", "--family", "wolfi")], capsys
    )
    assert code == 0
    assert "not scanned: no advisory feed for wolfi" in " ".join(table.split())


def test_next_step_is_migrate_and_it_writes_the_committed_dockerfile(
    story: dict[str, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    step = story["next_step"]
    assert isinstance(step, dict) and step["kind"] == "migrate"
    words = shlex.split(step["text"])
    assert (
        words[:2] == ["alpinist", "migrate"]
        and "--to" in words
        and words[words.index("--to") + 1] == "alpine:3.22"
    )
    out = tmp_path / "Dockerfile.alpine"
    code, _, report = run([*words[1:], "-o", str(out)], capsys)
    assert code == 0, report
    assert out.read_bytes() == (EXAMPLE / "Dockerfile.alpine").read_bytes()


def test_table_and_markdown_name_the_winner(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    for fmt in ("table", "markdown"):
        code, out, err = run(
            [
                *recommend_args(hub, scan_db, str(EXAMPLE / "Dockerfile.k8s"), "--no-index"),
                "-f",
                fmt,
                "--family",
                "python-alpine",
            ],
            capsys,
        )
        assert code == 0, err
        assert "python:3.11.14-alpine3.22" in out
        assert "alpinist migrate" in out and "--to alpine:3.22" in out


def test_wheels_on_the_musl_move(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    wheel_files: dict[str, list[Path]],  # noqa: F811
    index_server: Callable[..., IndexServer],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A requirements file with psycopg2 (an sdist only) and idna (a pure wheel): on the move to Alpine,
    psycopg2 compiles and needs its build packages; the Debian candidates need no wheel check."""
    server = index_server([*wheel_files["idna-any"], *wheel_files["psycopg2-sdist"]])
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(EXAMPLE / "Dockerfile.k8s", app / "Dockerfile")
    (app / "requirements.txt").write_text("idna==3.10\npsycopg2==2.9.10\n")
    doc = recommend_json(tmp_path, capsys, hub, scan_db, str(app / "Dockerfile"), "--index-url", server.url)
    cands = by_ref(doc)
    wheels = [n["message"] for n in cands["python:3.11.14-alpine3.22"]["notes"] if n["topic"] == "wheels"]
    assert any("psycopg2==2.9.10" in w and "compile" in w for w in wheels), wheels
    assert any("postgresql-dev" in w for w in wheels), wheels
    assert not any("idna" in w for w in wheels)
    debian_notes = [n for n in cands["python:3.11.14-slim-bookworm"]["notes"] if n["topic"] == "wheels"]
    assert debian_notes == []
    assert "--index-url" in doc["next_step"]["text"]


def test_python_override_and_libc_filter(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = recommend_json(
        tmp_path,
        capsys,
        hub,
        scan_db,
        str(EXAMPLE / "Dockerfile.k8s"),
        "--no-index",
        "--python",
        "3.12",
        "--libc",
        "musl",
    )
    refs = set(by_ref(doc))
    assert refs == {"python:3.12.8-alpine3.20"}  # musl only, Python 3.12 only; the refresh is glibc
    cand = by_ref(doc)["python:3.12.8-alpine3.20"]
    # alpine:3.20.3 under a python tag: no interpreter, and the Dockerfile brings none
    assert cand["status"] == "incompatible"
    assert doc["next_step"] is None


def test_no_candidate_reachable_is_one_line(scan_db: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from tests.registry_server import free_port

    dead = f"127.0.0.1:{free_port()}"
    code, _out, err = run(
        ["recommend", str(EXAMPLE / "Dockerfile.k8s"), "--no-index", "--registry-mirror", f"docker.io={dead}",
         "--registry-mirror", f"gcr.io={dead}", "--registry-mirror", f"cgr.dev={dead}", "--db", str(scan_db),
         "--max-db-age", "100000d"],
        capsys,
    )  # fmt: skip
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("alpinist: error")]
    assert len(lines) == 1, err
    assert "no candidate reachable" in lines[0] and "python" in lines[0] and "gcr.io/distroless" in lines[0]


def test_unresolvable_base_names_the_line(
    tmp_path: Path,
    scan_db: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("ARG BASE\nFROM $BASE\nRUN true\n")
    code, _, err = run(
        ["recommend", str(dockerfile), "--db", str(scan_db), "--max-db-age", "100000d"], capsys
    )
    assert code == 1
    assert f"{dockerfile}:2" in err and "cannot be resolved" in err


def test_ranking_follows_the_measured_counts(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a compatible Debian candidate (the corpus python-app:debian, given with --candidate from its
    OCI layout), fewer critical + high decides: 31 against the Alpine stand-in's 35 (its CPython 3.11.2
    carries 19 CVEs), whatever the size."""
    debian = oci_ref("python-app:debian")
    doc = recommend_json(
        tmp_path, capsys, hub, scan_db, str(EXAMPLE / "Dockerfile.k8s"), "--no-index", "--family", "python-alpine",
        "--candidate", debian,
    )  # fmt: skip
    ok = [c for c in doc["candidates"] if c["status"] == "ok"]
    assert [c["candidate"]["reference"] for c in ok] == [
        debian,
        "python:3.11.14-alpine3.22",
        "python:3.11.2-alpine3.20",
    ]
    counts = [c["measurement"]["critical_high"] for c in ok]
    assert counts == sorted(counts) and counts[0] < counts[1]
    assert (
        ok[0]["measurement"]["uncompressed"] > ok[1]["measurement"]["uncompressed"]
    )  # size came after counts
    assert doc["next_step"] == {"kind": "from", "text": f"FROM {debian}", "line": 5}


def test_recommend_for_an_image_detects_its_base_by_layers(
    hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``recommend IMAGE``: python-app:debian carries no base label; it was built on the corpus
    debian:12-slim, which two of the listed tags hold, so its base is found by its layers and the deltas
    are against that base. Its Python (3.11, Debian's python3.11) comes from its own inventory."""
    doc = recommend_json(tmp_path, capsys, hub, scan_db, oci_ref("python-app:debian"), "--no-index")
    current = doc["current"]
    assert current["kind"] == "image" and current["python"] == "3.11"
    assert current["reference"] in {"python:3.11.14-slim", "python:3.11.14-slim-bookworm"}
    assert current["detected_by"] in {"1 shared layer", "2 shared layers"}
    assert current["measurement"]["packages"] < 200  # the base, not the application image
    # the application installs python3 itself (it is in the image's own packages), but for an image
    # nothing is rebuilt: a base without an interpreter stays incompatible
    assert by_ref(doc)["python:3.11.14-slim-bookworm"]["status"] == "incompatible"
    assert doc["next_step"]["kind"] == "from" and doc["next_step"]["text"].startswith("FROM python:3.11")
