"""Hostile layers, built here: each is refused with the right error type, a message naming the blob
and the reason, and nothing written anywhere (layers are never extracted)."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import zstandard

from alpinist.errors import BlobError, CorruptLayer, DigestMismatch, UnsafeLayer
from alpinist.images.layers import LayerResult, Limits, build_view, merge_layers, read_layer
from alpinist.images.source import ResolvedImage
from alpinist.images.view import PathSelector
from alpinist.models import Descriptor

GZIP_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
EVERYTHING = PathSelector(patterns=("*",))


@dataclass(frozen=True)
class Jail:
    root: Path  # tmp_path
    sentinel: Path  # where an extracting reader would land hostile members
    cwd: Path  # the working directory during the test: "../../../sentinel" from here is the sentinel


def listing(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.lstat().st_size) for p in root.rglob("*"))


@pytest.fixture
def jail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Jail]:
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "marker").write_text("untouched\n")
    cwd = tmp_path / "work" / "a" / "b"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    before = listing(tmp_path)
    yield Jail(tmp_path, sentinel, cwd)
    assert listing(tmp_path) == before, "a layer wrote to the filesystem"
    assert (sentinel / "marker").read_text() == "untouched\n"


# --------------------------------------------------------------------------------------------------
# building hostile layers


def member(
    name: str, data: bytes = b"", type: bytes = tarfile.REGTYPE, linkname: str = "", size: int | None = None
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = type
    info.linkname = linkname
    info.size = len(data) if size is None else size
    return info, data


def raw_tar(*members: tuple[tarfile.TarInfo, bytes], end: bool = True) -> bytes:
    """Headers and data written by hand, so names are kept exactly as given (tarfile's writer would
    not refuse them either, but this makes no assumption)."""
    out = bytearray()
    for info, data in members:
        out += info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
        out += data
        if len(data) % tarfile.BLOCKSIZE:
            out += b"\0" * (tarfile.BLOCKSIZE - len(data) % tarfile.BLOCKSIZE)
    if end:
        out += b"\0" * (2 * tarfile.BLOCKSIZE)
    return bytes(out)


def noise(n: int) -> bytes:
    """Incompressible but reproducible bytes (a flipped bit lands in the same place every run)."""
    return random.Random(n).randbytes(n)


def desc(blob: bytes) -> Descriptor:
    return Descriptor(GZIP_TYPE, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob))


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_blob(
    blob: bytes,
    selector: PathSelector = EVERYTHING,
    limits: Limits | None = None,
    diff_id: str | None = None,
    descriptor: Descriptor | None = None,
    index: int = 0,
) -> LayerResult:
    return read_layer(
        io.BytesIO(blob), descriptor or desc(blob), index, selector.compile(), limits or Limits(), diff_id
    )


def refused(exc_type: type[BlobError], blob: bytes, *reason: str, **kwargs: Any) -> BlobError:
    """Read ``blob`` and check the error: its type, the blob digest and every reason word."""
    descriptor = kwargs.get("descriptor") or desc(blob)
    with pytest.raises(exc_type) as info:
        read_blob(blob, **kwargs)
    message = str(info.value)
    assert type(info.value) is exc_type, message
    assert descriptor.digest in message
    assert info.value.digest == descriptor.digest
    for word in reason:
        assert word in message, message
    assert "\n" not in message
    return info.value


# --------------------------------------------------------------------------------------------------
# paths


def test_absolute_member_path(jail: Jail) -> None:
    blob = gzip.compress(raw_tar(member(str(jail.sentinel / "pwned"), b"evil")))
    refused(UnsafeLayer, blob, "absolute", "pwned")


def test_dotdot_escape(jail: Jail) -> None:
    blob = gzip.compress(raw_tar(member("ok.txt", b"ok"), member("../../../sentinel/pwned", b"evil")))
    refused(UnsafeLayer, blob, "escapes the image root", "../../../sentinel/pwned")


def test_dotdot_inside_the_root_is_normalized_not_refused(jail: Jail) -> None:
    blob = gzip.compress(raw_tar(member("usr/../etc/./x", b"x")))
    assert set(read_blob(blob).entries) == {"/etc/x"}


def test_whiteout_that_escapes(jail: Jail) -> None:
    blob = gzip.compress(raw_tar(member("../.wh.sentinel")))
    refused(UnsafeLayer, blob, "escapes")


@pytest.mark.parametrize("target", ["../../../sentinel/marker", "/etc/passwd", str(Path("/") / "sentinel")])
def test_hardlink_escape(jail: Jail, target: str) -> None:
    blob = gzip.compress(raw_tar(member("etc/shadow", type=tarfile.LNKTYPE, linkname=target)))
    refused(UnsafeLayer, blob, "hardlink", "etc/shadow")


def test_hardlink_to_the_root(jail: Jail) -> None:
    blob = gzip.compress(raw_tar(member("etc/x", type=tarfile.LNKTYPE, linkname="./")))
    refused(UnsafeLayer, blob, "hardlink", "root")


def test_symlink_escape_resolves_inside_the_image_root(jail: Jail) -> None:
    image_passwd = b"root:x:0:0:this is the image's own passwd:/root:/bin/sh\n"
    lower = raw_tar(
        member("etc/", type=tarfile.DIRTYPE),
        member("etc/passwd", image_passwd),
        member("etc/os-release", type=tarfile.SYMTYPE, linkname="../../../../etc/passwd"),
        member("etc/abs", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
        member("escape", type=tarfile.SYMTYPE, linkname="../../../sentinel"),
        member("loop1", type=tarfile.SYMTYPE, linkname="loop2"),
        member("loop2", type=tarfile.SYMTYPE, linkname="/loop1"),
    )
    # a later layer writes "through" the escaping directory symlink: it stays an entry of the image
    upper = raw_tar(member("escape/marker", b"overwritten?"))
    selector = PathSelector(exact=frozenset({"/etc/passwd", "/etc/os-release", "/escape/marker"}))
    results = [read_blob(gzip.compress(t), selector, index=i) for i, t in enumerate((lower, upper))]
    view = merge_layers(results, selector.compile())
    assert view.get("/etc/os-release") is not None
    assert view.get("/etc/os-release").linkname == "../../../../etc/passwd"  # type: ignore[union-attr]
    assert view.realpath("/etc/os-release") == "/etc/passwd"
    assert view.read("/etc/os-release") == image_passwd
    assert view.read("/etc/abs") == image_passwd
    host = Path("/etc/passwd")
    if host.exists():
        assert view.read("/etc/os-release") != host.read_bytes()
    assert view.realpath("/escape") == "/sentinel"
    assert view.read("/escape/marker") is None  # resolves to /sentinel/marker, which the image lacks
    assert view.realpath("/loop1") is None and view.read("/loop1") is None
    for path in view.paths():
        real = view.realpath(path)
        assert real is None or (real.startswith("/") and ".." not in real.split("/"))


# --------------------------------------------------------------------------------------------------
# special files


def test_device_node_and_fifo_at_selected_paths_are_never_read(jail: Jail) -> None:
    blob = gzip.compress(
        raw_tar(
            member("etc/os-release", type=tarfile.CHRTYPE),
            member("var/lib/dpkg/status", type=tarfile.BLKTYPE),
            member("lib/apk/db/installed", type=tarfile.FIFOTYPE),
        )
    )
    selector = PathSelector(
        exact=frozenset({"/etc/os-release", "/var/lib/dpkg/status", "/lib/apk/db/installed"})
    )
    result = read_blob(blob, selector)
    view = merge_layers([result], selector.compile())
    kinds = {"/etc/os-release": "char", "/var/lib/dpkg/status": "block", "/lib/apk/db/installed": "fifo"}
    for path, kind in kinds.items():
        entry = view.get(path)
        assert entry is not None and entry.kind == kind and entry.content is None
        assert view.read(path) is None


def test_device_node_selected_in_the_final_view_after_a_file_below(jail: Jail) -> None:
    selector = PathSelector(exact=frozenset({"/etc/os-release"}))
    lower = read_blob(gzip.compress(raw_tar(member("etc/os-release", b"ID=alpine\n"))), selector, index=0)
    upper = read_blob(
        gzip.compress(raw_tar(member("etc/os-release", type=tarfile.CHRTYPE))), selector, index=1
    )
    view = merge_layers([lower, upper], selector.compile())
    assert view.read("/etc/os-release") is None
    assert merge_layers([lower], selector.compile()).read("/etc/os-release") == b"ID=alpine\n"


# --------------------------------------------------------------------------------------------------
# sizes and truncation


def test_unselected_member_claiming_gigabytes_with_a_short_stream(jail: Jail) -> None:
    tar = raw_tar(member("huge.bin", size=3 * 1024**3), end=False) + b"x" * 1000
    refused(
        CorruptLayer, gzip.compress(tar), "truncated", "huge.bin", str(3 * 1024**3), selector=PathSelector()
    )


def test_selected_member_claiming_more_than_the_stream_has(jail: Jail) -> None:
    tar = raw_tar(member("var/lib/dpkg/status", size=50_000), end=False) + b"Package: x\n"
    selector = PathSelector(exact=frozenset({"/var/lib/dpkg/status"}))
    refused(CorruptLayer, gzip.compress(tar), "truncated", "var/lib/dpkg/status", selector=selector)


def test_selected_member_above_the_file_cap(jail: Jail) -> None:
    tar = raw_tar(member("var/lib/dpkg/status", b"P" * 2000))
    selector = PathSelector(exact=frozenset({"/var/lib/dpkg/status"}))
    limits = Limits(max_file_bytes=1000)
    refused(
        UnsafeLayer,
        gzip.compress(tar),
        "/var/lib/dpkg/status",
        "2000",
        "1000",
        selector=selector,
        limits=limits,
    )


def test_selected_member_claiming_gigabytes_is_refused_before_reading(jail: Jail) -> None:
    tar = raw_tar(member("var/lib/dpkg/status", size=5 * 1024**3), end=False) + b"x" * 10
    selector = PathSelector(exact=frozenset({"/var/lib/dpkg/status"}))
    refused(UnsafeLayer, gzip.compress(tar), "/var/lib/dpkg/status", str(5 * 1024**3), selector=selector)


CAPPED = PathSelector(truncate=(("/usr/share/doc/*/copyright", 1000),))


def test_capped_member_claiming_more_than_the_stream_has(jail: Jail) -> None:
    tar = raw_tar(member("usr/share/doc/a/copyright", size=50_000), end=False) + b"Format: x\n" * 10
    refused(CorruptLayer, gzip.compress(tar), "truncated", "usr/share/doc/a/copyright", selector=CAPPED)


def test_capped_member_claiming_gigabytes_is_a_truncated_stream_not_a_refusal(jail: Jail) -> None:
    # its head is read, the rest skipped: the short stream is what is wrong, not the size
    tar = raw_tar(member("usr/share/doc/a/copyright", size=5 * 1024**3), end=False) + b"x" * 5000
    refused(CorruptLayer, gzip.compress(tar), "truncated", str(5 * 1024**3), selector=CAPPED)


def test_capped_member_above_the_file_cap_keeps_its_head(jail: Jail) -> None:
    data = noise(3000)
    tar = raw_tar(member("usr/share/doc/a/copyright", data), member("after", b"next"))
    big_cap = PathSelector(truncate=(("/usr/share/doc/*/copyright", 10**9),), patterns=("/after",))
    result = read_blob(gzip.compress(tar), big_cap, Limits(max_file_bytes=1000))
    entry = result.entries["/usr/share/doc/a/copyright"]
    assert (entry.content, entry.size, entry.truncated) == (data[:1000], 3000, True)
    assert result.entries["/after"].content == b"next"  # the reader is back on the next header


def test_extended_header_claiming_gigabytes(jail: Jail) -> None:
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = 2 * 1024**3
    tar = pax.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict") + b"30 path=aaaaaaaaaaaaaaaaaaaaa\n"
    refused(UnsafeLayer, gzip.compress(tar), "asks for", str(2 * 1024**3))


def pax_tar(records: bytes, then: bytes = b"") -> bytes:
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = len(records)
    pad = b"\0" * (-len(records) % tarfile.BLOCKSIZE)
    return pax.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict") + records + pad + then


def test_pax_header_with_a_long_digit_run(jail: Jail) -> None:
    # CVE-2024-6232: tarfile's pax regexes are quadratic on digit runs (minutes for 1 MiB)
    value = b"1" * 200_000
    record = b" comment=" + value + b"\n"
    length = len(record) + len(str(len(record) + 7))
    records = str(length).encode() + record
    assert len(records) == length
    tar = pax_tar(records, raw_tar(member("a", b"a")))
    refused(CorruptLayer, gzip.compress(tar), "pax header", "digits")


def test_pax_records_overlapping_each_other(jail: Jail) -> None:
    tar = pax_tar(b"2 " * 50_000 + b"=\n", raw_tar(member("a", b"a")))
    refused(CorruptLayer, gzip.compress(tar), "pax header", "malformed record")


def test_well_formed_pax_headers_are_read(jail: Jail) -> None:
    long_name = "usr/lib/" + "x" * 150 + "/caf\u00e9.txt"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(long_name)
        info.size = 2
        info.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02", "mtime": "1.5"}
        tar.addfile(info, io.BytesIO(b"ok"))
    result = read_blob(gzip.compress(buf.getvalue()))
    assert result.entries["/" + long_name].content == b"ok"


def test_gnu_sparse_members_are_refused(jail: Jail) -> None:
    header = bytearray(member("var/lib/dpkg/status")[0].tobuf(tarfile.GNU_FORMAT, "utf-8", "strict"))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    refused(CorruptLayer, gzip.compress(bytes(header) + b"\0" * 1024), "var/lib/dpkg/status", "sparse")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("etc/os-release")
        info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": "9"}
        tar.addfile(info)
    refused(CorruptLayer, gzip.compress(buf.getvalue()), "pax header", "sparse")


def test_global_pax_header_renames_nothing(jail: Jail) -> None:
    """containerd and Docker ignore global headers; tarfile would rename every member to this path."""
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"path": "etc/os-release"}
    ) as tar:
        for name, data in (("usr/lib/os-release", b"ID=real\n"), ("tmp/decoy", b"ID=decoy\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    entries = read_blob(gzip.compress(buf.getvalue())).entries
    assert set(entries) == {"/usr/lib/os-release", "/tmp/decoy"}
    assert entries["/usr/lib/os-release"].content == b"ID=real\n"


def test_unknown_member_type_at_a_selected_path_is_never_read(jail: Jail) -> None:
    tar = raw_tar(member("var/lib/dpkg/status", b"Package: smuggled\n", type=b"Z"), member("after", b"a"))
    selector = PathSelector(exact=frozenset({"/var/lib/dpkg/status", "/after"}))
    entries = read_blob(gzip.compress(tar), selector).entries
    status = entries["/var/lib/dpkg/status"]
    assert status.kind == "file" and status.content is None and status.size == 18
    assert entries["/after"].content == b"a"


def test_gnu_long_name_beyond_the_path_limit_is_refused_before_it_is_read(jail: Jail) -> None:
    long_name = tarfile.TarInfo("././@LongLink")
    long_name.type = tarfile.GNUTYPE_LONGNAME
    long_name.size = 3 * 1024**3  # never allocated: refused on the header
    tar = long_name.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict") + b"x" * 1000
    refused(UnsafeLayer, gzip.compress(tar), "GNU long name", str(3 * 1024**3), "longer than 4096")


def with_size_field(header: bytes, field: bytes) -> bytes:
    """A header whose size field is replaced and whose checksum is made right again."""
    out = bytearray(header)
    out[124:136] = field
    out[148:156] = b" " * 8
    out[148:156] = b"%06o\0 " % sum(out)
    return bytes(out)


@pytest.mark.parametrize("blocks", [1, 2, 10])
def test_negative_member_size(jail: Jail, blocks: int) -> None:
    header = member("neg")[0].tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")
    # base-256 two's complement: -512 * blocks
    field = (-(512 * blocks)).to_bytes(12, "big", signed=True)
    field = bytes([0xFF]) + field[1:]
    tar = with_size_field(header, field) + b"A" * 2048 + b"\0" * 1024
    for selector in (PathSelector(), EVERYTHING):
        refused(CorruptLayer, gzip.compress(tar), "'neg'", "negative size", selector=selector)


def zeros_tar(size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    return buf.getvalue()


@pytest.mark.parametrize("compress", ["gzip", "zstd"])
def test_high_ratio_is_no_bomb_but_time_is_bounded(jail: Jail, compress: str) -> None:
    tar = zeros_tar(8 * 1024**2)
    blob = gzip.compress(tar, 9) if compress == "gzip" else zstandard.ZstdCompressor(level=19).compress(tar)
    assert len(tar) > 100 * len(blob)
    # a high compression ratio alone is just a layer (zeros nobody reads cost time, not memory) ...
    assert read_blob(blob, limits=Limits()).uncompressed_size == len(tar)
    # ... and the work of unpacking one layer is bounded in time
    refused(UnsafeLayer, blob, "decompression bomb", "time bound", limits=Limits(max_layer_seconds=0.0))


def test_decompression_bomb_by_size(jail: Jail) -> None:
    tar = zeros_tar(4 * 1024**2)
    refused(
        UnsafeLayer,
        gzip.compress(tar),
        "decompression bomb",
        str(2 * 1024**2),
        limits=Limits(max_layer_bytes=2 * 1024**2),
    )


def test_truncated_gzip(jail: Jail) -> None:
    tar = raw_tar(member("a", noise(50_000)), member("b", b"b"))
    blob = gzip.compress(tar)[:-1000]  # the descriptor matches these bytes: the gzip itself is short
    refused(CorruptLayer, blob, "gzip", "truncated")


def test_blob_truncated_in_transit_is_a_digest_mismatch(jail: Jail) -> None:
    tar = raw_tar(member("a", noise(50_000)))
    blob = gzip.compress(tar)
    refused(DigestMismatch, blob[: len(blob) // 2], "truncated", descriptor=desc(blob))


def test_corrupt_gzip(jail: Jail) -> None:
    tar = raw_tar(member("a", bytes(range(256)) * 400))
    good = gzip.compress(tar, mtime=0)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    refused(CorruptLayer, bytes(bad), "gzip", "corrupt")


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


def test_corrupt_zstd(jail: Jail) -> None:
    tar = raw_tar(member("a", noise(2000) + bytes(range(256)) * 400))
    bad = bytearray(zst(tar))
    bad[len(bad) // 2] ^= 0x55
    refused(CorruptLayer, bytes(bad), "zstd")


def test_truncated_zstd(jail: Jail) -> None:
    tar = raw_tar(member("a", noise(200_000)))
    blob = zst(tar)
    # cut inside the first block: libzstd's streaming reader would return a clean, empty EOF here
    refused(CorruptLayer, blob[: len(blob) // 2], "zstd", "truncated")
    refused(CorruptLayer, blob[:-2], "zstd", "truncated")


def test_garbage_after_zstd_frame(jail: Jail) -> None:
    tar = raw_tar(member("a", b"a"))
    refused(CorruptLayer, zst(tar) + b"not zstd", "zstd")


def test_garbage_after_the_end_of_the_tar(jail: Jail) -> None:
    tar = raw_tar(member("a", b"a")) + b"hidden member data" + b"\0" * 1000
    refused(CorruptLayer, gzip.compress(tar), "after the end of the tar")


def test_invalid_header_in_the_middle(jail: Jail) -> None:
    tar = raw_tar(member("a", b"a"), end=False) + b"\xff" * 512 + raw_tar(member("hidden", b"h"))
    refused(CorruptLayer, gzip.compress(tar), "invalid tar header")


def test_not_a_tar(jail: Jail) -> None:
    refused(CorruptLayer, gzip.compress(b"#!/bin/sh\necho hello\n" * 100), "tar")


# --------------------------------------------------------------------------------------------------
# digests


def test_blob_digest_mismatch(jail: Jail) -> None:
    tar = raw_tar(member("a", b"a"))
    blob = gzip.compress(tar)
    other = Descriptor(GZIP_TYPE, sha(b"something else"), len(blob))
    refused(DigestMismatch, blob, "hashes to", sha(blob), descriptor=other)


def test_blob_larger_than_its_descriptor(jail: Jail) -> None:
    tar = raw_tar(member("a", b"a"))
    blob = gzip.compress(tar)
    short = Descriptor(GZIP_TYPE, sha(blob), len(blob) - 5)
    refused(DigestMismatch, blob, "larger than", descriptor=short)


def test_diff_id_mismatch(jail: Jail) -> None:
    tar = raw_tar(member("a", b"a"))
    error = refused(
        DigestMismatch, gzip.compress(tar), "layer 4", "diff_id", sha(tar), diff_id=sha(b"x"), index=4
    )
    assert sha(b"x") in str(error)
    # the right diff_id passes
    assert read_blob(gzip.compress(tar), diff_id=sha(tar)).diff_id == sha(tar)


# --------------------------------------------------------------------------------------------------
# counts and lengths


def test_too_many_members(jail: Jail) -> None:
    tar = raw_tar(*(member(f"f{i}", b"") for i in range(11)))
    refused(UnsafeLayer, gzip.compress(tar), "more than 10 tar members", limits=Limits(max_members=10))
    assert len(read_blob(gzip.compress(tar), limits=Limits(max_members=11)).entries) == 11


def test_overlong_path(jail: Jail) -> None:
    name = "d/" * 60 + "f"
    refused(
        UnsafeLayer,
        gzip.compress(raw_tar(member(name, b"x"))),
        "longer than 100",
        limits=Limits(max_path_bytes=100),
    )


def test_overlong_symlink_target(jail: Jail) -> None:
    tar = raw_tar(member("l", type=tarfile.SYMTYPE, linkname="x/" * 100))
    refused(
        UnsafeLayer, gzip.compress(tar), "link target", "longer than 100", limits=Limits(max_path_bytes=100)
    )


# --------------------------------------------------------------------------------------------------
# one bad layer in an image


class MemorySource:
    transport = "memory"
    reference = "memory:hostile"

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.opened: list[str] = []
        self.closed: set[str] = set()

    def resolve(self) -> ResolvedImage:
        raise NotImplementedError

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        source = self

        class Tracked(io.BytesIO):
            def close(self) -> None:
                source.closed.add(descriptor.digest)
                super().close()

        self.opened.append(descriptor.digest)
        return Tracked(self.blobs[descriptor.digest])

    def close(self) -> None:
        pass


def test_build_view_raises_the_bad_layers_error_and_closes_every_blob(jail: Jail) -> None:
    good = [raw_tar(member(f"g{i}", noise(100_000))) for i in range(3)]
    bad = raw_tar(member("../escape", b"x"))
    tars = [good[0], bad, good[1], good[2]]
    blobs = [gzip.compress(t) for t in tars]
    descs = tuple(desc(b) for b in blobs)
    resolved = ResolvedImage(
        name=None,
        manifest_digest=sha(b"manifest"),
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        config_digest=sha(b"config"),
        config={"rootfs": {"type": "layers", "diff_ids": [sha(t) for t in tars]}},
        layers=descs,
        platform=None,
    )
    source = MemorySource({dsc.digest: b for dsc, b in zip(descs, blobs, strict=True)})
    with pytest.raises(UnsafeLayer) as info:
        build_view(source, resolved, EVERYTHING)
    assert descs[1].digest in str(info.value) and "layer 1" in str(info.value)
    assert descs[1].digest in source.opened
    assert set(source.opened) == source.closed  # every blob opened was closed


def test_build_view_refuses_a_config_whose_diff_ids_do_not_match(jail: Jail) -> None:
    from alpinist.errors import ManifestError

    tar = raw_tar(member("a", b"a"))
    blob = gzip.compress(tar)
    resolved = ResolvedImage(
        name=None,
        manifest_digest=sha(b"m"),
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        config_digest=sha(b"c"),
        config={"rootfs": {"type": "layers", "diff_ids": [sha(tar), sha(tar)]}},
        layers=(desc(blob),),
        platform=None,
    )
    with pytest.raises(ManifestError, match="2 diff_ids"):
        build_view(MemorySource({desc(blob).digest: blob}), resolved, EVERYTHING)
    wrong = ResolvedImage(**{**resolved.__dict__, "config": {"rootfs": {"diff_ids": [sha(b"nope")]}}})
    with pytest.raises(DigestMismatch, match="diff_id"):
        build_view(MemorySource({desc(blob).digest: blob}), wrong, EVERYTHING)


def test_uncompressed_blob_that_is_its_own_diff_id_is_still_verified() -> None:
    """docker-archive layers are plain tars whose blob digest is the diff_id: hashed once, still checked."""
    import hashlib
    import io as _io

    from alpinist.errors import DigestMismatch as _Mismatch
    from alpinist.images.layers import Limits as _Limits
    from alpinist.images.layers import read_layer as _read_layer
    from alpinist.images.view import PathSelector as _Selector
    from alpinist.models import Descriptor as _Descriptor

    from .imagebuild import Member, tar_bytes

    tar = tar_bytes([Member("etc/os-release", b"ID=alpine\n")])
    digest = "sha256:" + hashlib.sha256(tar).hexdigest()
    desc = _Descriptor("application/vnd.docker.image.rootfs.diff.tar", digest, len(tar))
    selector = _Selector(exact=frozenset({"/etc/os-release"})).compile()
    good = _read_layer(_io.BytesIO(tar), desc, 0, selector, _Limits(), digest)
    assert good.diff_id == digest and good.entries["/etc/os-release"].content == b"ID=alpine\n"
    bad = bytearray(tar)
    bad[512] ^= 0x01  # inside the file's data: the tar still parses
    with pytest.raises(_Mismatch, match=digest):
        _read_layer(_io.BytesIO(bytes(bad)), desc, 0, selector, _Limits(), digest)


def test_members_are_counted_across_the_layers_of_an_image(jail: Jail) -> None:
    """Many layers, each under the per-layer cap, must not add up to unbounded FileEntry memory."""
    tars = [raw_tar(*(member(f"l{n}/f{i}", b"") for i in range(5))) for n in range(3)]  # 3 x 5 members
    blobs = [gzip.compress(t) for t in tars]
    descs = tuple(desc(b) for b in blobs)
    resolved = ResolvedImage(
        name=None,
        manifest_digest=sha(b"manifest"),
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        config_digest=sha(b"config"),
        config={"rootfs": {"type": "layers", "diff_ids": [sha(t) for t in tars]}},
        layers=descs,
        platform=None,
    )
    blob_of = {dsc.digest: b for dsc, b in zip(descs, blobs, strict=True)}
    with pytest.raises(UnsafeLayer) as info:
        build_view(MemorySource(blob_of), resolved, EVERYTHING, Limits(max_members=5, max_image_members=14))
    assert "more than 14 tar members in the image's layers" in str(info.value)
    assert any(d.digest in str(info.value) for d in descs)
    limits = Limits(max_members=5, max_image_members=15)
    view, _ = build_view(MemorySource(blob_of), resolved, EVERYTHING, limits)
    assert sorted(view.paths()) == sorted(f"/l{n}/f{i}" for n in range(3) for i in range(5))
