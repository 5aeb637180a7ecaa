"""Will each pinned requirement install from a wheel on Alpine (musl), or compile from source?

``alpinist migrate`` reads the pinned requirements a Dockerfile installs (``requirements.txt`` with ``-r``
includes, ``pyproject.toml`` ``[project].dependencies``) and asks the package index, per pin, which files
it has for that version: PEP 691's JSON simple API (``Accept: application/vnd.pypi.simple.v1+json``),
falling back to PEP 503 HTML when the index only speaks that. A wheel **installs** when one of its tags is
among the tags pip would accept on the target: CPython ``X.Y`` on musl for the target CPU (``py3-none-any``,
``musllinux_1_*_ARCH`` with ``cpXY``/``abi3``/``none``, and the generic ``linux_ARCH`` pip also accepts).
``manylinux`` wheels are built against glibc and never install on musl. The decision uses
:mod:`packaging.tags` and :func:`packaging.utils.parse_wheel_filename`, not string matching.

A pin without such a wheel compiles from its sdist during ``pip install``: the report says so and which
Alpine packages the build likely needs (:data:`BUILD_NEEDS`, below; every C build needs ``build-base``),
and which shared libraries the runtime then needs. Only the pins written in the files are checked: their
own dependencies are not resolved (a lock file such as ``pip-compile`` output lists them all).

``BUILD_NEEDS`` (builder packages; runtime packages):

==================  ======================================  ==========================
project             builder (apk)                           runtime (apk)
==================  ======================================  ==========================
cryptography        cargo rust libffi-dev openssl-dev
bcrypt              cargo rust
psycopg2            postgresql-dev                          libpq
lxml                libxml2-dev libxslt-dev                 libxml2 libxslt
pillow              jpeg-dev zlib-dev                       libjpeg-turbo zlib
numpy               build-base                              libstdc++
==================  ======================================  ==========================

(abridged: :data:`BUILD_NEEDS` has every entry; ``docs/migrate.md`` lists them all.)
"""

from __future__ import annotations

import html.parser
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import httpx
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from alpinist import __version__
from alpinist.errors import AlpinistError

__all__ = [
    "BUILD_NEEDS",
    "DEFAULT_INDEX_URL",
    "BuildNeeds",
    "IndexFile",
    "PackageIndexError",
    "Pin",
    "Requirements",
    "RequirementsProblem",
    "Target",
    "WheelFinding",
    "WheelReport",
    "WheelStatus",
    "check_pins",
    "check_wheels",
    "fetch_project_files",
    "find_requirement_files",
    "read_pyproject",
    "read_requirements",
]

DEFAULT_INDEX_URL = "https://pypi.org/simple"
MAX_REQUIREMENTS_BYTES = 1024 * 1024  # a requirements file larger than this is refused (untrusted input)
MAX_INCLUDE_DEPTH = 10
MAX_INDEX_PAGE_BYTES = 64 * 1024 * 1024  # the largest PyPI project pages are a few MiB
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.01"

