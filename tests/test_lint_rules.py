"""Every lint rule, positive and negative; ignore comments; final-stage-only judgments; the story's
Dockerfiles. Expected lines and messages are written from the fixture texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alpinist.dockerfile import parse_dockerfile
from alpinist.dockerfile.lint import lint, lint_file
from alpinist.dockerfile.rules import RULES, SARIF_LEVEL, get_rule

FIXTURES = Path(__file__).parent / "dockerfiles"
DOCS = Path(__file__).parent.parent / "docs" / "lint-rules.md"


def hits(text: str, rule: str) -> list[tuple[int, str, str]]:
    """(line, severity, message) of one rule's findings on ``text``."""
    result = lint(parse_dockerfile(text), select=[rule])
    return [(f.line, f.severity, f.message) for f in result.findings]


def lines(text: str, rule: str) -> list[int]:
    return [line for line, _, _ in hits(text, rule)]


# ------------------------------------------------------------------ registry


def test_rules_are_complete_units() -> None:
    ids = [r.id for r in RULES]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0] == "ALP001" and len(ids) >= 20
    for rule in RULES:
        assert re.fullmatch(r"ALP\d{3}", rule.id)
        assert re.fullmatch(r"[a-z0-9-]+", rule.name)
        assert rule.doc and "\n" not in rule.doc
        assert rule.fix
        assert rule.severity in SARIF_LEVEL
        assert get_rule(rule.id.lower()) is rule


def test_every_rule_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for rule in RULES:
        assert re.search(rf"^### {rule.id} `{rule.name}`", text, re.MULTILINE), rule.id


# ------------------------------------------------------------------ ALP001 final user


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM alpine:3.20\nUSER root\n", [(2, "error")]),
        ("FROM alpine:3.20\nUSER 0:0\n", [(2, "error")]),
        ("FROM alpine:3.20\nUSER app\nRUN id\nUSER root\n", [(4, "error")]),
        ("FROM alpine:3.20\nRUN true\n", [(1, "warning")]),
        ("FROM scratch\nCOPY app /app\n", [(1, "warning")]),
        ("ARG U=0\nFROM alpine:3.20\nARG U\nUSER $U\n", [(4, "error")]),
        # negatives
        ("FROM alpine:3.20\nUSER root\nRUN apk add x\nUSER 65532:65532\n", []),
        ("FROM alpine:3.20\nUSER nonroot\n", []),
        ("FROM gcr.io/distroless/python3-debian12:nonroot\nCOPY a /a\n", []),
        ("FROM alpine:3.20 AS b\nUSER 1000\nFROM b\nRUN true\n", []),  # inherited from the parent stage
        ("FROM alpine:3.20\nUSER $UNSET\n", []),  # judged at build time
    ],
)
def test_alp001_final_user(text: str, expected: list[tuple[int, str]]) -> None:
    assert [(line, sev) for line, sev, _ in hits(text, "ALP001")] == expected


def test_alp001_judges_only_the_final_stage() -> None:
    text = "FROM python:3.12-slim AS builder\nUSER root\nRUN pip wheel x\nFROM python:3.12-slim\nUSER 10001\n"
    assert hits(text, "ALP001") == []
    text = "FROM python:3.12-slim AS builder\nUSER 10001\nFROM python:3.12-slim\nUSER root\n"
    assert lines(text, "ALP001") == [4]


