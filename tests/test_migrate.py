"""``alpinist migrate``: the story's Dockerfile and its variants, judged through the parser and lint.

Expected values are written by hand from the fixtures (tests/migrate_fixtures) and the mapping table;
the migrated files are read back with alpinist's own parser and judged by ``alpinist lint`` and its
``stage_python`` (a separate module with its own knowledge of base images).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from alpinist.dockerfile import apt_to_apk, wheels
from alpinist.dockerfile.lint import lint_text
from alpinist.dockerfile.migrate import (
    AlpineTarget,
    Migration,
    MigrationOptions,
    Note,
    migrate_text,
    parse_target,
)
from alpinist.dockerfile.migrate.healthcheck import healthcheck_url
from alpinist.dockerfile.migrate.runs import split_segments
from alpinist.dockerfile.migrate.users import translate_useradd
from alpinist.dockerfile.model import Dockerfile, Stage
from alpinist.dockerfile.parse import parse_dockerfile
from alpinist.dockerfile.rules import stage_python
from alpinist.dockerfile.shell import split_commands, stage_package_operations
from alpinist.dockerfile.wheels import WheelStatus

if TYPE_CHECKING:
    from tests.index_server import IndexServer


REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "migrate_fixtures"
STORY = FIXTURES / "story"
HANDWRITTEN_ALPINE = Path(__file__).resolve().parent / "dockerfiles" / "story-alpine-handwritten.Dockerfile"
OFFLINE = MigrationOptions(offline=True)


def migrate_file(path: Path, options: MigrationOptions = OFFLINE) -> Migration:
    return migrate_text(path.read_text(encoding="utf-8"), str(path), options)


def apk_packages(stage: Stage) -> list[str]:
    return sorted(
        name for op in stage_package_operations(stage, manager="apk", action="install") for name in op.names
    )


def parsed(result: Migration) -> Dockerfile:
    return parse_dockerfile(result.text, "migrated")


# ------------------------------------------------------------------------------------------- the story


def test_story_offline_matches_its_snapshot() -> None:
    """A snapshot, not an expectation: ``snapshot-offline.Dockerfile`` is what migrate wrote when it was
    reviewed, kept to show any change of the output in a diff (same input, same bytes). What a migrated
    file must contain is asserted from the requirements in ``test_story_structure`` and
    ``test_story_report`` below. Regenerate it with the command in its header when the output changes
    on purpose, and review the diff."""
    result = migrate_file(STORY / "Dockerfile")
    assert result.text == (STORY / "snapshot-offline.Dockerfile").read_text(encoding="utf-8")


def test_story_structure() -> None:
    result = migrate_file(STORY / "Dockerfile")
    df = parsed(result)
    builder, runtime = df.stages
    assert (builder.name, runtime.name) == ("builder", "runtime")
    assert str(builder.base) == str(runtime.base) == "python:3.11-alpine3.22"
    # lint's own reading of each stage's Python: equal, and the input's 3.11
    assert stage_python(df, builder) is not None and stage_python(df, runtime) is not None
    assert stage_python(df, builder).version == stage_python(df, runtime).version == "3.11"  # type: ignore[union-attr]

    assert apk_packages(builder) == ["build-base", "postgresql-dev"]
    assert apk_packages(runtime) == ["libpq"]  # no curl, no gcc, no headers in the final image
    for stage in df.stages:
        for op in stage_package_operations(stage):
            if op.manager == "apk":
                assert op.has_option("--no-cache"), op.command
            if op.manager == "pip" and op.action == "install":
                assert op.has_option("--no-cache-dir"), op.command
            assert op.manager != "apt"
    assert "apt-get" not in result.text and "/var/lib/apt" not in result.text

    user, _ = df.effective_user(runtime)
    assert user == "65532:65532"
    assert "addgroup -g 65532 -S nonroot" in result.text
    assert "adduser -S -D -H -u 65532 -G nonroot nonroot" in result.text
    copies = [(ins.flag("from"), ins.words) for ins in runtime.of("COPY")]
    assert ("builder", ("/opt/venv", "/opt/venv")) in copies

    hc = df.healthcheck(runtime)
    assert hc is not None and isinstance(hc.args, tuple) and hc.args[:2] == ("python3", "-c")
    assert "curl" not in hc.original and "http://127.0.0.1:8080/actuator/health" in hc.args[2]
    assert hc.flags == (("interval", "30s"), ("timeout", "3s"))

    cmd = runtime.of("CMD")[-1]
    assert cmd.args == ("python", "-m", "app")
    assert [i.words for i in runtime.of("EXPOSE")] == [("8080",)]
    assert runtime.env["PYTHONUNBUFFERED"] == "1" and runtime.env["APP_PORT"] == "8080"
    assert [i.words[0] for i in runtime.of("WORKDIR")] == ["/app"]


def test_story_report() -> None:
    report = migrate_file(STORY / "Dockerfile").report
    assert report.changed and report.python == "3.11"
    assert report.builder_base == report.runtime_base == "python:3.11-alpine3.22"
    assert report.builder_packages == ("build-base", "postgresql-dev")
    assert report.runtime_packages == ("libpq",)
    assert report.unmapped == ()
    changes = [str(n) for n in report.changes]
    # the RUN starts on line 8; libpq-dev is split into its build and runtime halves
    assert "line 8: apt libpq-dev → apk postgresql-dev (builder), libpq (runtime)" in changes
    assert any("HEALTHCHECK rewritten from curl" in c for c in changes)
    assert any(c.startswith("curl not installed in the runtime") for c in changes)
    assert any("curl removed" in str(r) for r in report.risks)
    assert report.wheels is not None and report.wheels.offline
    text = report.render_text()
    assert "not checked: --offline: the package index was not asked" in text
    doc = json.loads(report.render_json())
    assert doc["wheels"]["checked"] is False and "--offline" in doc["wheels"]["skipped_reason"]
    assert doc["packages"] == {"builder": ["build-base", "postgresql-dev"], "runtime": ["libpq"]}


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/actuator/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[Callable[[int], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(status: int) -> str:
        handler = type("H", (_Health,), {"status": status})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_rewritten_healthcheck_runs(health_server: Callable[[int], str]) -> None:
    """The exec-form probe, run by a real Python against a real server: 0 when healthy, non-zero when not."""
    hc = parsed(migrate_file(STORY / "Dockerfile")).healthcheck()
    assert hc is not None and isinstance(hc.args, tuple)
    for status, healthy in ((200, True), (503, False)):
        code = hc.args[2].replace("127.0.0.1:8080", health_server(status))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=False)
        assert (done.returncode == 0) is healthy, done.stderr


def test_story_lints_clean_and_the_input_does_not() -> None:
    before = lint_text((STORY / "Dockerfile").read_text(), "before")
    assert {"ALP001", "ALP002"} <= {f.rule for f in before.findings}  # root; pip's cache left
    after = lint_text(migrate_file(STORY / "Dockerfile").text, "after")
    # the only finding left: tags without digests (alpinist cannot resolve digests offline)
    assert {(f.rule, f.severity) for f in after.findings} == {("ALP004", "info")}
    assert not after.fails("warning")


def test_deterministic_and_idempotent(tmp_path: Path) -> None:
    first = migrate_file(STORY / "Dockerfile")
    assert migrate_file(STORY / "Dockerfile").text == first.text
    assert first.report.render_json() == migrate_file(STORY / "Dockerfile").report.render_json()
    copy = tmp_path / "elsewhere"
    shutil.copytree(STORY, copy)
    assert migrate_file(copy / "Dockerfile").text == first.text  # the header names the file, not its path
    again = migrate_text(first.text, str(tmp_path / "Dockerfile.alpine"), OFFLINE)
    assert not again.report.changed and again.text == first.text
    assert "already on Alpine" in (again.report.unchanged_reason or "")


# -------------------------------------------------------------------------------------- other inputs


def test_already_alpine_or_distroless_is_left_alone(tmp_path: Path) -> None:
    text = HANDWRITTEN_ALPINE.read_text()
    result = migrate_text(text, "Dockerfile", OFFLINE)
    assert result.text == text and not result.report.changed
    assert result.report.unchanged_reason is not None and "alpine:3.22.2" in result.report.unchanged_reason
    distroless = 'FROM gcr.io/distroless/python3-debian12\nCOPY app /app\nCMD ["/app/main.py"]\n'
    result = migrate_text(distroless, "Dockerfile", OFFLINE)
    assert result.text == distroless and "distroless" in (result.report.unchanged_reason or "")
    assert "unchanged: " in result.report.render_text()


def test_force_on_the_handwritten_alpine_file_names_the_storys_bug() -> None:
    result = migrate_text(
        HANDWRITTEN_ALPINE.read_text(), "Dockerfile", MigrationOptions(offline=True, force=True)
    )
    assert result.report.changed
    risks = " ".join(str(r) for r in result.report.risks)
    assert "different Pythons" in risks and "builder: 3.11" in risks and "1: 3.12" in risks


def test_unmapped_and_pinned_packages_are_reported_not_guessed() -> None:
    result = migrate_file(FIXTURES / "distro" / "Dockerfile")
    assert result.report.unmapped == (Note("libfoo3", 4), Note("$EXTRA_PACKAGES", 4))
    assert "libfoo3" not in result.text and "EXTRA_PACKAGES" not in result.text
    changes = [str(c) for c in result.report.changes]
    assert (
        "line 4: curl=7.88.1-10+deb12u8: Debian version pin dropped (Alpine versions differ); curl mapped unpinned"
        in changes
    )
    assert "Unmapped apt packages" in result.report.render_text()


def test_distro_python_input() -> None:
    result = migrate_file(FIXTURES / "distro" / "Dockerfile")
    df = parsed(result)
    builder, runtime = df.stages
    assert str(builder.base) == str(runtime.base) == "alpine:3.22"
    assert stage_python(df, builder).version == stage_python(df, runtime).version == "3.12"  # type: ignore[union-attr]
    assert apk_packages(builder) == ["build-base", "libxml2-dev", "python3", "python3-dev"]
    assert apk_packages(runtime) == ["libxml2", "python3"]  # py3-pip and curl are not needed any more
    assert "RUN addgroup -S -g 1000 app && adduser -D -S -u 1000 -G app -s /bin/sh app" in result.text
    assert df.effective_user(runtime)[0] == "1000:1000"
    assert runtime.of("CMD")[-1].args == ("python3", "-m", "svc")
    hc = df.healthcheck(runtime)
    assert hc is not None and "http://127.0.0.1:9000/health" in hc.args[2]  # $PORT from ENV
    assert "DEBIAN_FRONTEND" not in result.text
    pip = [op for op in stage_package_operations(builder, manager="pip")]
    assert [op.command for op in pip] == [("pip", "install", "--no-cache-dir", "-r", "requirements.txt")]
    risks = [str(r) for r in result.report.risks]
    assert any("Python changes from 3.11" in r and "to 3.12" in r for r in risks)
    lint = lint_text(result.text)
    assert {f.rule for f in lint.findings} == {"ALP004"}


def test_multistage_builder_follows_the_runtime_python() -> None:
    result = migrate_file(FIXTURES / "multistage" / "Dockerfile")
    df = parsed(result)
    build, final = df.stages
    assert str(build.base) == str(final.base) == "alpine:3.22"
    assert stage_python(df, final).version == "3.12"  # type: ignore[union-attr]
    assert "RUN python3 -m venv /venv" in result.text
    assert apk_packages(build) == ["build-base", "libpq", "postgresql-dev", "python3", "python3-dev"]
    assert apk_packages(final) == ["libpq", "python3"]
    assert df.effective_user(final)[0] == "65532:65532"
    assert "ALP005" not in {f.rule for f in lint_text(result.text).findings}
    changes = " ".join(str(c) for c in result.report.changes)
    assert "stage build moved to alpine:3.22" in changes
    assert "ARG PY was substituted into FROM" in changes
    risks = " ".join(str(r) for r in result.report.risks)
    assert "curl option -H cannot be expressed with urllib" in risks  # kept, and said so


def test_multistage_builder_without_venv_is_reported(tmp_path: Path) -> None:
    text = (
        "FROM python:3.11-slim AS build\nRUN pip install --prefix=/install flask==3.0.3\n"
        "FROM debian:12-slim\nRUN apt-get update && apt-get install -y python3 && rm -rf /var/lib/apt/lists/*\n"
        'COPY --from=build /install /usr/local\nUSER 1000\nCMD ["python3", "-m", "app"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    risks = " ".join(str(r) for r in result.report.risks)
    # no venv in the builder: pip cannot move to Alpine's python3 (PEP 668), so the mismatch is reported
    assert "different Pythons" in risks and "build: 3.11" in risks and "1: 3.12" in risks


def test_plain_non_python_input(tmp_path: Path) -> None:
    text = (
        "FROM ubuntu:24.04\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl jq ca-certificates"
        " && rm -rf /var/lib/apt/lists/*\n"
        'ENTRYPOINT ["jq"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    df = parsed(result)
    assert len(df.stages) == 1 and str(df.final_stage.base) == "alpine:3.22"
    assert apk_packages(df.final_stage) == ["ca-certificates", "curl", "jq"]
    assert df.effective_user()[0] == "65532:65532"
    assert result.report.python is None and result.report.wheels is None


def test_heredoc_and_exec_form_runs_are_kept_and_reported(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12-slim\n"
        "RUN <<EOF\napt-get update\napt-get install -y gcc\nEOF\n"
        'RUN ["pip", "install", "flask==3.0.3"]\n'
        'CMD ["flask", "run"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    assert "RUN <<EOF\napt-get update\napt-get install -y gcc\nEOF" in result.text
    assert 'RUN ["pip", "install", "flask==3.0.3"]' in result.text
    risks = [str(r) for r in result.report.risks]
    assert sum("kept as written, not translated" in r for r in risks) == 2


def test_to_full_alpine_version_and_default() -> None:
    assert parse_target("alpine") == AlpineTarget("3.22", "3.22")
    assert parse_target("alpine:3.21.3") == AlpineTarget("3.21", "3.21.3")
    for bad in ("debian:12", "alpine:edge", "alpine:latest", "alpine:3"):
        with pytest.raises(ValueError):
            parse_target(bad)
    result = migrate_file(
        FIXTURES / "distro" / "Dockerfile", MigrationOptions(offline=True, to=parse_target("alpine:3.20.3"))
    )
    assert [str(s.base) for s in parsed(result).stages] == ["alpine:3.20.3", "alpine:3.20.3"]
    story = migrate_file(
        STORY / "Dockerfile", MigrationOptions(offline=True, to=parse_target("alpine:3.20.3"))
    )
    assert [str(s.base) for s in parsed(story).stages] == [
        "python:3.11-alpine3.20"
    ] * 2  # python images: A.B tags


# ------------------------------------------------------------------------------------ with the index


def test_story_against_the_loopback_index(
    wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    server = index_server([p for paths in wheel_files.values() for p in paths])
    result = migrate_file(STORY / "Dockerfile", MigrationOptions(index_url=server.url))
    report = result.report
    assert report.wheels is not None and not report.wheels.skipped_reason
    statuses = {f.pin.name: f.status for f in report.wheels.findings}
    # CPython 3.11 on musl x86_64: the index holds MarkupSafe's cp312 wheels only, psutil 7.0.0 manylinux only
    assert statuses == {
        "idna": WheelStatus.WHEEL,
        "markupsafe": WheelStatus.SOURCE,
        "psycopg2": WheelStatus.SOURCE,
        "bcrypt": WheelStatus.WHEEL,
        "psutil": WheelStatus.SOURCE,
        "pywin32": WheelStatus.SKIPPED,
    }
    assert report.wheels.files == ("requirements.txt", "requirements-extra.txt")
    builder, runtime = parsed(result).stages
    assert apk_packages(builder) == ["build-base", "linux-headers", "postgresql-dev"]
    assert apk_packages(runtime) == ["libpq"]
    assert any("markupsafe==3.0.2, psycopg2==2.9.10, psutil==7.0.0" in str(r) for r in report.risks)
    assert "requirements-extra.txt" in json.loads(report.render_json())["wheels"]["files"]


def test_unreachable_index_still_migrates(
    wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    server = index_server(wheel_files["idna-any"])
    url = server.url
    server.stop()
    result = migrate_file(STORY / "Dockerfile", MigrationOptions(index_url=url))
    assert result.text == (STORY / "snapshot-offline.Dockerfile").read_text()
    assert report_errors(result) == 5  # every checked pin; pywin32 is skipped by its marker


def report_errors(result: Migration) -> int:
    assert result.report.wheels is not None
    return sum(f.status is WheelStatus.ERROR for f in result.report.wheels.findings)


# ------------------------------------------------------------------------------------------ the parts


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("a && b; c\nd", ["a", "b", "c", "d"]),
        ("echo 'x && y' && echo \"p; q\"", ["echo 'x && y'", 'echo "p; q"']),
        ("x=$(cat a && cat b) && y", ["x=$(cat a && cat b)", "y"]),
        ("curl -fsSL https://x | sh && z", ["curl -fsSL https://x | sh", "z"]),
        ("a || true && b", ["a || true", "b"]),
        ("a \\\n && b # comment && c\n", ["a", "b"]),
        ("echo \\&\\& ok", ["echo \\&\\& ok"]),
    ],
)
def test_segments(script: str, expected: list[str]) -> None:
    assert [s.text for s in split_segments(script)] == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("useradd -r -u 1000 -m app", "addgroup -S -g 1000 app && adduser -D -S -u 1000 -G app app"),
        (
            "useradd --uid=10001 --no-create-home svc",
            "addgroup -g 10001 svc && adduser -D -H -u 10001 -G svc svc",
        ),
        (
            "useradd -g users -G audio,video bob",
            "adduser -D -G users bob && addgroup bob audio && addgroup bob video",
        ),
        ("groupadd -r -g 2000 grp", "addgroup -S -g 2000 grp"),
        ("addgroup --system --gid 2000 grp", "addgroup -S -g 2000 grp"),
        (
            "adduser --system --group --uid 999 svc",
            "addgroup -S -g 999 svc && adduser -D -S -u 999 -G svc svc",
        ),
        ("adduser --system --no-create-home svc", "adduser -D -S -H -G nogroup svc"),
        ("adduser --disabled-password --gecos '' web", "addgroup web && adduser -D -G web -g '' web"),
        ("adduser web www-data", "addgroup web www-data"),
        (
            "useradd -d /srv/app -s /bin/bash app",
            "addgroup app && adduser -D -G app -h /srv/app -s /bin/sh app",
        ),
    ],
)
def test_user_creation_translation(command: str, expected: str) -> None:
    (cmd,) = split_commands(command)
    assert translate_useradd(cmd.words).text == expected


def test_user_creation_that_cannot_be_translated() -> None:
    (cmd,) = split_commands("useradd -p secret app")
    op = translate_useradd(cmd.words)
    assert op.text is None and "-p" in op.problem


@pytest.mark.parametrize(
    ("healthcheck", "env", "url"),
    [
        (
            "CMD curl -f http://localhost:8080/actuator/health || exit 1",
            {},
            "http://127.0.0.1:8080/actuator/health",
        ),
        ("CMD curl -fsS --max-time 2 http://127.0.0.1:8000/health", {}, "http://127.0.0.1:8000/health"),
        ("CMD wget -q --spider http://0.0.0.0:9000/ready?deep=1", {}, "http://127.0.0.1:9000/ready?deep=1"),
        ("CMD wget -qO- localhost:${PORT}/h || exit 1", {"PORT": "7000"}, "http://127.0.0.1:7000/h"),
        ('CMD ["curl", "-f", "http://svc.local:80/h"]', {}, "http://svc.local:80/h"),
        ('CMD curl -f "http://localhost:8080/it\'s"', {}, "http://127.0.0.1:8080/it%27s"),
        ("CMD curl -fsSL http://[::1]:8080/h", {}, "http://[::1]:8080/h"),
        ("CMD wget -qO /dev/null http://localhost:8080/h", {}, "http://127.0.0.1:8080/h"),
    ],
)
def testhealthcheck_url(healthcheck: str, env: dict[str, str], url: str) -> None:
    hc = parse_dockerfile(f"FROM python:3.12-slim\nHEALTHCHECK {healthcheck}\n").healthcheck()
    assert hc is not None
    assert healthcheck_url(hc, env) == (url, "")


@pytest.mark.parametrize(
    ("healthcheck", "why"),
    [
        ("CMD curl -H 'X: y' http://localhost/h", "option -H"),
        ("CMD curl http://localhost:$PORT/h", "$PORT"),
        ("CMD pg_isready -U app", "runs pg_isready"),
        ("CMD curl http://a/ && curl http://b/", "more than one probe"),
        ("CMD curl ftp://localhost/h", "not an http(s) URL"),
        ("CMD curl -k https://localhost/h", "option -k"),
        ("CMD curl -X POST http://localhost/h", "option -X"),
    ],
)
def test_healthcheck_kept(healthcheck: str, why: str) -> None:
    hc = parse_dockerfile(f"FROM python:3.12-slim\nHEALTHCHECK {healthcheck}\n").healthcheck()
    assert hc is not None
    url, reason = healthcheck_url(hc, {})
    assert url is None and why in reason


def test_pip_commands_are_normalized(tmp_path: Path) -> None:
    text = (
        "FROM python:3.11-slim\n"
        "RUN pip3.11 install --user -r requirements.txt\n"
        "RUN python3 -m pip install --no-cache-dir gunicorn==22.0.0\n"
        'CMD ["gunicorn", "app:app"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    assert "RUN pip install --no-cache-dir -r requirements.txt" in result.text
    assert "RUN python -m pip install --no-cache-dir gunicorn==22.0.0" in result.text
    env_text = "FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask==3.0.3\n"
    assert "RUN pip install flask==3.0.3\n" in migrate_text(env_text, str(tmp_path / "D"), OFFLINE).text


# ------------------------------------------------------------------------------------------ the docs


def _doc_rows(path: Path, heading: str) -> list[list[str]]:
    """Rows of the first Markdown table after ``heading``, cells stripped of backticks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header row