_ARCHES = {  # OCI platform architecture (and variant) → the machine name in wheel platform tags
    "amd64": "x86_64",
    "arm64": "aarch64",
    "arm64/v8": "aarch64",
    "arm/v7": "armv7l",
    "arm/v6": "armv6l",
    "386": "i686",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


class PackageIndexError(AlpinistError):
    """The package index answered with an error or with something that is not a simple-API page."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"index {url}: {reason}")


# ---------------------------------------------------------------------------------------------- target


@dataclass(frozen=True)
class Target:
    """The interpreter and machine a wheel must install on: CPython ``python``, musl ``musl``, ``arch``.

    ``musl`` is the musl libc version of the Alpine release (1.2 since Alpine 3.13, 1.1 before):
    a ``musllinux_1_M`` wheel needs musl ≥ 1.M.
    """

    python: tuple[int, int]
    arch: str = "x86_64"
    musl: tuple[int, int] = (1, 2)

    @classmethod
    def from_platform(
        cls, python: str, platform: str = "linux/amd64", musl: tuple[int, int] = (1, 2)
    ) -> Target:
        """``Target.from_platform("3.12", "linux/arm64")``. Raises ValueError for an unknown platform."""
        major, _, minor = python.partition(".")
        if not (major.isdigit() and minor.split(".")[0].isdigit()):
            raise ValueError(f"not a Python version: {python!r}")
        os_name, _, arch = platform.partition("/")
        if os_name != "linux" or arch not in _ARCHES:
            raise ValueError(f"unsupported platform {platform!r} (linux/{'|linux/'.join(sorted(_ARCHES))})")
        return cls((int(major), int(minor.split(".")[0])), _ARCHES[arch], musl)

    @property
    def python_version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def platforms(self) -> tuple[str, ...]:
        """Platform tags pip accepts on this musl, best first (pip also accepts the generic ``linux_ARCH``)."""
        major, minor = self.musl
        return (*(f"musllinux_{major}_{m}_{self.arch}" for m in range(minor, -1, -1)), f"linux_{self.arch}")

    @cached_property
    def tags(self) -> dict[Tag, int]:
        """Every supported tag with its priority (0 is best), as pip orders them."""
        interpreter = f"cp{self.python[0]}{self.python[1]}"
        ordered = [
            *cpython_tags(self.python, abis=[interpreter], platforms=self.platforms),
            *compatible_tags(self.python, interpreter=interpreter, platforms=self.platforms),
        ]
        out: dict[Tag, int] = {}
        for rank, tag in enumerate(ordered):
            out.setdefault(tag, rank)
        return out

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 marker environment of the target (the patch level is unknown: ``X.Y.0``)."""
        full = f"{self.python_version}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": self.arch,
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "platform_python_implementation": "CPython",
            "python_version": self.python_version,
            "sys_platform": "linux",
        }

    def describe(self) -> str:
        return f"CPython {self.python_version} on musl {self.musl[0]}.{self.musl[1]} {self.arch}"


# --------------------------------------------------------------------------------------- requirements


@dataclass(frozen=True)
class Pin:
    """One requirement as written: ``name`` (PEP 503 normalized), the pinned ``version`` or None.

    ``where`` is ``file:line``. ``skip`` says why it is not checked (not pinned, a URL, an editable, a
    marker false on the target); empty when it is checked.
    """

    name: str
    text: str
    where: str
    version: str | None = None
    skip: str = ""