# ------------------------------------------------------------------ ALP002 caches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM debian:12\nRUN apt-get update && apt-get install -y curl\n", [2]),
        (
            "FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
            [],
        ),
        (
            "FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y curl\n",
            [],
        ),
        ("FROM alpine:3.20\nRUN apk add curl\n", [2]),
        ("FROM alpine:3.20\nRUN apk add --no-cache curl\n", []),
        ("FROM alpine:3.20\nRUN apk add curl && rm -rf /var/cache/apk/*\n", []),
        ("FROM alpine:3.20\nRUN --mount=type=cache,target=/var/cache/apk apk add curl\n", []),
        ("FROM python:3.12\nRUN pip install flask\n", [2]),
        ("FROM python:3.12\nRUN pip install --no-cache-dir flask\n", []),
        ("FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n", []),
        ("FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n", []),
        ("FROM python:3.12\nRUN pip install flask && rm -rf /root/.cache\n", []),
        # pip wheel and pip download fill the same cache (pip wheel also keeps what it builds)
        ("FROM python:3.12\nRUN pip wheel -w /wheels -r requirements.txt\n", [2]),
        ("FROM python:3.12\nRUN pip wheel --no-cache-dir -w /wheels -r requirements.txt\n", []),
        ("FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN python -m pip wheel -w /w flask\n", []),
        ("FROM python:3.12\nRUN pip download -d /pkgs flask\n", [2]),
        ("FROM python:3.12\nRUN pip download --no-cache-dir -d /pkgs flask\n", []),
        ("FROM python:3.12 AS w\nRUN pip wheel -w /w flask\nFROM python:3.12\nCOPY --from=w /w /w\n", []),
        ("FROM python:3.12\nRUN pip uninstall -y setuptools\n", []),
        ("FROM python:3.12\nRUN uv pip install --system flask\n", [2]),
        ("FROM python:3.12\nRUN uv pip install --system --no-cache flask\n", []),
        ("FROM fedora:40\nRUN dnf install -y gcc\n", [2]),
        ("FROM fedora:40\nRUN dnf install -y gcc && dnf clean all\n", []),
        # a builder's cache never ships; the final image's lineage is judged
        ("FROM alpine:3.20 AS b\nRUN apk add gcc\nFROM alpine:3.20\nCOPY --from=b /x /x\n", []),
        ("FROM alpine:3.20 AS base\nRUN apk add curl\nFROM base\nRUN true\n", [2]),
    ],
)
def test_alp002_caches(text: str, expected: list[int]) -> None:
    assert lines(text, "ALP002") == expected


def test_alp002_messages_name_the_manager() -> None:
    text = "FROM python:3.12-alpine\nRUN apk add curl && pip install x && apt-get install -y y\n"
    messages = [m for _, _, m in hits(text, "ALP002")]
    assert any(m.startswith("apt-get install leaves /var/lib/apt/lists") for m in messages)
    assert any(m.startswith("apk add without --no-cache") for m in messages)
    assert any(m.startswith("pip install without --no-cache-dir") for m in messages)
    wheel = (
        "FROM python:3.12\nRUN pip wheel --no-deps -w /wheels . && pip install --no-cache-dir /wheels/*.whl\n"
    )
    assert [m for _, _, m in hits(wheel, "ALP002")] == [
        "pip wheel without --no-cache-dir leaves downloaded and built wheels in ~/.cache/pip"
    ]


# ------------------------------------------------------------------ ALP003 healthcheck tool


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM python:3.12-slim\nHEALTHCHECK CMD curl -f http://x/ || exit 1\n", [2]),
        ("FROM alpine:3.22.2\nHEALTHCHECK CMD curl -f http://x/\n", [2]),
        ('FROM python:3.12-alpine\nHEALTHCHECK CMD ["curl", "-f", "http://x/"]\n', [2]),
        ("FROM debian:12-slim\nHEALTHCHECK CMD wget -qO- http://x/\n", [2]),
        ("FROM alpine:3.22.2\nHEALTHCHECK CMD python3 -c 'import urllib'\n", [2]),
        ('FROM gcr.io/distroless/python3-debian12\nHEALTHCHECK CMD ["curl", "http://x/"]\n', [2]),
        # negatives: installed, shipped by the base, busybox wget, unknown base, NONE
        ("FROM python:3.12-slim\nRUN apt-get install -y curl\nHEALTHCHECK CMD curl -f http://x/\n", []),
        ("FROM alpine:3.22.2\nRUN apk add --no-cache curl\nHEALTHCHECK CMD curl -f http://x/\n", []),
        ("FROM alpine:3.22.2\nHEALTHCHECK CMD wget -q --spider http://x/\n", []),
        ("FROM python:3.12\nHEALTHCHECK CMD curl -f http://x/\n", []),
        ("FROM myorg/base:1\nHEALTHCHECK CMD curl -f http://x/\n", []),
        (
            'FROM alpine:3.22.2\nRUN apk add --no-cache python3\nHEALTHCHECK CMD ["python3", "-c", "import urllib"]\n',
            [],
        ),
        ('FROM python:3.12-alpine\nHEALTHCHECK CMD ["python3", "-c", "import urllib"]\n', []),
        ("FROM alpine:3.22.2\nHEALTHCHECK NONE\n", []),
        (
            "FROM alpine:3.22.2 AS tools\nRUN apk add curl\nFROM alpine:3.22.2\nCOPY --from=tools /usr/bin/curl /usr/bin/curl\nHEALTHCHECK CMD curl http://x/\n",
            [],
        ),
        # a builder that installs curl does not put it in the final image
        (
            "FROM alpine:3.22.2 AS b\nRUN apk add curl\nFROM alpine:3.22.2\nHEALTHCHECK CMD curl http://x/\n",
            [4],
        ),
    ],
)
def test_alp003_healthcheck_tool(text: str, expected: list[int]) -> None:
    assert lines(text, "ALP003") == expected


