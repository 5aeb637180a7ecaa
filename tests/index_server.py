"""A real package index on 127.0.0.1, serving real files downloaded from PyPI, for the wheel checks.

The downloads (``pip download`` in a subprocess: the loopback guard of ``conftest.py`` applies to the test
process only) are cached under ``tests/.cache/wheels`` (gitignored), so a rerun or a CI job downloads once.
Each :data:`DOWNLOADS` entry names what it shows:

- ``idna==3.10``: pure Python, one ``py3-none-any`` wheel;
- ``markupsafe==3.0.2``: ``cp312`` wheels for ``musllinux_1_2`` on x86_64 and aarch64, a ``manylinux2014``
  wheel and the sdist (the usual shape of a C-extension project);
- ``bcrypt==4.2.1``: a stable-ABI wheel ``cp39-abi3-musllinux_1_2_x86_64`` (installs on CPython ≥ 3.9 only)
  and the sdist (a Rust build);
- ``psutil==7.0.0``: only a ``manylinux`` (glibc) ``abi3`` wheel for Linux and the sdist: this release has no
  musllinux wheel (psutil added them in 7.2), so on Alpine it compiles;
- ``psycopg2==2.9.10``: an sdist and nothing else for Linux (its wheels are for Windows; the Linux wheels
  are the separate ``psycopg2-binary``): the story's ``libpq-dev`` case.

:func:`build_index` lays a directory out as a simple repository::

    simple/index.html                      the project list (PEP 503)
    simple/<project>/index.html            anchors with #sha256=, data-requires-python (PEP 503/592)
    simple/<project>/index.json            the same as PEP 691 JSON
    packages/<file>                        the files themselves

and :class:`IndexServer` serves it with the stdlib's ``http.server``: ``/simple/<project>/`` answers JSON
when the ``Accept`` header asks for ``application/vnd.pypi.simple.v1+json`` (unless the server is made
HTML-only), HTML otherwise; a name that is not normalized is redirected to its PEP 503 form, as PyPI does.
``data-requires-python`` comes from each file's own metadata (``Requires-Python`` in the wheel's METADATA
or the sdist's PKG-INFO).

Fixtures: ``wheel_files`` (session: the downloaded files by project) and ``index_server`` (a factory:
``index_server(files, json=True)`` → a started server, stopped after the test).
"""

from __future__ import annotations

import email.parser
import fcntl
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

CACHE = Path(__file__).resolve().parent / ".cache" / "wheels"
PY312_MUSL = ("--only-binary=:all:", "--python-version", "3.12", "--platform", "musllinux_1_2_x86_64")


@dataclass(frozen=True)
class Download:
    """One ``pip download --no-deps`` run: ``key`` names its cache directory."""

    key: str
    requirement: str
    options: tuple[str, ...]


DOWNLOADS: tuple[Download, ...] = (
    Download("idna-any", "idna==3.10", PY312_MUSL),
    Download("markupsafe-musl-x86_64", "markupsafe==3.0.2", PY312_MUSL),
    Download(
        "markupsafe-musl-aarch64",
        "markupsafe==3.0.2",
        ("--only-binary=:all:", "--python-version", "3.12", "--platform", "musllinux_1_2_aarch64"),
    ),
    Download(
        "markupsafe-manylinux",
        "markupsafe==3.0.2",
        ("--only-binary=:all:", "--python-version", "3.12", "--platform", "manylinux2014_x86_64"),
    ),
    Download("markupsafe-sdist", "markupsafe==3.0.2", ("--no-binary=:all:",)),
    Download("bcrypt-abi3", "bcrypt==4.2.1", PY312_MUSL),
    Download("bcrypt-sdist", "bcrypt==4.2.1", ("--no-binary=:all:",)),
    Download(
        "psutil-manylinux",
        "psutil==7.0.0",
        ("--only-binary=:all:", "--python-version", "3.12", "--platform", "manylinux2014_x86_64"),
    ),
    Download("psutil-sdist", "psutil==7.0.0", ("--no-binary=:all:",)),
    Download("psycopg2-sdist", "psycopg2==2.9.10", ("--no-binary=:all:",)),
)


def _download(item: Download) -> list[Path]:
    target = CACHE / item.key
    done = target / ".done"
    if not done.exists():
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            *item.options,
            "-d",
            str(target),
            item.requirement,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        files = [p for p in target.iterdir() if not p.name.startswith(".")]
        if result.returncode != 0 or not files:
            raise RuntimeError(
                f"pip download {item.requirement} {' '.join(item.options)} failed: {result.stderr[-2000:]}"
            )
        done.write_text("ok\n")
    return sorted(p for p in target.iterdir() if not p.name.startswith("."))