@dataclass(frozen=True)
class RequirementsProblem:
    """Something in a requirements file alpinist could not use: ``where`` (file or file:line), ``reason``."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Requirements:
    """What one reader found (:mod:`~alpinist.dockerfile.locks`): ``pins``, ``problems``, and the
    ``files`` it read (context-relative)."""

    pins: tuple[Pin, ...] = ()
    problems: tuple[RequirementsProblem, ...] = ()
    files: tuple[str, ...] = ()


def _pinned_version(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or specs[0].version.endswith(".*"):
        return None
    return specs[0].version


def marker_holds(marker: Marker, target: Target) -> bool:
    """Evaluate a marker on the target; one that needs the kernel's release/version (unknown here) or
    that cannot be evaluated counts as true, so the requirement is checked rather than dropped."""
    text = str(marker)
    if "platform_release" in text or "platform_version" in text:
        return True
    try:
        return marker.evaluate(target.marker_environment())
    except Exception:  # packaging raises several types for odd comparisons; the pin is then checked
        return True


def pin_from_requirement(text: str, where: str, target: Target | None) -> Pin | RequirementsProblem:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return RequirementsProblem(where, f"not a requirement: {text!r} ({str(exc).splitlines()[0]})")
    name = canonicalize_name(req.name)
    if req.url:
        return Pin(name, text, where, skip="installed from a URL, not from the index")
    if req.marker is not None and target is not None and not marker_holds(req.marker, target):
        return Pin(name, text, where, skip=f"marker {req.marker} is false on {target.describe()}")
    version = _pinned_version(req)
    if version is None:
        return Pin(name, text, where, skip="not pinned with ==: the version pip picks is not known")
    return Pin(name, text, where, version=version)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's requirements-file lines: comments removed, ``\\`` continuations joined, with the first line number."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer.append(line[:-1])
            continue
        buffer.append(line)
        joined = " ".join(part.strip() for part in buffer).strip()
        buffer = []
        if joined:
            yield start, joined
    if buffer:
        joined = " ".join(part.strip() for part in buffer).strip()
        if joined:
            yield start, joined


_OPTION_WITH_VALUE = re.compile(
    r"^(-r|--requirement|-c|--constraint|-e|--editable|-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|--no-binary|--only-binary)(?:\s*=\s*|\s+|(?<=^-[rceif]))(\S.*)$"
)
_PER_REQUIREMENT_OPTION = re.compile(r"\s+--(hash|config-settings|global-option|install-option)(?:=|\s+)\S+")


def read_bounded(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(MAX_REQUIREMENTS_BYTES + 1)
    if len(data) > MAX_REQUIREMENTS_BYTES:
        raise ValueError(f"larger than {MAX_REQUIREMENTS_BYTES} bytes, refused")
    return data.decode("utf-8")


def is_inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_requirements(
    path: Path, *, root: Path, target: Target | None = None
) -> tuple[tuple[Pin, ...], tuple[RequirementsProblem, ...], tuple[str, ...]]:
    """Pins of a pip requirements file and the files it includes with ``-r`` (inside ``root`` only).

    Returns ``(pins, problems, files read)``. ``-r``/``--requirement`` and ``-c``/``--constraint`` are
    followed relative to the file naming them: a constraint installs nothing, but its ``==`` pin is the
    version pip picks for a requirement written without one (the pin says ``constrained by``). Hashes and
    per-requirement options are ignored; ``-e``, URLs and paths are listed as skipped (not from the
    index); environment markers are evaluated on the target; ``--index-url``/``--extra-index-url``/
    ``--find-links`` inside a file are reported (the check uses the index given to alpinist). A file that
    cannot be read, escapes ``root``, is larger than 1 MiB, includes more than 10 levels deep or includes
    a file that includes it (a cycle, which pip itself cannot read) is a problem, never an exception.
    """
    pins: list[Pin] = []
    constraints: dict[str, tuple[str, str]] = {}  # name -> (version, where)
    problems: list[RequirementsProblem] = []
    files: list[str] = []
    seen: set[Path] = set()

    def visit(
        current: Path, depth: int, included_from: str | None, stack: tuple[Path, ...], constraint: bool
    ) -> None:
        where_file = display_path(current, root)
        label = included_from or where_file
        if depth > MAX_INCLUDE_DEPTH:
            problems.append(
                RequirementsProblem(label, f"includes nested deeper than {MAX_INCLUDE_DEPTH} levels")
            )
            return
        if not is_inside(current, root):
            problems.append(
                RequirementsProblem(label, f"{current} is outside the build context {root}, not read")
            )
            return
        resolved = current.resolve()
        if resolved in stack:
            problems.append(
                RequirementsProblem(
                    label, f"includes {where_file}, which includes this file: a cycle, not followed"
                )
            )
            return
        if resolved in seen:
            return
        seen.add(resolved)
        try:
            text = read_bounded(current)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(RequirementsProblem(label, f"cannot read {where_file}: {reason}"))
            return
        files.append(where_file)
        inner = (*stack, resolved)
        for number, line in _logical_lines(text):
            where = f"{where_file}:{number}"
            option = _OPTION_WITH_VALUE.match(line)
            if option:
                flag, value = option.group(1), option.group(2).strip()
                if flag in ("-r", "--requirement"):
                    visit(current.parent / value, depth + 1, where, inner, constraint)
                elif flag in ("-c", "--constraint"):
                    visit(current.parent / value, depth + 1, where, inner, True)
                elif flag in ("-e", "--editable") and not constraint:
                    pins.append(
                        Pin(
                            canonicalize_name(value), line, where, skip="editable install, not from the index"
                        )
                    )
                elif flag in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links"):
                    problems.append(
                        RequirementsProblem(
                            where,
                            f"names its own package source ({line}); checked against the index given to alpinist",
                        )
                    )
                continue
            if line.startswith("-"):
                continue  # global options (--pre, --require-hashes, --prefer-binary…) do not name packages
            line = _PER_REQUIREMENT_OPTION.sub("", " " + line).strip()
            if constraint:
                _add_constraint(line, where, target, constraints, problems)
                continue
            if "$" in line:
                pins.append(Pin(line, line, where, skip="uses an environment variable"))
                continue
            if line.startswith((".", "/")) or "://" in line.split("@")[0]:
                pins.append(Pin(line, line, where, skip="a local path or URL, not from the index"))
                continue
            found = pin_from_requirement(line, where, target)
            (pins if isinstance(found, Pin) else problems).append(found)  # type: ignore[arg-type]

    visit(path, 0, None, (), False)
    return tuple(_constrained(p, constraints) for p in pins), tuple(problems), tuple(files)


def _add_constraint(
    line: str,
    where: str,
    target: Target | None,
    constraints: dict[str, tuple[str, str]],
    problems: list[RequirementsProblem],
) -> None:
    """A constraint file's line: only an ``==`` pin whose marker holds on the target constrains anything."""
    if "$" in line or line.startswith((".", "/")) or "://" in line.split("@")[0]:
        return
    found = pin_from_requirement(line, where, target)
    if isinstance(found, RequirementsProblem):
        problems.append(found)
    elif found.version is not None and not found.skip:
        constraints.setdefault(found.name, (found.version, where))


