"""Layer reading and merging: the corpus' real images, and small layers built here for each rule."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import pytest
import zstandard

from alpinist.images.layers import LayerResult, Limits, build_view, merge_layers, read_layer
from alpinist.images.manifest import host_platform
from alpinist.images.oci import DockerArchiveSource, OCILayoutSource
from alpinist.images.source import ResolvedImage
from alpinist.images.view import FileView, PathSelector
from alpinist.models import Descriptor, LayerInfo

from .conftest import CORPUS, OCI_LAYOUT, TAGS, expected_dir, read_tsv

GZIP_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_TYPE = "application/vnd.oci.image.layer.v1.tar+zstd"
TAR_TYPE = "application/vnd.oci.image.layer.v1.tar"

# What the catalogers ask for: package databases, os-release (and where its symlink points), Python
# distributions' metadata.
CATALOG_SELECTOR = PathSelector(
    exact=frozenset(
        {
            "/var/lib/dpkg/status",
            "/lib/apk/db/installed",
            "/etc/os-release",
            "/usr/lib/os-release",
            "/etc/debian_version",
            "/etc/alpine-release",
        }
    ),
    patterns=("*.dist-info/METADATA", "*.egg-info/PKG-INFO", "*.egg-info"),
    keep_history=frozenset({"/var/lib/dpkg/status", "/lib/apk/db/installed"}),
)


def layout(tag: str) -> OCILayoutSource:
    return OCILayoutSource(
        str(OCI_LAYOUT), tag, archive=False, platform=host_platform(), reference=f"oci:{OCI_LAYOUT}:{tag}"
    )


@dataclass
class CorpusImage:
    view: FileView
    layers: tuple[LayerInfo, ...]
    results: list[LayerResult]  # each layer read on its own, for partial merges


_CACHE: dict[str, CorpusImage] = {}


def corpus_image(tag: str) -> CorpusImage:
    """Read a corpus image once per test session (module-level cache: each image takes < 1 s)."""
    if tag not in _CACHE:
        source = layout(tag)
        resolved = source.resolve()
        view, layers = build_view(source, resolved, CATALOG_SELECTOR)
        diff_ids = resolved.config["rootfs"]["diff_ids"]
        compiled = CATALOG_SELECTOR.compile()
        results = []
        for i, desc in enumerate(resolved.layers):
            with source.open_blob(desc) as raw:
                results.append(read_layer(raw, desc, i, compiled, Limits(), diff_ids[i]))
        source.close()
        _CACHE[tag] = CorpusImage(view, layers, results)
    return _CACHE[tag]


# --------------------------------------------------------------------------------------------------
# the corpus


@pytest.mark.parametrize("tag", TAGS)
def test_layer_facts_match_the_corpus(tag: str) -> None:
    image = corpus_image(tag)
    expected = read_tsv(expected_dir(tag) / "layers.tsv")
    assert len(image.layers) == len(expected)
    for info, row in zip(image.layers, expected, strict=True):
        assert info.index == int(row["index"])
        assert info.digest == row["digest"]
        assert info.compressed_size == int(row["compressed_size"])
        assert info.uncompressed_size == int(row["uncompressed_size"])
        assert info.diff_id == row["diff_id"]
        assert (info.created_by or "").strip() == row["created_by"].strip()
    for result, row in zip(image.results, expected, strict=True):
        assert result.diff_id == row["diff_id"]  # computed from the stream, not copied from the config
        assert result.uncompressed_size == int(row["uncompressed_size"])


def test_python_app_debian_whiteouts_hide_lower_files() -> None:
    image = corpus_image("python-app:debian")
    rows = read_tsv(expected_dir("python-app:debian") / "whiteouts.tsv")
    assert {r["path"] for r in rows} >= {"/etc/motd", "/opt/venv/lib/python3.11/site-packages/setuptools"}
    below_last = merge_layers(image.results[:-1], CATALOG_SELECTOR.compile())
    setuptools = "/opt/venv/lib/python3.11/site-packages/setuptools"
    # before the last layer the files are there ...
    assert "/etc/motd" in below_last.entries
    assert any(p.startswith(setuptools + "/") for p in below_last.entries)
    # ... and the last layer's whiteouts remove them and everything below them
    assert {r["path"] for r in rows} == set(image.results[-1].whiteouts)
    for row in rows:
        path = row["path"]
        assert path not in image.view.entries
        assert not any(p.startswith(path + "/") for p in image.view.entries), path
    assert image.view.read("/etc/motd") is None
    assert not image.view.glob("*/setuptools-66.1.1.dist-info/*")
    # the whiteout files themselves are not entries
    assert not [p for p in image.view.entries if "/.wh." in p]


@pytest.mark.parametrize("tag", ["python-app:debian", "python-app:alpine"])
def test_python_distributions_in_the_final_view(tag: str) -> None:
    view = corpus_image(tag).view
    expected = {row["path"] for row in read_tsv(expected_dir(tag) / "python.tsv")}
    found = {p for p in view.entries if p.endswith((".dist-info", ".egg-info"))}
    assert found == expected
    for path in expected:
        if view.get(path) is not None and view.get(path).kind == "dir":  # type: ignore[union-attr]
            meta = path + ("/METADATA" if path.endswith(".dist-info") else "/PKG-INFO")
            data = view.read(meta)
            assert data is not None and data.startswith(b"Metadata-Version: "), meta


def test_debian_slim_device_nodes_are_recorded_but_never_read() -> None:
    source = layout("debian:12-slim")
    resolved = source.resolve()
    selector = PathSelector(exact=frozenset({"/dev/null", "/dev/zero"}), patterns=("/dev/*",))
    view, _ = build_view(source, resolved, selector)
    # the character devices of the layer (tar tvzf of the blob), written out by hand
    chars = {"/dev/full", "/dev/random", "/dev/zero", "/dev/ptmx", "/dev/urandom", "/dev/null", "/dev/tty"}
    chars.add("/dev/console")
    assert {p for p, e in view.entries.items() if e.kind == "char"} == chars
    for path in chars:
        entry = view.entries[path]
        assert entry.content is None and entry.size == 0
        assert view.read(path) is None
        assert not view.is_file(path)
    assert view.entries["/dev/null"].mode == 0o666
    assert view.entries["/dev/stdin"].kind == "symlink"
    assert view.entries["/dev/stdin"].linkname == "/proc/self/fd/0"


def test_debian_slim_selected_contents_and_links() -> None:
    view = corpus_image("debian:12-slim").view
    status = view.read_text("/var/lib/dpkg/status")
    assert status is not None
    installed = status.count("Status: install ok installed\n")
    assert installed == len(read_tsv(expected_dir("debian:12-slim") / "packages.tsv"))
    assert (
        view.read_text("/etc/debian_version")
        == (expected_dir("debian:12-slim") / "distro-version").read_text()
    )
    # /etc/os-release -> ../usr/lib/os-release, resolved inside the image
    assert view.get("/etc/os-release") is not None
    assert view.get("/etc/os-release").linkname == "../usr/lib/os-release"  # type: ignore[union-attr]
    assert view.realpath("/etc/os-release") == "/usr/lib/os-release"
    assert view.read("/etc/os-release") == (expected_dir("debian:12-slim") / "os-release").read_bytes()
    # a real hardlink in the layer: gunzip is uncompress
    gunzip = view.get("/usr/bin/gunzip")
    assert gunzip is not None and gunzip.kind == "hardlink" and gunzip.linkname == "/usr/bin/uncompress"
    assert gunzip.size == 2346
    # unselected files keep no content
    assert view.entries["/usr/bin/uncompress"].content is None
    assert view.read("/usr/bin/uncompress") is None


def test_dpkg_status_history_names_the_layers_that_changed_it() -> None:
    view = corpus_image("python-app:debian").view
    versions = view.versions("/var/lib/dpkg/status")
    # tar tzf of each blob: the base layer and the apt-get layer carry var/lib/dpkg/status
    assert [v.layer for v in versions] == [0, 1]
    assert all(v.content is not None for v in versions)
    assert versions[-1] == view.get("/var/lib/dpkg/status")
    assert versions[0].content != versions[1].content


def test_docker_archive_layers_are_plain_tar_and_give_the_same_view() -> None:
    archive = CORPUS / "images" / "archives" / "alpine-3.20.3.docker.tar"
    source = DockerArchiveSource(str(archive), None, reference=f"docker-archive:{archive}")
    try:
        resolved = source.resolve()
        view, layers = build_view(source, resolved, CATALOG_SELECTOR)
    finally:
        source.close()
    oci = corpus_image("alpine:3.20.3")
    assert layers[0].diff_id == oci.layers[0].diff_id
    assert layers[0].uncompressed_size == oci.layers[0].uncompressed_size
    assert view.entries == oci.view.entries
    assert view.read_text("/etc/alpine-release") == "3.20.3\n"


# --------------------------------------------------------------------------------------------------
# layers built here


@dataclass(frozen=True)
class M:
    """One tar member to build."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def tar_bytes(*members: M) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.mode = m.mode
            info.uid, info.gid = m.uid, m.gid
            info.linkname = m.linkname
            info.size = len(m.data) if m.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            tar.addfile(info, io.BytesIO(m.data) if info.size else None)
    return buf.getvalue()