def test_alp003_message() -> None:
    [(_, sev, message)] = hits("FROM alpine:3.22.2\nHEALTHCHECK CMD curl -f http://x/\n", "ALP003")
    assert sev == "error"
    assert (
        message
        == "HEALTHCHECK runs curl, which the final image (FROM alpine:3.22.2) does not have and no stage installs"
    )


# ------------------------------------------------------------------ ALP004 pinning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM alpine\n", [(1, "warning")]),
        ("FROM alpine:latest\n", [(1, "warning")]),
        ("FROM alpine:3.22.2\n", [(1, "info")]),
        ("ARG B=alpine\nFROM $B\n", [(2, "warning")]),
        ("FROM alpine:3.22.2@sha256:" + "a" * 64 + "\n", []),
        ("FROM alpine@sha256:" + "a" * 64 + "\n", []),
        ("FROM scratch\n", []),
        ("ARG B\nFROM $B\n", []),
        ("FROM alpine:3.22.2@sha256:" + "a" * 64 + " AS b\nFROM b\n", []),  # a stage is not an image
    ],
)
def test_alp004_pinning(text: str, expected: list[tuple[int, str]]) -> None:
    assert [(line, sev) for line, sev, _ in hits(text, "ALP004")] == expected


def test_alp004_fix_suggests_digest() -> None:
    [finding] = lint(parse_dockerfile("FROM alpine:3.22.2\n"), select=["ALP004"]).findings
    assert finding.fix.startswith("Add the digest: `FROM alpine:3.22.2@sha256:<digest>`")


# ------------------------------------------------------------------ ALP005 Python mismatch


