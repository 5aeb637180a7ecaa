"""The tar member reader: archives written by Python's tarfile (all three formats) read by both readers
and compared, the corpus' real layers likewise, and every malformed or hostile header refused."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from isal import igzip

from alpinist.errors import BlobError, CorruptLayer, UnsafeLayer
from alpinist.images.tarstream import BLOCK, TarMember, TarReader

from .conftest import OCI_LAYOUT

DIGEST = "sha256:" + "ab" * 32
FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}
KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.LNKTYPE: "hardlink",
    tarfile.SYMTYPE: "symlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.DIRTYPE: "dir",
    tarfile.FIFOTYPE: "fifo",
}


def chunked(data: bytes, size: int) -> Callable[[], bytes]:
    pieces = iter([data[i : i + size] for i in range(0, len(data), size)])
    return lambda: next(pieces, b"")


def reader(data: bytes, chunk: int = 1 << 20, **limits: int) -> TarReader:
    return TarReader(chunked(data, chunk), DIGEST, "layer 7", **limits)


@dataclass(frozen=True)
class Seen:
    """What both readers are compared on."""

    name: str
    kind: str
    size: int
    mode: int
    uid: int
    gid: int
    linkname: str
    data: bytes | None


def read_ours(data: bytes, chunk: int = 1 << 20) -> list[Seen]:
    out = []
    r = reader(data, chunk)
    for m in r:
        content = r.read_data(m, 1 << 30) if m.is_regular else None
        out.append(Seen(m.name, m.kind, m.size, m.mode, m.uid, m.gid, m.linkname, content))
    return out


def read_tarfile(data: bytes) -> list[Seen]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape") as tar:
        for info in tar:
            kind = KINDS.get(info.type, "file")
            handle = tar.extractfile(info) if info.isreg() else None
            content = handle.read() if handle is not None else None
            out.append(
                Seen(info.name, kind, info.size, info.mode, info.uid, info.gid, info.linkname, content)
            )
    return out


def written(
    members: list[tarfile.TarInfo], contents: dict[str, bytes] | list[bytes | None], fmt: int, **kwargs: Any
) -> bytes:
    """``members`` written by tarfile; ``contents`` by name, or by position where names repeat."""
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape", **kwargs
    ) as tar:
        for n, i in enumerate(members):
            payload = contents.get(i.name) if isinstance(contents, dict) else contents[n]
            tar.addfile(i, io.BytesIO(payload) if payload is not None else None)
    return buf.getvalue()


def info(
    name: str, type: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "", **fields: Any
) -> tarfile.TarInfo:
    i = tarfile.TarInfo(name)
    i.type = type
    i.size = size
    i.linkname = linkname
    for key, value in fields.items():
        setattr(i, key, value)
    return i


def refused(exc_type: type[BlobError], data: bytes, *words: str, chunk: int = 1 << 20, **limits: int) -> str:
    with pytest.raises(exc_type) as caught:
        read_ours_limited(data, chunk, **limits)
    message = str(caught.value)
    assert type(caught.value) is exc_type, message
    assert DIGEST in message and "layer 7" in message and "\n" not in message
    for word in words:
        assert word in message, message
    return message


def read_ours_limited(data: bytes, chunk: int, **limits: int) -> list[TarMember]:
    r = reader(data, chunk, **limits)
    out = []
    for m in r:
        if m.is_regular:
            r.read_data(m, 1 << 30)
        out.append(m)
    return out


def fix_checksum(header: bytearray | bytes, layout: bytes = b"%06o\0 ") -> bytes:
    out = bytearray(header)
    out[148:156] = b" " * 8
    field = layout % sum(out)
    assert len(field) == 8
    out[148:156] = field
    return bytes(out)


def header(i: tarfile.TarInfo, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    return i.tobuf(fmt, "utf-8", "surrogateescape")


def pax_header(records: bytes, type: bytes = tarfile.XHDTYPE) -> bytes:
    pax = info("././@PaxHeader", type, len(records))
    return header(pax, tarfile.USTAR_FORMAT) + records + b"\0" * (-len(records) % BLOCK)


def record(key: str, value: bytes) -> bytes:
    body = b" " + key.encode() + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def regular(name: str, data: bytes, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    return header(info(name, size=len(data)), fmt) + data + b"\0" * (-len(data) % BLOCK)


END = b"\0" * (2 * BLOCK)


# --------------------------------------------------------------------------------------------------
# archives written by tarfile, read by both


SEGMENT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_characters="/\0"),
        st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),  # undecodable bytes, surrogate-escaped
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s not in (".", ".."))
NAME = st.lists(SEGMENT, min_size=1, max_size=12).map("/".join)
# USTAR holds a name split at a "/" into 155 + 100 bytes (the directory part in its prefix field), and at
# most 100 bytes of link target: names up to ~245 bytes, most of them beyond the 100-byte name field.
SHORT_SEGMENT = SEGMENT.filter(lambda s: len(s.encode("utf-8", "surrogateescape")) <= 24)


def _within(limit: int) -> Callable[[str], bool]:
    return lambda s: len(s.encode("utf-8", "surrogateescape")) <= limit


USTAR_NAME = st.builds(
    lambda head, tail: "/".join([*head, *tail]),
    st.lists(SHORT_SEGMENT, max_size=6).filter(lambda p: _within(150)("/".join(p))),
    st.lists(SHORT_SEGMENT, min_size=1, max_size=4).filter(lambda p: _within(95)("/".join(p))),
)
USTAR_LINK = st.lists(SHORT_SEGMENT, min_size=1, max_size=4).map("/".join).filter(_within(100))
TYPES = [
    tarfile.REGTYPE,
    tarfile.CONTTYPE,
    tarfile.LNKTYPE,
    tarfile.SYMTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.DIRTYPE,
    tarfile.FIFOTYPE,
]


@st.composite
def member_lists(draw: st.DrawFn, fmt: int) -> tuple[list[tarfile.TarInfo], list[bytes | None]]:
    wide = fmt != tarfile.USTAR_FORMAT  # USTAR has no base-256 and no extended headers
    ids = st.integers(0, 2**40) if wide else st.integers(0, 8**7 - 1)
    names = NAME if wide else USTAR_NAME
    links = NAME if wide else USTAR_LINK
    members = []
    data: list[bytes | None] = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(names)
        type_ = draw(st.sampled_from(TYPES))
        i = info(name, type_, mode=draw(st.integers(0, 0o7777)), uid=draw(ids), gid=draw(ids))
        if type_ in (tarfile.REGTYPE, tarfile.CONTTYPE):
            payload = draw(st.binary(max_size=1500))
            i.size = len(payload)
        else:
            payload = None
            if type_ in (tarfile.LNKTYPE, tarfile.SYMTYPE):
                i.linkname = draw(links)
        members.append(i)
        data.append(payload)
    return members, data


def compare(archive: bytes, chunk: int) -> list[Seen]:
    ours = read_ours(archive, chunk)
    assert ours == read_tarfile(archive)
    return ours


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), chunk=st.sampled_from([1, 5, 511, 512, 513, 4096, 1 << 20]))
def test_same_members_as_tarfile(fmt: str, data: st.DataObject, chunk: int) -> None:
    members, contents = data.draw(member_lists(FORMATS[fmt]))
    try:
        archive = written(members, contents, FORMATS[fmt])
    except ValueError:  # a name or link target USTAR cannot hold
        reject()
    ours = compare(archive, chunk)
    assert len(ours) == len(members)
    for seen, m in zip(ours, members, strict=True):  # and both gave back what was written
        assert seen.name == m.name.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
        assert (seen.uid, seen.gid, seen.mode) == (m.uid, m.gid, m.mode)


@pytest.mark.parametrize("fmt", FORMATS)
def test_long_and_unicode_names_and_links(fmt: str) -> None:
    name_150 = "usr/share/" + "/".join(["d" * 20] * 6) + "/caf\u00e9-\u6587\u4ef6.txt"
    name_300 = "opt/" + "/".join(["\u00e9" * 40] * 7)  # 2-byte characters: far beyond 255 bytes
    link_120 = "../" + "l" * 117
    link_300 = "/" + "/".join(["k" * 50] * 6)
    members = [
        info("etc", tarfile.DIRTYPE, mode=0o755),
        info(name_150, size=5, mode=0o640, uid=1000, gid=1000),
        info("a/short-symlink", tarfile.SYMTYPE, linkname="../etc"),
        info("bad\udcff\udcfename", size=0),
    ]
    assert len(name_150.encode()) > 100
    if fmt != "ustar":
        members += [
            info(name_300, size=0),
            info(name_300 + "-dir", tarfile.DIRTYPE),
            info("sym", tarfile.SYMTYPE, linkname=link_120),
            info("hard", tarfile.LNKTYPE, linkname=link_300),
        ]
    archive = written(members, {name_150: b"hello"}, FORMATS[fmt])
    seen = compare(archive, 1 << 20)
    assert seen[0] == Seen("etc", "dir", 0, 0o755, 0, 0, "", None)
    assert seen[1] == Seen(name_150, "file", 5, 0o640, 1000, 1000, "", b"hello")
    assert seen[2].linkname == "../etc" and seen[2].kind == "symlink"
    assert seen[3].name == "bad\udcff\udcfename"
    if fmt != "ustar":
        assert [s.name for s in seen[4:6]] == [name_300, name_300 + "-dir"]
        assert seen[5].kind == "dir"
        assert (seen[6].kind, seen[6].linkname) == ("symlink", link_120)
        assert (seen[7].kind, seen[7].linkname) == ("hardlink", link_300)


@pytest.mark.parametrize("fmt", ["gnu", "pax"])
def test_sizes_and_ids_beyond_the_octal_fields(fmt: str) -> None:
    """A 100 GiB member (GNU base-256 / pax size record), written as a header only: the member comes
    out with its size, and going on to the next member finds the stream truncated."""
    big = info("huge.img", size=100 * 1024**3, uid=2**33 + 5, gid=8**7)
    archive = written([big], {}, FORMATS[fmt])[: 3 * BLOCK]  # tarfile wrote the headers; no data
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        expected = tar.next()
    assert expected is not None and expected.size == 100 * 1024**3
    r = reader(archive)
    members = iter(r)
    first = next(members)
    assert (first.name, first.size, first.uid, first.gid) == ("huge.img", expected.size, 2**33 + 5, 8**7)
    assert (first.uid, first.gid) == (expected.uid, expected.gid)
    if fmt == "gnu":
        assert archive[124] == 0x80  # the size field is base-256 indeed
    with pytest.raises(CorruptLayer, match=r"truncated: member 'huge\.img' claims 107374182400 bytes"):
        next(members)


def test_every_member_type() -> None:
    members = [
        info("d", tarfile.DIRTYPE, mode=0o700),
        info("d/f", size=3, mode=0o4755, uid=5, gid=6),
        info("d/cont", tarfile.CONTTYPE, size=2),
        info("d/hard", tarfile.LNKTYPE, linkname="d/f"),
        info("d/sym", tarfile.SYMTYPE, linkname="f"),
        info("dev/tty", tarfile.CHRTYPE, devmajor=5, devminor=0, mode=0o666),
        info("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
        info("run/fifo", tarfile.FIFOTYPE),
    ]
    for fmt in FORMATS.values():
        archive = written(members, {"d/f": b"abc", "d/cont": b"xy"}, fmt)
        seen = compare(archive, 512)
        assert [(s.name, s.kind) for s in seen] == [
            ("d", "dir"),
            ("d/f", "file"),
            ("d/cont", "file"),
            ("d/hard", "hardlink"),
            ("d/sym", "symlink"),
            ("dev/tty", "char"),
            ("dev/sda", "block"),
            ("run/fifo", "fifo"),
        ]
        assert seen[1].mode == 0o4755 and seen[1].data == b"abc" and seen[2].data == b"xy"


def test_offsets_and_typeflags() -> None:
    archive = written(
        [info("a" * 120, size=3), info("b", tarfile.SYMTYPE, linkname="a")],
        {"a" * 120: b"abc"},
        tarfile.GNU_FORMAT,
    )
    first, second = read_ours_limited(archive, 1 << 20)
    # a's GNU long-name header at 0, its data block at 512, a's own header at 1024, data at 1536
    assert (first.offset, first.data_offset, first.end_offset, first.typeflag) == (0, 1536, 2048, b"0")
    assert (second.offset, second.data_offset, second.end_offset, second.typeflag) == (2048, 2560, 2560, b"2")


def test_empty_archives() -> None:
    for fmt in FORMATS.values():
        assert read_ours(written([], {}, fmt)) == []
    assert read_ours(b"\0" * BLOCK) == []  # one zero block is an end, as in tarfile


def test_end_of_archive_variants() -> None:
    body = regular("a", b"A" * 600)
    for tail in (b"", b"\0" * BLOCK, b"\0" * 100, END + b"\0" * 20000):
        assert [m.name for m in read_ours(body + tail)] == ["a"], tail
    refused(
        CorruptLayer, body + END + b"\0" * 3000 + b"x" + b"\0" * 100, "data after the end of the tar archive"
    )
    refused(CorruptLayer, body + b"\0" * BLOCK + regular("hidden", b"h"), "data after the end")


def test_global_pax_headers_are_ignored() -> None:
    members = [info("a", size=1, uid=3), info("b", size=0, uid=2**30)]  # b's uid needs an x header
    archive = written(
        members,
        {"a": b"1"},
        tarfile.PAX_FORMAT,
        pax_headers={"path": "global-path", "uid": "77", "comment": "made here"},
    )
    assert archive[156:157] == tarfile.XGLTYPE
    seen = read_ours(archive)
    assert [(s.name, s.uid) for s in seen] == [("a", 3), ("b", 2**30)]
    # tarfile applies them to every member below them (b's own uid record wins over the global one)
    assert [(s.name, s.uid) for s in read_tarfile(archive)] == [("global-path", 77), ("global-path", 2**30)]


def test_v7_directory_and_old_regular_type() -> None:
    archive = (
        header(info("olddir/", tarfile.AREGTYPE), tarfile.USTAR_FORMAT)
        + header(info("oldfile", tarfile.AREGTYPE, size=2), tarfile.USTAR_FORMAT)
        + b"ok"
        + b"\0" * 510
        + END
    )
    seen = compare(archive, 1 << 20)
    assert [(s.name, s.kind, s.data) for s in seen] == [("olddir", "dir", None), ("oldfile", "file", b"ok")]


def test_ustar_prefix_is_joined_only_under_the_ustar_magic() -> None:
    ustar = bytearray(header(info("name", size=0), tarfile.USTAR_FORMAT))
    ustar[345:351] = b"prefix"
    gnu = bytearray(header(info("name", size=0), tarfile.GNU_FORMAT))
    gnu[345:357] = b"14707316331\0"  # GNU tar keeps atime there: not a prefix
    archive = fix_checksum(ustar) + fix_checksum(gnu) + END
    assert [m.name for m in read_ours_limited(archive, 1 << 20)] == ["prefix/name", "name"]


def test_unknown_types_are_skipped_by_size_and_never_read() -> None:
    vendor = header(info("vendor-thing", b"Z", size=700))
    archive = vendor + b"V" * 700 + b"\0" * (-700 % BLOCK) + regular("after", b"after") + END
    seen = compare(archive, 100)
    assert [(s.name, s.kind, s.size, s.data) for s in seen] == [
        ("vendor-thing", "file", 700, None),
        ("after", "file", 5, b"after"),
    ]
    r = reader(archive)
    first = next(iter(r))
    assert first.kind == "file" and not first.is_regular
    with pytest.raises(RuntimeError, match="not a regular file"):
        r.read_data(first, 10_000)


def test_header_only_types_carry_no_data_whatever_their_size() -> None:
    link = header(info("l", tarfile.SYMTYPE, size=600, linkname="t"))
    directory = header(info("d", tarfile.DIRTYPE, size=1024))
    archive = link + directory + regular("f", b"data") + END
    seen = compare(archive, 1 << 20)
    assert [(s.name, s.kind) for s in seen] == [("l", "symlink"), ("d", "dir"), ("f", "file")]
    assert seen[2].data == b"data"


def test_checksum_layouts_and_signed_sums() -> None:
    plain = bytearray(header(info("caf\u00e9-\u00ff", size=0)))
    for layout in (b"%06o\0 ", b"%07o\0", b"%-7o\0", b" %06o ", b"%08o"):
        assert [m.name for m in read_ours_limited(fix_checksum(plain, layout) + END, 1 << 20)] == [
            "caf\u00e9-\u00ff"
        ]
    # old Sun tar summed signed chars: bytes >= 0x80 count negative
    signed = bytearray(plain)
    signed[148:156] = b" " * 8
    total = sum(b - 256 if b >= 128 else b for b in signed)
    assert total != sum(signed)
    signed[148:156] = b"%06o\0 " % total
    assert [m.name for m in read_ours_limited(bytes(signed) + END, 1 << 20)] == ["caf\u00e9-\u00ff"]


def test_bad_checksum() -> None:
    good = regular("a", b"aaaa") + regular("b", b"bbbb")
    for where in (0, 1024):
        bad = bytearray(good)
        bad[where + 5] ^= 0x01  # inside the name: the sum changes by one
        refused(CorruptLayer, bytes(bad) + END, f"invalid tar header at offset {where}", "bad checksum")
    garbage = bytearray(good)
    garbage[1024 + 148 : 1024 + 156] = b"zzzzzzzz"
    refused(CorruptLayer, bytes(garbage) + END, "offset 1024", "bad checksum")
    refused(
        CorruptLayer, good + b"\xff" * BLOCK + regular("hidden", b"h"), "invalid tar header at offset 2048"
    )


def test_bad_numeric_fields() -> None:
    base = bytearray(header(info("n", size=0)))
    for field, value, word in (
        (slice(124, 136), b"0000000012a\0", "bad size field"),
        (slice(124, 136), b"+0000000012\0", "bad size field"),
        (slice(124, 136), b"0o000000012\0", "bad size field"),
        (slice(124, 136), b"\x81" + b"\0" * 11, "bad size field"),
        (slice(100, 108), b"00006_4\0", "bad mode, uid or gid"),
        (slice(108, 116), b"-0000001", "bad mode, uid or gid"),
    ):
        hdr = bytearray(base)
        hdr[field] = value
        refused(CorruptLayer, fix_checksum(hdr) + END, word)
    spaced = bytearray(base)
    spaced[124:136] = b"     12 \0   "  # space and NUL padding around the digits, as old tars wrote
    spaced[100:108] = b"   644 \0"
    member = read_ours_limited(fix_checksum(spaced) + b"x" * 10 + b"\0" * 502 + END, 1 << 20)[0]
    assert (member.size, member.mode) == (0o12, 0o644)


def test_negative_sizes() -> None:
    hdr = bytearray(header(info("neg", size=0)))
    hdr[124:136] = (-1024).to_bytes(12, "big", signed=True)
    assert hdr[124] == 0xFF
    refused(CorruptLayer, fix_checksum(hdr) + b"\0" * 4096, "member 'neg' has a negative size -1024")
    pax = bytearray(pax_header(record("path", b"p"))[:BLOCK])
    pax[124:136] = (-512).to_bytes(12, "big", signed=True)
    refused(CorruptLayer, fix_checksum(pax) + b"\0" * 4096, "negative size -512")


# --------------------------------------------------------------------------------------------------
# truncation


def test_truncated_headers() -> None:
    archive = regular("a", b"aaaa") + regular("b", b"bbbb") + END
    refused(
        CorruptLayer, archive[: 1024 + 100], "invalid tar header at offset 1024", "truncated to 100 of 512"
    )
    refused(CorruptLayer, archive[:100], "invalid tar header at offset 0", "truncated")
    refused(CorruptLayer, b"", "the tar stream is empty")
    refused(CorruptLayer, b"\0" * 100, "offset 0", "truncated")


def test_truncated_data() -> None:
    archive = regular("a", b"A" * 2000) + END
    refused(
        CorruptLayer, archive[:1500], "truncated: member 'a' claims 2000 bytes but the stream ends after 988"
    )
    r = reader(archive[:1500])
    with pytest.raises(CorruptLayer, match="member 'a' claims 2000 bytes but the stream ends at offset 1500"):
        for _ in r:  # never read: found out when skipping to the next header
            pass
    # the data are all there but not the padding after them: still cut short
    refused(CorruptLayer, archive[: 512 + 2000], "truncated", "'a'")


def test_truncated_extended_headers() -> None:
    pax = pax_header(record("path", b"x" * 700))
    refused(CorruptLayer, pax[:900], "truncated: the extended header at offset 0 claims")
    refused(CorruptLayer, pax, "ends after the extended header")
    refused(CorruptLayer, pax + END, "ends after the extended header")
    long_name = header(info("n" * 200, size=0))[: 2 * BLOCK]  # the L header and its data only
    refused(CorruptLayer, long_name, "ends after the extended header")


# --------------------------------------------------------------------------------------------------
# pax records


@pytest.mark.parametrize(
    ("records", "words"),
    [
        (b"abc path=x\n", ("record without a length",)),
        (b" 10 path=x\n", ("record without a length",)),
        (b"99 path=x\n", ("malformed record",)),  # longer than the header
        (b"10 path=xy\n", ("malformed record",)),  # its length does not end on its "\n"
        (b"10 pathx\n\n", ("malformed record",)),  # no "="
        (b"5 =x\n", ("malformed record",)),  # no key
        (b"3 \n", ("malformed record",)),
        (b"2 " * 5000 + b"=\n", ("malformed record",)),  # lengths pointing into each other
        (record("path", b"p") + b"\0\0\0x\0", ("data after the NUL padding",)),
        (record("size", b"12a"), ("size, uid or gid is not a number",)),
        (record("size", b" 12"), ("not a number",)),
        (record("uid", b"+1"), ("not a number",)),
        (record("gid", b"1_000"), ("not a number",)),
        (record("linkpath", b"a\0b"), ("NUL byte in linkpath",)),
        (record("comment", b"7" * 65), ("more than 64 digits",)),
    ],
)
def test_bad_pax_records(records: bytes, words: tuple[str, ...]) -> None:
    archive = pax_header(records) + regular("m", b"m") + END
    refused(CorruptLayer, archive, "pax header at offset 0", *words)


def test_pax_records_applied_and_ignored() -> None:
    records = (
        record("path", b"from/pax")
        + record("linkpath", b"pax-target")
        + record("uid", b"4294967296")
        + record("gid", b"")  # empty: not set, the header's value stands
        + record("mtime", b"1700000000.123456789")
        + record("SCHILY.xattr.user.x", b"\x00\x01binary=\n\xff")
        + record("hdrcharset", b"BINARY")
        + b"\0" * 7
    )
    archive = pax_header(records) + header(info("short", tarfile.SYMTYPE, linkname="old", gid=9)) + END
    (member,) = read_ours_limited(archive, 7)
    assert (member.name, member.linkname, member.uid, member.gid) == ("from/pax", "pax-target", 2**32, 9)
    # a value may hold "=" and newlines: records are delimited by their length only
    archive = pax_header(record("path", b"odd=name\nwith newline")) + regular("x", b"") + END
    assert [m.name for m in read_ours_limited(archive, 1 << 20)] == ["odd=name\nwith newline"]


def test_pax_size_overrides_the_header() -> None:
    archive = pax_header(record("size", b"1000")) + header(info("f", size=0)) + b"D" * 1000 + b"\0" * 24 + END
    assert read_ours(archive) == [Seen("f", "file", 1000, 0o644, 0, 0, "", b"D" * 1000)]
    assert read_tarfile(archive) == read_ours(archive)


def test_pax_header_size_limit() -> None:
    big = info("././@PaxHeader", tarfile.XHDTYPE, 2 * 1024**3)
    refused(
        UnsafeLayer,
        header(big, tarfile.USTAR_FORMAT) + b"30 path=x",
        "pax header at offset 0 asks for 2147483648",
    )
    small = pax_header(record("path", b"p" * 3000)) + regular("f", b"") + END
    refused(UnsafeLayer, small, "asks for", max_header_bytes=2048)
    assert [m.name for m in read_ours_limited(small, 1 << 20, max_header_bytes=4096)] == ["p" * 3000]


def test_global_headers_are_checked_and_must_not_interrupt_a_member() -> None:
    bad = pax_header(b"9 comment\n", tarfile.XGLTYPE) + regular("f", b"") + END
    refused(CorruptLayer, bad, "malformed record")
    inside = (
        pax_header(record("path", b"p"))
        + pax_header(record("comment", b"c"), tarfile.XGLTYPE)
        + regular("f", b"")
    )
    refused(
        CorruptLayer, inside + END, "global header at offset 1024 between an extended header and its member"
    )


# --------------------------------------------------------------------------------------------------
# GNU extensions


def test_gnu_sparse_is_refused() -> None:
    sparse = bytearray(header(info("holes.img", size=0)))
    sparse[156:157] = tarfile.GNUTYPE_SPARSE
    refused(CorruptLayer, fix_checksum(sparse) + END, "'holes.img'", "GNU sparse file", "not supported")
    for records in (
        record("GNU.sparse.major", b"1") + record("GNU.sparse.minor", b"0") + record("GNU.sparse.name", b"h"),
        record("GNU.sparse.map", b"0,10"),
        record("GNU.sparse.size", b"10") + record("GNU.sparse.numblocks", b"1"),
    ):
        refused(
            CorruptLayer, pax_header(records) + regular("h", b"") + END, "GNU sparse file", "not supported"
        )


def test_gnu_long_names_are_bounded() -> None:
    long_name = header(info("n/" * 60 + "f", size=0))
    assert long_name[156:157] == tarfile.GNUTYPE_LONGNAME and len(long_name) == 3 * BLOCK
    refused(UnsafeLayer, long_name + END, "member path is longer than 100 bytes", max_path_bytes=100)
    assert read_ours_limited(long_name + END, 1 << 20, max_path_bytes=121)[0].name == "n/" * 60 + "f"
    long_link = header(info("l", tarfile.SYMTYPE, linkname="x/" * 100))
    refused(UnsafeLayer, long_link + END, "link target is longer than 100 bytes", max_path_bytes=100)


def test_two_extended_headers_for_one_member_are_refused() -> None:
    member = regular("m", b"")
    pax = pax_header(record("path", b"one"))
    refused(CorruptLayer, pax + pax_header(record("path", b"two")) + member + END, "two pax extended headers")
    name_a = header(info("a" * 150, size=0))[:1024]
    name_b = header(info("b" * 150, size=0))[:1024]
    refused(CorruptLayer, name_a + name_b + member + END, "two GNU long name headers")


def test_gnu_long_name_wins_over_pax_path() -> None:
    """As in Go's archive/tar, which Docker and containerd unpack layers with."""
    long_name = header(info("g" * 150, size=0))[:1024]
    archive = pax_header(record("path", b"from-pax")) + long_name + regular("short", b"") + END
    assert [m.name for m in read_ours_limited(archive, 1 << 20)] == ["g" * 150]
    # an empty long name sets nothing (Go); the pax path then stands
    empty = header(info("././@LongLink", tarfile.GNUTYPE_LONGNAME, size=1)) + b"\0" * BLOCK
    archive = pax_header(record("path", b"from-pax")) + empty + regular("short", b"") + END
    assert [m.name for m in read_ours_limited(archive, 1 << 20)] == ["from-pax"]