def test_docs_list_the_whole_apt_table() -> None:
    rows = _doc_rows(REPO / "docs" / "migrate.md", "## The apt → apk table")
    documented = {r[0]: (tuple(r[1].split()), tuple(r[2].split())) for r in rows}
    assert documented == {m.apt: (m.build, m.runtime) for m in apt_to_apk.APT_TO_APK}


def test_docs_list_the_whole_build_needs_table() -> None:
    rows = _doc_rows(REPO / "docs" / "migrate.md", "## Source builds: what the builder needs")
    documented = {r[0]: (tuple(r[1].split()), tuple(r[2].split())) for r in rows}
    assert documented == {k: (v.build, v.runtime) for k, v in wheels.BUILD_NEEDS.items()}


def test_docstring_tables_agree_with_the_data() -> None:
    for module, data in (
        (apt_to_apk, {m.apt: (m.build, m.runtime) for m in apt_to_apk.APT_TO_APK}),
        (wheels, {k: (v.build, v.runtime) for k, v in wheels.BUILD_NEEDS.items()}),
    ):
        doc = module.__doc__ or ""
        rows = [
            line
            for line in doc.splitlines()
            if re.match(r"^[a-z0-9][\w.+-]*\s{2,}", line) and line.split()[0] not in ("apt", "project")
        ]
        assert rows
        for row in rows:
            name = row.split()[0]
            assert name in data, name
            # fixed-width columns: name, builder from column 30 (apt table) or 20, runtime from column 60
            start = 30 if module is apt_to_apk else 20
            build = tuple(row[start:60].split())
            runtime = tuple(row[60:].split())
            assert (build, runtime) == data[name], row