def _constrained(pin: Pin, constraints: Mapping[str, tuple[str, str]]) -> Pin:
    """An unpinned requirement that a constraint file pins gets the constraint's version."""
    hit = constraints.get(pin.name)
    if hit is None or pin.version is not None or not pin.skip.startswith("not pinned"):
        return pin
    version, where = hit
    return Pin(pin.name, f"{pin.text} (=={version}, constrained by {where})", pin.where, version=version)


def read_pyproject(
    path: Path, *, root: Path, target: Target | None = None
) -> tuple[tuple[Pin, ...], tuple[RequirementsProblem, ...]]:
    """Pins of ``[project].dependencies`` in a ``pyproject.toml`` (PEP 621)."""
    where_file = display_path(path, root)
    try:
        data = tomllib.loads(read_bounded(path))
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return (), (RequirementsProblem(where_file, f"cannot read: {reason}"),)
    project = data.get("project")
    if not isinstance(project, dict):
        return (), (RequirementsProblem(where_file, "no [project] table: dependencies not checked"),)
    deps = project.get("dependencies", [])
    problems: list[RequirementsProblem] = []
    if "dependencies" in project.get("dynamic", []):
        problems.append(RequirementsProblem(where_file, "[project].dependencies is dynamic: not checked"))
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        return (), (RequirementsProblem(where_file, "[project].dependencies is not a list of strings"),)
    pins: list[Pin] = []
    for dep in deps:
        found = pin_from_requirement(dep, f"{where_file} [project].dependencies", target)
        (pins if isinstance(found, Pin) else problems).append(found)  # type: ignore[arg-type]
    return tuple(pins), tuple(problems)


def find_requirement_files(context: Path, referenced: Iterable[str] = ()) -> tuple[Path, ...]:
    """The requirement files to check under the build ``context``.

    ``referenced``: paths the Dockerfile passes to ``pip install -r`` (as written, maybe container paths
    like ``/app/requirements.txt``); each is looked up in the context as written (relative), then by its
    file name at the context root. When the Dockerfile names none that exist, ``requirements.txt`` and
    ``pyproject.toml`` at the context root are used.
    """
    found: dict[Path, None] = {}
    for ref in referenced:
        rel = ref.lstrip("/")
        for candidate in (context / rel, context / Path(rel).name):
            if candidate.is_file() and is_inside(candidate, context):
                found[candidate] = None
                break
    if not found:
        for name in ("requirements.txt", "pyproject.toml"):
            candidate = context / name
            if candidate.is_file():
                found[candidate] = None
    return tuple(found)


# ------------------------------------------------------------------------------------------ the index


