"""The reports of ``alpinist recommend`` (table, Markdown, JSON) on hand-built recommendations."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from alpinist.advisories.model import SEVERITIES, Severity
from alpinist.recommend.model import (
    Candidate,
    CurrentBase,
    Evaluation,
    Measurement,
    NextStep,
    Note,
    Recommendation,
    SkippedTag,
    zero_by_severity,
)
from alpinist.reports.recommend.common import COLUMNS
from alpinist.reports.recommend.json import load_schema, recommend_to_dict, render_recommend_json
from alpinist.reports.recommend.markdown import render_recommend_markdown
from alpinist.reports.recommend.table import render_recommend_table

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "alpinist" / "schemas" / "recommend.schema.json"
MB = 1_000_000


def counts(**by: int) -> tuple[tuple[Severity, int], ...]:
    return tuple((s, by.get(s.lower(), 0)) for s in SEVERITIES)


def measured(reference: str, **kw: Any) -> Measurement:
    by_severity = kw.pop("by_severity", zero_by_severity())
    fields: dict[str, Any] = dict(
        reference=reference,
        digest="sha256:" + "ab" * 32,
        os="",
        libc="glibc",
        python=None,
        scanned=True,
        not_scanned=None,
        by_severity=by_severity,
        vulnerabilities=sum(n for _, n in by_severity),
        fixable=0,
        packages=20,
        compressed=10 * MB,
        uncompressed=30 * MB,
        user="",
        runs_as_root=True,
        shell="/bin/sh",
        package_managers=(),
    )
    fields.update(kw)
    return Measurement(**fields)


def candidate(reference: str, family: str, title: str, **kw: Any) -> Candidate:
    fields: dict[str, Any] = dict(
        reference=reference,
        family=family,
        origin="family",
        title=title,
        distro=None,
        release=None,
        libc="glibc",
        tag_python=None,
    )
    fields.update(kw)
    return Candidate(**fields)


CURRENT = CurrentBase(
    subject="Dockerfile.k8s",
    kind="dockerfile",
    reference="python:3.11.9-slim",
    detected_by="Dockerfile line 5",
    distro="debian",
    release="12",
    libc="glibc",
    python="3.11",
    python_from="the base tag",
    package_manager="apt",
    measurement=measured(
        "python:3.11.9-slim",
        os="debian 12.5",
        python="3.11.9",
        by_severity=counts(critical=3, high=11, medium=17, low=20, unknown=1),
        fixable=41,
        packages=105,
        compressed=45_100_000,
        uncompressed=130_400_000,
        package_managers=("apt", "dpkg", "pip"),
    ),
)

ALPINE_322 = Evaluation(
    candidate=candidate(
        "python:3.11.14-alpine3.22",
        "python-alpine",
        "Alpine (python)",
        distro="alpine",
        release="3.22",
        libc="musl",
        tag_python="3.11.14",
    ),
    measurement=measured(
        "python:3.11.14-alpine3.22",
        os="alpine 3.22.2",
        libc="musl",
        python="3.11.14",
        by_severity=counts(high=1, medium=1),
        fixable=2,
        compressed=17_900_000,
        uncompressed=49_600_000,
        package_managers=("apk", "pip"),
    ),
    notes=(
        Note("warning", "wheels", "psycopg2-binary has no musllinux wheel for 3.11: add a builder stage"),
        Note("info", "user", "runs as root, as the current base does"),
    ),
    rank=1,
)
assert ALPINE_322.measurement is not None
ALPINE_321 = replace(
    ALPINE_322,
    candidate=replace(ALPINE_322.candidate, reference="python:3.11.14-alpine3.21", release="3.21"),
    measurement=replace(
        ALPINE_322.measurement,
        reference="python:3.11.14-alpine3.21",
        os="alpine 3.21.5",
        python=None,  # no interpreter measured: the table shows the tag's
        by_severity=counts(high=2, medium=3, low=1),
        vulnerabilities=6,
        fixable=5,
        compressed=18_200_000,
        uncompressed=52 * MB,
    ),
    notes=ALPINE_322.notes[:1],
    rank=2,
)
REFRESH = Evaluation(
    candidate=candidate(
        "python:3.11.14-slim",
        "refresh",
        "Debian slim (python)",
        origin="refresh",
        distro="debian",
        release="12",
        tag_python="3.11.14",
    ),
    measurement=measured(
        "python:3.11.14-slim",
        os="debian 12.12",
        python="3.11.14",
        by_severity=counts(high=3, medium=10, low=18, unknown=1),
        fixable=12,
        compressed=44_800_000,
        uncompressed=128_900_000,
        package_managers=("apt", "dpkg", "pip"),
    ),
    rank=3,
)
WOLFI = Evaluation(
    candidate=candidate(
        "cgr.dev/chainguard/python:latest-dev",
        "wolfi",
        "Wolfi (Chainguard)",
        distro="wolfi",
    ),
    measurement=measured(
        "cgr.dev/chainguard/python:latest-dev",
        os="wolfi 20230201",
        python="3.11.11",
        scanned=False,
        not_scanned="no advisory feed for wolfi",
        compressed=31 * MB,
        uncompressed=95 * MB,
        user="65532",
        runs_as_root=False,
        package_managers=("apk",),
    ),
    rank=4,
)
BROKEN = Evaluation(
    candidate=candidate(
        "python:3.11.14-bookworm",
        "python-debian",
        "Debian (python)",
        distro="debian",
        release="12",
        tag_python="3.11.14",
    ),
    measurement=None,
    error="pull failed: 429 Too Many Requests from registry-1.docker.io",
    rank=5,
)
DISTROLESS = Evaluation(
    candidate=candidate(
        "gcr.io/distroless/python3-debian13:nonroot",
        "distroless",
        "Distroless (Debian)",
        distro="distroless",
        release="13",
    ),
    measurement=measured(
        "gcr.io/distroless/python3-debian13:nonroot",
        os="debian 13",
        python="3.13.5",
        by_severity=counts(high=1, medium=2, low=10),
        fixable=0,
        compressed=21 * MB,
        uncompressed=60 * MB,
        user="nonroot",
        runs_as_root=False,
        shell=None,
    ),
    notes=(
        Note("blocker", "python", "Python 3.13 in the image, the application runs on 3.11"),
        Note("blocker", "healthcheck", "HEALTHCHECK (line 21) runs through a shell; the image has none"),
        Note("info", "user", "runs as nonroot"),
    ),
    rank=6,
)
SKIPPED = (
    *(SkippedTag("python", f"3.14.0rc{i}-alpine", "pre-release") for i in range(1, 4)),
    *(SkippedTag("python", f"3.15.0a{i}-slim", "pre-release") for i in range(1, 7)),
    *(SkippedTag("python", f"3.{m}.0-alpine", "other Python minor") for m in (10, 12, 13)),
    SkippedTag("python", "3.11.13-alpine3.22", "older release"),
    SkippedTag("python", "3.11.12-alpine3.22", "older release"),
    SkippedTag("cgr.dev/chainguard/python", "latest", "no shell (HEALTHCHECK needs one)"),
)
STEP = "alpinist migrate /a/long/path/to/the/service/checkout/Dockerfile.k8s --to alpine:3.22 --offline"
STORY = Recommendation(
    current=CURRENT,
    evaluations=(ALPINE_322, ALPINE_321, REFRESH, WOLFI, BROKEN, DISTROLESS),
    skipped=SKIPPED,
    listed=("docker.io/library/python", "cgr.dev/chainguard/python", "gcr.io/distroless/python3-debian13"),
    next_step=NextStep("migrate", STEP),
    warnings=("the Dockerfile installs with apt: the Alpine candidates need the packages mapped to apk",),
    ranking=(
        "compatible before incompatible, scanned before not scanned",
        "fewer critical + high vulnerabilities",
        "fewer vulnerabilities in all",
        "smaller uncompressed size",
    ),
)


def table_text(rec: Recommendation, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    render_recommend_table(rec, console)
    return console.export_text()


NO_WINNER = Recommendation(
    current=replace(CURRENT, measurement=None, error="pull failed: manifest unknown"),
    evaluations=(replace(DISTROLESS, rank=1), replace(WOLFI, rank=2), replace(BROKEN, rank=3)),
    next_step=None,
)


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def row_lines(text: str, reference_start: str) -> list[str]:
    """The table lines of the row whose candidate cell starts with ``reference_start``."""
    lines = lines_of(text)
    start = next(i for i, line in enumerate(lines) if re.match(rf"\d+\s+{re.escape(reference_start)}", line))
    out = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" ") or not line.strip():
            break
        out.append(line)
    return out


# ---------------------------------------------------------------------------------------------- table


@pytest.mark.parametrize("width", [80, 100, 200])
def test_table_fits_and_shows_every_column(width: int) -> None:
    text = table_text(STORY, width)
    # every line fits, but the next step: a command to copy is one line, whatever the width
    assert max(len(line) for line in lines_of(text) if not line.startswith("Next: ")) <= width
    headers = [line for line in lines_of(text) if line.startswith("#  Candidate")]
    shown = " ".join(headers)
    for header in COLUMNS:
        assert header in shown, (header, headers)
    for (
        e
    ) in STORY.evaluations:  # every candidate, by its first characters in the table and whole in the notes
        assert row_lines(text, e.candidate.reference[:12])


def test_table_at_100_keeps_references_whole() -> None:
    text = table_text(STORY, 100)
    for e in STORY.evaluations[:5]:
        assert e.candidate.reference in text


def test_table_deltas_against_the_current_base() -> None:
    # current: 3 critical + 11 high = 14, 52 in all, 41 fixable, 130.4 MB uncompressed
    text = table_text(STORY, 200)
    (alpine,) = row_lines(text, "python:3.11.14-alpine3.22")
    assert "1 (−13)" in alpine  # 0 + 1 high
    assert "2 (−50)" in alpine
    assert "2 (−39)" in alpine
    assert "49.6 MB (−62%)" in alpine  # (49.6 − 130.4) / 130.4 = −61.96 %
    (refresh,) = row_lines(text, "python:3.11.14-slim")
    assert "3 (−11)" in refresh and "32 (−20)" in refresh and "12 (−29)" in refresh
    assert "128.9 MB (−1%)" in refresh and "refresh" in refresh
    (distroless,) = row_lines(text, "gcr.io/distroless")
    assert "13 (−39)" in distroless and "0 (−41)" in distroless and "incompatible" in distroless


def test_table_python_measured_else_the_tags() -> None:
    text = table_text(STORY, 200)
    assert "3.11.14 (tag)" in row_lines(text, "python:3.11.14-alpine3.21")[0]  # no interpreter measured
    assert "3.11.14 (tag)" not in row_lines(text, "python:3.11.14-alpine3.22")[0]
    assert "3.13.5" in row_lines(text, "gcr.io/distroless")[0]


def test_table_not_scanned_shows_why_and_no_count() -> None:
    text = table_text(STORY, 200)
    (wolfi,) = row_lines(text, "cgr.dev/chainguard")
    assert "not scanned" in wolfi
    cells = wolfi.split()
    assert "0" not in cells and not any(c.startswith("0") for c in cells)
    assert cells.count("—") == 3  # C/H, Total, Fixable
    assert "95.0 MB (−27%)" in wolfi  # the size was measured
    assert "#4 cgr.dev/chainguard/python:latest-dev — not scanned: no advisory feed for wolfi" in text
    (broken,) = row_lines(text, "python:3.11.14-bookworm")
    assert "error" in broken and broken.split().count("—") == 7
    assert "error: pull failed: 429 Too Many Requests from registry-1.docker.io" in text


def test_table_notes_skipped_ranking_next() -> None:
    text = table_text(STORY, 100)
    flat = " ".join(text.split())
    assert "Current base: python:3.11.9-slim (Dockerfile line 5) · debian 12 · glibc · Python 3.11" in flat
    assert "52 vulnerabilities: 3 critical, 11 high, 17 medium, 20 low, 1 unknown, 41 fixable" in flat
    assert "45.1 MB compressed / 130.4 MB" in flat
    assert "✗ blocker python: Python 3.13 in the image, the application runs on 3.11" in flat
    assert "✗ blocker healthcheck: HEALTHCHECK (line 21) runs through a shell" in flat
    assert "! warning wheels: psycopg2-binary" in flat
    assert "python: 14 skipped (9 pre-release, 3 other Python minor, 2 older release)" in flat
    assert (
        "e.g. 3.14.0rc1-alpine, 3.14.0rc2-alpine, 3.14.0rc3-alpine, 3.15.0a1-slim, 3.15.0a2-slim (+9 more)"
        in flat
    )
    assert "3.15.0a3-slim" not in flat  # five examples at most
    assert "listed: docker.io/library/python" in flat
    for i, rule in enumerate(STORY.ranking, 1):
        assert f"{i}. {rule}" in flat
    assert "warning: the Dockerfile installs with apt" in flat
    assert f"Next: {STEP}" in text  # verbatim, on one line


def test_table_from_next_step() -> None:
    rec = replace(STORY, next_step=NextStep("from", "FROM python:3.11.14-slim", line=5))
    assert "Next: replace line 5 with FROM python:3.11.14-slim" in table_text(rec, 100)


@pytest.mark.parametrize("width", [80, 100])
def test_table_no_winner(width: int) -> None:
    text = table_text(NO_WINNER, width)
    flat = " ".join(text.split())
    assert "not measured: pull failed: manifest unknown" in flat
    assert (
        "No recommendation: no candidate is both compatible and scanned "
        "(1 incompatible, 1 not scanned, 1 error of 3)." in flat
    )
    assert "Next:" not in text
    assert max(len(line) for line in lines_of(text)) <= width


def test_table_no_candidate_and_hostile_text() -> None:
    hostile = replace(
        STORY,
        evaluations=(replace(ALPINE_322, notes=(Note("info", "tag", "[bold]x[/bold] \x1b[31mred"),)),),
        warnings=(),
    )
    text = table_text(hostile, 100)
    assert "[bold]x[/bold] \\x1b[31mred" in text
    empty = table_text(Recommendation(current=CURRENT, evaluations=()), 80)
    assert "No recommendation: no candidate base image was found to try." in empty


# -------------------------------------------------------------------------------------------- markdown

INJECT = "evil|name\n<script>alert(1)</script>"


def table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


def cell_count(row: str) -> int:
    return len(re.split(r"(?<!\\)\|", row)) - 2


def test_markdown_table_and_sections() -> None:
    md = render_recommend_markdown(STORY)
    rows = table_rows(md)
    assert rows[0] == "| " + " | ".join(COLUMNS) + " |"
    assert len(rows) == 2 + len(STORY.evaluations)
    assert all(cell_count(r) == len(COLUMNS) for r in rows)
    assert "**1 (−13)**" in rows[2]  # the winner is bold
    assert "| — | — | — | 95.0 MB (−27%) |" in rows[5]
    assert "not scanned: no advisory feed for wolfi" in md
    assert f"**Next:** `{STEP}`" in md
    assert "<details><summary>Skipped tags (15)</summary>" in md
    assert "- python: 14 skipped (9 pre-release, 3 other Python minor, 2 older release)" in md
    assert "1. compatible before incompatible" in md


def test_markdown_injection_stays_in_its_cell() -> None:
    evil = replace(
        ALPINE_322,
        candidate=replace(ALPINE_322.candidate, reference=INJECT, title=INJECT),
        notes=(Note("warning", "wheels", INJECT),),
    )
    md = render_recommend_markdown(replace(STORY, evaluations=(evil, *STORY.evaluations[1:])))
    rows = table_rows(md)
    assert len(rows) == 2 + len(STORY.evaluations)
    assert all(cell_count(r) == len(COLUMNS) for r in rows)
    assert "<script>" not in md.replace("`evil\\|name <script>alert(1)</script>`", "")
    assert "&lt;script&gt;" in md


def test_markdown_no_winner() -> None:
    md = render_recommend_markdown(NO_WINNER)
    assert md.startswith("### alpinist recommend: no recommendation")
    assert "**No recommendation: no candidate is both compatible and scanned" in md
    assert "Next" not in md


# ------------------------------------------------------------------------------------------------ json


@pytest.mark.parametrize("rec", [STORY, NO_WINNER], ids=["story", "no-winner"])
def test_json_validates(rec: Recommendation) -> None:
    doc = json.loads(render_recommend_json(rec))
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)
    assert doc == recommend_to_dict(rec)


def test_json_round_trips_the_numbers() -> None:
    text = render_recommend_json(STORY)
    assert text == render_recommend_json(STORY)  # deterministic
    doc = json.loads(text)
    assert doc["schema"] == "alpinist-recommend/1"
    assert list(doc) == [
        "schema",
        "current",
        "candidates",
        "skipped",
        "listed",
        "next_step",
        "warnings",
        "ranking",
    ]
    current = doc["current"]["measurement"]
    assert current["by_severity"] == {
        "CRITICAL": 3,
        "HIGH": 11,
        "MEDIUM": 17,
        "LOW": 20,
        "NEGLIGIBLE": 0,
        "UNKNOWN": 1,
    }
    assert (current["vulnerabilities"], current["fixable"], current["uncompressed"]) == (52, 41, 130_400_000)
    assert [c["candidate"]["reference"] for c in doc["candidates"]] == [
        e.candidate.reference for e in STORY.evaluations
    ]
    assert [c["rank"] for c in doc["candidates"]] == [1, 2, 3, 4, 5, 6]
    assert [c["status"] for c in doc["candidates"]] == [
        "ok",
        "ok",
        "ok",
        "not-scanned",
        "error",
        "incompatible",
    ]
    for c, e in zip(doc["candidates"], STORY.evaluations, strict=True):
        m = c["measurement"]
        if e.measurement is None:
            assert m is None
            continue
        assert (m["compressed"], m["uncompressed"]) == (e.measurement.compressed, e.measurement.uncompressed)
        if not e.measurement.scanned:  # no count at all, never a 0 that reads as "no vulnerabilities"
            assert m["by_severity"] is m["vulnerabilities"] is m["fixable"] is m["critical_high"] is None
            continue
        assert m["by_severity"] == dict(e.measurement.by_severity)
        assert (m["vulnerabilities"], m["fixable"], m["critical_high"]) == (
            e.measurement.vulnerabilities,
            e.measurement.fixable,
            e.measurement.critical_high,
        )
    wolfi = doc["candidates"][3]
    assert wolfi["measurement"]["scanned"] is False
    assert wolfi["measurement"]["not_scanned"] == "no advisory feed for wolfi"
    assert doc["candidates"][5]["compatible"] is False
    assert doc["candidates"][4]["error"].startswith("pull failed")
    assert doc["next_step"] == {"kind": "migrate", "text": STEP, "line": None}
    assert len(doc["skipped"]) == 15 and doc["skipped"][0] == {
        "repository": "python",
        "tag": "3.14.0rc1-alpine",
        "reason": "pre-release",
    }


def test_json_schema_refuses_extra_keys() -> None:
    doc = recommend_to_dict(STORY)
    doc["candidates"][0]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load_schema()).validate(doc)


def test_the_next_step_is_one_line_to_copy_at_any_width() -> None:
    for width in (40, 80, 100):
        lines = table_text(STORY, width).splitlines()
        assert f"Next: {STEP}" in lines  # never wrapped, however long the path