# ------------------------------------------------------------------------------------- more behaviour


def test_requirement_files_are_followed_through_copy_and_workdir(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "prod.txt").write_text("idna==3.10\n")
    (tmp_path / "requirements.txt").write_text("decoy==1.0\n")  # not what the Dockerfile installs
    text = (
        "FROM python:3.12-slim\n"
        "WORKDIR /srv\n"
        "COPY deps/prod.txt /tmp/req.txt\n"
        "RUN pip install -r /tmp/req.txt gunicorn==22.0.0 flask\n"
        'CMD ["gunicorn", "app:app"]\n'
    )
    (tmp_path / "Dockerfile").write_text(text)
    report = migrate_file(tmp_path / "Dockerfile").report
    assert report.wheels is not None and report.wheels.files == ("deps/prod.txt",)
    pins = [(f.pin.name, f.pin.version, f.pin.where, f.status) for f in report.wheels.findings]
    assert pins == [
        ("gunicorn", "22.0.0", "Dockerfile:4", WheelStatus.SKIPPED),  # --offline
        ("flask", None, "Dockerfile:4", WheelStatus.SKIPPED),
        ("idna", "3.10", "deps/prod.txt:1", WheelStatus.SKIPPED),
    ]


def test_bash_platform_low_port_and_heredoc_comments(tmp_path: Path) -> None:
    text = (
        "FROM --platform=linux/amd64 python:3.12-slim\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "RUN pip install flask==3.0.3\n"
        "COPY <<EOF /app/app.py\n# a comment inside the heredoc is data\nprint('hi')\nEOF\n"
        "EXPOSE 80\n"
        'CMD ["python", "/app/app.py"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    df = parsed(result)
    assert [s.platform for s in df.stages] == ["linux/amd64", "linux/amd64"]
    assert "bash" in apk_packages(df.stages[0]) and "bash" in apk_packages(df.stages[1])
    assert (
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]'
        in result.text.split("AS builder")[1].split("AS runtime")[0]
    )
    assert "COPY <<EOF /app/app.py\n# a comment inside the heredoc is data\nprint('hi')\nEOF" in result.text
    assert any(r.line == 8 and "EXPOSE 80" in r.message for r in result.report.risks)