@dataclass(frozen=True)
class IndexFile:
    """One file of a project page: its ``filename``, absolute ``url``, ``requires_python``, ``yanked``."""

    filename: str
    url: str
    requires_python: str | None = None
    yanked: bool = False


class _AnchorParser(html.parser.HTMLParser):
    """The anchors of a PEP 503 page (html.parser decodes entities in attribute values)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")


def _parse_html(text: str, page_url: str) -> tuple[IndexFile, ...]:
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url = urldefrag(urljoin(base, href)).url  # the #sha256= fragment is not part of the address
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        files.append(
            IndexFile(filename, url, attrs.get("data-requires-python") or None, "data-yanked" in attrs)
        )
    return tuple(files)


def _parse_json(data: Any, page_url: str) -> tuple[IndexFile, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValueError("a JSON page without a files list")
    meta = data.get("meta")
    version = meta.get("api-version", "") if isinstance(meta, dict) else ""
    if not str(version).startswith("1."):
        raise ValueError(f"simple API version {version!r}, expected 1.x")
    files = []
    for item in data["files"]:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("filename"), str)
            or not isinstance(item.get("url"), str)
        ):
            raise ValueError("a file entry without filename or url")
        requires = item.get("requires-python")
        files.append(
            IndexFile(
                item["filename"],
                urljoin(page_url, item["url"]),
                requires if isinstance(requires, str) and requires else None,
                bool(item.get("yanked", False)),
            )
        )
    return tuple(files)


def project_url(index_url: str, name: str) -> str:
    return f"{index_url.rstrip('/')}/{canonicalize_name(name)}/"


def fetch_project_files(client: httpx.Client, index_url: str, name: str) -> tuple[IndexFile, ...] | None:
    """Every file the index lists for project ``name``; None when the index does not know the project.

    Raises :class:`PackageIndexError` for any other failure (one line: URL and reason).
    """
    url = project_url(index_url, name)
    try:
        with client.stream("GET", url, headers={"Accept": ACCEPT}) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise PackageIndexError(url, f"HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_INDEX_PAGE_BYTES:
                    raise PackageIndexError(url, f"page larger than {MAX_INDEX_PAGE_BYTES} bytes, refused")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            final_url = str(response.url)
    except httpx.HTTPError as exc:
        raise PackageIndexError(url, f"{type(exc).__name__}: {exc}") from None
    body = b"".join(chunks)
    try:
        if content_type == JSON_TYPE:
            return _parse_json(json.loads(body), final_url)
        if content_type in (HTML_TYPE, "text/html"):
            return _parse_html(body.decode("utf-8", errors="replace"), final_url)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackageIndexError(url, f"not a simple-API page: {exc}") from None
    raise PackageIndexError(url, f"unexpected content type {content_type or 'none'!r}")


# ----------------------------------------------------------------------------------- build knowledge


@dataclass(frozen=True)
class BuildNeeds:
    """Alpine packages a source build of a project needs (``build``) and its result loads (``runtime``)."""

    build: tuple[str, ...]
    runtime: tuple[str, ...] = ()


def _b(build: str, runtime: str = "") -> BuildNeeds:
    return BuildNeeds(tuple(build.split()), tuple(runtime.split()))


#: Projects whose source build needs more than ``build-base`` (keys are PEP 503 names).
BUILD_NEEDS: Mapping[str, BuildNeeds] = {
    "cryptography": _b("cargo rust libffi-dev openssl-dev"),
    "bcrypt": _b("cargo rust"),
    "cffi": _b("libffi-dev", "libffi"),
    "psycopg2": _b("postgresql-dev", "libpq"),
    "psycopg2-binary": _b("postgresql-dev", "libpq"),
    "psycopg-c": _b("postgresql-dev", "libpq"),
    "mysqlclient": _b("mariadb-dev pkgconf", "mariadb-connector-c"),
    "lxml": _b("libxml2-dev libxslt-dev", "libxml2 libxslt"),
    "pillow": _b("jpeg-dev zlib-dev", "libjpeg-turbo zlib"),
    "numpy": _b("build-base", "libstdc++"),
    "pandas": _b("build-base", "libstdc++"),
    "scipy": _b("gfortran openblas-dev", "libgfortran openblas libstdc++"),
    "psutil": _b("linux-headers"),
    "grpcio": _b("linux-headers", "libstdc++"),
    "greenlet": _b("build-base", "libstdc++"),
    "gevent": _b("libffi-dev", "libffi"),
    "pyyaml": _b("yaml-dev", "yaml"),
    "pyzmq": _b("zeromq-dev", "libzmq"),
    "python-ldap": _b("openldap-dev cyrus-sasl-dev", "libldap libsasl"),
    "pycurl": _b("curl-dev", "libcurl"),
    "orjson": _b("cargo rust"),
    "pydantic-core": _b("cargo rust"),
    "rpds-py": _b("cargo rust"),
    "jiter": _b("cargo rust"),
    "tiktoken": _b("cargo rust"),
    "watchfiles": _b("cargo rust"),
}
_ALWAYS = ("build-base",)  # gcc, musl-dev, make: any C extension


def build_needs(name: str) -> BuildNeeds:
    """What a source build of project ``name`` needs: :data:`BUILD_NEEDS` plus ``build-base``."""
    extra = BUILD_NEEDS.get(canonicalize_name(name), BuildNeeds(()))
    return BuildNeeds(tuple(dict.fromkeys((*_ALWAYS, *extra.build))), extra.runtime)


# ------------------------------------------------------------------------------------------- findings


class WheelStatus(StrEnum):
    WHEEL = "wheel"  # a wheel for the target installs
    SOURCE = "source"  # no wheel for the target: pip builds the sdist
    MISSING = "missing"  # the version (or any installable file of it) is not on the index
    SKIPPED = "skipped"  # not checked (not pinned, URL, editable, marker false)
    ERROR = "error"  # the index could not be asked


@dataclass(frozen=True)
class WheelFinding:
    """The answer for one pin.

    ``wheel``: the file pip would pick (status ``wheel``); ``sdist``: the source archive (status
    ``source``); ``other_wheels``: wheels of that version that do not install on the target (manylinux,
    other CPUs or Pythons); ``build``/``runtime``: Alpine packages a source build needs / leaves needed.
    """

    pin: Pin
    status: WheelStatus
    message: str
    wheel: str | None = None
    sdist: str | None = None
    other_wheels: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    yanked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.pin.text,
            "name": self.pin.name,
            "version": self.pin.version,
            "where": self.pin.where,
            "status": str(self.status),
            "message": self.message,
            "wheel": self.wheel,
            "sdist": self.sdist,
            "other_wheels": list(self.other_wheels),
            "build_packages": list(self.build),
            "runtime_packages": list(self.runtime),
            "yanked": self.yanked,
        }


def _wheel_kind(tags: frozenset[Tag]) -> str:
    platforms = {t.platform for t in tags}
    if platforms == {"any"}:
        return "pure Python"
    if any(t.abi == "abi3" for t in tags):
        return "stable ABI (abi3)"
    if any(p.startswith("musllinux") for p in platforms):
        return "musllinux"
    return "generic linux: built for an unknown libc, check it runs on musl"


def _python_ok(requires: str | None, target: Target) -> bool:
    if not requires:
        return True
    try:
        return SpecifierSet(requires).contains(target.python_version, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores a requires-python it cannot parse


def judge(pin: Pin, files: Sequence[IndexFile], target: Target) -> WheelFinding:
    """Decide from the index's files for ``pin``'s project whether a wheel installs on ``target``.

    Among the files of the pinned version, pip takes the wheel whose best tag ranks highest on the
    target, skipping files whose ``requires-python`` excludes the target's Python; without one it builds
    the sdist (``.tar.gz`` preferred over ``.zip``).
    """
    assert pin.version is not None
    name_wanted = canonicalize_name(pin.name)
    try:
        wanted = Version(pin.version)
    except InvalidVersion:
        return WheelFinding(pin, WheelStatus.MISSING, f"{pin.text}: {pin.version!r} is not a valid version")
    best: tuple[int, IndexFile, frozenset[Tag]] | None = None
    others: list[str] = []
    sdist: IndexFile | None = None
    seen_version = False
    python_excluded: set[str] = set()
    for item in files:
        try:
            if item.filename.endswith(".whl"):
                name, version, _build, tags = parse_wheel_filename(item.filename)
            elif item.filename.endswith((".tar.gz", ".zip")):
                name, version = parse_sdist_filename(item.filename)
                tags = frozenset()
            else:
                continue  # .egg, .exe, .msi: pip does not install these
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if name != name_wanted or version != wanted:
            continue
        seen_version = True
        if not _python_ok(item.requires_python, target):
            python_excluded.add(item.requires_python or "")
            if item.filename.endswith(".whl"):
                others.append(item.filename)
            continue
        if not item.filename.endswith(".whl"):
            if sdist is None or (
                item.filename.endswith(".tar.gz") and not sdist.filename.endswith(".tar.gz")
            ):
                sdist = item
            continue
        ranks = [target.tags[t] for t in tags if t in target.tags]
        if not ranks:
            others.append(item.filename)
            continue
        if best is None or min(ranks) < best[0]:
            best = (min(ranks), item, tags)
    others.sort()
    label = f"{pin.name}=={pin.version}"
    if not seen_version:
        return WheelFinding(pin, WheelStatus.MISSING, f"{label}: that version is not on the index")
    if best is not None:
        _rank, item, tags = best
        note = " (yanked: pip installs it only because it is pinned)" if item.yanked else ""
        return WheelFinding(
            pin,
            WheelStatus.WHEEL,
            f"{label}: {item.filename} ({_wheel_kind(tags)}){note}",
            wheel=item.filename,
            other_wheels=tuple(others),
            yanked=item.yanked,
        )
    manylinux = [o for o in others if "manylinux" in o]
    why = f"no wheel for {target.describe()}"
    if manylinux:
        why += f" (its {len(manylinux)} manylinux wheel(s) need glibc)"
    elif others:
        why += f" (only {len(others)} wheel(s) for other CPUs or Pythons)"
    if sdist is not None:
        needs = build_needs(pin.name)
        message = f"{label}: {why}; pip compiles {sdist.filename}: builder needs {' '.join(needs.build)}"
        if needs.runtime:
            message += f", runtime needs {' '.join(needs.runtime)}"
        return WheelFinding(
            pin,
            WheelStatus.SOURCE,
            message,
            sdist=sdist.filename,
            other_wheels=tuple(others),
            build=needs.build,
            runtime=needs.runtime,
            yanked=sdist.yanked,
        )
    if python_excluded:
        requires = ", ".join(sorted(r for r in python_excluded if r))
        reason = f"requires Python {requires}, not {target.python_version}: pip install will fail"
    else:
        reason = f"{why} and no sdist: pip install will fail"
    return WheelFinding(pin, WheelStatus.MISSING, f"{label}: {reason}", other_wheels=tuple(others))


@dataclass(frozen=True)
class WheelReport:
    """Every pin's finding, the files read, problems met, and whether the index was asked at all."""

    target: Target
    index_url: str
    offline: bool
    files: tuple[str, ...] = ()
    findings: tuple[WheelFinding, ...] = ()
    problems: tuple[RequirementsProblem, ...] = ()
    skipped_reason: str = ""

    @property
    def compiled(self) -> tuple[WheelFinding, ...]:
        return tuple(f for f in self.findings if f.status is WheelStatus.SOURCE)

    @property
    def build_packages(self) -> tuple[str, ...]:
        """Alpine packages the builder needs for the pins that compile (first-seen order)."""
        return tuple(dict.fromkeys(p for f in self.compiled for p in f.build))

    @property
    def runtime_packages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for f in self.compiled for p in f.runtime))

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": {
                "python": self.target.python_version,
                "arch": self.target.arch,
                "libc": f"musl {self.target.musl[0]}.{self.target.musl[1]}",
            },
            "index_url": self.index_url,
            "checked": not self.offline and not self.skipped_reason,
            "skipped_reason": self.skipped_reason or None,
            "files": list(self.files),
            "findings": [f.to_dict() for f in self.findings],
            "problems": [str(p) for p in self.problems],
            "build_packages": list(self.build_packages),
            "runtime_packages": list(self.runtime_packages),
        }