def test_alp005_story_handwritten_alpine() -> None:
    result = lint_file(FIXTURES / "story-alpine-handwritten.Dockerfile", select=["ALP005"])
    [finding] = result.findings
    assert (finding.line, finding.severity, finding.stage) == (13, "error", "1")
    assert finding.message == (
        "builder python:3.11-alpine3.22 has Python 3.11; runtime alpine:3.22.2 installs python3 = 3.12: "
        "packages copied from /usr/local/lib/python3.11/site-packages will not import"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # venv from a 3.12 builder into a 3.11 runtime
        (
            "FROM python:3.12-slim AS b\nRUN python -m venv /opt/venv\nFROM python:3.11-slim\nCOPY --from=b /opt/venv /opt/venv\n",
            [4],
        ),
        # pip --prefix dir; runtime Debian 12's python3 (3.11) vs builder 3.12
        (
            "FROM python:3.12-slim AS b\nRUN pip install --prefix=/install x\nFROM debian:12-slim\nRUN apt-get install -y python3\nCOPY --from=b /install /usr/local\n",
            [5],
        ),
        # builder alpine:3.18 python3 (3.11) vs runtime alpine:3.20 python3 (3.12)
        (
            "FROM alpine:3.18 AS b\nRUN apk add py3-pip\nRUN pip install --user x\nFROM alpine:3.20\nRUN apk add python3\nCOPY --from=b /root/.local /root/.local\n",
            [6],
        ),
        # an image as the source
        (
            "FROM alpine:3.22\nRUN apk add python3\nCOPY --from=python:3.11-alpine /usr/local/lib/python3.11 /usr/lib/python3.11\n",
            [3],
        ),
        # negatives: same version both sides
        (
            "FROM alpine:3.22 AS b\nRUN apk add python3 py3-pip\nRUN python3 -m venv /v\nFROM alpine:3.22.2\nRUN apk add python3\nCOPY --from=b /v /v\n",
            [],
        ),
        (
            "FROM python:3.12-alpine3.22 AS b\nRUN pip install --target /deps x\nFROM alpine:3.22\nRUN apk add python3\nCOPY --from=b /deps /deps\n",
            [],
        ),
        # not Python payload
        (
            "FROM python:3.11 AS b\nRUN make\nFROM alpine:3.22\nRUN apk add python3\nCOPY --from=b /src/dist/app /app\n",
            [],
        ),
        # runtime Python unknown
        (
            "FROM python:3.11 AS b\nRUN python -m venv /venv\nFROM myorg/runtime:1\nCOPY --from=b /venv /venv\n",
            [],
        ),
    ],
)
def test_alp005_cases(text: str, expected: list[int]) -> None:
    assert lines(text, "ALP005") == expected


def test_alp005_python_from_env_python_version() -> None:
    text = "FROM scratch AS py\nCOPY python/ /usr/local/\nFROM alpine:3.20\nENV PYTHON_VERSION=3.11.2\nCOPY --from=py /usr/local/ /usr/local/\nFROM alpine:3.20 AS venv\n"
    assert lines(text, "ALP005") == []
    text = "FROM python:3.12 AS b\nRUN python -m venv /venv\nFROM alpine:3.20\nENV PYTHON_VERSION=3.11.2\nCOPY --from=b /venv /venv\n"
    [(line, _, message)] = hits(text, "ALP005")
    assert line == 5 and "runtime alpine:3.20 has Python 3.11 (ENV PYTHON_VERSION)" in message


# ------------------------------------------------------------------ ALP006 ADD URL / ALP016 ADD local


@pytest.mark.parametrize(
    ("text", "alp006", "alp016"),
    [
        ("FROM a\nADD https://example.invalid/x.tgz /x\n", [2], []),
        ("FROM a\nADD --checksum=sha256:" + "a" * 64 + " https://example.invalid/x /x\n", [], []),
        ("FROM a\nADD git@github.com:o/r.git /src\n", [2], []),
        ("FROM a\nADD app.py /app/\n", [], [2]),
        ("FROM a\nADD rootfs.tar.gz /\n", [], []),
        ("FROM a\nCOPY app.py /app/\n", [], []),
    ],
)
def test_alp006_alp016_add(text: str, alp006: list[int], alp016: list[int]) -> None:
    assert lines(text, "ALP006") == alp006
    assert lines(text, "ALP016") == alp016


# ------------------------------------------------------------------ ALP007 secrets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM a\nENV DB_PASSWORD=x\n", [(2, "error")]),
        ("FROM a\nENV API_KEY x\n", [(2, "error")]),
        ("FROM a\nARG GITHUB_TOKEN\n", [(2, "warning")]),
        ("FROM a\nARG AWS_SECRET_ACCESS_KEY=\n", [(2, "warning")]),
        ("ARG NPM_TOKEN\nFROM a\n", [(1, "warning")]),
        ("FROM a\nENV GREETING=AKIAABCDEFGHIJKLMNOP\n", [(2, "error")]),
        ("FROM a\nRUN echo 'root:pw' | chpasswd\n", [(2, "error")]),
        # negatives
        ("FROM a\nENV DB_PASSWORD_FILE=/run/secrets/db\n", []),
        ("FROM a\nENV TOKEN_URL=https://auth.invalid/token\n", []),
        ("FROM a\nENV APP_HOME=/app PORT=8080\n", []),
        ('FROM a\nENV SECRET=""\n', []),
        ("FROM a\nRUN --mount=type=secret,id=token cat /run/secrets/token\n", []),
    ],
)
def test_alp007_secrets(text: str, expected: list[tuple[int, str]]) -> None:
    assert [(line, sev) for line, sev, _ in hits(text, "ALP007")] == expected