def test_python_image_without_a_version(tmp_path: Path) -> None:
    text = 'FROM python:3-slim\nRUN pip install flask==3.0.3\nCMD ["flask", "run"]\n'
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    assert [str(s.base) for s in parsed(result).stages] == ["alpine:3.22", "alpine:3.22"]
    assert any("does not name a Python X.Y" in str(r) for r in result.report.risks)


# ------------------------------------------------------------------------------------------ property

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_BASES = (
    "python:3.11.9-slim",
    "python:3.12",
    "debian:12-slim",
    "ubuntu:24.04",
    "python:3.13-slim-bookworm",
    "node:20",
    "python:3-slim",
)
_LINES = (
    "RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev curl && rm -rf /var/lib/apt/lists/*",
    "RUN apt-get update && apt-get install -y python3 python3-venv python3-pip",
    "RUN apt-get install -y build-essential libssl-dev libffi-dev unknown-pkg",
    "RUN useradd -m -u 1001 app",
    "RUN groupadd -r web && useradd -r -g web web",
    "RUN pip install -r requirements.txt",
    "RUN pip3 install --user gunicorn==22.0.0",
    "RUN python -m pip install --upgrade pip && pip install flask==3.0.3",
    "COPY requirements.txt .",
    "COPY . /app",
    "WORKDIR /app",
    "ENV PYTHONUNBUFFERED=1 DEBIAN_FRONTEND=noninteractive",
    "ARG VERSION=1",
    "EXPOSE 8080",
    "USER app",
    "USER root",
    "RUN mkdir -p /data && chown 1001 /data",
    "HEALTHCHECK CMD curl -f http://localhost:8080/health || exit 1",
    "HEALTHCHECK --interval=10s CMD wget -q --spider http://127.0.0.1:8080/ready",
    'CMD ["python", "-m", "app"]',
    "CMD python -m app --port 8080",
    "ENTRYPOINT python -m app",
    "RUN pip install git+https://github.com/pallets/flask@3.0.3",
    "RUN curl -fsSL https://example.com/x.sh | sh",
    "HEALTHCHECK CMD curl -f -H 'Host: svc' http://localhost/ || exit 1",
    "RUN python3 -m venv /venv && /venv/bin/pip install flask==3.0.3",
    'SHELL ["/bin/bash", "-c"]',
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(_BASES), lines=st.lists(st.sampled_from(_LINES), max_size=10))
def test_any_single_stage_input_gives_a_parsable_hardened_file(base: str, lines: list[str]) -> None:
    text = "\n".join([f"FROM {base}", *lines]) + "\n"
    result = migrate_text(text, "/nonexistent/Dockerfile", OFFLINE)
    df = parse_dockerfile(result.text, "out")  # always a valid Dockerfile
    assert migrate_text(text, "/nonexistent/Dockerfile", OFFLINE).text == result.text  # deterministic
    final = df.final_stage
    user, _ = df.effective_user(final)
    assert user is not None and not re.match(r"^(root|0)(:|$)", user)
    for stage in df.stages:
        for op in stage_package_operations(stage):
            assert op.manager != "apt"
            if op.manager == "apk" and op.action == "install":
                assert op.has_option("--no-cache")
            if op.manager == "pip" and op.action == "install":
                assert op.has_option("--no-cache-dir")
    pythons = {p.version for s in df.stages if (p := stage_python(df, s)) is not None}
    assert len(pythons) <= 1  # the builder's Python is the runtime's
    hc = df.healthcheck(final)
    if hc is not None and not hc.original.endswith("NONE"):
        rewritten = isinstance(hc.args, tuple) and hc.args[0] in ("python3", "wget")
        kept = any("HEALTHCHECK kept as written" in str(r) for r in result.report.risks)
        assert rewritten != kept
        if rewritten and result.report.python is not None:
            assert isinstance(hc.args, tuple) and hc.args[0] == "python3"
    assert not {f.rule for f in lint_text(result.text).findings} & {"ALP001", "ALP002", "ALP003", "ALP005"}
    if not (
        any(line.startswith("ENTRYPOINT python") for line in lines)
        and any(line.startswith("CMD") for line in lines)
    ):
        assert "ALP023" not in {f.rule for f in lint_text(result.text).findings}