def _default_client() -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(30.0),
        follow_redirects=True,
        headers={"User-Agent": f"alpinist/{__version__}"},
        transport=httpx.HTTPTransport(retries=2),
    )


def check_pins(
    pins: Sequence[Pin],
    target: Target,
    index_url: str = DEFAULT_INDEX_URL,
    *,
    client: httpx.Client | None = None,
    workers: int = 8,
) -> tuple[WheelFinding, ...]:
    """Ask the index about every checkable pin (one request per project, ``workers`` in parallel)."""
    names = sorted({canonicalize_name(p.name) for p in pins if not p.skip})
    own = client is None
    http = client or _default_client()
    pages: dict[str, tuple[IndexFile, ...] | PackageIndexError | None] = {}

    def fetch(name: str) -> tuple[IndexFile, ...] | PackageIndexError | None:
        try:
            return fetch_project_files(http, index_url, name)
        except PackageIndexError as exc:
            return exc

    try:
        if names:
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
                pages = dict(zip(names, pool.map(fetch, names), strict=True))
    finally:
        if own:
            http.close()
    out: list[WheelFinding] = []
    for pin in pins:
        if pin.skip:
            out.append(WheelFinding(pin, WheelStatus.SKIPPED, f"{pin.text}: not checked: {pin.skip}"))
            continue
        page = pages[canonicalize_name(pin.name)]
        if isinstance(page, PackageIndexError):
            out.append(WheelFinding(pin, WheelStatus.ERROR, f"{pin.text}: {page}"))
        elif page is None:
            out.append(
                WheelFinding(pin, WheelStatus.MISSING, f"{pin.text}: the index has no project {pin.name!r}")
            )
        else:
            out.append(judge(pin, page, target))
    return tuple(out)


