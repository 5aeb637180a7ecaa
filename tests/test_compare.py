"""The pure parts of :mod:`alpinist.compare` (and the healthcheck reader it shares with lint and migrate): healthcheck reading, base image detection, the verdict of a line,
deltas, sizes, labels. Inputs are written by hand (healthcheck lines as Dockerfiles write them, diff_ids as
image configs list them); the images of the corpus are compared in ``test_compare_corpus.py``.
"""

from __future__ import annotations

import click
import pytest

from alpinist.cli.compare import parse_labels
from alpinist.compare import (
    BaseCandidate,
    HealthcheckInfo,
    Metric,
    detect_base,
    healthcheck_info,
    human_bytes,
    image_programs,
    one_line,
)
from alpinist.dockerfile.healthcheck import programs_in_shell
from alpinist.errors import BlobError
from alpinist.models import Healthcheck, ImageFacts, LayerInfo


def facts(
    *,
    diff_ids: tuple[str | None, ...] = (),
    labels: dict[str, str] | None = None,
    entrypoint: tuple[str, ...] | None = None,
    cmd: tuple[str, ...] | None = None,
    healthcheck: Healthcheck | None = None,
) -> ImageFacts:
    layers = tuple(
        LayerInfo(i, f"sha256:{i:064x}", "application/vnd.oci.image.layer.v1.tar+gzip", 10, 20, d)
        for i, d in enumerate(diff_ids)
    )
    return ImageFacts(
        reference="oci:x:y",
        transport="oci",
        name="y",
        manifest_digest="sha256:" + "a" * 64,
        config_digest="sha256:" + "b" * 64,
        media_type=None,
        platform=None,
        created=None,
        layers=layers,
        user="",
        healthcheck=healthcheck,
        entrypoint=entrypoint,
        cmd=cmd,
        env=(),
        exposed_ports=(),
        working_dir="",
        labels=tuple(sorted((labels or {}).items())),
    )


# ---------------------------------------------------------------------------------------------- healthcheck


@pytest.mark.parametrize(
    ("script", "programs"),
    [
        ("curl -f http://localhost:8080/health || exit 1", ["curl"]),
        ("wget -qO- http://localhost/ready", ["wget"]),
        ("wget --spider -q http://127.0.0.1/ && echo ok", ["wget"]),
        (
            """python3 -c "import urllib.request; urllib.request.urlopen('http://localhost:8080/health')\"""",
            ["python3"],
        ),
        ("/usr/local/bin/python3.11 /app/check.py", ["python3.11"]),
        ("exec curl -sf localhost", ["curl"]),
        ("FOO=1 BAR=2 curl localhost", ["curl"]),
        ("timeout 5 curl localhost || exit 1", ["curl"]),
        ("env -i curl localhost", ["curl"]),
        ("curl -s localhost | grep -q ok", ["curl", "grep"]),
        ("nc -z localhost 8080;test $? -eq 0", ["nc"]),
        ("[ -f /tmp/healthy ]", []),
        ("exit 0", []),
        ("pg_isready -U postgres", ["pg_isready"]),
        ("curl 'unbalanced", ["curl"]),  # the shell would refuse it; the first word is still the program
    ],
)
def test_programs_in_shell(script: str, programs: list[str]) -> None:
    assert programs_in_shell(script) == programs


@pytest.mark.parametrize(
    ("test", "runs", "expected"),
    [
        # the corpus' two healthchecks
        (
            ("CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"),
            ["python"],
            ("curl", True, "shell", True),
        ),
        (("CMD-SHELL", "python3 -c 'import urllib.request'"), ["python3"], ("python", False, "shell", True)),
        # python in an image that does not run python is an extra tool
        (("CMD-SHELL", "python3 -c 'import urllib.request'"), ["node"], ("python", True, "shell", True)),
        # exec form: no shell needed, unless it runs one
        (
            ("CMD", "/usr/bin/wget", "-q", "--spider", "http://localhost/"),
            ["nginx"],
            ("wget", True, "exec", False),
        ),
        (("CMD", "/bin/sh", "-c", "curl -f localhost || exit 1"), ["app"], ("curl", True, "exec", True)),
        (("CMD", "/app/server", "--healthcheck"), ["server"], ("other", False, "exec", False)),
        (("CMD", "grpc_health_probe", "-addr=:5000"), ["server"], ("other", False, "exec", False)),
        # curl is an extra tool even when another program runs first
        (("CMD-SHELL", "test -f /ready && curl localhost"), ["java"], ("curl", True, "shell", True)),
    ],
)
def test_healthcheck_info(
    test: tuple[str, ...], runs: list[str], expected: tuple[str, bool, str, bool]
) -> None:
    info = healthcheck_info(Healthcheck(test), runs)
    assert info.present
    assert (info.tool, info.extra_tool, info.form, info.needs_shell) == expected


def test_no_or_disabled_healthcheck() -> None:
    for hc in (None, Healthcheck(("NONE",)), Healthcheck(())):
        info = healthcheck_info(hc, ["python3"])
        assert info == HealthcheckInfo(present=False)
        assert (info.text, info.score) == ("none", 2)


def test_healthcheck_text_and_score() -> None:
    curl = healthcheck_info(Healthcheck(("CMD-SHELL", "curl -f localhost")), ["python"])
    python = healthcheck_info(Healthcheck(("CMD", "python3", "-c", "import x")), ["python3"])
    own = healthcheck_info(Healthcheck(("CMD", "/app/server", "health")), ["server"])
    assert (curl.text, curl.score) == ("curl (shell form)", 1)
    assert (python.text, python.score) == ("python (exec form)", 0)
    assert (own.text, own.score) == ("server (exec form)", 0)


