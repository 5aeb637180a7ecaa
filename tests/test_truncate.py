"""Non-essential selected files (``PathSelector.truncate``): kept up to a cap, never refusing the layer.

Copyright files and Python metadata are evidence: an odd 70 MiB copyright file must not refuse the
image, and thousands of 5 MiB METADATA files must not be held whole. Essential files (dpkg status)
keep the refuse-above-the-limit rule. Large members are streamed (a header, the text, then zeros made
on the fly), so no test builds a 70 MiB bytes object.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from alpinist.errors import ImageError, UnsafeLayer
from alpinist.images.dirview import view_from_directory
from alpinist.images.layers import LayerResult, Limits, merge_layers, read_layer
from alpinist.images.view import FileView, PathSelector
from alpinist.inventory.catalog import default_catalogers, run_catalogers, selector_for
from alpinist.models import Descriptor, Package

MiB = 1024 * 1024
TAR_TYPE = "application/vnd.oci.image.layer.v1.tar"
SELECTOR = selector_for(default_catalogers())
DEP5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
STATUS = b"Package: big\nStatus: install ok installed\nVersion: 2.0-1\nArchitecture: amd64\n\n"
COPYRIGHT = "/usr/share/doc/big/copyright"
METADATA = "/usr/lib/python3/dist-packages/fancy-1.2.dist-info/METADATA"

Part = bytes | int  # bytes as given, or that many zero bytes


class Streamed(io.RawIOBase):
    """The concatenation of ``parts``, zero runs produced as they are read (never held whole)."""

    _ZEROS = bytes(MiB)

    def __init__(self, parts: Sequence[Part]) -> None:
        super().__init__()
        self._parts = list(parts)
        self._i = 0
        self._pos = 0  # in the current part

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._i < len(self._parts):
            part = self._parts[self._i]
            length = part if isinstance(part, int) else len(part)
            if self._pos < length:
                n = min(len(view), length - self._pos, MiB)
                view[:n] = self._ZEROS[:n] if isinstance(part, int) else part[self._pos : self._pos + n]
                self._pos += n
                return n
            self._i += 1
            self._pos = 0
        return 0


def tar_parts(members: Sequence[tuple[str, Sequence[Part]]]) -> list[Part]:
    """A tar (regular files only) as parts: each member's header, its data parts and its padding."""
    parts: list[Part] = []
    for name, data in members:
        size = sum(p if isinstance(p, int) else len(p) for p in data)
        info = tarfile.TarInfo(name)
        info.size = size
        parts.append(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict"))
        parts.extend(data)
        parts.append(-size % tarfile.BLOCKSIZE)
    parts.append(2 * tarfile.BLOCKSIZE)
    return parts


def descriptor_of(parts: Sequence[Part]) -> Descriptor:
    digest = hashlib.sha256()
    size = 0
    stream = Streamed(parts)
    while chunk := stream.read(MiB):
        digest.update(chunk)
        size += len(chunk)
    return Descriptor(TAR_TYPE, "sha256:" + digest.hexdigest(), size)


def read_parts(parts: Sequence[Part], selector: PathSelector = SELECTOR) -> LayerResult:
    descriptor = descriptor_of(parts)
    return read_layer(
        io.BufferedReader(Streamed(parts)), descriptor, 0, selector.compile(), Limits(), descriptor.digest
    )


def read_members(members: Sequence[tuple[str, Sequence[Part]]]) -> FileView:
    return merge_layers([read_parts(tar_parts(members))], SELECTOR.compile())


def catalog(view: FileView) -> dict[str, Package]:
    _, packages = run_catalogers(view, (), ("sha256:l0",))
    return {p.name: p for p in packages}


def copyright_head() -> bytes:
    """A DEP-5 file whose first MiB declares MIT, then a licence line cut by the 1 MiB boundary."""
    head = (DEP5 + "\nFiles: *\nCopyright: someone\nLicense: MIT\n\nComment:\n").encode()
    cut_line = b"License: Apache-2.0\n"
    filler = MiB - len(head) - 10  # the cut line starts 10 bytes before the boundary
    line = b" " + b"x" * 98 + b"\n"
    body = line * (filler // len(line))
    body += b" " + b"y" * (filler - len(body) - 2) + b"\n"
    data = head + body + cut_line
    assert data.index(b"License: Apache") == MiB - 10
    return data


def metadata_head(version: str = "2.1") -> bytes:
    return (
        f"Metadata-Version: {version}\nName: Fancy\nVersion: 1.2\nLicense: BSD-3-Clause\n"
        "Classifier: License :: OSI Approved :: BSD License\n\n# Fancy\n\n"
    ).encode()


# --------------------------------------------------------------------------------------------------
# the selector


def test_truncate_patterns_are_selected_with_their_cap() -> None:
    compiled = PathSelector(exact=frozenset({"/a"}), patterns=("/p/*",), truncate=(("/t/*", 10),)).compile()
    assert compiled.wants("/t/x") and compiled.cap("/t/x") == 10
    assert compiled.wants("/a") and compiled.cap("/a") is None
    assert compiled.wants("/p/x") and compiled.cap("/p/x") is None
    assert not compiled.wants("/other")


def test_union_keeps_the_largest_demand() -> None:
    small = PathSelector(truncate=(("/doc/*", 10),))
    large = PathSelector(truncate=(("/doc/*/copyright", 100),))
    whole = PathSelector(exact=frozenset({"/doc/x/copyright"}))
    merged = small | large
    assert merged.truncate == (("/doc/*", 10), ("/doc/*/copyright", 100))
    assert merged.compile().cap("/doc/y/copyright") == 100
    assert merged.compile().cap("/doc/y/README") == 10
    assert (merged | whole).compile().cap("/doc/x/copyright") is None  # an essential reader wins
    assert (whole | small).compile().cap("/doc/y/copyright") == 10


def test_a_negative_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="/x"):
        PathSelector(truncate=(("/x", -1),))


def test_catalogers_select_evidence_with_a_cap_and_essentials_whole() -> None:
    compiled = SELECTOR.compile()
    assert compiled.cap(COPYRIGHT) == MiB
    assert compiled.cap(METADATA) == MiB
    assert compiled.cap("/usr/lib/python3.11/site-packages/old.egg-info/PKG-INFO") == MiB
    assert compiled.cap("/usr/lib/python3.11/site-packages/old-1.0.egg-info") == MiB
    for essential in ("/var/lib/dpkg/status", "/lib/apk/db/installed", "/etc/os-release"):
        assert compiled.wants(essential) and compiled.cap(essential) is None, essential


# --------------------------------------------------------------------------------------------------
# layers


def test_70_mib_copyright_file_is_read_and_licences_come_from_its_first_mib() -> None:
    head = copyright_head()
    view = read_members([("var/lib/dpkg/status", [STATUS]), (COPYRIGHT[1:], [head, 70 * MiB - len(head)])])
    entry = view.get(COPYRIGHT)
    assert entry is not None and entry.truncated
    assert entry.size == 70 * MiB
    assert entry.content == head[:MiB]
    status = view.get("/var/lib/dpkg/status")
    assert status is not None and not status.truncated
    pkg = catalog(view)["big"]
    # the licence line cut at the boundary ("License: Apache-2.") gives nothing, not half a name
    assert pkg.licenses == ("MIT",)
    assert COPYRIGHT in pkg.locations


def test_copyright_file_below_the_cap_is_whole_and_not_marked() -> None:
    data = (DEP5 + "\nFiles: *\nLicense: GPL-2+\n").encode()
    view = read_members([("var/lib/dpkg/status", [STATUS]), (COPYRIGHT[1:], [data])])
    entry = view.get(COPYRIGHT)
    assert entry is not None and entry.content == data and not entry.truncated
    assert catalog(view)["big"].licenses == ("GPL-2.0-or-later",)


def test_70_mib_dpkg_status_is_still_refused() -> None:
    parts = tar_parts([("var/lib/dpkg/status", [STATUS, 70 * MiB - len(STATUS)])])
    with pytest.raises(UnsafeLayer) as info:
        read_parts(parts)
    message = str(info.value)
    assert "/var/lib/dpkg/status" in message and str(70 * MiB) in message
    assert str(Limits().max_file_bytes) in message


def test_5_mib_metadata_is_truncated_and_the_dist_keeps_its_name_version_and_licence() -> None:
    head = metadata_head()
    view = read_members([(METADATA[1:], [head, b"README line\n" * (5 * MiB // 12)])])
    entry = view.get(METADATA)
    assert entry is not None and entry.truncated and len(entry.content or b"") == MiB
    pkg = catalog(view)["Fancy"]
    assert (pkg.version, pkg.purl, pkg.licenses) == ("1.2", "pkg:pypi/fancy@1.2", ("BSD-3-Clause",))


def test_multiline_licence_cut_in_the_middle_is_left_out_not_garbled() -> None:
    """A ``License:`` holding the licence text, longer than the cap: the field is cut in its text, is
    still multi-line, and is left out like any licence text; the classifiers after it were cut too."""
    head = b"Metadata-Version: 2.1\nName: Verbose\nVersion: 3.0\nLicense: Copyright (c) someone\n"
    text = b"        Permission is hereby granted, free of charge, to any person\n" * (2 * MiB // 66)
    tail = b"Classifier: License :: OSI Approved :: MIT License\n\nbody\n"
    view = read_members([(METADATA[1:], [head, text, tail])])
    pkg = catalog(view)["Verbose"]
    assert (pkg.version, pkg.licenses) == ("3.0", ())


def test_old_pkg_info_with_a_huge_description_header_keeps_the_fields_before_it() -> None:
    """Metadata 1.x puts the description in a header, before the classifiers: a cut inside it keeps
    Name, Version and License (they come first) and loses the classifiers after it."""
    path = "usr/lib/python3/dist-packages/legacy.egg-info/PKG-INFO"
    head = b"Metadata-Version: 1.1\nName: legacy\nVersion: 0.9\nLicense: MIT\nDescription: long\n"
    description = b"        more words of description\n" * (2 * MiB // 34)
    view = read_members([(path, [head, description, b"Classifier: License :: Other\n"])])
    pkg = catalog(view)["legacy"]
    assert (pkg.version, pkg.licenses) == ("0.9", ("MIT",))


def test_hardlinks_to_a_truncated_file() -> None:
    data: list[Part] = [metadata_head(), 3 * MiB]
    parts = tar_parts([(METADATA[1:], data)])
    # append two hardlinks (before the end blocks): one under a capped pattern, one essential
    links = []
    for name in ("usr/lib/python3/dist-packages/copy.dist-info/METADATA", "etc/os-release"):
        info = tarfile.TarInfo(name)
        info.type = tarfile.LNKTYPE
        info.linkname = METADATA[1:]
        links.append(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict"))
    result = read_parts([*parts[:-1], *links, parts[-1]])
    target = result.entries[METADATA]
    copy = result.entries["/usr/lib/python3/dist-packages/copy.dist-info/METADATA"]
    assert copy.truncated and copy.content == target.content and len(copy.content or b"") == MiB
    # an essential path gets whole contents or none: a truncated target is as good as unselected
    assert result.entries["/etc/os-release"].content is None


def test_memory_stays_bounded_while_a_truncated_member_is_skipped() -> None:
    head = copyright_head()
    parts = tar_parts([(COPYRIGHT[1:], [head, 70 * MiB - len(head)])])
    descriptor = descriptor_of(parts)
    tracemalloc.start()
    try:
        result = read_layer(
            io.BufferedReader(Streamed(parts)), descriptor, 0, SELECTOR.compile(), Limits(), descriptor.digest
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.entries[COPYRIGHT].truncated
    # the kept MiB, the current decompressed chunk and read buffers: nowhere near the member's 70 MiB
    assert peak < 8 * MiB, peak


# --------------------------------------------------------------------------------------------------
# dir:


def write_sparse(path: Path, head: bytes, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)  # a hole: the test writes no 70 MiB


@pytest.fixture
def rootfs(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "rootfs"
    root.mkdir()
    yield root


def test_dir_copyright_and_metadata_are_truncated(rootfs: Path) -> None:
    (rootfs / "var/lib/dpkg").mkdir(parents=True)
    (rootfs / "var/lib/dpkg/status").write_bytes(STATUS)
    write_sparse(rootfs / COPYRIGHT[1:], copyright_head(), 70 * MiB)
    write_sparse(rootfs / METADATA[1:], metadata_head(), 5 * MiB)
    view = view_from_directory(rootfs, SELECTOR)
    for path, size in ((COPYRIGHT, 70 * MiB), (METADATA, 5 * MiB)):
        entry = view.get(path)
        assert entry is not None and entry.truncated and entry.size == size
        assert len(entry.content or b"") == MiB
    packages = catalog(view)
    assert packages["big"].licenses == ("MIT",)
    fancy = packages["Fancy"]
    assert (fancy.version, fancy.licenses) == ("1.2", ("BSD-3-Clause",))


def test_dir_file_of_exactly_the_cap_is_not_marked(rootfs: Path) -> None:
    write_sparse(rootfs / METADATA[1:], metadata_head(), MiB)
    entry = view_from_directory(rootfs, SELECTOR).get(METADATA)
    assert entry is not None and not entry.truncated and entry.size == MiB


def test_dir_70_mib_dpkg_status_is_still_refused(rootfs: Path) -> None:
    write_sparse(rootfs / "var/lib/dpkg/status", STATUS, 70 * MiB)
    with pytest.raises(ImageError, match="/var/lib/dpkg/status"):
        view_from_directory(rootfs, SELECTOR)


def test_dir_cap_is_bounded_by_max_file_bytes(rootfs: Path) -> None:
    write_sparse(rootfs / METADATA[1:], metadata_head(), 5000)
    entry = view_from_directory(rootfs, SELECTOR, max_file_bytes=1000).get(METADATA)
    assert entry is not None and entry.truncated and len(entry.content or b"") == 1000
    assert os.path.getsize(rootfs / METADATA[1:]) == entry.size == 5000


def test_a_header_line_cut_by_the_cap_is_not_parsed() -> None:
    """Headers longer than the cap, cut inside ``License: Apache-2.0``: no clipped licence ("A")."""
    start = b"Metadata-Version: 2.1\nName: Cut\nVersion: 1.0\n"
    filler_line = b"Keywords: x\n"
    count = (MiB - 10 - len(start) - 50) // len(filler_line)
    rest = MiB - 10 - len(start) - count * len(filler_line)  # 50..61 bytes for one Summary line
    head = start + filler_line * count + b"Summary: " + b"s" * (rest - 10) + b"\n"
    assert len(head) == MiB - 10
    view = read_members([(METADATA[1:], [head, b"License: Apache-2.0\n\nbody\n"])])
    entry = view.get(METADATA)
    assert entry is not None and entry.truncated and (entry.content or b"").endswith(b"License: A")
    pkg = catalog(view)["Cut"]
    assert (pkg.version, pkg.licenses) == ("1.0", ())
