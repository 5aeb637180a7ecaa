"""Fuzzing of every image-side parser (issue 12): only the documented error types may escape.

Each target starts from real inputs (the corpus images and the peers' published fixtures, and the
project's own Dockerfiles) and mutates them: bytes flipped, inserted, deleted, duplicated, truncated,
tokens of the format spliced in (field names, separators, NUL, BOMs, deep nesting, long runs); JSON
documents are also mutated by structure (a value replaced by another of any type, a key dropped), with
the digests that chain index -> manifest -> config recomputed so that the mutation reaches the parser
behind the digest checks. Whatever comes in, a parser returns (a partial result where it documents one)
or raises an ``AlpinistError`` (``InventoryError``, ``ManifestError``, ``CorruptLayer``...), never
anything else.

Budgets: ``ALPINIST_FUZZ_EXAMPLES`` examples per target (default 150, derandomized so that the test
command is reproducible) and a deadline per example; ``bench/fuzz_parsers.py`` runs the same targets
with many more random examples.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpinist.dockerfile.parse import dockerfile_text, parse_dockerfile
from alpinist.errors import AlpinistError
from alpinist.images import manifest as mf
from alpinist.images.layers import Limits, read_layer
from alpinist.images.oci import OCILayoutSource
from alpinist.images.tarstream import index_archive
from alpinist.images.view import FileEntry, FileView, PathSelector
from alpinist.inventory.apk import parse_installed
from alpinist.inventory.build import build_inventory
from alpinist.inventory.catalog import run_catalogers
from alpinist.inventory.dpkg import parse_stanzas
from alpinist.inventory.osrelease import parse_os_release
from alpinist.inventory.python import licenses_of, parse_metadata
from alpinist.models import Descriptor, Platform
from alpinist.scan.policy import load_ignore_file, load_vex

from .conftest import OCI_LAYOUT, PEERS
from .imagebuild import corpus_image

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("ALPINIST_FUZZ_EXAMPLES", "150"))
RANDOM = os.environ.get("ALPINIST_FUZZ_RANDOM") == "1"  # bench/fuzz_parsers.py: new examples each run

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),  # per example: generous on a busy 2-core machine
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# --------------------------------------------------------------------------------------------------
# seeds and mutations


def seeds(*globs: str, base: Path = PEERS, limit: int = 64 * 1024) -> list[bytes]:
    found = sorted({p for g in globs for p in base.glob(g) if p.is_file()})
    data = [p.read_bytes()[:limit] for p in found]
    assert data, f"no seed matches {globs} under {base}"
    return data


TOKENS = (
    b"\n",
    b"\n\n",
    b"\r\n",
    b":",
    b" ",
    b"\t",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"=",
    b'"',
    b"'",
    b"\\",
    b"\\\n",
    b"#",
    b"-",
    b"${",
    b"$(",
    b"<<EOF\n",
    "\u00e9\u2028\U0001f600".encode(),
    b"9" * 40,
    b"-1",
    b"A" * 5000,
    b"\n" * 2000,
    b" " * 3000,
    b"[" * 5000,
    b'{"a":' * 5000,
    b"- " * 3000,
    # field names of the formats under test
    b"P:",
    b"V:",
    b"F:",
    b"R:",
    b"o:",
    b"L:",
    b"Package: x\n",
    b"Status: install ok installed\n",
    b"Version:",
    b"Source: x (",
    b"Conffiles:\n /etc/x",
    b"Name: x\n",
    b"Metadata-Version: 2.1\n",
    b"License-Expression: ",
    b"Classifier: License :: ",
    b"ID=",
    b"VERSION_ID=",
    b'PRETTY_NAME="',
    b"FROM ",
    b"RUN ",
    b"ARG ",
    b"ENV ",
    b"COPY --from=",
    b"# escape=`\n",
    b"# syntax=",
    b"# alpinist:ignore=",
    b"- id: ",
    b"  expires: ",
    b"&a ",
    b"*a",
    b"!!python/object:",
    b'"statements":',
    b'"@context":',
)


@st.composite
def mutated(draw: st.DrawFn, pool: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.integers(0, 6))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == 1:
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=24))
        elif op == 3:
            end = draw(st.integers(pos, min(len(data), pos + 512)))
            del data[pos:end]
        elif op == 4 and data:
            end = draw(st.integers(pos, min(len(data), pos + 256)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 40))
        elif op == 5:
            del data[pos:]
        elif op == 6:
            data[pos:pos] = draw(st.text(max_size=24)).encode("utf-8", "surrogatepass")
    return bytes(data)


def survives(call: Callable[[], object]) -> None:
    """``call`` returns or raises an ``AlpinistError`` with a one-line message; anything else fails."""
    try:
        call()
    except AlpinistError as exc:
        message = str(exc)
        assert message and "\n" not in message, message


# --------------------------------------------------------------------------------------------------
# a file view holding the fuzzed files (what the catalogers see of an image)


def view_of(files: dict[str, bytes]) -> FileView:
    entries: dict[str, FileEntry] = {}
    for path, data in files.items():
        parent = path.rsplit("/", 1)[0]
        while parent and parent not in entries:
            entries[parent] = FileEntry(path=parent, kind="dir", size=0, mode=0o755, layer=0)
            parent = parent.rsplit("/", 1)[0]
        entries[path] = FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=0, content=data)
    return FileView(entries=entries, history={})


def catalog(files: dict[str, bytes]) -> None:
    run_catalogers(view_of(files), ("PATH=/usr/bin", "PYTHON_VERSION=3.11.2"), ("sha256:" + "0" * 64,))


ALPINE_OS = b'ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'
DEBIAN_OS = b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'

APK_SEEDS = seeds(
    "syft/apk/fixtures/*", "osv-scalibr/apk/*", "osv-scalibr/fixtures-extra/apk-installed", "trivy/apk/*"
)
STATUS_SEEDS = seeds("**/var/lib/dpkg/status", "osv-scalibr/dpkg/*", "syft/dpkg/fixtures/opkg-status")
STATUS_D_SEEDS = seeds("syft/dpkg/fixtures/status.d/*", "**/var/lib/dpkg/status.d/*")
METADATA_SEEDS = seeds("**/METADATA", "**/PKG-INFO", "**/PKG-INFO-INVALID", "trivy/python/parser/*")
OS_RELEASE_SEEDS = [
    *seeds("**/etc/os-release"),
    *seeds("*/os-release", base=PEERS.parent / "expected"),
    ALPINE_OS,
    DEBIAN_OS,
    b"3.20.3\n",
    b"12.7\n",
    b"bookworm/sid\n",
]


@FUZZ
@given(mutated(APK_SEEDS))
def test_apk_installed_database(data: bytes) -> None:
    survives(lambda: parse_installed(data.decode("utf-8", "replace")))
    survives(lambda: catalog({"/etc/os-release": ALPINE_OS, "/lib/apk/db/installed": data}))


@FUZZ
@given(mutated(STATUS_SEEDS))
def test_dpkg_status(data: bytes) -> None:
    survives(lambda: parse_stanzas(data.decode("utf-8", "replace"), "/var/lib/dpkg/status"))
    survives(lambda: catalog({"/etc/os-release": DEBIAN_OS, "/var/lib/dpkg/status": data}))


@FUZZ
@given(mutated(STATUS_D_SEEDS), mutated(STATUS_D_SEEDS))
def test_dpkg_status_d(first: bytes, second: bytes) -> None:
    files = {
        "/etc/os-release": DEBIAN_OS,
        "/var/lib/dpkg/status.d/base": first,
        "/var/lib/dpkg/status.d/libc6": second,
        "/var/lib/dpkg/status.d/libc6.md5sums": first[:200],
    }
    survives(lambda: catalog(files))


@FUZZ
@given(mutated(METADATA_SEEDS), mutated(METADATA_SEEDS))
def test_python_metadata(metadata: bytes, pkg_info: bytes) -> None:
    survives(lambda: licenses_of(parse_metadata(metadata)))
    files = {
        "/usr/lib/python3.11/site-packages/x-1.0.dist-info/METADATA": metadata,
        "/usr/local/lib/python3.11/site-packages/y-2.0.egg-info/PKG-INFO": pkg_info,
        "/usr/local/lib/python3.11/site-packages/z-3.0.egg-info": pkg_info[:300],
    }
    survives(lambda: catalog(files))


@FUZZ
@given(mutated(OS_RELEASE_SEEDS), mutated(OS_RELEASE_SEEDS))
def test_os_release(os_release: bytes, version_file: bytes) -> None:
    survives(lambda: parse_os_release(os_release.decode("utf-8", "replace")))
    for files in (
        {"/etc/os-release": os_release},
        {"/usr/lib/os-release": os_release, "/etc/alpine-release": version_file},
        {"/etc/debian_version": version_file},
        {"/usr/local/include/python3.11/patchlevel.h": version_file, "/etc/os-release": os_release},
    ):
        survives(lambda files=files: catalog(files))


# --------------------------------------------------------------------------------------------------
# manifests, indexes and configs (the corpus alpine:3.20.3, mutated, digests recomputed)


def _corpus_docs() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bytes]:
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    _, manifest, config = corpus_image(OCI_LAYOUT, "alpine:3.20.3")
    config["history"] = [{"created_by": "ADD rootfs /"}, {"created_by": "HEALTHCHECK", "empty_layer": True}]
    config["config"].update(
        {
            "User": "65532:65532",
            "Healthcheck": {"Test": ["CMD", "wget", "-q", "http://localhost/"], "Interval": 30000000000},
            "Labels": {"org.opencontainers.image.base.name": "alpine:3.20"},
            "ExposedPorts": {"8080/tcp": {}},
            "Entrypoint": ["/bin/sh"],
        }
    )
    # a tiny layer of the test's own: every example reads it, so it must cost little
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in (("etc/os-release", ALPINE_OS), ("lib/apk/db/installed", APK_SEEDS[0])):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    layer = tar.getvalue()
    config["rootfs"] = {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    manifest["layers"] = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(layer)}
    ]
    return index, manifest, config, layer


INDEX, MANIFEST, CONFIG, LAYER = _corpus_docs()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterable[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, (*prefix, i))


@st.composite
def mutated_doc(draw: st.DrawFn, doc: dict[str, Any]) -> Any:
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(0, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                doc = draw(JSON_VALUES)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return doc


def _serialize(doc: Any, flip: bytes | None) -> bytes:
    data = json.dumps(doc, allow_nan=True).encode()
    return flip if flip is not None else data


def _put(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def _descriptor_of(doc: Any, key: str, digest: str, size: int) -> None:
    """Point ``doc[key]`` at the new blob when the mutation left it a descriptor."""
    target = doc.get(key) if isinstance(doc, dict) else None
    if isinstance(target, dict):
        target["digest"], target["size"] = digest, size


@FUZZ
@given(
    mutated_doc(INDEX),
    mutated_doc(MANIFEST),
    mutated_doc(CONFIG),
    st.sampled_from(["none", "index", "manifest", "config"]),
    mutated([json.dumps(INDEX).encode(), json.dumps(MANIFEST).encode(), json.dumps(CONFIG).encode()]),
)
def test_manifests_indexes_configs(index: Any, manifest: Any, config: Any, raw_of: str, raw: bytes) -> None:
    # the same documents through the parsing functions alone
    for doc in (index, manifest, config):
        data = json.dumps(doc).encode()
        survives(lambda data=data: mf.load_json(data, "doc"))
        if isinstance(doc, dict):
            survives(lambda doc=doc: mf.media_type_of(doc))
            survives(lambda doc=doc: mf.parse_manifest(doc, "doc"))
            survives(
                lambda doc=doc: mf.select_platform(
                    mf.index_entries(doc, "doc"), Platform("linux", "amd64"), "x"
                )
            )
            mf.config_platform(doc)
    survives(lambda: mf.load_json(raw, "raw"))
    # and as an OCI layout read end to end: resolve, layers, image facts, catalogers
    with tempfile.TemporaryDirectory() as tmp:
        layout = Path(tmp)
        (layout / "blobs" / "sha256").mkdir(parents=True)
        (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        _put(layout, LAYER)
        cfg = _serialize(config, raw if raw_of == "config" else None)
        _descriptor_of(manifest, "config", _put(layout, cfg), len(cfg))
        man = _serialize(manifest, raw if raw_of == "manifest" else None)
        man_digest = _put(layout, man)
        if isinstance(index, dict) and isinstance(index.get("manifests"), list) and index["manifests"]:
            first = index["manifests"][0]
            if isinstance(first, dict):
                first["digest"], first["size"] = man_digest, len(man)
        (layout / "index.json").write_bytes(_serialize(index, raw if raw_of == "index" else None))
        survives(
            lambda: OCILayoutSource(
                str(layout), None, archive=False, platform=Platform("linux", "amd64"), reference="fuzz"
            ).resolve()
        )
        survives(lambda: build_inventory(f"oci:{layout}", use_cache=False))


# --------------------------------------------------------------------------------------------------
# tar headers (layers and the outer tar of archives)


def _tar_seeds() -> list[bytes]:
    out = []
    long_name = "usr/lib/" + "x" * 120 + "/" + "y" * 90
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
            for name, kind, data, link in (
                ("etc", tarfile.DIRTYPE, b"", ""),
                ("etc/os-release", tarfile.REGTYPE, ALPINE_OS, ""),
                ("etc/.wh.motd", tarfile.REGTYPE, b"", ""),
                ("usr/.wh..wh..opq", tarfile.REGTYPE, b"", ""),
                ("bin/sh", tarfile.SYMTYPE, b"", "/bin/busybox"),
                ("bin/ash", tarfile.LNKTYPE, b"", "etc/os-release"),
                (
                    long_name if fmt != tarfile.USTAR_FORMAT else "usr/lib/" + "x" * 90,
                    tarfile.REGTYPE,
                    b"z" * 700,
                    "",
                ),
                ("dev/null", tarfile.CHRTYPE, b"", ""),
                ("caf\u00e9/na\u00efve", tarfile.REGTYPE, b"x", "")
                if fmt != tarfile.USTAR_FORMAT
                else ("a", tarfile.REGTYPE, b"", ""),
            ):
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = link
                info.size = len(data)
                info.uid = 2**21 if fmt != tarfile.USTAR_FORMAT else 1000
                if fmt == tarfile.PAX_FORMAT:
                    info.pax_headers = {"comment": "fuzz", "mtime": "1700000000.5"}
                tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        out.append(buf.getvalue())
    return out


TAR_SEEDS = _tar_seeds()
EVERYTHING = PathSelector(patterns=("*",)).compile()


@FUZZ
@given(mutated(TAR_SEEDS))
def test_tar_headers(data: bytes) -> None:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    descriptor = Descriptor(
        media_type="application/vnd.oci.image.layer.v1.tar", digest=digest, size=len(data)
    )
    survives(lambda: read_layer(io.BytesIO(data), descriptor, 0, EVERYTHING, Limits()))
    with tempfile.NamedTemporaryFile(suffix=".tar") as fh:
        fh.write(data)
        fh.flush()
        survives(lambda: index_archive(Path(fh.name)))


# --------------------------------------------------------------------------------------------------
# Dockerfiles, ignore files, VEX documents


DOCKERFILE_SEEDS = [
    *seeds("*.Dockerfile", base=REPO / "tests" / "dockerfiles"),
    *seeds("**/Dockerfile*", base=PEERS.parent / "images" / "recipes"),
]


@FUZZ
@given(mutated(DOCKERFILE_SEEDS))
def test_dockerfiles(data: bytes) -> None:
    survives(lambda: parse_dockerfile(dockerfile_text(data, "fuzz.Dockerfile"), "fuzz.Dockerfile"))


IGNORE_SEEDS = [
    b"- id: CVE-2023-45853\n  package: zlib1g\n  reason: minizip is not used\n  expires: 2025-06-30\n"
    b"- id: GHSA-g3rq-g295-4j3m\n  reason: 'templates are ours'\n  expires: '2026-01-02'\n",
    b"# nothing yet\n",
    b"- id: CVE-1\n  package: pkg:deb/debian/zlib1g\n  reason: x\n",
]
VEX_SEEDS = [
    json.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.invalid/vex/1",
            "author": "security team",
            "timestamp": "2025-01-01T00:00:00Z",
            "version": 1,
            "statements": [
                {
                    "vulnerability": {"name": "CVE-2024-4741", "aliases": ["GHSA-x"]},
                    "products": [
                        {"@id": "pkg:oci/app", "subcomponents": [{"@id": "pkg:deb/debian/libssl3"}]},
                        "pkg:deb/debian/openssl",
                    ],
                    "status": "not_affected",
                    "justification": "component_not_present",
                    "timestamp": "2025-02-01T00:00:00Z",
                },
                {"vulnerability": "CVE-1", "products": ["pkg:pypi/x@1.0"], "status": "fixed"},
            ],
        }
    ).encode(),
]


@FUZZ
@given(mutated(IGNORE_SEEDS), mutated(VEX_SEEDS))
def test_ignore_and_vex_files(ignore: bytes, vex: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ignore_path = Path(tmp) / ".alpinist-ignore.yaml"
        ignore_path.write_bytes(ignore)
        vex_path = Path(tmp) / "doc.vex.json"
        vex_path.write_bytes(vex)
        survives(lambda: load_ignore_file(ignore_path))
        survives(lambda: load_vex(vex_path))


@pytest.mark.parametrize(
    "nested",
    [b"[" * 100_000, b'{"a":' * 100_000, b"- " * 50_000 + b"x"],
)
def test_deep_nesting_is_one_error_everywhere(nested: bytes, tmp_path: Path) -> None:
    """What the fuzzers found first: nesting deeper than Python's recursion limit."""
    survives(lambda: mf.load_json(nested, "doc"))
    (tmp_path / "f").write_bytes(nested)
    survives(lambda: load_vex(tmp_path / "f"))
    survives(lambda: load_ignore_file(tmp_path / "f"))


def test_dockerfile_flag_with_non_ascii_is_one_error() -> None:
    """What bench/fuzz_parsers.py found: the buildkit binding raised UnicodeDecodeError."""
    from alpinist.dockerfile.model import DockerfileError

    with pytest.raises(DockerfileError, match=r"^x.Dockerfile:2: parse error: a --flag with non-ASCII"):
        parse_dockerfile("FROM a\nCOPY --\u0800from=x / /\n", "x.Dockerfile")