# ------------------------------------------------------------------ ALP008 sudo, ALP009 pipe to shell


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM a\nRUN sudo apt-get install -y x\n", [2]),
        ("FROM a\nRUN true && DEBIAN_FRONTEND=noninteractive sudo -E make install\n", [2]),
        ("FROM a\nRUN apt-get install -y sudo\n", []),
        ("FROM a\nRUN echo sudo\n", []),
    ],
)
def test_alp008_sudo(text: str, expected: list[int]) -> None:
    assert lines(text, "ALP008") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM a\nRUN curl -fsSL https://x/install.sh | sh\n", [2]),
        ("FROM a\nRUN wget -qO- https://x/i | bash -s -- --yes\n", [2]),
        ("FROM a\nRUN curl -sSL https://x/get.py | python3 -\n", [2]),
        ('FROM a\nRUN sh -c "$(curl -fsSL https://x/install.sh)"\n', [2]),
        ("FROM a\nRUN curl -fsSL https://x/a.tgz | tar xz\n", []),
        ("FROM a\nRUN curl -o /i.sh https://x/i.sh && echo 'sum  /i.sh' | sha256sum -c && sh /i.sh\n", []),
    ],
)
def test_alp009_pipe_to_shell(text: str, expected: list[int]) -> None:
    assert lines(text, "ALP009") == expected


# ------------------------------------------------------------------ ALP010 TLS off


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM a\nRUN curl -k https://x/\n", [2]),
        ("FROM a\nRUN curl -fsSLk https://x/\n", [2]),
        ("FROM a\nRUN wget --no-check-certificate https://x/\n", [2]),
        ("FROM a\nRUN pip install --trusted-host pypi.invalid x\n", [2]),
        ("FROM a\nRUN apk add --allow-untrusted /x.apk\n", [2]),
        ("FROM a\nRUN apt-get install -y --allow-unauthenticated x\n", [2]),
        ("FROM a\nRUN git -c http.sslVerify=false clone https://x/r\n", [2]),
        ("FROM a\nRUN dnf install -y --nogpgcheck x\n", [2]),
        ("FROM a\nRUN rpm -i --nosignature x.rpm\n", [2]),
        ("FROM a\nENV PYTHONHTTPSVERIFY=0\n", [2]),
        ("FROM a\nENV NODE_TLS_REJECT_UNAUTHORIZED=0\n", [2]),
        ("FROM a\nARG PIP_TRUSTED_HOST=pypi.invalid\n", [2]),
        ("FROM a\nRUN GIT_SSL_NO_VERIFY=1 git clone https://x/r\n", [2]),
        # negatives
        ("FROM a\nRUN curl -fsSL https://x/ -o /x\n", []),
        ("FROM a\nENV PYTHONHTTPSVERIFY=1 GIT_SSL_NO_VERIFY=false\n", []),
    ],
)
def test_alp010_tls_off(text: str, expected: list[int]) -> None:
    assert lines(text, "ALP010") == expected


# ------------------------------------------------------------------ ALP011 no shell, ALP023 shell-form entrypoint


@pytest.mark.parametrize(
    ("text", "alp011", "alp023"),
    [
        ("FROM gcr.io/distroless/python3-debian12\nCMD python3 app.py\n", [2], []),
        ("FROM scratch\nENTRYPOINT /app\n", [2], []),
        (
            'FROM gcr.io/distroless/python3-debian12\nCMD ["app.py"]\nHEALTHCHECK CMD ["python3", "-c", "1"]\n',
            [],
            [],
        ),
        ("FROM gcr.io/distroless/python3-debian12:debug\nCMD python3 app.py\n", [], [2]),
        ("FROM python:3.12-slim\nCMD python app.py\n", [], [2]),
        ("FROM python:3.12-slim\nENTRYPOINT exec python app.py\n", [], []),
        ('FROM python:3.12-slim\nCMD ["python", "app.py"]\n', [], []),
        # only the CMD in effect is judged
        ('FROM python:3.12-slim AS base\nCMD python a.py\nFROM base\nCMD ["python", "b.py"]\n', [], []),
    ],
)
def test_alp011_alp023_shell_form(text: str, alp011: list[int], alp023: list[int]) -> None:
    assert lines(text, "ALP011") == alp011
    assert lines(text, "ALP023") == alp023


