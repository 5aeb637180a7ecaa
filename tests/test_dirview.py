"""The ``dir:`` transport: a root filesystem in a directory, walked without leaving it."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from alpinist.errors import ImageError
from alpinist.images import dirview
from alpinist.images.dirview import view_from_directory
from alpinist.images.view import PathSelector

SELECT = PathSelector(
    exact=frozenset(("/etc/os-release", "/etc/passwd", "/dev/fifo", "/big")),
    patterns=("/var/lib/dpkg/info/*.list",),
    keep_history=frozenset(("/etc/os-release",)),
)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=alpine\n")
    (root / "etc/hostname").write_text("box\n")
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/libz.so.1").write_bytes(b"\x7fELF")
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/info/zlib1g:amd64.list").write_text("/.\n/usr/lib/libz.so.1\n")
    (root / "lib").symlink_to("usr/lib")
    (root / "etc/mtab").symlink_to("/proc/self/mounts")
    return root


def test_entries_kinds_and_selected_contents(rootfs: Path) -> None:
    view = view_from_directory(rootfs, SELECT)
    assert view.get("/etc/os-release").content == b"ID=alpine\n"  # type: ignore[union-attr]
    assert view.get("/var/lib/dpkg/info/zlib1g:amd64.list").content == b"/.\n/usr/lib/libz.so.1\n"  # type: ignore[union-attr]
    hostname = view.get("/etc/hostname")
    assert (
        hostname is not None and hostname.kind == "file" and hostname.content is None and hostname.size == 4
    )
    assert view.get("/etc").kind == "dir"  # type: ignore[union-attr]
    assert view.get("/lib").kind == "symlink" and view.get("/lib").linkname == "usr/lib"  # type: ignore[union-attr]
    assert view.get("/etc/mtab").linkname == "/proc/self/mounts"  # type: ignore[union-attr]
    assert {e.layer for e in view.entries.values()} == {0}
    assert "/" not in view.entries


def test_metadata_of_entries(rootfs: Path) -> None:
    os.chmod(rootfs / "etc/hostname", 0o640)
    entry = view_from_directory(rootfs, SELECT).get("/etc/hostname")
    st = os.lstat(rootfs / "etc/hostname")
    assert entry is not None and (entry.mode, entry.uid, entry.gid) == (0o640, st.st_uid, st.st_gid)


def test_symlinked_directory_is_not_walked(rootfs: Path) -> None:
    view = view_from_directory(rootfs, SELECT)
    assert "/lib/libz.so.1" not in view.entries
    assert view.resolve("/lib/libz.so.1") is view.get("/usr/lib/libz.so.1")


def test_symlinks_never_leave_the_root(rootfs: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:host secret\n")
    (rootfs / "etc/passwd").write_text("root:x:0:0:image\n")
    (rootfs / "escape").symlink_to("../../outside")
    (rootfs / "abs").symlink_to(str(outside))
    view = view_from_directory(rootfs, SELECT)
    # the targets are recorded as written, and resolved inside the image root like a chroot
    assert view.get("/escape").linkname == "../../outside"  # type: ignore[union-attr]
    assert view.resolve("/escape/passwd") is None
    assert view.resolve("/abs/passwd") is None
    assert view.read("/etc/passwd") == b"root:x:0:0:image\n"
    assert not any(b"host secret" in (e.content or b"") for e in view.entries.values())


def test_fifo_and_socket_are_never_opened(rootfs: Path) -> None:
    dev = rootfs / "dev"
    dev.mkdir()
    os.mkfifo(dev / "fifo")  # selected: opening it for reading would block the walk forever
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(dev / "sock"))
        view = view_from_directory(rootfs, SELECT)
    finally:
        sock.close()
    fifo = view.get("/dev/fifo")
    assert fifo is not None and fifo.kind == "fifo" and fifo.content is None
    assert "/dev/sock" not in view.entries  # a layer cannot carry a socket


def test_device_nodes_are_recorded_not_read(rootfs: Path) -> None:
    if os.geteuid() != 0:  # never skipped quietly: the test command runs as root
        pytest.fail("creating device nodes needs root (./scripts/test runs as root)")
    (rootfs / "dev").mkdir()
    os.mknod(rootfs / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(rootfs / "dev/loop0", 0o660 | stat.S_IFBLK, os.makedev(7, 0))
    selector = PathSelector(patterns=("/dev/*",))
    view = view_from_directory(rootfs, selector)
    assert (view.get("/dev/null").kind, view.get("/dev/null").content) == ("char", None)  # type: ignore[union-attr]
    assert view.get("/dev/loop0").kind == "block"  # type: ignore[union-attr]


def test_selected_file_over_the_cap_is_refused(rootfs: Path) -> None:
    (rootfs / "big").write_bytes(b"x" * 101)
    with pytest.raises(ImageError, match=r"/big: 101 bytes is over the 100-byte limit"):
        view_from_directory(rootfs, SELECT, max_file_bytes=100)
    assert view_from_directory(rootfs, SELECT, max_file_bytes=101).read("/big") == b"x" * 101


def test_unselected_large_file_is_not_read(rootfs: Path) -> None:
    (rootfs / "huge").write_bytes(b"y" * 1000)
    entry = view_from_directory(rootfs, SELECT, max_file_bytes=100).get("/huge")
    assert entry is not None and entry.size == 1000 and entry.content is None


def test_history_of_kept_paths(rootfs: Path) -> None:
    view = view_from_directory(rootfs, SELECT)
    assert view.versions("/etc/os-release") == [view.get("/etc/os-release")]
    assert view.versions("/etc/hostname") == []


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not a readable directory"):
        view_from_directory(tmp_path / "missing", SELECT)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ImageError, match="not a readable directory"):
        view_from_directory(tmp_path / "file", SELECT)


def test_nesting_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dirview, "MAX_DEPTH", 5)
    deep = tmp_path / "root" / "a" / "b" / "c" / "d" / "e" / "f"
    deep.mkdir(parents=True)
    with pytest.raises(ImageError, match="nested deeper than 5"):
        view_from_directory(tmp_path / "root", SELECT)
    view = view_from_directory(tmp_path / "root" / "a" / "b", SELECT)
    assert "/c/d/e/f" in view.entries


def test_no_file_descriptors_leak(rootfs: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        view_from_directory(rootfs, SELECT)
    with pytest.raises(ImageError):
        view_from_directory(rootfs, SELECT, max_file_bytes=1)
    assert len(os.listdir("/proc/self/fd")) == before
