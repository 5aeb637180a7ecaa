"""recommend's rules on hand-built inputs: what a Dockerfile needs from a base, the compatibility notes,
the coverage of an OS by the advisory feeds, the ranking."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alpinist.dockerfile.model import DockerfileError
from alpinist.dockerfile.parse import parse_dockerfile
from alpinist.models import ImageFacts, Inventory, OSInfo, Package
from alpinist.recommend import compat
from alpinist.recommend.current import AppNeeds, dockerfile_base, dockerfile_needs
from alpinist.recommend.measure import coverage_gap, interpreter_version
from alpinist.recommend.model import Candidate, Evaluation, Measurement, Note, zero_by_severity
from alpinist.recommend.rank import ranked
from tests.test_matching import facts as matching_facts


def needs_of(text: str, python: str | None = None) -> AppNeeds:
    df = parse_dockerfile(text, "Dockerfile")
    return dockerfile_needs(df, dockerfile_base(df), python)


STORY = """FROM python:3.11.9-slim
RUN apt-get update && apt-get install -y curl
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
HEALTHCHECK CMD curl -f http://localhost:8080/actuator/health || exit 1
CMD ["python3", "-m", "app"]
"""


def test_story_dockerfile_needs() -> None:
    needs = needs_of(STORY)
    assert needs.python == "3.11" and needs.python_from == "the base tag python:3.11.9-slim"
    assert needs.shell_needed_by == ("RUN (line 2)", "RUN (line 5)", "HEALTHCHECK (line 6, shell form)")
    assert needs.package_manager == "apt" and needs.os_packages == ("curl",)
    assert needs.healthcheck_tool == "curl" and not needs.brings_python


def test_multi_stage_final_stage_only_and_distro_python() -> None:
    text = """FROM python:3.12-slim AS build