def download_all() -> dict[str, list[Path]]:
    """Every :data:`DOWNLOADS` entry's files (downloaded once; a file lock serializes xdist workers)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return {item.key: _download(item) for item in DOWNLOADS}
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------- the index


def _project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[0])
    return str(parse_sdist_filename(filename)[0])


def _requires_python(path: Path) -> str | None:
    """``Requires-Python`` from the file's own metadata (wheel METADATA or sdist PKG-INFO)."""
    raw: bytes | None = None
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if re.fullmatch(r"[^/]+\.dist-info/METADATA", name):
                    raw = zf.read(name)
                    break
    elif path.name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as tf:
            for member in tf:
                if member.isfile() and re.fullmatch(r"[^/]+/PKG-INFO", member.name):
                    extracted = tf.extractfile(member)
                    raw = extracted.read() if extracted else None
                    break
    if raw is None:
        return None
    value = email.parser.BytesHeaderParser().parsebytes(raw).get("Requires-Python")
    return str(value).strip() if value else None


def build_index(root: Path, files: Iterable[Path], *, yanked: Iterable[str] = ()) -> dict[str, list[str]]:
    """Lay out ``root`` as a simple repository holding ``files`` (copied); returns project → filenames."""
    yanked_names = set(yanked)
    packages = root / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        shutil.copy2(path, packages / path.name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        entry: dict[str, Any] = {
            "filename": path.name,
            "url": f"../../packages/{path.name}",
            "hashes": {"sha256": digest},
            "requires-python": _requires_python(path),
        }
        if path.name in yanked_names:
            entry["yanked"] = True
        projects.setdefault(_project_of(path.name), []).append(entry)
    simple = root / "simple"
    simple.mkdir(exist_ok=True)
    listing = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{listing}</body></html>\n")
    for project, entries in projects.items():
        entries.sort(key=lambda e: e["filename"])
        page = simple / project
        page.mkdir(exist_ok=True)
        anchors = []
        for e in entries:
            attrs = f'href="{html.escape(e["url"])}#sha256={e["hashes"]["sha256"]}"'
            if e["requires-python"]:
                attrs += f' data-requires-python="{html.escape(e["requires-python"])}"'
            if e.get("yanked"):
                attrs += ' data-yanked=""'
            anchors.append(f"<a {attrs}>{html.escape(e['filename'])}</a><br/>")
        body = "\n".join(anchors)
        (page / "index.html").write_text(
            f"<!DOCTYPE html>\n<html><head><title>Links for {project}</title></head><body>\n"
            f"<h1>Links for {project}</h1>\n{body}\n</body></html>\n"
        )
        doc = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        (page / "index.json").write_text(json.dumps(doc, indent=1, sort_keys=True))
    return {p: [e["filename"] for e in es] for p, es in projects.items()}


@dataclass(frozen=True)
class Request:
    path: str
    accept: str


class IndexServer:
    """Serves a :func:`build_index` directory on 127.0.0.1 (``url`` is the ``…/simple`` index URL)."""

    def __init__(self, root: Path, *, json_api: bool = True) -> None:
        self.root = root
        self.json_api = json_api
        self.requests: list[Request] = []
        self.served: list[tuple[str, str]] = []  # (project path, content type) of each project page answered
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base}/simple"

    def start(self) -> IndexServer:
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(server.root), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(Request(self.path, self.headers.get("Accept", "")))
                match = re.fullmatch(r"/simple/([^/?#]+)/?", self.path.split("?")[0])
                if match:
                    self._project(match.group(1))
                    return
                super().do_GET()

            def _project(self, name: str) -> None:
                normal = canonicalize_name(name)
                if name != normal:
                    self.send_response(301)
                    self.send_header("Location", f"/simple/{normal}/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                page = server.root / "simple" / normal
                if not page.is_dir():
                    self.send_error(404, "no such project")
                    return
                accept = self.headers.get("Accept", "")
                if server.json_api and "application/vnd.pypi.simple.v1+json" in accept:
                    body = (page / "index.json").read_bytes()
                    ctype = "application/vnd.pypi.simple.v1+json"
                else:
                    body = (page / "index.html").read_bytes()
                    ctype = "text/html; charset=utf-8"
                server.served.append((self.path, ctype.split(";")[0]))
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Vary", "Accept")
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="index-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


@pytest.fixture(scope="session")
def wheel_files() -> dict[str, list[Path]]:
    """The downloaded files, by :data:`DOWNLOADS` key (downloaded on first use, then cached)."""
    return download_all()


@pytest.fixture
def index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., IndexServer]]:
    """``index_server(files, json_api=True, yanked=())`` → a started :class:`IndexServer` over those files."""
    servers: list[IndexServer] = []

    def make(files: Iterable[Path], *, json_api: bool = True, yanked: Iterable[str] = ()) -> IndexServer:
        root = tmp_path_factory.mktemp("index")
        build_index(root, files, yanked=yanked)
        server = IndexServer(root, json_api=json_api).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