def test_tools_the_kept_commands_need_are_installed(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12\n"  # the full image has curl and git; Alpine's has neither
        "RUN pip install git+https://github.com/pallets/flask@3.0.3\n"
        "RUN curl -fsSL https://example.com/setup.sh | sh\n"
        "HEALTHCHECK CMD curl -f -H 'Host: svc' http://localhost:8080/ || exit 1\n"
        "ENTRYPOINT python -m app\n"
        "CMD --port 8080\n"
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    builder, runtime = parsed(result).stages
    assert apk_packages(builder) == ["build-base", "git"]
    assert apk_packages(runtime) == ["curl"]
    rules = {f.rule for f in lint_text(result.text).findings}
    assert "ALP003" not in rules  # the kept curl healthcheck has its curl
    risks = [str(r) for r in result.report.risks]
    assert any(r.startswith("line 5: shell-form ENTRYPOINT kept: with a CMD beside it") for r in risks)


def test_language_images_keep_their_language(tmp_path: Path) -> None:
    text = 'FROM node:20-bookworm-slim\nRUN apt-get update && apt-get install -y tini\nCMD ["node", "server.js"]\n'
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    assert str(parsed(result).final_stage.base) == "node:20-alpine3.22"
    assert any("check that the official node image publishes this tag" in str(r) for r in result.report.risks)
    other = migrate_text('FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCMD ["dotnet", "a.dll"]\n', "D", OFFLINE)
    assert str(parsed(other).final_stage.base) == "alpine:3.22"
    assert any("pick an Alpine variant of it by hand" in str(r) for r in other.report.risks)


def test_which_requirement_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("idna==3.10\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1"\ndependencies = ["attrs==23.2.0"]\n'
    )

    def files(run: str) -> tuple[str, ...]:
        (tmp_path / "Dockerfile").write_text(f"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN {run}\n")
        wheels_report = migrate_file(tmp_path / "Dockerfile").report.wheels
        assert wheels_report is not None
        return wheels_report.files

    assert files("pip install -r requirements.txt && pip install .") == ("requirements.txt", "pyproject.toml")
    assert files("pip install -r requirements.txt") == ("requirements.txt",)
    assert files("pip install flask==3.0.3") == ()  # only the command line's pins
    assert files("pip install .") == ("requirements.txt", "pyproject.toml")


def test_the_image_interpreter_named_by_path_becomes_the_venvs(tmp_path: Path) -> None:
    """pip installed into the image's /usr/local; after migration the packages are in /opt/venv, so a CMD or
    ENTRYPOINT naming /usr/local/bin/python by path would run an interpreter without them."""
    text = (
        "FROM python:3.11-slim\n"
        "RUN pip install gunicorn==22.0.0\n"
        'ENTRYPOINT ["/usr/local/bin/python3.11", "-m", "gunicorn"]\n'
        'CMD ["-b", "0.0.0.0:8000", "app:app"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    runtime = parsed(result).final_stage
    (entry,) = runtime.of("ENTRYPOINT")
    assert list(entry.args) == ["/opt/venv/bin/python", "-m", "gunicorn"]
    (cmd,) = runtime.of("CMD")
    assert list(cmd.args) == ["-b", "0.0.0.0:8000", "app:app"]
    shell = migrate_text(
        "FROM python:3.11-slim\nRUN pip install flask==3.0.3\nCMD /usr/local/bin/python -m app\n",
        str(tmp_path / "Dockerfile"),
        OFFLINE,
    )
    (cmd,) = parsed(shell).final_stage.of("CMD")
    assert list(cmd.args) == ["/opt/venv/bin/python", "-m", "app"]


# ------------------------------------------------- multi-stage: build packages stay out of the final image

WHEELHOUSE = FIXTURES / "wheelhouse"
IDNA_PSYCOPG2 = "idna==3.10\npsycopg2==2.9.10\n"  # psycopg2 2.9.10 is an sdist only: it compiles on Alpine


def changes_and_risks(result: Migration) -> tuple[str, str]:
    return (
        "\n".join(str(n) for n in result.report.changes),
        "\n".join(str(n) for n in result.report.risks),
    )


def test_final_stage_installing_a_builders_wheels_gets_no_compiler() -> None:
    result = migrate_file(WHEELHOUSE / "Dockerfile")
    df = parsed(result)
    wheels_stage, final = df.stages
    assert str(wheels_stage.base) == str(final.base) == "python:3.12-alpine3.22"
    # the stage running pip wheel compiles: build-base, and libpq-dev's two halves (a stage is not split)
    assert apk_packages(wheels_stage) == ["build-base", "libpq", "postgresql-dev"]
    # the final stage installs the wheel files only: libpq5 → libpq; curl served the old healthcheck only
    assert apk_packages(final) == ["libpq"]
    assert "RUN pip install --no-cache-dir /wheels/*.whl" in result.text
    assert result.report.runtime_packages == ("libpq",)
    assert "build-base" in result.report.builder_packages
    changes, risks = changes_and_risks(result)
    assert "line 11: no build packages in the final stage: it installs only local wheel files" in changes
    assert "compiler" not in risks and "compiles" not in risks
    lint = lint_text(result.text, "migrated")
    assert not lint.fails("warning"), [(f.rule, f.message) for f in lint.findings]
    assert result.report.wheels is not None and result.report.wheels.files == ("requirements.txt",)


def test_final_stage_installing_wheels_online(
    wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    server = index_server([*wheel_files["idna-any"], *wheel_files["psycopg2-sdist"]])
    result = migrate_file(WHEELHOUSE / "Dockerfile", MigrationOptions(index_url=server.url))
    assert result.report.wheels is not None
    assert {f.pin.name: f.status for f in result.report.wheels.findings} == {
        "idna": WheelStatus.WHEEL,
        "psycopg2": WheelStatus.SOURCE,
    }
    wheels_stage, final = parsed(result).stages
    assert apk_packages(wheels_stage) == ["build-base", "libpq", "postgresql-dev"]
    assert apk_packages(final) == ["libpq"]  # psycopg2 built in the builder loads libpq here
    assert not lint_text(result.text, "migrated").fails("warning")


ASSETS_THEN_PIP = (
    "FROM node:20-slim AS assets\nWORKDIR /ui\nCOPY ui/ .\nRUN npm ci && npm run build\n\n"
    "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
    "RUN pip install --no-cache-dir -r requirements.txt\n"
    "COPY --from=assets /ui/dist ./static\nCOPY app/ ./app/\nUSER 1000\n"
    'CMD ["python", "-m", "app"]\n'
)


def _context(tmp_path: Path, dockerfile: str, requirements: str) -> Path:
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile, encoding="utf-8")
    return path


def test_final_stage_compiling_from_source_keeps_its_compiler_and_says_so(
    tmp_path: Path, wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    server = index_server([*wheel_files["idna-any"], *wheel_files["psycopg2-sdist"]])
    path = _context(tmp_path, ASSETS_THEN_PIP, IDNA_PSYCOPG2)
    result = migrate_file(path, MigrationOptions(index_url=server.url))
    final = parsed(result).final_stage
    # pip compiles psycopg2 right there: the final stage needs the compiler and libpq's headers
    assert apk_packages(final) == ["build-base", "libpq", "postgresql-dev"]
    _changes, risks = changes_and_risks(result)
    assert "line 9: the final stage compiles psycopg2==2.9.10 from source" in risks
    assert "build-base postgresql-dev stay in the runtime image" in risks


def test_final_stage_whose_requirements_all_have_wheels_gets_no_compiler(
    tmp_path: Path, wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    server = index_server([*wheel_files["idna-any"], *wheel_files["markupsafe-musl-x86_64"]])
    path = _context(tmp_path, ASSETS_THEN_PIP, "idna==3.10\nmarkupsafe==3.0.2\n")
    result = migrate_file(path, MigrationOptions(index_url=server.url))
    assert apk_packages(parsed(result).final_stage) == []
    changes, risks = changes_and_risks(result)
    assert (
        "line 9: no build packages in the final stage: every requirement it installs has a wheel" in changes
    )
    assert "compiles" not in risks


def test_final_stage_pip_offline_adds_no_compiler_and_says_it_could_not_tell(tmp_path: Path) -> None:
    result = migrate_file(_context(tmp_path, ASSETS_THEN_PIP, IDNA_PSYCOPG2))
    assert apk_packages(parsed(result).final_stage) == []
    _changes, risks = changes_and_risks(result)
    assert (
        "line 9: no compiler added to the final stage: alpinist cannot tell whether its pip install compiles "
        "(--offline: the package index was not asked)"
    ) in risks


def test_final_stage_installing_from_a_local_wheel_directory_gets_no_compiler(
    tmp_path: Path, wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    server = index_server([*wheel_files["idna-any"], *wheel_files["psycopg2-sdist"]])
    text = (
        "FROM python:3.12-slim AS build\nCOPY requirements.txt .\n"
        "RUN pip wheel -w /wheels -r requirements.txt\n"
        "FROM python:3.12-slim\nCOPY --from=build /wheels /wheels\nCOPY requirements.txt .\n"
        "RUN pip install --no-cache-dir --no-index --find-links /wheels -r requirements.txt\n"
        'USER 1000\nCMD ["python", "-m", "app"]\n'
    )
    result = migrate_file(_context(tmp_path, text, IDNA_PSYCOPG2), MigrationOptions(index_url=server.url))
    build, final = parsed(result).stages
    assert apk_packages(build) == ["build-base", "postgresql-dev"]  # pip wheel compiles psycopg2
    assert apk_packages(final) == ["libpq"]
    changes, _risks = changes_and_risks(result)
    assert (
        "line 7: no build packages in the final stage: it installs with --no-index from the wheels in /wheels"
        in changes
    )


def test_stage_the_final_stage_is_built_from_is_part_of_the_runtime(
    tmp_path: Path, wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    text = (
        "FROM python:3.12-slim AS base\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n"
        'FROM base\nCOPY app/ ./app/\nUSER 1000\nCMD ["python", "-m", "app"]\n'
    )
    path = _context(tmp_path, text, IDNA_PSYCOPG2)
    offline = parsed(migrate_file(path))
    assert [apk_packages(s) for s in offline.stages] == [[], []]  # unknown: no compiler in the runtime
    server = index_server([*wheel_files["idna-any"], *wheel_files["psycopg2-sdist"]])
    online = migrate_file(path, MigrationOptions(index_url=server.url))
    base, final = parsed(online).stages
    assert apk_packages(base) == ["build-base", "postgresql-dev"]
    assert apk_packages(final) == ["libpq"]
    _changes, risks = changes_and_risks(online)
    assert "line 4: stage base (the final stage is built FROM it) compiles psycopg2==2.9.10" in risks
    # both stages make the final image: the report counts their packages as the runtime's
    assert online.report.runtime_packages == ("build-base", "libpq", "postgresql-dev")
    assert online.report.builder_packages == ()


def test_final_stage_on_alpines_python3_gets_its_headers_only_when_it_compiles(
    tmp_path: Path, wheel_files: dict[str, list[Path]], index_server: Callable[..., IndexServer]
) -> None:
    text = (
        "FROM node:20-slim AS assets\nRUN npm ci\n"
        "FROM debian:12-slim\n"
        "RUN apt-get update && apt-get install -y python3 python3-venv && rm -rf /var/lib/apt/lists/*\n"
        "RUN python3 -m venv /venv\nCOPY requirements.txt .\n"
        "RUN /venv/bin/pip install --no-cache-dir -r requirements.txt\n"
        'USER 1000\nCMD ["/venv/bin/python", "-m", "app"]\n'
    )
    path = _context(tmp_path, text, IDNA_PSYCOPG2)
    assert apk_packages(parsed(migrate_file(path)).final_stage) == ["python3"]
    server = index_server([*wheel_files["idna-any"], *wheel_files["psycopg2-sdist"]])
    online = parsed(migrate_file(path, MigrationOptions(index_url=server.url)))
    assert apk_packages(online.final_stage) == [
        "build-base",
        "libpq",
        "postgresql-dev",
        "python3",
        "python3-dev",
    ]


def test_build_packages_the_input_installs_in_the_final_stage_are_kept_and_reported(tmp_path: Path) -> None:
    text = (
        "FROM python:3.12-slim AS build\nRUN pip wheel -w /wheels flask==3.0.3\n"
        "FROM python:3.12-slim\n"
        "RUN apt-get update && apt-get install -y build-essential libpq-dev && rm -rf /var/lib/apt/lists/*\n"
        "COPY --from=build /wheels /wheels\nRUN pip install --only-binary=:all: --no-index -f /wheels flask\n"
        "RUN pip install wheels/*.whl\n"
        'USER 1000\nCMD ["flask", "run"]\n'
    )
    result = migrate_text(text, str(tmp_path / "Dockerfile"), OFFLINE)
    build, final = parsed(result).stages
    assert apk_packages(build) == ["build-base"]
    # not alpinist's to drop (something may compile there), but said
    assert apk_packages(final) == ["build-base", "libpq", "postgresql-dev"]
    changes, risks = changes_and_risks(result)
    assert (
        "line 6: no build packages in the final stage: it installs wheels only (--only-binary :all:); "
        "it installs only local wheel files"
    ) in changes
    assert (
        "the final stage keeps build-base postgresql-dev: the input installs them there, so they stay in the "
        "runtime image"
    ) in risks
    assert result.report.wheels is not None
    # the pins pip is given on command lines, not the wheel files
    assert [f.pin.text for f in result.report.wheels.findings] == ["flask==3.0.3", "flask"]
    assert not result.report.wheels.problems


def test_pip_wheel_in_exec_form_or_with_or_makes_a_builder_stage() -> None:
    # pip wheel compiles what has no wheel, whatever form it is written in: the stage gets build-base
    for run in (
        'RUN ["pip", "wheel", "-w", "/wheels", "flask==3.0.3"]',
        "RUN pip wheel -w /wheels flask || true",
    ):
        text = (
            f"FROM python:3.12-slim AS build\n{run}\n"
            "FROM python:3.12-slim\nCOPY --from=build /wheels /wheels\nRUN pip install /wheels/*.whl\n"
            'USER 1000\nCMD ["flask", "run"]\n'
        )
        result = migrate_text(text, "Dockerfile", OFFLINE)
        build, final = parsed(result).stages
        assert (apk_packages(build), apk_packages(final)) == (["build-base"], []), run
        assert result.report.builder_base == "python:3.12-alpine3.22"


# ------------------------------------------- multi-stage: curl that only the old healthcheck ran goes


def _curl_stages(final_extra: str = "", base_extra: str = "") -> str:
    """A builder that installs curl, a base stage that installs curl and libpq5, a final stage built FROM
    it with a curl healthcheck alpinist rewrites; ``*_extra``: instructions added to those stages."""
    apt = (
        "RUN apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*\n"
    )
    return (
        "FROM python:3.12-slim AS build\n"
        + apt.format("curl")
        + "RUN pip wheel -w /wheels flask==3.0.3\n"
        + "FROM python:3.12-slim AS base\n"
        + apt.format("curl libpq5")
        + base_extra
        + "FROM base\nCOPY --from=build /wheels /wheels\nRUN pip install --no-cache-dir /wheels/*.whl\n"
        + final_extra
        + 'USER 1000\nHEALTHCHECK CMD curl -f http://localhost:8080/health || exit 1\nCMD ["flask", "run"]\n'
    )


def test_multi_stage_drops_curl_only_the_rewritten_healthcheck_used() -> None:
    result = migrate_text(_curl_stages(), "Dockerfile", OFFLINE)
    df = parsed(result)
    hc = df.healthcheck(df.final_stage)
    assert hc is not None and hc.args[0] == "python3"
    # the builder is discarded and keeps what the input gave it; the final image loses curl
    assert [apk_packages(s) for s in df.stages] == [["build-base", "curl"], ["libpq"], []]
    assert result.report.runtime_packages == ("libpq",)
    changes, risks = changes_and_risks(result)
    assert (
        "curl not installed in stage base (the final stage is built FROM it): only the old HEALTHCHECK used it"
        in changes
    )
    assert "curl removed from the final image: add it back if the service itself runs curl" in risks
    assert "ALP003" not in {f.rule for f in lint_text(result.text, "migrated").findings}


@pytest.mark.parametrize(
    ("final_extra", "base_extra"),
    [
        ("RUN curl -fsSL https://example.com/ca.pem -o /etc/ca.pem\n", ""),
        ("", "RUN curl -fsSL https://example.com/ca.pem -o /etc/ca.pem\n"),
        ("RUN <<EOF\nset -e\ncurl -fsSL https://example.com/ca.pem -o /etc/ca.pem\nEOF\n", ""),
        ('ENTRYPOINT ["curl", "-fsS", "http://config:8500/v1/kv/app"]\n', ""),
        ("", "ONBUILD RUN curl -fsSL https://example.com/x -o /x\n"),
    ],
    ids=["final-run", "base-run", "heredoc", "exec-entrypoint", "onbuild"],
)
def test_multi_stage_keeps_curl_the_final_image_still_runs(final_extra: str, base_extra: str) -> None:
    result = migrate_text(_curl_stages(final_extra, base_extra), "Dockerfile", OFFLINE)
    df = parsed(result)
    assert apk_packages(df.stages[1]) == ["curl", "libpq"]
    hc = df.healthcheck(df.final_stage)
    assert hc is not None and hc.args[0] == "python3"  # rewritten all the same
    changes, risks = changes_and_risks(result)
    assert "curl not installed" not in changes and "curl removed" not in risks


def test_multi_stage_keeps_curl_for_a_healthcheck_kept_as_written() -> None:
    text = _curl_stages().replace("curl -f http", "curl -f -H 'Host: svc' http")
    result = migrate_text(text, "Dockerfile", OFFLINE)
    df = parsed(result)
    assert apk_packages(df.stages[1]) == ["curl", "libpq"]
    hc = df.healthcheck(df.final_stage)
    assert hc is not None and "curl" in str(hc.args)


@pytest.mark.parametrize(
    "extra",
    [
        "RUN <<EOF\nset -e\ncurl -fsSL https://example.com/ca.pem -o /etc/ca.pem\nEOF\n",
        'ENTRYPOINT ["sh", "-c", "curl -fsS http://config:8500/v1/kv/app > /app/conf && exec python3 -m app"]\n',
    ],
    ids=["heredoc", "exec-entrypoint"],
)
def test_single_stage_keeps_curl_a_heredoc_or_exec_form_command_runs(extra: str) -> None:
    text = (
        "FROM python:3.12-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n"
        f"{extra}USER 1000\nHEALTHCHECK CMD curl -f http://localhost:8080/health || exit 1\n"
    )
    result = migrate_text(text, "Dockerfile", OFFLINE)
    final = parsed(result).final_stage
    assert "curl" in apk_packages(final)
    hc = parsed(result).healthcheck(final)
    assert hc is not None and hc.args[0] == "python3"
