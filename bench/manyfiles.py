"""A deterministic many-file image for the sbom benchmark: a realistic Python service tree.

    .venv/bin/python bench/manyfiles.py [--out DIR] [--scale F] [--seed N]

Writes an OCI layout (``DIR/oci``, tag ``manyfiles:latest``) and, with skopeo, a docker-archive
(``DIR/manyfiles.docker.tar``) of four gzip layers, and ``DIR/expected.json`` (the Python packages and
dpkg packages a correct inventory finds). Same seed and scale, same bytes: the tars have fixed mtimes,
owners and order, gzip has no timestamp.

1. base: a Debian 12 root (``/etc/os-release``, ``/var/lib/dpkg/status`` with 120 packages, their
   ``/usr/share/doc/*/copyright`` and ``*.list`` files, shared libraries, thousands of locale ``.mo``
   files) and a CPython-like standard library under ``/usr/local/lib/python3.11`` (``.py`` with
   ``__pycache__/*.pyc``);
2. site: 60 distributions in ``/usr/local/lib/python3.11/site-packages`` (``NAME-VER.dist-info`` with
   METADATA, RECORD, WHEEL, INSTALLER, top_level.txt; modules and their ``.pyc``);
3. venv: 140 distributions in ``/opt/venv/lib/python3.11/site-packages`` and ``pyvenv.cfg``;
4. cleanup: what a later ``RUN`` leaves as whiteouts: ``__pycache__`` directories of 30 distributions
   deleted, one distribution upgraded (old ``dist-info`` deleted, new one added), one package directory
   replaced behind an opaque marker, the locale files of 10 languages deleted.

At ``--scale 1`` the image has about 45,000 tar members (≈ 200 MB uncompressed), the size of a real
Django service on ``python:3.11-slim`` with a venv. The cache under ``bench/.images/`` is keyed by the
generator version, seed and scale.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

GENERATOR_VERSION = 2
TAG = "manyfiles:latest"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / ".images"

REAL_NAMES = [
    "django",
    "asgiref",
    "sqlparse",
    "djangorestframework",
    "psycopg",
    "psycopg-binary",
    "gunicorn",
    "uvicorn",
    "celery",
    "kombu",
    "billiard",
    "vine",
    "amqp",
    "redis",
    "requests",
    "urllib3",
    "idna",
    "charset-normalizer",
    "certifi",
    "pyyaml",
    "jinja2",
    "markupsafe",
    "click",
    "itsdangerous",
    "werkzeug",
    "flask",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "annotated-types",
    "anyio",
    "sniffio",
    "h11",
    "httpx",
    "httpcore",
    "sentry-sdk",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "pytz",
    "tzdata",
    "packaging",
    "pillow",
    "numpy",
    "pandas",
    "cryptography",
    "cffi",
    "pycparser",
    "attrs",
    "rich",
    "pygments",
    "markdown-it-py",
    "mdurl",
    "structlog",
    "orjson",
    "ujson",
    "lxml",
    "sqlalchemy",
    "greenlet",
    "alembic",
    "mako",
    "whitenoise",
    "django-environ",
    "django-cors-headers",
    "django-filter",
    "django-storages",
    "drf-spectacular",
    "uritemplate",
    "inflection",
    "jsonschema",
    "referencing",
    "rpds-py",
    "jsonschema-specifications",
    "prometheus-client",
    "opentelemetry-api",
    "deprecated",
    "wrapt",
    "importlib-metadata",
    "zipp",
    "setuptools",
    "wheel",
    "pip",
]
WORDS = [
    "def",
    "class",
    "return",
    "self",
    "import",
    "from",
    "if",
    "else",
    "elif",
    "for",
    "while",
    "in",
    "not",
    "and",
    "or",
    "None",
    "True",
    "False",
    "try",
    "except",
    "finally",
    "with",
    "as",
    "yield",
    "lambda",
    "raise",
    "assert",
    "pass",
    "break",
    "continue",
    "global",
    "value",
    "result",
    "name",
    "items",
    "key",
    "data",
    "config",
    "request",
    "response",
    "handler",
    "session",
    "query",
    "model",
    "field",
    "cache",
    "logger",
    "error",
    "message",
    "path",
    "options",
    "context",
    "manager",
    "settings",
    "backend",
    "timeout",
    "retries",
    "buffer",
    "stream",
    "encode",
    "decode",
    "parse",
    "render",
]
LANGUAGES = [f"{a}{b}" for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiou"][:60]


@dataclass
class Layer:
    """Members of one layer, in order: (path, kind, data or link target)."""

    members: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    dirs: set[str] = field(default_factory=set)

    def add_dir(self, path: str) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self.members.append((d, tarfile.DIRTYPE, b""))

    def add_file(self, path: str, data: bytes) -> None:
        self.add_dir(path.rsplit("/", 1)[0])
        self.members.append((path.strip("/"), tarfile.REGTYPE, data))

    def add_symlink(self, path: str, target: str) -> None:
        self.add_dir(path.rsplit("/", 1)[0])
        self.members.append((path.strip("/"), tarfile.SYMTYPE, target.encode()))

    def tar(self) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, kind, data in self.members:
                info = tarfile.TarInfo(name)
                info.type = kind
                info.mtime = 1_700_000_000
                info.uname = info.gname = "root"
                if kind == tarfile.DIRTYPE:
                    info.mode = 0o755
                    tar.addfile(info)
                elif kind == tarfile.SYMTYPE:
                    info.linkname = data.decode()
                    info.mode = 0o777
                    tar.addfile(info)
                else:
                    info.mode = 0o644
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()


class Text:
    """Compressible pseudo-source and pseudo-bytecode, deterministic per seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def source(self, size: int) -> bytes:
        lines = []
        total = 0
        while total < size:
            indent = "    " * self.rng.randrange(3)
            line = indent + " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randrange(3, 10)))
            lines.append(line)
            total += len(line) + 1
        return ("\n".join(lines) + "\n").encode()

    def pyc(self, source: bytes) -> bytes:
        header = b"\xa7\r\r\n" + bytes(12)
        body = hashlib.blake2b(source, digest_size=32).digest() * (len(source) // 96 + 1)
        return header + bytes(b ^ 0x5A for b in source[: len(source) // 2]) + body[: len(source) // 3]


@dataclass(frozen=True)
class Dist:
    name: str
    version: str
    modules: int


def _dist_files(text: Text, root: str, dist: Dist, *, installer: str = "pip") -> dict[str, bytes]:
    """A wheel installed by pip: the package's modules and bytecode, then its dist-info."""
    package = dist.name.replace("-", "_")
    files: dict[str, bytes] = {}
    for i in range(dist.modules):
        sub = f"sub{i // 12}/" if i >= 12 else ""
        module = "__init__" if i % 12 == 0 else f"mod_{i}"
        src = text.source(text.rng.choice((600, 1800, 3600, 7000, 14000)))
        files[f"{root}/{package}/{sub}{module}.py"] = src
        files[f"{root}/{package}/{sub}__pycache__/{module}.cpython-311.pyc"] = text.pyc(src)
    info = f"{root}/{package}-{dist.version}.dist-info"
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {dist.name}\nVersion: {dist.version}\n"
        f"Summary: {dist.name} for the benchmark\nLicense: MIT\n\n"
    ).encode() + text.source(600)
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.42.0)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/INSTALLER"] = f"{installer}\n".encode()
    files[f"{info}/top_level.txt"] = f"{package}\n".encode()
    record = [f"{p[len(root) + 1 :]},sha256=,{len(d)}" for p, d in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info[len(root) + 1 :]}/RECORD,,"]) + "\n").encode()
    return files


def _dists(rng: random.Random, count: int, offset: int) -> list[Dist]:
    out = []
    for i in range(count):
        j = offset + i
        name = REAL_NAMES[j] if j < len(REAL_NAMES) else f"bench-pkg-{j}"
        version = f"{rng.randrange(0, 6)}.{rng.randrange(0, 30)}.{rng.randrange(0, 12)}"
        out.append(Dist(name, version, rng.choice((3, 6, 12, 24, 40, 80, 160, 320))))
    return out


def build(scale: float = 1.0, seed: int = 0) -> tuple[list[bytes], dict[str, object]]:
    """The four layer tars and what a correct inventory of the image holds."""
    rng = random.Random(seed)
    text = Text(rng)
    n = lambda k: max(1, round(k * scale))  # noqa: E731 - scaled counts

    base = Layer()
    base.add_file(
        "etc/os-release",
        b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
        b'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    )
    base.add_file("etc/debian_version", b"12.7\n")
    debs = []
    stanzas = []
    for i in range(120):
        name = f"libbench{i}" if i % 3 else f"bench-tool{i}"
        version = f"{rng.randrange(1, 9)}.{rng.randrange(0, 20)}-{rng.randrange(1, 5)}"
        debs.append((name, version))
        stanzas.append(
            f"Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: libs\n"
            f"Installed-Size: {rng.randrange(10, 5000)}\nMaintainer: Bench <bench@example.org>\n"
            f"Architecture: amd64\nSource: bench-src{i // 2}\nVersion: {version}\n"
            f"Description: benchmark package {i}\n"
        )
        listing = []
        for k in range(n(6)):
            path = f"usr/lib/x86_64-linux-gnu/{name}.so.{k}"
            base.add_file(path, text.pyc(text.source(2000)))
            listing.append("/" + path)
        base.add_file(
            f"usr/share/doc/{name}/copyright",
            b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nLicense: MIT\n",
        )
        base.add_file(f"var/lib/dpkg/info/{name}.list", ("\n".join(listing) + "\n").encode())
    base.add_file("var/lib/dpkg/status", ("\n".join(stanzas)).encode())
    for lang in LANGUAGES:
        for k in range(n(60)):
            base.add_file(f"usr/share/locale/{lang}/LC_MESSAGES/bench{k}.mo", text.source(400))
    stdlib = "usr/local/lib/python3.11"
    for k in range(n(1500)):
        pkg = f"{stdlib}/lib{k // 40}" if k >= 200 else stdlib
        src = text.source(rng.choice((1200, 4000, 12000)))
        base.add_file(f"{pkg}/std_{k}.py", src)
        base.add_file(f"{pkg}/__pycache__/std_{k}.cpython-311.pyc", text.pyc(src))
    base.add_file("usr/local/bin/python3.11", text.pyc(text.source(20000)))
    base.add_symlink("usr/local/bin/python3", "python3.11")

    site_root = "usr/local/lib/python3.11/site-packages"
    venv_root = "opt/venv/lib/python3.11/site-packages"
    site_dists = _dists(rng, n(60), 0)
    venv_dists = _dists(rng, n(140), n(60))
    site = Layer()
    for dist in site_dists:
        for path, data in _dist_files(text, site_root, dist).items():
            site.add_file(path, data)
    venv = Layer()
    venv.add_file(
        "opt/venv/pyvenv.cfg",
        b"home = /usr/local/bin\ninclude-system-site-packages = false\nversion = 3.11.9\n",
    )
    venv.add_symlink("opt/venv/bin/python", "/usr/local/bin/python3")
    for dist in venv_dists:
        for path, data in _dist_files(text, venv_root, dist).items():
            venv.add_file(path, data)

    cleanup = Layer()
    present = {(d.name, d.version, site_root) for d in site_dists} | {
        (d.name, d.version, venv_root) for d in venv_dists
    }
    for dist in venv_dists[: n(30)]:
        package = dist.name.replace("-", "_")
        cleanup.add_file(f"{venv_root}/{package}/.wh.__pycache__", b"")
    upgraded = venv_dists[-1]
    new = Dist(upgraded.name, upgraded.version + ".post1", upgraded.modules)
    cleanup.add_file(f"{venv_root}/.wh.{upgraded.name.replace('-', '_')}-{upgraded.version}.dist-info", b"")
    for path, data in _dist_files(text, venv_root, new).items():
        cleanup.add_file(path, data)
    present.discard((upgraded.name, upgraded.version, venv_root))
    present.add((new.name, new.version, venv_root))
    opaque = site_dists[0].name.replace("-", "_")
    cleanup.add_file(f"{site_root}/{opaque}/.wh..wh..opq", b"")
    cleanup.add_file(f"{site_root}/{opaque}/__init__.py", b"# replaced\n")
    for lang in LANGUAGES[:10]:
        cleanup.add_file(f"usr/share/locale/.wh.{lang}", b"")

    layers = [base.tar(), site.tar(), venv.tar(), cleanup.tar()]
    expected: dict[str, object] = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "members": sum(len(layer.members) for layer in (base, site, venv, cleanup)),
        "uncompressed_bytes": sum(len(t) for t in layers),
        "python": sorted(f"{name}=={version}@/{root}" for name, version, root in present),
        "deb": sorted(f"{name}=={version}" for name, version in debs),
    }
    return layers, expected


def write_layout(layout: Path, layers: list[bytes]) -> None:
    if layout.exists():
        shutil.rmtree(layout)
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return "sha256:" + digest

    descriptors, diff_ids = [], []
    for tar in layers:
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        blob = gzip.compress(tar, compresslevel=6, mtime=0)
        descriptors.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": put(blob),
                "size": len(blob),
            }
        )
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"User": "1000:1000", "Cmd": ["/opt/venv/bin/python", "-m", "app"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": descriptors,
        },
        sort_keys=True,
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": TAG},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index, sort_keys=True))


def ensure(out: Path = DEFAULT_OUT, scale: float = 1.0, seed: int = 0) -> Path:
    """The image under ``out/manyfiles-v{version}-s{seed}-x{scale}``, generated when missing."""
    target = out / f"manyfiles-v{GENERATOR_VERSION}-s{seed}-x{scale:g}"
    if (target / "expected.json").exists():
        return target
    layers, expected = build(scale, seed)
    write_layout(target / "oci", layers)
    archive = target / "manyfiles.docker.tar"
    if shutil.which("skopeo"):
        subprocess.run(
            ["skopeo", "copy", "-q", f"oci:{target / 'oci'}:{TAG}", f"docker-archive:{archive}:{TAG}"],
            check=True,
        )
    (target / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    target = ensure(args.out, args.scale, args.seed)
    expected = json.loads((target / "expected.json").read_text())
    print(
        f"{target}: {expected['members']} members, {expected['uncompressed_bytes'] / 1e6:.0f} MB uncompressed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