def test_solaris_extended_header_is_a_pax_header() -> None:
    archive = pax_header(record("path", b"long/" * 30 + b"x"), b"X") + regular("short", b"s") + END
    assert [(s.name, s.data) for s in compare(archive, 1 << 20)] == [("long/" * 30 + "x", b"s")]


# --------------------------------------------------------------------------------------------------
# the iterator's contract


def test_read_data_contract() -> None:
    archive = regular("a", b"A" * 700) + regular("b", b"B") + END
    r = reader(archive, 100)
    members = iter(r)
    a = next(members)
    with pytest.raises(UnsafeLayer, match="member 'a' is 700 bytes, above the 699 limit"):
        r.read_data(a, 699)
    assert r.read_data(a, 700) == b"A" * 700
    with pytest.raises(RuntimeError, match="only once"):
        r.read_data(a, 700)
    b = next(members)
    with pytest.raises(RuntimeError):
        r.read_data(a, 700)
    assert b.name == "b" and r.read_data(b, 1) == b"B"
    assert list(members) == []
    assert r.tell() == len(archive)
    with pytest.raises(RuntimeError, match="read once"):
        list(r)


def test_unread_data_is_skipped_and_positions_stay_right() -> None:
    names = [f"f{i}" for i in range(30)]
    archive = b"".join(regular(n, n.encode() * (i * 37)) for i, n in enumerate(names)) + END
    r = reader(archive, 333)
    got = {}
    for i, m in enumerate(r):
        if i % 3 == 0:
            got[m.name] = r.read_data(m, 1 << 20)
    assert got == {n: n.encode() * (i * 37) for i, n in enumerate(names) if i % 3 == 0}