# ------------------------------------------------------------------ ALP012..ALP015, ALP017..ALP022


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("ALP012", "FROM a\nRUN apt-get update && apt-get upgrade -y\n", [2]),
        ("ALP012", "FROM a\nRUN apk upgrade --no-cache\n", [2]),
        ("ALP012", "FROM a\nRUN apk upgrade --no-cache openssl\n", []),
        ("ALP013", "FROM debian:12\nRUN apt-get install -y curl\n", [2]),
        ("ALP013", "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl\n", []),
        ("ALP013", "FROM debian:12\nRUN apt-get -o APT::Install-Recommends=false install -y curl\n", []),
        ("ALP014", "FROM debian:12\nRUN apt-get install curl\n", [2]),
        ("ALP014", "FROM debian:12\nRUN apt-get install -qq curl\n", []),
        ("ALP014", "FROM debian:12\nRUN apt-get -y install curl\n", []),
        ("ALP014", "FROM debian:12\nRUN apt-get install -yq curl\n", []),
        ("ALP015", "FROM a\nWORKDIR app\n", [2]),
        ("ALP015", "FROM a\nWORKDIR /app\n", []),
        ("ALP015", "FROM a\nWORKDIR $HOME/app\n", []),
        ("ALP017", 'FROM a\nCMD ["x"]\n', [1]),
        ("ALP017", "FROM a\nHEALTHCHECK NONE\n", []),
        ("ALP017", 'FROM a AS b\nHEALTHCHECK CMD ["x"]\nFROM b\n', []),
        ("ALP018", "FROM a\nEXPOSE 8080 22/tcp\n", [2]),
        ("ALP018", "FROM a\nEXPOSE 2222\n", []),
        ("ALP019", "FROM a AS x\nFROM b AS X\n", [2]),
        ("ALP019", "FROM a AS x\nFROM b AS y\n", []),
        ("ALP020", 'FROM a\nCMD ["a"]\nENTRYPOINT ["b"]\nCMD ["c"]\n', [2]),
        ("ALP020", 'FROM a AS b\nCMD ["a"]\nFROM a\nCMD ["c"]\n', []),
        ("ALP021", "FROM a\nUSER nonroot:nonroot\n", [2]),
        ("ALP021", "FROM a\nUSER 65532:65532\n", []),
        ("ALP021", "FROM a\nUSER root\n", []),
        ("ALP022", "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y x\n", [2]),
        ("ALP022", "FROM alpine:3.20\nRUN apk update\n", [2]),
        ("ALP022", "FROM debian:12\nRUN apt-get update && apt-get install -y x\n", []),
    ],
)
def test_small_rules(rule: str, text: str, expected: list[int]) -> None:
    assert lines(text, rule) == expected


# ------------------------------------------------------------------ ignore comments


def test_ignore_comments_silence_and_keep() -> None:
    result = lint_file(FIXTURES / "ignore-comments.Dockerfile")
    assert [(f.rule, f.line) for f in result.findings] == [("ALP002", 5)]
    assert sorted((f.rule, f.line) for f in result.suppressed) == [
        ("ALP001", 9),
        ("ALP002", 4),
        ("ALP004", 2),
        ("ALP013", 4),
        ("ALP013", 5),
        ("ALP017", 2),
    ]