def test_image_programs() -> None:
    assert image_programs(facts(cmd=("/opt/venv/bin/python", "/app/app.py"))) == ["python"]
    assert image_programs(facts(entrypoint=("/docker-entrypoint.sh",), cmd=("nginx",))) == [
        "docker-entrypoint.sh"
    ]
    assert image_programs(facts(cmd=("/bin/sh", "-c", "exec gunicorn app:app"))) == ["gunicorn"]
    assert image_programs(facts()) == []


# ---------------------------------------------------------------------------------------------- base image

A, B, C, D = (f"sha256:{c * 64}" for c in "abcd")


def test_base_from_labels_first() -> None:
    f = facts(
        diff_ids=(A, B),
        labels={
            "org.opencontainers.image.base.name": "docker.io/library/alpine:3.20",
            "org.opencontainers.image.base.digest": "sha256:" + "e" * 64,
        },
    )
    base = detect_base(f, [BaseCandidate("other", (A,))])
    assert base is not None
    assert (base.name, base.digest, base.source, base.layers) == (
        "docker.io/library/alpine:3.20",
        "sha256:" + "e" * 64,
        "label",
        None,
    )
    assert base.text == "docker.io/library/alpine:3.20 (label)"


def test_base_from_the_longest_layer_prefix() -> None:
    f = facts(diff_ids=(A, B, C))
    candidates = [
        BaseCandidate("os", (A,)),
        BaseCandidate("runtime", (A, B), digest="sha256:" + "f" * 64),
        BaseCandidate("unrelated", (B,)),
        BaseCandidate("itself", (A, B, C)),  # the same layers: not a base (strict prefix only)
        BaseCandidate("longer", (A, B, C, D)),
        BaseCandidate("empty", ()),
    ]
    base = detect_base(f, candidates)
    assert base is not None and (base.name, base.source, base.layers) == ("runtime", "layers", 2)
    assert base.text == "runtime (2 shared layers)"
    assert detect_base(f, [BaseCandidate("unrelated", (B,)), BaseCandidate("itself", (A, B, C))]) is None
    # a tie between two candidates with the same layers: the first given
    tie = detect_base(f, [BaseCandidate("first", (A,)), BaseCandidate("second", (A,))])
    assert tie is not None and tie.name == "first"


def test_base_needs_every_diff_id() -> None:
    assert detect_base(facts(diff_ids=(A, None)), [BaseCandidate("os", (A,))]) is None
    assert detect_base(facts(), [BaseCandidate("os", (A,))]) is None


# ---------------------------------------------------------------------------------------------- lines


def metric(values: tuple[int | None, ...], kind: str = "count", scored: bool = True) -> Metric:
    scores = tuple(None if v is None else float(v) for v in values) if scored else ()
    return Metric("k", "K", kind, values, tuple(str(v) for v in values), scores)  # type: ignore[arg-type]


def test_best_tie_and_no_verdict() -> None:
    assert metric((3, 1, 1)).best == (1, 2)
    assert metric((3, 1, 2)).best == (1,)
    assert metric((2, 2, 2)).best == () and metric((2, 2, 2)).tie
    assert metric((2, None, 2)).tie
    one = metric((2, None))
    assert not one.judged and one.best == () and not one.tie  # one readable image: nothing to compare
    informational = metric((1, 2), scored=False)
    assert not informational.judged and informational.best == () and not informational.tie
    assert informational.compare(1, 0) is None


def test_compare_two_images() -> None:
    m = metric((5, 3, 5, None))
    assert (m.compare(1, 0), m.compare(0, 1), m.compare(2, 0), m.compare(3, 0)) == (-1, 1, 0, None)


def test_deltas() -> None:
    counts = metric((158, 56, 158, None))
    assert [counts.delta(i) for i in range(4)] == ["", "-102", "±0", ""]
    sizes = metric((144050431, 14555546, 288100862, 0), kind="bytes")
    assert [sizes.delta(i) for i in range(4)] == ["", "-90%", "+100%", "-100%"]
    assert metric((0, 5), kind="bytes").delta(1) == ""  # no percentage of nothing
    assert Metric("t", "T", "text", ("a", "b"), ("a", "b")).delta(1) == ""


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "?"),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (3072, "3.1 kB"),
        (3_490_290, "3.5 MB"),
        (144_050_431, "144.1 MB"),
        (999_949_999, "999.9 MB"),
        (1_234_567_890, "1.23 GB"),
        (25_000_000_000, "25.0 GB"),
    ],
)
def test_human_bytes(n: int | None, text: str) -> None:
    assert human_bytes(n) == text


def test_parse_labels() -> None:
    assert parse_labels(None, 2) is None
    assert parse_labels("before, after ,java", 3) == ["before", "after", "java"]
    for bad, count, message in (
        ("a,b", 3, "2 labels for 3 images"),
        ("a,,c", 3, "an empty label"),
        ("a,a", 2, "its own label"),
    ):
        with pytest.raises(click.UsageError, match=message):
            parse_labels(bad, count)


def test_one_line() -> None:
    assert one_line(BlobError("sha256:abc", "digest mismatch\nsecond line")) == (
        "blob sha256:abc: digest mismatch second line"
    )
    assert (
        one_line(FileNotFoundError(2, "No such file", "/x"))
        == "FileNotFoundError: [Errno 2] No such file: '/x'"
    )
