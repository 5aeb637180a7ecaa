"""Is a file an ELF program or library linked against glibc? Read with :mod:`struct`, bounded.

An ELF file is glibc-only when its ``PT_INTERP`` names a glibc loader (``/lib64/ld-linux-x86-64.so.2``,
``/lib/ld-linux-aarch64.so.1``, ``/lib/ld-linux-armhf.so.3``, ``/lib/ld-linux.so.2``, ``/lib64/ld64.so.2``…)
or its dynamic section needs ``libc.so.6`` (``DT_NEEDED``: a shared object has no interpreter). musl's
loader is ``/lib/ld-musl-ARCH.so.1`` and its libc ``libc.musl-ARCH.so.1``; a static program has neither.

No offset in the file is trusted: every header, segment and string is checked to lie inside the bytes
read, counts and sizes are capped; a file that lies is "not ELF" (``None``), never an exception.
``pyelftools`` was not used: it reads far more than the three structures needed here, raises on
truncated input (which a scan of a build context must survive), and would be a new dependency.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ElfLink", "read_elf", "read_elf_bytes"]

#: Bytes read from a file at most: enough for the headers and the dynamic section of any real program
#: (they sit in its first pages); what lies beyond is not looked at.
MAX_READ = 4 * 1024 * 1024
_MAX_PHNUM = 512
_MAX_DYN = 4096
_MAX_NAME = 512

_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ = 0, 1, 5, 10
_ET_EXEC, _ET_DYN = 2, 3

_GLIBC_LOADER = re.compile(r"(^|/)(ld-linux[\w.-]*\.so\.\d+|ld64\.so\.\d+|ld\.so\.1)$")


@dataclass(frozen=True)
class ElfLink:
    """How an ELF file is linked: its interpreter (``None``: none), the libraries it needs."""

    interpreter: str | None
    needed: tuple[str, ...]

    @property
    def glibc(self) -> bool:
        """Linked against glibc: a glibc loader, or ``libc.so.6`` needed."""
        if self.interpreter is not None and _GLIBC_LOADER.search(self.interpreter):
            return True
        return "libc.so.6" in self.needed

    @property
    def why(self) -> str:
        """The evidence, for the report: the interpreter, else the needed libc."""
        if self.interpreter is not None and _GLIBC_LOADER.search(self.interpreter):
            return f"interpreter {self.interpreter}"
        return "needs libc.so.6"


def read_elf(path: Path) -> ElfLink | None:
    """The link of the ELF program or library at ``path``; ``None`` when it is not one (or lies)."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"\x7fELF":
                return None
            data = b"\x7fELF" + fh.read(MAX_READ - 4)
    except OSError:
        return None
    return read_elf_bytes(data)


def read_elf_bytes(data: bytes) -> ElfLink | None:
    """:func:`read_elf` of bytes in memory."""
    if len(data) < 52 or data[:4] != b"\x7fELF":
        return None
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        return None
    end = "<" if ei_data == 1 else ">"
    wide = ei_class == 2
    try:
        (e_type,) = struct.unpack_from(end + "H", data, 16)
        if wide:
            (e_phoff,) = struct.unpack_from(end + "Q", data, 32)
            e_phentsize, e_phnum = struct.unpack_from(end + "HH", data, 54)
            ph_format, ph_size = end + "IIQQQQQQ", 56
        else:
            (e_phoff,) = struct.unpack_from(end + "I", data, 28)
            e_phentsize, e_phnum = struct.unpack_from(end + "HH", data, 42)
            ph_format, ph_size = end + "IIIIIIII", 32
    except struct.error:
        return None
    if e_type not in (_ET_EXEC, _ET_DYN) or e_phentsize != ph_size or not 0 < e_phnum <= _MAX_PHNUM:
        return None
    if e_phoff + e_phnum * ph_size > len(data):
        return None
    interpreter: str | None = None
    dynamic: tuple[int, int] | None = None
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    for i in range(e_phnum):
        fields = struct.unpack_from(ph_format, data, e_phoff + i * ph_size)
        if wide:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = fields
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _flags, _align = fields
        if p_type in (_PT_INTERP, _PT_DYNAMIC, _PT_LOAD) and p_offset + p_filesz > len(data):
            if p_type == _PT_LOAD:
                p_filesz = max(0, len(data) - p_offset)  # a big segment: only the part read is mapped
            else:
                return None
        if p_type == _PT_INTERP:
            raw = data[p_offset : p_offset + min(p_filesz, _MAX_NAME)]
            name = raw.split(b"\0", 1)[0]
            if not name or p_filesz > _MAX_NAME:
                return None
            try:
                interpreter = name.decode("ascii")
            except UnicodeDecodeError:
                return None
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
    needed = _needed(data, dynamic, loads, end, wide) if dynamic else ()
    if needed is None:
        return None
    return ElfLink(interpreter, needed)


def _needed(
    data: bytes, dynamic: tuple[int, int], loads: list[tuple[int, int, int]], end: str, wide: bool
) -> tuple[str, ...] | None:
    """``DT_NEEDED`` names of the dynamic section; ``None`` when it points outside the file."""
    offset, size = dynamic
    entry = 16 if wide else 8
    fmt = end + ("qQ" if wide else "iI")
    needed: list[int] = []
    strtab: int | None = None
    for i in range(min(size // entry, _MAX_DYN)):
        tag, val = struct.unpack_from(fmt, data, offset + i * entry)
        if tag == _DT_NULL:
            break
        if tag == _DT_NEEDED:
            needed.append(val)
        elif tag == _DT_STRTAB:
            strtab = val
    if not needed:
        return ()
    if strtab is None:
        return None
    # DT_STRTAB is an address: the file offset is found through the PT_LOAD segment that maps it
    base = next((off + strtab - va for va, off, sz in loads if va <= strtab < va + sz), None)
    if base is None:
        return None
    names: list[str] = []
    for rel in needed:
        start = base + rel
        if start >= len(data):
            return None
        raw = data[start : start + _MAX_NAME].split(b"\0", 1)[0]
        try:
            names.append(raw.decode("ascii"))
        except UnicodeDecodeError:
            return None
    return tuple(names)
