"""The ``dir:ROOTFS`` transport: a root filesystem already unpacked in a directory, read as one layer.

The walk never leaves ``root``: every directory is opened relative to its parent's file descriptor
with ``O_NOFOLLOW``, so a symlink (or a directory swapped for one during the walk) is recorded as a
symlink entry with its target as written and never followed; ``FileView.resolve`` later resolves it
inside the image root, like a chroot. Devices, fifos and sockets are recorded (sockets are skipped:
a tar layer cannot hold one) and never opened. Only regular files the selector wants are read, and
only up to ``max_file_bytes`` (a larger essential file is refused); a file selected with a
``truncate`` cap is read up to that cap only and marked ``truncated`` when there is more.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from alpinist.errors import ImageError
from alpinist.images.view import EntryKind, FileEntry, FileView, PathSelector

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 512  # nested directories; PATH_MAX (4096) allows at most ~2048, real trees use < 50
_READ_CHUNK = 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _kind_of(mode: int) -> EntryKind | None:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISCHR(mode):
        return "char"
    if stat.S_ISBLK(mode):
        return "block"
    if stat.S_ISFIFO(mode):
        return "fifo"
    return None  # sockets, doors...: nothing a layer could carry


def _read_capped(dir_fd: int, name: str, path: str, limit: int) -> bytes:
    """Read a regular file opened relative to ``dir_fd``, refusing one that is larger than ``limit``."""
    return _read_file(dir_fd, name, path, limit, None)[0]


def _read_head(dir_fd: int, name: str, path: str, cap: int) -> tuple[bytes, bool]:
    """The first ``cap`` bytes of a regular file, and whether the file holds more."""
    return _read_file(dir_fd, name, path, cap, cap)


def _read_file(dir_fd: int, name: str, path: str, limit: int, head: int | None) -> tuple[bytes, bool]:
    """Whole contents up to ``limit`` (more is an ``ImageError``), or, with ``head``, the first ``head``
    bytes and whether there are more (never an error for the size)."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise ImageError(f"{path}: cannot open: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for something else since the scan
            raise ImageError(f"{path}: changed while the directory was being read")
        if head is not None:
            chunks: list[bytes] = []
            total = 0
            while total < head:
                chunk = os.read(fd, min(_READ_CHUNK, head - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            # one byte beyond the cap tells a file that grew since fstat from one that did not
            more = total == head and (st.st_size > head or bool(os.read(fd, 1)))
            return b"".join(chunks), more
        if st.st_size > limit:
            raise ImageError(f"{path}: {st.st_size} bytes is over the {limit}-byte limit for a selected file")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew since fstat
                raise ImageError(f"{path}: over the {limit}-byte limit for a selected file")
        return b"".join(chunks), False
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror}") from exc
    finally:
        os.close(fd)


def view_from_directory(
    root: Path, selector: PathSelector, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> FileView:
    """The file view of the root filesystem in ``root`` (all entries in layer 0)."""
    compiled = selector.compile()
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImageError(f"{root}: not a readable directory: {exc.strerror}") from exc

    entries: dict[str, FileEntry] = {}
    # Depth-first; each stack frame holds an open directory fd and the names still to visit in it,
    # so at most one fd per nesting level is open.
    stack: list[tuple[int, str, list[os.DirEntry[str]]]] = []
    try:
        stack.append((root_fd, "", _scan(root_fd, str(root))))
        while stack:
            dir_fd, dir_path, pending = stack[-1]
            if not pending:
                stack.pop()
                os.close(dir_fd)
                continue
            item = pending.pop()
            path = f"{dir_path}/{item.name}"
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished since the scan
            kind = _kind_of(st.st_mode)
            if kind is None:
                continue
            linkname: str | None = None
            content: bytes | None = None
            truncated = False
            size = 0
            if kind == "symlink":
                try:
                    linkname = os.readlink(item.name, dir_fd=dir_fd)
                except OSError as exc:
                    raise ImageError(f"{path}: cannot read symlink: {exc.strerror}") from exc
            elif kind == "file":
                size = st.st_size
                if compiled.wants(path):
                    cap = compiled.cap(path)
                    if cap is None:
                        content = _read_capped(dir_fd, item.name, path, max_file_bytes)
                        size = len(content)
                    else:
                        content, truncated = _read_head(dir_fd, item.name, path, min(cap, max_file_bytes))
                        if not truncated:
                            size = len(content)
            entries[path] = FileEntry(
                path=path,
                kind=kind,
                size=size,
                mode=stat.S_IMODE(st.st_mode),
                layer=0,
                linkname=linkname,
                content=content,
                uid=st.st_uid,
                gid=st.st_gid,
                truncated=truncated,
            )
            if kind == "dir":
                if len(stack) >= MAX_DEPTH:
                    raise ImageError(f"{path}: directories nested deeper than {MAX_DEPTH} levels")
                try:
                    child_fd = os.open(item.name, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError as exc:
                    raise ImageError(f"{path}: cannot open directory: {exc.strerror}") from exc
                stack.append((child_fd, path, _scan(child_fd, path)))
    finally:
        for dir_fd, _, _ in stack:
            os.close(dir_fd)

    history = {p: [entries[p]] for p in selector.keep_history if p in entries}
    return FileView(entries=entries, history=history)


def _scan(dir_fd: int, path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(dir_fd) as it:
            items = list(it)
    except OSError as exc:
        raise ImageError(f"{path or '/'}: cannot list directory: {exc.strerror}") from exc
    items.sort(key=lambda e: e.name, reverse=True)  # popped from the end: visited in name order
    return items