def descriptor(blob: bytes, media_type: str = GZIP_TYPE) -> Descriptor:
    return Descriptor(media_type, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob))


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "none": bytes,
}


def diff_id(tar: bytes) -> str:
    return "sha256:" + hashlib.sha256(tar).hexdigest()


def read(
    tar: bytes,
    index: int = 0,
    selector: PathSelector | None = None,
    compress: str = "gzip",
    media_type: str = GZIP_TYPE,
) -> LayerResult:
    blob = COMPRESSORS[compress](tar)
    sel = (selector or PathSelector(patterns=("*",))).compile()
    return read_layer(io.BytesIO(blob), descriptor(blob, media_type), index, sel, Limits(), diff_id(tar))


def merged(*tars: bytes, selector: PathSelector | None = None) -> FileView:
    sel = selector or PathSelector(patterns=("*",))
    return merge_layers([read(t, i, sel) for i, t in enumerate(tars)], sel.compile())


def d(name: str) -> M:
    return M(name, type=tarfile.DIRTYPE, mode=0o755)


def test_member_kinds_and_metadata() -> None:
    tar = tar_bytes(
        d("etc"),
        M("etc/hostname", b"box\n", mode=0o600, uid=1000, gid=100),
        M("etc/localtime", type=tarfile.SYMTYPE, linkname="/usr/share/zoneinfo/UTC"),
        M("etc/hostname2", type=tarfile.LNKTYPE, linkname="etc/hostname"),
        M("dev/null", type=tarfile.CHRTYPE, mode=0o666),
        M("dev/sda", type=tarfile.BLKTYPE),
        M("run/fifo", type=tarfile.FIFOTYPE),
    )
    result = read(tar, index=3)
    e = result.entries
    assert {p: x.kind for p, x in e.items()} == {
        "/etc": "dir",
        "/etc/hostname": "file",
        "/etc/localtime": "symlink",
        "/etc/hostname2": "hardlink",
        "/dev/null": "char",
        "/dev/sda": "block",
        "/run/fifo": "fifo",
    }
    host = e["/etc/hostname"]
    assert (host.size, host.mode, host.uid, host.gid, host.layer, host.content) == (
        4,
        0o600,
        1000,
        100,
        3,
        b"box\n",
    )
    assert e["/etc/localtime"].linkname == "/usr/share/zoneinfo/UTC"
    assert e["/etc/hostname2"].linkname == "/etc/hostname"
    assert result.uncompressed_size == len(tar)
    assert result.diff_id == diff_id(tar)
    assert result.whiteouts == frozenset() and result.opaque_dirs == frozenset()