def check_wheels(
    files: Sequence[Path],
    target: Target,
    *,
    root: Path,
    index_url: str = DEFAULT_INDEX_URL,
    offline: bool = False,
    client: httpx.Client | None = None,
    requirements: Sequence[tuple[str, str]] = (),
    sources: Sequence[Requirements] = (),
) -> WheelReport:
    """Read the requirement ``files`` (under ``root``) and check every pin against the index.

    ``requirements``: more requirements as ``(text, where)``, such as the packages a Dockerfile names on
    a ``pip install`` command line. ``sources``: pins already read (lock files, ``pyproject.toml``
    groups: :mod:`~alpinist.dockerfile.locks`). ``offline``: read the files, ask nothing, and say so in
    the report.
    """
    pins: list[Pin] = []
    problems: list[RequirementsProblem] = []
    read: list[str] = []
    for text, where in requirements:
        found_pin = pin_from_requirement(text, where, target)
        (pins if isinstance(found_pin, Pin) else problems).append(found_pin)  # type: ignore[arg-type]
    for path in files:
        if path.name == "pyproject.toml":
            found, probs = read_pyproject(path, root=root, target=target)
            pins.extend(found)
            problems.extend(probs)
            read.append(display_path(path, root))
        else:
            found, probs, names = read_requirements(path, root=root, target=target)
            pins.extend(found)
            problems.extend(probs)
            read.extend(n for n in names if n not in read)
    for source in sources:
        pins.extend(source.pins)
        problems.extend(source.problems)
        read.extend(n for n in source.files if n not in read)
    if offline:
        findings = tuple(
            WheelFinding(p, WheelStatus.SKIPPED, f"{p.text}: not checked: --offline") for p in pins
        )
        return WheelReport(
            target,
            index_url,
            True,
            tuple(read),
            findings,
            tuple(problems),
            "--offline: the package index was not asked",
        )
    if not files and not requirements and not sources:
        return WheelReport(
            target, index_url, False, (), (), tuple(problems), "no requirements.txt or pyproject.toml found"
        )
    findings = check_pins(pins, target, index_url, client=client)
    return WheelReport(target, index_url, False, tuple(read), findings, tuple(problems))