def test_ignore_all_and_cli_style_select_ignore() -> None:
    df = parse_dockerfile("FROM alpine\n# alpinist ignore=ALL\nRUN sudo apk add curl\n")
    result = lint(df)
    assert {f.rule for f in result.findings} == {"ALP001", "ALP004", "ALP017"}
    assert {f.rule for f in result.suppressed} == {"ALP002", "ALP008"}
    only = lint(df, select=["alp004"])
    assert [f.rule for f in only.findings] == ["ALP004"]
    without = lint(df, ignore=["ALP004", "ALP017"])
    assert [f.rule for f in without.findings] == ["ALP001"]


def test_ignore_comment_on_from_line() -> None:
    df = parse_dockerfile("# alpinist ignore=ALP004\nFROM alpine:latest\nUSER 1\nHEALTHCHECK NONE\n")
    result = lint(df)
    assert result.findings == ()
    assert [f.rule for f in result.suppressed] == ["ALP004"]


# ------------------------------------------------------------------ fail-on


def test_fails_threshold() -> None:
    result = lint(parse_dockerfile("FROM alpine:3.22.2\nUSER 1\nHEALTHCHECK NONE\n"))
    assert [f.severity for f in result.findings] == ["info"]
    assert result.fails("info") and not result.fails("warning") and not result.fails("error")
    assert not result.fails(None)
    assert result.counts() == {"error": 0, "warning": 0, "info": 1}


# ------------------------------------------------------------------ the story


def test_story_debian_before() -> None:
    result = lint_file(FIXTURES / "story-debian.Dockerfile")
    assert [(f.rule, f.line, f.severity) for f in result.findings] == [
        ("ALP001", 2, "warning"),  # no USER: root
        ("ALP004", 2, "info"),  # tag without digest
        ("ALP002", 5, "warning"),  # apt lists left
        ("ALP013", 5, "info"),  # recommends
        ("ALP002", 7, "warning"),  # pip cache
    ]
    # the curl healthcheck works here: the Dockerfile installs curl
    assert not any(f.rule == "ALP003" for f in result.findings)


def test_story_alpine_handwritten_catches_the_bug() -> None:
    result = lint_file(FIXTURES / "story-alpine-handwritten.Dockerfile")
    assert [(f.rule, f.line) for f in result.findings] == [
        ("ALP004", 3),
        ("ALP004", 9),
        ("ALP005", 13),
        ("ALP021", 16),
    ]
    assert result.fails("error")


def test_story_alpine_fixed_is_clean_but_for_the_named_user() -> None:
    result = lint_file(FIXTURES / "story-alpine-fixed.Dockerfile")
    assert [(f.rule, f.line, f.severity) for f in result.findings] == [("ALP021", 17, "info")]
    assert not result.fails("warning")


def test_insecure_fixture_every_line() -> None:
    result = lint_file(FIXTURES / "insecure.Dockerfile")
    got = sorted((f.line, f.rule) for f in result.findings)
    assert got == sorted(
        [
            (2, "ALP004"),
            (3, "ALP017"),
            (3, "ALP019"),
            (4, "ALP007"),
            (6, "ALP007"),
            (7, "ALP006"),
            (8, "ALP016"),
            (9, "ALP002"),
            (9, "ALP012"),
            (9, "ALP013"),
            (9, "ALP014"),
            (10, "ALP009"),
            (11, "ALP008"),
            (11, "ALP010"),
            (12, "ALP002"),
            (13, "ALP015"),
            (14, "ALP018"),
            (16, "ALP001"),
            (17, "ALP020"),
        ]
    )


def test_corpus_recipes() -> None:
    recipes = Path("/work/shared/corpus/images/recipes")
    debian = lint_file(recipes / "python-app-debian" / "Dockerfile")
    # apt lists are deliberately not cleaned there (a scanner test case); USER appuser is a name
    assert [(f.rule, f.line) for f in debian.findings] == [("ALP004", 2), ("ALP002", 4), ("ALP021", 11)]
    alpine = lint_file(recipes / "python-app-alpine" / "Dockerfile")
    # CPython copied into /usr/local with ENV PYTHON_VERSION: the python3 healthcheck is fine
    assert [(f.rule, f.line) for f in alpine.findings] == [("ALP004", 8), ("ALP021", 16)]