@pytest.mark.parametrize(
    ("compress", "media_type"),
    [("gzip", GZIP_TYPE), ("zstd", ZSTD_TYPE), ("none", TAR_TYPE), ("none", GZIP_TYPE), ("gzip", TAR_TYPE)],
)
def test_compression_is_chosen_by_magic_bytes(compress: str, media_type: str) -> None:
    tar = tar_bytes(M("a/b.txt", b"hello"))
    result = read(tar, compress=compress, media_type=media_type)
    assert result.entries["/a/b.txt"].content == b"hello"
    assert result.diff_id == diff_id(tar)


class Trickle(io.RawIOBase):
    """A stream that hands out at most three bytes per read, as a slow network might."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(3, len(buffer)))
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("compress", ["gzip", "zstd", "none"])
def test_short_reads_from_the_source(compress: str) -> None:
    tar = tar_bytes(M("etc/os-release", b"ID=test\n"), M("bin/sh", bytes(3000)))
    blob = COMPRESSORS[compress](tar)
    sel = PathSelector(exact=frozenset({"/etc/os-release"})).compile()
    raw = cast(BinaryIO, Trickle(blob))
    result = read_layer(raw, descriptor(blob), 0, sel, Limits(), diff_id(tar))
    assert result.entries["/etc/os-release"].content == b"ID=test\n"
    assert result.compressed_size == len(blob)


def test_multi_member_gzip_and_multi_frame_zstd() -> None:
    tar = tar_bytes(M("x", b"1" * 5000), M("y", b"2" * 70000))
    half = len(tar) // 2
    gz = gzip.compress(tar[:half]) + gzip.compress(tar[half:])
    zc = zstandard.ZstdCompressor()
    zs = zc.compress(tar[:half]) + zc.compress(tar[half:])
    sel = PathSelector(patterns=("*",)).compile()
    for blob in (gz, zs):
        result = read_layer(io.BytesIO(blob), descriptor(blob), 0, sel, Limits(), diff_id(tar))
        assert result.entries["/y"].content == b"2" * 70000


def test_only_selected_files_keep_content() -> None:
    tar = tar_bytes(
        M("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", b"Metadata-Version: 2.1\n"),
        M("usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD", b"six.py,,\n"),
        M("var/lib/dpkg/status", b"Package: six\n"),
        M("usr/bin/big", b"\x7fELF" + b"\0" * 10000),
    )
    e = read(tar, selector=CATALOG_SELECTOR).entries
    assert (
        e["/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"].content
        == b"Metadata-Version: 2.1\n"
    )
    assert e["/var/lib/dpkg/status"].content == b"Package: six\n"
    assert e["/usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD"].content is None
    assert e["/usr/bin/big"].content is None and e["/usr/bin/big"].size == 10004


def test_hardlink_to_a_kept_file_in_the_same_layer_shares_its_content() -> None:
    selector = PathSelector(exact=frozenset({"/etc/a", "/etc/b", "/etc/c"}))
    tar = tar_bytes(
        M("etc/a", b"alpha"),
        M("etc/b", type=tarfile.LNKTYPE, linkname="etc/a"),
        M("etc/unselected", b"zzz"),
        M("etc/c", type=tarfile.LNKTYPE, linkname="./etc/unselected"),
    )
    e = read(tar, selector=selector).entries
    assert e["/etc/b"].content == b"alpha" and e["/etc/b"].size == 5
    assert e["/etc/c"].linkname == "/etc/unselected" and e["/etc/c"].content is None
    view = merged(tar, selector=selector)
    assert view.read("/etc/b") == b"alpha"


def test_whiteout_deletes_a_directory_and_everything_below() -> None:
    lower = tar_bytes(
        d("app"), d("app/lib"), M("app/lib/x.py", b"x"), M("app/keep", b"k"), d("etc"), M("etc/motd", b"hi")
    )
    upper = tar_bytes(M("app/.wh.lib"), M("etc/.wh.motd"), M("app/new", b"n"))
    view = merged(lower, upper)
    assert sorted(view.entries) == ["/app", "/app/keep", "/app/new", "/etc"]
    assert view.read("/etc/motd") is None


def test_opaque_directory_hides_lower_contents_but_keeps_its_own() -> None:
    lower = tar_bytes(
        d("opt"), d("opt/venv"), M("opt/venv/old.py", b"old"), d("opt/venv/sub"), M("opt/venv/sub/s", b"s")
    )
    upper = tar_bytes(d("opt/venv"), M("opt/venv/.wh..wh..opq"), M("opt/venv/new.py", b"new"))
    result = read(upper, 1)
    assert result.opaque_dirs == frozenset({"/opt/venv"})
    view = merged(lower, upper)
    assert sorted(view.entries) == ["/opt", "/opt/venv", "/opt/venv/new.py"]
    assert view.entries["/opt/venv"].layer == 1
    # the opaque marker and the entries of the same layer survive; a third layer adds on top
    top = tar_bytes(M("opt/venv/sub/t", b"t"))
    assert sorted(merged(lower, upper, top).entries) == [
        "/opt",
        "/opt/venv",
        "/opt/venv/new.py",
        "/opt/venv/sub/t",
    ]


def test_opaque_root_hides_every_lower_entry() -> None:
    lower = tar_bytes(M("a", b"a"), d("b"), M("b/c", b"c"))
    upper = tar_bytes(M(".wh..wh..opq"), M("z", b"z"))
    assert sorted(merged(lower, upper).entries) == ["/z"]


def test_file_replacing_a_directory_removes_the_lower_children() -> None:
    lower = tar_bytes(
        d("srv"), d("srv/data"), M("srv/data/one", b"1"), d("srv/data/deep"), M("srv/data/deep/two", b"2")
    )
    upper = tar_bytes(M("srv/data", b"now a file"))
    view = merged(lower, upper)
    assert sorted(view.entries) == ["/srv", "/srv/data"]
    assert view.read("/srv/data") == b"now a file"
    # and a directory replacing a directory keeps the lower children (directories merge)
    upper_dir = tar_bytes(d("srv/data"), M("srv/data/three", b"3"))
    assert sorted(merged(lower, upper_dir).entries) == [
        "/srv",
        "/srv/data",
        "/srv/data/deep",
        "/srv/data/deep/two",
        "/srv/data/one",
        "/srv/data/three",
    ]


def test_symlink_replacing_a_directory_removes_the_lower_children() -> None:
    lower = tar_bytes(d("lib"), M("lib/libc.so", b"c"))
    upper = tar_bytes(
        M("lib", type=tarfile.SYMTYPE, linkname="usr/lib"), d("usr"), d("usr/lib"), M("usr/lib/libm.so", b"m")
    )
    view = merged(lower, upper)
    assert "/lib/libc.so" not in view.entries
    assert view.realpath("/lib/libm.so") == "/usr/lib/libm.so"
    assert view.read("/lib/libm.so") == b"m"


def test_later_layers_replace_and_history_keeps_every_version() -> None:
    selector = PathSelector(
        exact=frozenset({"/lib/apk/db/installed"}), keep_history=frozenset({"/lib/apk/db/installed"})
    )
    l0 = tar_bytes(M("lib/apk/db/installed", b"P:musl\n"))
    l1 = tar_bytes(M("etc/unrelated", b"u"))
    l2 = tar_bytes(M("lib/apk/db/installed", b"P:musl\n\nP:busybox\n"))
    l3 = tar_bytes(M("lib/apk/db/.wh.installed"))
    view = merged(l0, l1, l2, selector=selector)
    assert view.read("/lib/apk/db/installed") == b"P:musl\n\nP:busybox\n"
    assert [(v.layer, v.content) for v in view.versions("/lib/apk/db/installed")] == [
        (0, b"P:musl\n"),
        (2, b"P:musl\n\nP:busybox\n"),
    ]
    assert view.versions("/etc/unrelated") == []
    # deleted at the top: gone from the view, the history still says who added what
    gone = merged(l0, l1, l2, l3, selector=selector)
    assert gone.read("/lib/apk/db/installed") is None
    assert [v.layer for v in gone.versions("/lib/apk/db/installed")] == [0, 2]


def test_merge_order_follows_the_layer_index_not_the_list_order() -> None:
    sel = PathSelector(patterns=("*",))
    r0 = read(tar_bytes(M("f", b"bottom")), 0, sel)
    r1 = read(tar_bytes(M("f", b"top")), 1, sel)
    assert merge_layers([r1, r0], sel.compile()).read("/f") == b"top"


# --------------------------------------------------------------------------------------------------
# build_view over a source made here


@dataclass
class MemorySource:
    """An ImageSource over blobs held in memory (each open_blob is an independent stream)."""

    blobs: dict[str, bytes]
    transport: str = "memory"
    reference: str = "memory:test"
    opened: list[str] = field(default_factory=list)

    def resolve(self) -> ResolvedImage:
        raise NotImplementedError  # the tests build ResolvedImage themselves

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        self.opened.append(descriptor.digest)
        return io.BytesIO(self.blobs[descriptor.digest])

    def close(self) -> None:
        pass


def image_of(
    tars: list[bytes], history: list[dict[str, Any]] | None = None
) -> tuple[MemorySource, ResolvedImage]:
    blobs = [gzip.compress(t) for t in tars]
    descs = tuple(descriptor(b) for b in blobs)
    config: dict[str, Any] = {"rootfs": {"type": "layers", "diff_ids": [diff_id(t) for t in tars]}}
    if history is not None:
        config["history"] = history
    resolved = ResolvedImage(
        name=None,
        manifest_digest="sha256:" + "0" * 64,
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        config_digest="sha256:" + "1" * 64,
        config=config,
        layers=descs,
        platform=None,
    )
    return MemorySource({dsc.digest: b for dsc, b in zip(descs, blobs, strict=True)}), resolved


def test_build_view_reads_every_layer_reports_progress_and_describes_layers() -> None:
    tars = [tar_bytes(M(f"layer{i}/f", str(i).encode()), M("shared", str(i).encode())) for i in range(5)]
    history: list[dict[str, Any]] = [
        {"created_by": "ADD rootfs.tar /"},
        {"created_by": 'CMD ["sh"]', "empty_layer": True},
        {"created_by": "RUN one"},
        {"created_by": "RUN two"},
        {"created_by": "ENV A=b", "empty_layer": True},
        {"created_by": "RUN three"},
        {"created_by": "RUN four"},
    ]
    source, resolved = image_of(tars, history)
    calls: list[tuple[int, int]] = []
    view, infos = build_view(
        source, resolved, PathSelector(patterns=("*",)), progress=lambda a, b: calls.append((a, b))
    )
    assert sorted(source.opened) == sorted(dsc.digest for dsc in resolved.layers)
    assert view.read("/shared") == b"4"
    assert [view.read(f"/layer{i}/f") for i in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    assert [i.created_by for i in infos] == [
        "ADD rootfs.tar /",
        "RUN one",
        "RUN two",
        "RUN three",
        "RUN four",
    ]
    assert [i.index for i in infos] == [0, 1, 2, 3, 4]
    assert [i.uncompressed_size for i in infos] == [len(t) for t in tars]
    assert [i.diff_id for i in infos] == [diff_id(t) for t in tars]
    assert [i.compressed_size for i in infos] == [dsc.size for dsc in resolved.layers]
    assert calls[-1] == (5, 5) and [c[0] for c in calls] == sorted(c[0] for c in calls)
    serial, serial_infos = build_view(source, resolved, PathSelector(patterns=("*",)), workers=1)
    assert serial.entries == view.entries and serial_infos == infos


def test_build_view_without_diff_ids_or_history_uses_what_it_computed() -> None:
    tars = [tar_bytes(M("a", b"a"))]
    source, resolved = image_of(tars)
    resolved = ResolvedImage(**{**resolved.__dict__, "config": {}})
    _, infos = build_view(source, resolved, PathSelector())
    assert infos[0].diff_id == diff_id(tars[0]) and infos[0].created_by is None


def test_selected_path_limit_applies_per_file() -> None:
    tar = tar_bytes(M("var/lib/dpkg/status", b"x" * 100), M("big.bin", b"y" * 5000))
    blob = gzip.compress(tar)
    sel = PathSelector(exact=frozenset({"/var/lib/dpkg/status"})).compile()
    # an unselected file bigger than the cap is fine: it is never read
    result = read_layer(io.BytesIO(blob), descriptor(blob), 0, sel, Limits(max_file_bytes=100), diff_id(tar))
    assert result.entries["/var/lib/dpkg/status"].content == b"x" * 100


class CountingSource(MemorySource):
    """Counts how many blob streams are open at once."""

    def __init__(self, blobs: dict[str, bytes], transport: str, parallel: bool | None = None) -> None:
        super().__init__(blobs, transport=transport)
        if parallel is not None:
            self.parallel_blobs = parallel
        self.open_now = 0
        self.most_open = 0

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        source = self
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)

        class Counted(io.BytesIO):
            def close(self) -> None:
                if not self.closed:
                    source.open_now -= 1
                super().close()

        return Counted(self.blobs[descriptor.digest])


@pytest.mark.parametrize("transport", ["docker-archive", "registry"])
def test_sources_sharing_one_file_handle_are_read_one_layer_at_a_time(transport: str) -> None:
    """A source whose blob streams share one handle declares ``parallel_blobs = False``."""
    tars = [tar_bytes(M(f"f{i}", bytes(200_000))) for i in range(6)]
    memory, resolved = image_of(tars)
    source = CountingSource(memory.blobs, transport, parallel=False)
    view, _ = build_view(source, resolved, PathSelector(), workers=None)
    assert len(view) == 6
    assert source.most_open == 1 and source.open_now == 0


class MeetingSource(CountingSource):
    """A parallel source whose first two blob opens must meet: each waits (bounded) for the other, so the
    read succeeds only when two blobs are open at the same time."""

    def __init__(self, blobs: dict[str, bytes], transport: str) -> None:
        super().__init__(blobs, transport, parallel=True)
        self.barrier = threading.Barrier(2, timeout=20)
        self.calls = 0
        self.lock = threading.Lock()

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        with self.lock:
            self.calls += 1
            first_two = self.calls <= 2
        stream = super().open_blob(descriptor)
        if first_two:
            self.barrier.wait()  # BrokenBarrierError after 20 s if the reader opens one blob at a time
        return stream


@pytest.mark.parametrize("transport", ["oci", "registry"])
def test_parallel_sources_are_read_several_layers_at_once(transport: str) -> None:
    """The other half of the rule above: a source whose streams are independent is read with several
    blobs open at once (each layer in its own worker), and every stream is closed at the end."""
    tars = [tar_bytes(M(f"f{i}", bytes(200_000))) for i in range(6)]
    memory, resolved = image_of(tars)
    source = MeetingSource(memory.blobs, transport)
    assert (os.cpu_count() or 1) >= 2, "this machine has one CPU: the reader uses one worker per CPU"
    view, _ = build_view(source, resolved, PathSelector(), workers=None)  # the source decides
    assert len(view) == 6
    assert source.most_open >= 2 and source.open_now == 0


def test_a_failing_progress_callback_stops_the_read() -> None:
    tars = [tar_bytes(M(f"f{i}", bytes(100_000))) for i in range(4)]
    memory, resolved = image_of(tars)
    source = CountingSource(memory.blobs, "memory")

    def progress(done: int, total: int) -> None:
        if done:
            raise RuntimeError("display went away")

    with pytest.raises(RuntimeError, match="display went away"):
        build_view(source, resolved, PathSelector(), progress=progress)
    assert source.open_now == 0  # every blob stream that was opened is closed again