RUN pip wheel -w /w flask
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv
COPY --from=build /w /w
HEALTHCHECK CMD ["python3", "-c", "import urllib.request"]
ENTRYPOINT ["python3", "-m", "app"]
"""
    needs = needs_of(text)
    assert (
        needs.python == "3.11" and "debian 12" in needs.python_from
    )  # Debian 12's python3, not the builder's tag
    assert needs.brings_python and needs.shell_needed_by == ("RUN (line 4)",)
    assert needs.healthcheck_tool is None
    assert needs_of(text, "3.13").python == "3.13"


def test_exec_form_without_run_needs_no_shell() -> None:
    needs = needs_of('FROM python:3.11-slim\nCOPY . /app\nCMD ["python3", "/app/main.py"]\n')
    assert needs.shell_needed_by == ()
    assert needs_of('FROM python:3.11-slim\nENTRYPOINT ["/bin/sh", "-c", "exec app"]\n').shell_needed_by == (
        "ENTRYPOINT (line 2, shell form)",
    )


@pytest.mark.parametrize(("text", "line"), [("ARG BASE\nFROM $BASE\n", 2), ("FROM scratch\nCOPY app /\n", 1)])
def test_unusable_base_is_an_error_naming_the_line(text: str, line: int) -> None:
    df = parse_dockerfile(text, "ctx/Dockerfile")
    with pytest.raises(DockerfileError, match=rf"^ctx/Dockerfile:{line}: FROM"):
        dockerfile_base(df)


def test_build_arg_resolves_the_base() -> None:
    df = parse_dockerfile("ARG PY=3.11\nFROM python:${PY}-slim\n", "Dockerfile", build_args={"PY": "3.12"})
    assert dockerfile_base(df).base.raw == "python:3.12-slim"


def measurement(**kw: object) -> Measurement:
    base = dict(
        reference="x",
        digest="sha256:" + "0" * 64,
        os="alpine 3.22.2",
        libc="musl",
        python="3.11.14",
        scanned=True,
        not_scanned=None,
        by_severity=zero_by_severity(),
        vulnerabilities=0,
        fixable=0,
        packages=10,
        compressed=10,
        uncompressed=100,
        user="",
        runs_as_root=True,
        shell="/bin/sh",
        package_managers=("apk",),
    )
    base.update(kw)
    return Measurement(**base)  # type: ignore[arg-type]


def candidate(ref: str = "python:3.11.14-alpine3.22", **kw: object) -> Candidate:
    base = dict(
        reference=ref,
        family="python-alpine",
        origin="family",
        title="Alpine (python)",
        distro="alpine",
        release="3.22",
        libc="musl",
        tag_python="3.11.14",
    )
    base.update(kw)
    return Candidate(**base)  # type: ignore[arg-type]


def test_python_minor_mismatch_is_a_blocker() -> None:
    needs = needs_of(STORY)
    notes = compat.python_notes(needs, candidate(tag_python="3.12.1"), measurement(python="3.12.1"))
    assert [n.level for n in notes] == ["blocker"] and "Python 3.12, the application runs 3.11" in notes[
        0
    ].message
    assert compat.python_notes(needs, candidate(), measurement()) == []
    # no interpreter: a blocker unless the Dockerfile installs its own python3
    none = compat.python_notes(needs, candidate(), measurement(python=None))
    assert none[0].level == "blocker" and "its tag says 3.11" in none[0].message
    brings = compat.python_notes(replace(needs, brings_python=True), candidate(), measurement(python=None))
    assert brings[0].level == "info"


def test_shell_and_package_manager_blockers_for_a_distroless_base() -> None:
    needs = needs_of(STORY)
    distroless = measurement(os="debian 12", libc="glibc", shell=None, package_managers=())
    shell = compat.shell_notes(needs, distroless)
    assert shell[0].level == "blocker" and "RUN (line 2)" in shell[0].message
    assert compat.package_manager_notes(needs, distroless)[0].level == "blocker"
    assert compat.healthcheck_notes(needs, candidate(distro="distroless"), distroless)[0].level == "blocker"
    assert (
        compat.shell_notes(needs_of('FROM python:3.11-slim\nCMD ["python3", "-m", "app"]\n'), distroless)
        == []
    )


def test_release_note_when_tag_and_image_disagree() -> None:
    assert compat.release_note(candidate(), measurement(os="alpine 3.20.3"))[0].message == (
        "the tag names alpine 3.22, the image is alpine 3.20.3"
    )
    assert compat.release_note(candidate(), measurement(os="alpine 3.22.2")) == []


def facts(**kw: object) -> ImageFacts:
    return replace(matching_facts(), **kw)  # type: ignore[arg-type]


def pkg(name: str, version: str, kind: str) -> Package:
    return Package(name=name, version=version, type=kind, purl=f"pkg:{kind}/{name}@{version}")  # type: ignore[arg-type]


def test_coverage_gap_names_the_os_or_the_missing_branch() -> None:
    wolfi = Inventory(
        facts(), OSInfo("wolfi", "20230201", "20230201"), (pkg("python-3.12", "3.12.8-r0", "apk"),)
    )
    assert coverage_gap(wolfi, {"alpine:3.20"}) == "no advisory feed for wolfi"
    alpine = replace(wolfi, os=OSInfo("alpine", "3.21.3", "3.21.3"))
    assert coverage_gap(alpine, {"alpine:3.21"}) is None
    assert "no alpine:3.21 data" in (coverage_gap(alpine, {"alpine:3.20"}) or "")
    assert coverage_gap(replace(alpine, packages=()), set()) is None  # nothing to match: nothing missing


def test_interpreter_version_prefers_usr_local_then_the_distro_package() -> None:
    inv = Inventory(
        facts(), None, (pkg("python3.11", "3.11.2-6+deb12u2", "deb"), pkg("python", "3.11.9", "binary"))
    )
    assert interpreter_version(inv) == "3.11.9"
    assert interpreter_version(replace(inv, packages=inv.packages[:1])) == "3.11.2"
    assert interpreter_version(replace(inv, packages=(pkg("python3", "3.12.11-r0", "apk"),))) == "3.12.11"
    assert interpreter_version(replace(inv, packages=(pkg("python3-pip", "23.0", "deb"),))) is None


def ev(ref: str, notes: tuple[Note, ...] = (), **kw: object) -> Evaluation:
    m = measurement(**kw) if kw.get("missing") is None else None
    return Evaluation(
        candidate(ref, release=ref.rsplit("alpine", 1)[-1] if "alpine" in ref else "12"), m, notes=notes
    )


def test_ranking_order() -> None:
    crit = tuple((s, 1 if s == "CRITICAL" else 0) for s, _ in zero_by_severity())
    evaluations = [
        ev("a:big-alpine3.20", uncompressed=500),
        ev("a:crit-alpine3.22", by_severity=crit, vulnerabilities=1),
        ev("a:small-alpine3.20", uncompressed=50),
        ev("a:same-alpine3.22", uncompressed=50),
        ev("a:wolfi", scanned=False, not_scanned="no advisory feed for wolfi"),
        ev("a:broken-alpine3.22", notes=(Note("blocker", "python", "x"),)),
        Evaluation(candidate("a:err"), None, error="pull failed"),
    ]
    order = [e.candidate.reference for e in ranked(evaluations, "debian")]
    assert order == [
        "a:same-alpine3.22",  # ties on size with small: the newer release first
        "a:small-alpine3.20",
        "a:big-alpine3.20",
        "a:crit-alpine3.22",  # fewer critical + high beats size
        "a:wolfi",  # not scanned: after every scanned one, whatever its size
        "a:err",
        "a:broken-alpine3.22",
    ]
    assert [e.rank for e in ranked(evaluations, "debian")] == list(range(1, 8))


def test_ties_prefer_the_current_family() -> None:
    deb = Evaluation(candidate("python:3.11-slim-bookworm", distro="debian", release="12"), measurement())
    alp = Evaluation(candidate("python:3.11-alpine3.22"), measurement())
    assert ranked([alp, deb], "debian")[0] is not None
    assert ranked([alp, deb], "debian")[0].candidate.distro == "debian"
    assert ranked([deb, alp], "alpine")[0].candidate.distro == "alpine"
