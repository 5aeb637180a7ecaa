"""The musllinux wheel check, against a real index on 127.0.0.1 serving real files from PyPI.

Which file installs where is read off the files' names and metadata by hand (see tests/index_server.py
for why each project is there); ``pip download`` itself is asked the same questions as a second opinion.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from packaging.tags import Tag

from alpinist.dockerfile import wheels
from alpinist.dockerfile.wheels import (
    IndexFile,
    Pin,
    Target,
    WheelStatus,
    build_needs,
    check_pins,
    check_wheels,
    fetch_project_files,
    find_requirement_files,
    judge,
    read_pyproject,
    read_requirements,
)

if TYPE_CHECKING:
    from tests.index_server import IndexServer


IndexFactory = Callable[..., "IndexServer"]

IDNA_WHEEL = "idna-3.10-py3-none-any.whl"
MS_MUSL_X86 = "MarkupSafe-3.0.2-cp312-cp312-musllinux_1_2_x86_64.whl"
MS_MUSL_ARM = "MarkupSafe-3.0.2-cp312-cp312-musllinux_1_2_aarch64.whl"
MS_MANYLINUX = "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
MS_SDIST = "markupsafe-3.0.2.tar.gz"
BCRYPT_ABI3 = "bcrypt-4.2.1-cp39-abi3-musllinux_1_2_x86_64.whl"
BCRYPT_SDIST = "bcrypt-4.2.1.tar.gz"
PSUTIL_MANYLINUX = "psutil-7.0.0-cp36-abi3-manylinux_2_12_x86_64.manylinux2010_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
PSUTIL_SDIST = "psutil-7.0.0.tar.gz"
PSYCOPG2_SDIST = "psycopg2-2.9.10.tar.gz"

PINS = {
    "idna": Pin("idna", "idna==3.10", "t:1", version="3.10"),
    "markupsafe": Pin("markupsafe", "MarkupSafe==3.0.2", "t:2", version="3.0.2"),
    "bcrypt": Pin("bcrypt", "bcrypt==4.2.1", "t:3", version="4.2.1"),
    "psutil": Pin("psutil", "psutil==7.0.0", "t:4", version="7.0.0"),
    "psycopg2": Pin("psycopg2", "psycopg2==2.9.10", "t:5", version="2.9.10"),
}


def all_files(files: dict[str, list[Path]], *, without: tuple[str, ...] = ()) -> list[Path]:
    return [p for key, paths in files.items() if key not in without for p in paths]


def by_name(findings: tuple[wheels.WheelFinding, ...]) -> dict[str, wheels.WheelFinding]:
    return {f.pin.name: f for f in findings}


def test_downloads_are_the_files_the_cases_need(wheel_files: dict[str, list[Path]]) -> None:
    names = {p.name for p in all_files(wheel_files)}
    assert names == {
        IDNA_WHEEL,
        MS_MUSL_X86,
        MS_MUSL_ARM,
        MS_MANYLINUX,
        MS_SDIST,
        BCRYPT_ABI3,
        BCRYPT_SDIST,
        PSUTIL_MANYLINUX,
        PSUTIL_SDIST,
        PSYCOPG2_SDIST,
    }


# --------------------------------------------------------------------------------- against the index


def test_three_cases_on_cpython_312_x86_64(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(all_files(wheel_files))
    found = by_name(check_pins(list(PINS.values()), Target.from_platform("3.12", "linux/amd64"), server.url))

    assert found["idna"].status is WheelStatus.WHEEL and found["idna"].wheel == IDNA_WHEEL
    assert "pure Python" in found["idna"].message
    assert found["markupsafe"].status is WheelStatus.WHEEL and found["markupsafe"].wheel == MS_MUSL_X86
    assert found["markupsafe"].other_wheels == (MS_MANYLINUX, MS_MUSL_ARM)
    assert found["bcrypt"].status is WheelStatus.WHEEL and found["bcrypt"].wheel == BCRYPT_ABI3
    assert "abi3" in found["bcrypt"].message

    psutil = found["psutil"]
    assert psutil.status is WheelStatus.SOURCE
    assert psutil.sdist == PSUTIL_SDIST and psutil.other_wheels == (PSUTIL_MANYLINUX,)
    assert "manylinux" in psutil.message and "glibc" in psutil.message
    assert psutil.build == ("build-base", "linux-headers")

    psycopg2 = found["psycopg2"]
    assert psycopg2.status is WheelStatus.SOURCE and psycopg2.sdist == PSYCOPG2_SDIST
    assert psycopg2.other_wheels == ()
    assert psycopg2.build == ("build-base", "postgresql-dev") and psycopg2.runtime == ("libpq",)

    # one request per project, asking for PEP 691 JSON first, and JSON was what came back
    assert sorted(r.path for r in server.requests) == sorted(f"/simple/{n}/" for n in PINS)
    assert all(r.accept.startswith("application/vnd.pypi.simple.v1+json") for r in server.requests)
    assert {ctype for _path, ctype in server.served} == {"application/vnd.pypi.simple.v1+json"}


def test_html_only_index_gives_the_same_answers(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    files = all_files(wheel_files)
    target = Target.from_platform("3.12")
    json_server = index_server(files)
    html_server = index_server(files, json_api=False)
    via_json = check_pins(list(PINS.values()), target, json_server.url)
    via_html = check_pins(list(PINS.values()), target, html_server.url)
    assert {ctype for _p, ctype in html_server.served} == {"text/html"}
    assert [(f.status, f.wheel, f.sdist, f.other_wheels) for f in via_html] == [
        (f.status, f.wheel, f.sdist, f.other_wheels) for f in via_json
    ]


def test_html_page_parsing_keeps_requires_python_and_absolute_urls(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(all_files(wheel_files), json_api=False)
    with httpx.Client() as client:
        files = fetch_project_files(client, server.url, "MarkupSafe")
    assert files is not None
    sdist = next(f for f in files if f.filename == MS_SDIST)
    assert sdist.requires_python == ">=3.9"  # from the sdist's PKG-INFO, HTML-escaped in the page
    assert sdist.url == f"{server.base}/packages/{MS_SDIST}"
    assert httpx.get(sdist.url).content == (wheel_files["markupsafe-sdist"][0]).read_bytes()


def test_wrong_cpu(wheel_files: dict[str, list[Path]], index_server: IndexFactory) -> None:
    pin = [PINS["markupsafe"]]
    without_arm = index_server(all_files(wheel_files, without=("markupsafe-musl-aarch64",)))
    (on_arm,) = check_pins(pin, Target.from_platform("3.12", "linux/arm64"), without_arm.url)
    assert on_arm.status is WheelStatus.SOURCE and on_arm.sdist == MS_SDIST
    assert on_arm.other_wheels == (MS_MANYLINUX, MS_MUSL_X86)

    with_arm = index_server(all_files(wheel_files))
    (arm,) = check_pins(pin, Target.from_platform("3.12", "linux/arm64"), with_arm.url)
    assert arm.status is WheelStatus.WHEEL and arm.wheel == MS_MUSL_ARM
    (ppc,) = check_pins(pin, Target.from_platform("3.12", "linux/ppc64le"), with_arm.url)
    assert ppc.status is WheelStatus.SOURCE


def test_abi3_needs_at_least_its_python(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(all_files(wheel_files))
    pin = [PINS["bcrypt"]]
    for version in ("3.9", "3.11", "3.13"):
        (ok,) = check_pins(pin, Target.from_platform(version), server.url)
        assert ok.status is WheelStatus.WHEEL and ok.wheel == BCRYPT_ABI3, version
    (old,) = check_pins(pin, Target.from_platform("3.8"), server.url)  # cp39-abi3 needs CPython >= 3.9
    assert old.status is WheelStatus.SOURCE and old.sdist == BCRYPT_SDIST
    assert old.build == ("build-base", "cargo", "rust")


def test_cp312_wheel_is_not_for_311(wheel_files: dict[str, list[Path]], index_server: IndexFactory) -> None:
    server = index_server(all_files(wheel_files))
    (ms,) = check_pins([PINS["markupsafe"]], Target.from_platform("3.11"), server.url)
    assert ms.status is WheelStatus.SOURCE and ms.sdist == MS_SDIST
    (idna,) = check_pins([PINS["idna"]], Target.from_platform("3.8", "linux/arm64"), server.url)
    assert idna.status is WheelStatus.WHEEL and idna.wheel == IDNA_WHEEL  # py3-none-any installs anywhere


def test_requires_python_excludes_every_file(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(all_files(wheel_files))
    (ms,) = check_pins([PINS["markupsafe"]], Target.from_platform("3.8"), server.url)
    # every MarkupSafe 3.0.2 file says Requires-Python >=3.9
    assert ms.status is WheelStatus.MISSING
    assert ">=3.9" in ms.message and "3.8" in ms.message


def test_old_musl_rejects_musllinux_1_2(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(all_files(wheel_files))
    (ms,) = check_pins([PINS["markupsafe"]], Target((3, 12), "x86_64", (1, 1)), server.url)
    assert ms.status is WheelStatus.SOURCE


def test_missing_version_and_project(wheel_files: dict[str, list[Path]], index_server: IndexFactory) -> None:
    server = index_server(all_files(wheel_files))
    pins = [
        Pin("idna", "idna==99.0", "t:1", version="99.0"),
        Pin("no-such-project", "no-such-project==1.0", "t:2", version="1.0"),
        Pin("flask", "flask", "t:3", skip="not pinned with ==: the version pip picks is not known"),
    ]
    version, project, unpinned = check_pins(pins, Target.from_platform("3.12"), server.url)
    assert version.status is WheelStatus.MISSING and "not on the index" in version.message
    assert project.status is WheelStatus.MISSING and "no project 'no-such-project'" in project.message
    assert unpinned.status is WheelStatus.SKIPPED
    assert "/simple/flask/" not in {r.path for r in server.requests}  # a skipped pin is never asked about


def test_yanked_wheel_still_installs_when_pinned(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(wheel_files["idna-any"], yanked=[IDNA_WHEEL])
    (idna,) = check_pins([PINS["idna"]], Target.from_platform("3.12"), server.url)
    assert idna.status is WheelStatus.WHEEL and idna.yanked and "yanked" in idna.message


def test_unreachable_index_is_an_error_finding(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory
) -> None:
    server = index_server(wheel_files["idna-any"])
    url = server.url
    server.stop()
    (idna,) = check_pins([PINS["idna"]], Target.from_platform("3.12"), url)
    assert idna.status is WheelStatus.ERROR
    assert url in idna.message


def test_oversized_page_is_refused(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = index_server(wheel_files["idna-any"])
    monkeypatch.setattr(wheels, "MAX_INDEX_PAGE_BYTES", 100)
    (idna,) = check_pins([PINS["idna"]], Target.from_platform("3.12"), server.url)
    assert idna.status is WheelStatus.ERROR and "larger than 100 bytes" in idna.message


def _pip_download(url: str, requirement: str, target: Target, dest: Path) -> list[str]:
    """What pip itself downloads as a wheel for ``target`` from the loopback index (empty: nothing)."""
    platforms = [arg for p in target.platforms for arg in ("--platform", p)]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--index-url",
        url,
        *platforms,
        "--python-version",
        target.python_version,
        "--implementation",
        "cp",
        "--abi",
        f"cp{target.python[0]}{target.python[1]}",
        "-d",
        str(dest),
        requirement,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    got = sorted(p.name for p in dest.glob("*.whl")) if dest.exists() else []
    assert (result.returncode == 0) == bool(got), result.stderr
    return got


@pytest.mark.parametrize(
    ("pin", "python", "platform"),
    [
        ("markupsafe", "3.12", "linux/amd64"),
        ("markupsafe", "3.11", "linux/amd64"),
        ("bcrypt", "3.12", "linux/arm64"),
        ("bcrypt", "3.8", "linux/amd64"),
        ("psutil", "3.12", "linux/amd64"),
    ],
)
def test_pip_agrees(
    wheel_files: dict[str, list[Path]],
    index_server: IndexFactory,
    tmp_path: Path,
    pin: str,
    python: str,
    platform: str,
) -> None:
    """pip, asked for a binary for the same interpreter and platforms, downloads exactly our wheel or nothing."""
    server = index_server(all_files(wheel_files))
    target = Target.from_platform(python, platform)
    (finding,) = check_pins([PINS[pin]], target, server.url)
    got = _pip_download(server.url, PINS[pin].text, target, tmp_path / "dl")
    assert got == ([finding.wheel] if finding.status is WheelStatus.WHEEL else [])


# ------------------------------------------------------------------------------- requirements files


def test_requirements_file_with_includes_hashes_markers_and_options(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# comment line\n"
        "--require-hashes\n"
        "idna==3.10 \\\n"
        "    --hash=sha256:946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3  # trailing\n"
        "-r sub/more.txt\n"
        "-c constraints.txt\n"
        "-e ./local-project\n"
        "requests[socks]>=2.0\n"
        "pywin32==306 ; sys_platform == 'win32'\n"
        "tomli==2.0.1 ; python_version < '3.11'\n"
        "attrs==23.2.0 ; python_version >= '3.11'\n"
        "pkg @ https://example.invalid/pkg-1.0.tar.gz\n"
        "./wheels/thing-1.0-py3-none-any.whl\n"
        "secret==${VERSION}\n"
        "--index-url https://mirror.invalid/simple\n"
        "not a requirement!!\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("MarkupSafe===3.0.2\n-r ../requirements.txt\n")  # a cycle
    pins, problems, files = read_requirements(
        tmp_path / "requirements.txt", root=tmp_path, target=Target.from_platform("3.12")
    )
    checked = [(p.name, p.version, p.where) for p in pins if not p.skip]
    assert checked == [
        ("idna", "3.10", "requirements.txt:3"),
        ("markupsafe", "3.0.2", "sub/more.txt:1"),
        ("attrs", "23.2.0", "requirements.txt:11"),
    ]
    skipped = {p.text.split()[0]: p.skip for p in pins if p.skip}
    assert "editable" in skipped["-e"]
    assert "not pinned" in skipped["requests[socks]>=2.0"]
    assert skipped["pywin32==306"].startswith('marker sys_platform == "win32" is false')
    assert "python_version" in skipped["tomli==2.0.1"]
    assert "URL" in skipped["pkg"]
    assert "local path" in skipped["./wheels/thing-1.0-py3-none-any.whl"]
    assert "environment variable" in skipped["secret==${VERSION}"]
    assert files == ("requirements.txt", "sub/more.txt")
    reasons = [str(p) for p in problems]
    assert any("requirements.txt:15" in r and "own package source" in r for r in reasons)
    assert any("requirements.txt:16" in r and "not a requirement" in r for r in reasons)
    # the -r back to requirements.txt is a cycle pip cannot read; the -c file is absent: pip would fail
    assert "sub/more.txt:2: includes requirements.txt, which includes this file: a cycle, not followed" in reasons
    assert any(r.startswith("requirements.txt:6: cannot read constraints.txt") for r in reasons)
    assert len(reasons) == 4


def test_requirements_include_outside_the_context_is_refused(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (tmp_path / "outside.txt").write_text("idna==3.10\n")
    (context / "requirements.txt").write_text("-r ../outside.txt\n--requirement=missing.txt\n")
    pins, problems, files = read_requirements(context / "requirements.txt", root=context)
    assert pins == ()
    assert files == ("requirements.txt",)
    assert "outside the build context" in str(problems[0]) and str(problems[0]).startswith(
        "requirements.txt:1"
    )
    assert "cannot read missing.txt" in str(problems[1])


def test_requirements_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wheels, "MAX_REQUIREMENTS_BYTES", 64)
    (tmp_path / "requirements.txt").write_text("idna==3.10\n" * 20)
    pins, problems, _ = read_requirements(tmp_path / "requirements.txt", root=tmp_path)
    assert pins == () and "larger than 64 bytes" in str(problems[0])

    monkeypatch.setattr(wheels, "MAX_REQUIREMENTS_BYTES", 1024 * 1024)
    for depth in range(12):
        (tmp_path / f"r{depth}.txt").write_text(f"-r r{depth + 1}.txt\n")
    pins, problems, _ = read_requirements(tmp_path / "r0.txt", root=tmp_path)
    assert "deeper than 10 levels" in str(problems[0])


def test_pyproject_dependencies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1"\n'
        'dependencies = ["idna==3.10", "psycopg2 == 2.9.10", "flask>=3", "colorama==0.4.6; os_name == \'nt\'",'
        " \"uvloop==0.21.0; platform_release >= '5'\"]\n"  # the kernel release is unknown: checked, not dropped
    )
    pins, problems = read_pyproject(
        tmp_path / "pyproject.toml", root=tmp_path, target=Target.from_platform("3.12")
    )
    assert [(p.name, p.version) for p in pins if not p.skip] == [
        ("idna", "3.10"),
        ("psycopg2", "2.9.10"),
        ("uvloop", "0.21.0"),
    ]
    assert [p.name for p in pins if p.skip] == ["flask", "colorama"]
    assert problems == ()

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\ndynamic = ["dependencies"]\n')
    pins, problems = read_pyproject(tmp_path / "pyproject.toml", root=tmp_path)
    assert pins == () and "dynamic" in str(problems[0])
    (tmp_path / "pyproject.toml").write_text("[tool.poetry]\n")
    assert "no [project] table" in str(read_pyproject(tmp_path / "pyproject.toml", root=tmp_path)[1][0])
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert "cannot read" in str(read_pyproject(tmp_path / "pyproject.toml", root=tmp_path)[1][0])


def test_find_requirement_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("idna==3.10\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "prod.txt").write_text("idna==3.10\n")
    # named by the Dockerfile as a container path: found by its relative path
    assert find_requirement_files(tmp_path, ["/deps/prod.txt"]) == (tmp_path / "deps" / "prod.txt",)
    # named but absent from the context: the defaults
    assert find_requirement_files(tmp_path, ["/app/nothing.txt"]) == (
        tmp_path / "requirements.txt",
        tmp_path / "pyproject.toml",
    )
    # a reference may not climb out of the context
    assert find_requirement_files(tmp_path / "deps", ["../requirements.txt"]) == ()


def test_offline_reads_files_but_asks_nothing(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("idna==3.10\n")
    report = check_wheels(
        [tmp_path / "requirements.txt"],
        Target.from_platform("3.12"),
        root=tmp_path,
        index_url="http://127.0.0.1:9/simple",  # nothing listens there: asking would be an error finding
        offline=True,
    )
    assert report.offline and "--offline" in report.skipped_reason
    assert [f.status for f in report.findings] == [WheelStatus.SKIPPED]
    assert report.to_dict()["checked"] is False


def test_check_wheels_collects_build_and_runtime_packages(
    wheel_files: dict[str, list[Path]], index_server: IndexFactory, tmp_path: Path
) -> None:
    server = index_server(all_files(wheel_files))
    (tmp_path / "requirements.txt").write_text("idna==3.10\npsycopg2==2.9.10\npsutil==7.0.0\nbcrypt==4.2.1\n")
    report = check_wheels(
        [tmp_path / "requirements.txt"], Target.from_platform("3.12"), root=tmp_path, index_url=server.url
    )
    assert [f.pin.name for f in report.compiled] == ["psycopg2", "psutil"]
    assert report.build_packages == ("build-base", "postgresql-dev", "linux-headers")
    assert report.runtime_packages == ("libpq",)


# -------------------------------------------------------------------------------------- pure parts


def test_target_tags_are_musl_only() -> None:
    target = Target.from_platform("3.12", "linux/amd64")
    assert Tag("cp312", "cp312", "musllinux_1_2_x86_64") in target.tags
    assert Tag("cp39", "abi3", "musllinux_1_1_x86_64") in target.tags
    assert Tag("py3", "none", "any") in target.tags
    assert Tag("cp312", "cp312", "manylinux2014_x86_64") not in target.tags
    assert Tag("cp312", "cp312", "musllinux_1_2_aarch64") not in target.tags
    assert Tag("cp313", "abi3", "musllinux_1_2_x86_64") not in target.tags
    assert target.tags[Tag("cp312", "cp312", "musllinux_1_2_x86_64")] < target.tags[Tag("py3", "none", "any")]
    with pytest.raises(ValueError, match="unsupported platform"):
        Target.from_platform("3.12", "windows/amd64")
    with pytest.raises(ValueError, match="not a Python version"):
        Target.from_platform("three")


def test_judge_prefers_the_best_ranked_wheel_and_tar_gz() -> None:
    pin = Pin("demo", "demo==1.0", "t", version="1.0")
    files = [
        IndexFile("demo-1.0-py3-none-any.whl", "u1"),
        IndexFile("demo-1.0-cp312-cp312-musllinux_1_1_x86_64.whl", "u2"),
        IndexFile("demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "u3"),
        IndexFile("demo-1.1-cp312-cp312-musllinux_1_2_x86_64.whl", "u4"),  # another version
        IndexFile("demo-1.0.zip", "u5"),
        IndexFile("demo-1.0.tar.gz", "u6"),
        IndexFile("demo-1.0.exe", "u7"),
        IndexFile("Demo-1.0-not-a-wheel.whl", "u8"),
    ]
    best = judge(pin, files, Target.from_platform("3.12"))
    assert best.wheel == "demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl"
    only_source = judge(
        pin, [f for f in files if not f.filename.endswith(".whl")], Target.from_platform("3.12")
    )
    assert only_source.status is WheelStatus.SOURCE and only_source.sdist == "demo-1.0.tar.gz"
    assert build_needs("Pillow").build == ("build-base", "jpeg-dev", "zlib-dev")
    assert build_needs("unknown-project").build == ("build-base",)