def test_member_count_limit() -> None:
    archive = b"".join(regular(f"f{i}", b"") for i in range(3)) + END
    refused(UnsafeLayer, archive, "more than 2 tar members", max_members=2)
    assert len(read_ours_limited(archive, 1 << 20, max_members=3)) == 3


# --------------------------------------------------------------------------------------------------
# the corpus: every distinct layer of every image, read by both


def corpus_layers() -> list[str]:
    blobs = OCI_LAYOUT / "blobs" / "sha256"
    digests: set[str] = set()
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    stack = [d["digest"] for d in index["manifests"]]
    while stack:
        doc = json.loads((blobs / stack.pop().split(":")[1]).read_text())
        stack += [d["digest"] for d in doc.get("manifests", [])]
        digests.update(d["digest"] for d in doc.get("layers", []))
    return sorted(digests)


def layer_bytes(digest: str) -> bytes:
    with igzip.open(OCI_LAYOUT / "blobs" / "sha256" / digest.split(":")[1], "rb") as f:
        return f.read()


def members_of(data: bytes) -> Iterator[tuple[Any, ...]]:
    for m in reader(data):
        yield (m.name, m.kind, m.size, m.mode, m.uid, m.gid, m.linkname, m.offset)


def tarfile_members_of(data: bytes) -> Iterator[tuple[Any, ...]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape") as tar:
        for i in tar:
            yield (i.name, KINDS.get(i.type, "file"), i.size, i.mode, i.uid, i.gid, i.linkname, i.offset)


@pytest.mark.parametrize("digest", corpus_layers())
def test_corpus_layers_read_like_tarfile(digest: str) -> None:
    data = layer_bytes(digest)
    ours = list(members_of(data))
    assert ours == list(tarfile_members_of(data))
    assert ours  # a layer with members
