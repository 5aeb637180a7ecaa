"""The merged file view of an image: the final filesystem after every layer and whiteout.

Layers are never extracted to disk. The layer reader (``layers.py``) streams each tar and keeps, for
every member, a small ``FileEntry``; only paths that a cataloger asked for (a ``PathSelector``) keep
their bytes, and only up to a size cap. Symlinks are resolved inside the image root only, like a
chroot: ``..`` at the root stays at the root, an absolute target starts again at the image root.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

EntryKind = Literal["file", "dir", "symlink", "hardlink", "char", "block", "fifo"]

MAX_SYMLINK_HOPS = 40  # the same bound Linux uses (ELOOP)


class FileEntry(NamedTuple):
    """One path of an image's filesystem, as the layer that last wrote it left it.

    A named tuple rather than a frozen dataclass (immutable all the same): one is made per tar member
    and a tuple is built in C (see ``tarstream.TarMember``)."""

    path: str  # absolute and normalized: "/etc/os-release"
    kind: EntryKind
    size: int
    mode: int
    layer: int  # index of the layer that provided this version
    linkname: str | None = None  # symlink target as written, or hardlink target as an absolute path
    content: bytes | None = None  # kept only for selected regular files, at most the size cap
    uid: int = 0
    gid: int = 0
    # content holds only the first bytes of the file (a ``PathSelector.truncate`` cap); size is the
    # file's real size. The last line of such content may be cut in the middle.
    truncated: bool = False


@dataclass(frozen=True)
class PathSelector:
    """Which paths a cataloger needs the contents of.

    ``exact`` are absolute paths; ``patterns`` are fnmatch patterns matched against the absolute path
    (``*`` crosses ``/``). A selector is compiled once into one regular expression.

    Files selected by ``exact`` or ``patterns`` are essential: they are kept whole, and one larger than
    the reader's per-file limit refuses the layer. ``truncate`` pairs select evidence that is not
    essential (copyright files, Python metadata): ``(pattern, cap)`` keeps at most ``cap`` bytes of a
    matching file (``FileEntry.truncated`` says when bytes were left out) and never refuses the layer
    for its size. A path that several selectors ask for gets the largest demand: whole if any
    ``exact``/``patterns`` entry names it, else the largest cap of the ``truncate`` patterns it matches.
    """

    exact: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()
    keep_history: frozenset[str] = frozenset()  # exact paths whose every layer version is kept
    truncate: tuple[tuple[str, int], ...] = ()  # (fnmatch pattern, byte cap): kept up to the cap

    def __post_init__(self) -> None:
        for pattern, cap in self.truncate:
            if not isinstance(cap, int) or cap < 0:
                raise ValueError(f"truncate cap of {pattern!r} must be a byte count >= 0, not {cap!r}")

    def __or__(self, other: PathSelector) -> PathSelector:
        return PathSelector(
            self.exact | other.exact,
            self.patterns + tuple(p for p in other.patterns if p not in self.patterns),
            self.keep_history | other.keep_history,
            self.truncate + tuple(t for t in other.truncate if t not in self.truncate),
        )

    def compile(self) -> CompiledSelector:
        regex = "|".join(fnmatch.translate(p) for p in self.patterns)
        caps = tuple((re.compile(fnmatch.translate(p)), cap) for p, cap in self.truncate)
        every = (*self.patterns, *(p for p, _ in self.truncate))
        any_pattern = "|".join(fnmatch.translate(p) for p in every)
        return CompiledSelector(
            self.exact,
            re.compile(regex) if regex else None,
            self.keep_history,
            caps,
            re.compile(any_pattern) if any_pattern else None,
            _prefilter(every),
        )


def _first_wildcard(pattern: str) -> int:
    """Where an fnmatch pattern's first wildcard (``*``, ``?``, ``[``) is; its length when it has none."""
    return min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))


def _prefilter(patterns: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(tails, heads) such that a path no pattern's regex can match fails ``path.endswith(tails) or
    path.startswith(heads)``: two C calls that turn away almost every member of a layer before a
    regular expression runs (each pattern begins with ``.*`` and backtracks over the whole path).

    A match of a pattern ends with its literal tail (the text after its last ``*``, ``?``, ``[`` or
    ``]``) and starts with its literal head (the text before its first ``*``, ``?`` or ``[``). A pattern
    is represented by its tail when it has one, else by its head; one with neither (``*``) can match
    anything: ``None``, no prefilter."""
    tails: list[str] = []
    heads: list[str] = []
    for pattern in patterns:
        last = max(pattern.rfind(c) for c in "*?[]")
        tail = pattern[last + 1 :]
        head = pattern[: _first_wildcard(pattern)]
        if tail:
            tails.append(tail)
        elif head:
            heads.append(head)
        else:
            return None
    return tuple(tails), tuple(heads)


@dataclass(frozen=True)
class CompiledSelector:
    exact: frozenset[str]
    regex: re.Pattern[str] | None
    keep_history: frozenset[str]
    truncate: tuple[tuple[re.Pattern[str], int], ...] = ()  # each truncate pattern with its cap
    any_regex: re.Pattern[str] | None = None  # every pattern, essential or truncated, in one expression
    # (tails, heads) a path must end or start with to match any pattern (``_prefilter``); None: no filter
    prefilter: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def wants(self, path: str) -> bool:
        if path in self.exact:
            return True
        if self.any_regex is None:
            return False
        if self.prefilter is not None:
            tails, heads = self.prefilter
            if not path.endswith(tails) and not path.startswith(heads):
                return False
        return self.any_regex.match(path) is not None

    def cap(self, path: str) -> int | None:
        """For a path ``wants`` selects: ``None`` if it is essential (kept whole), else the byte cap."""
        if path in self.exact or (self.regex and self.regex.match(path)):
            return None
        caps = [cap for rx, cap in self.truncate if rx.match(path)]
        return max(caps) if caps else None


def normalize_member_path(name: str) -> str | None:
    """Normalize a tar member name to an absolute path inside the image.

    Returns ``None`` for the root itself. Raises ``ValueError`` for names that are absolute or that
    climb out of the root with ``..``: such members are hostile and the layer is refused.
    """
    # The common name ("usr/lib/x.py": no empty, "." or ".." part, no NUL) in a few C-level checks; a
    # name starting with "." or holding "/." ("./usr", ".wh.x", "a/../b") takes the general path below.
    if (
        name
        and name[0] not in "./"
        and name[-1] != "/"
        and "/." not in name
        and "//" not in name
        and "\x00" not in name
    ):
        return "/" + name
    if "\x00" in name:
        raise ValueError(f"NUL byte in member name {name!r}")
    if name.startswith("/"):
        raise ValueError(f"absolute member path {name!r}")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(f"member path {name!r} escapes the image root")
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        return None
    return "/" + "/".join(parts)


@dataclass
class FileView:
    """The final filesystem of an image (after whiteouts), with the selected contents."""

    entries: dict[str, FileEntry]
    history: dict[str, list[FileEntry]] = field(default_factory=dict)  # keep_history paths, bottom first
    _by_name: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)
    _sorted: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    # real paths of the directories ``realpath`` has resolved (``None``: too many symlink hops)
    _real_dirs: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.resolve(path) is not None

    def __len__(self) -> int:
        return len(self.entries)

    def paths(self) -> Iterator[str]:
        return iter(self.entries)

    def get(self, path: str) -> FileEntry | None:
        """The entry at ``path`` without following a final symlink."""
        return self.entries.get(path)

    def resolve(self, path: str) -> FileEntry | None:
        """Follow symlinks (and hardlinks) inside the image root; ``None`` if nothing is there."""
        real = self.realpath(path)
        if real is None:
            return None
        entry = self.entries.get(real)
        hops = 0
        while entry is not None and entry.kind == "hardlink" and entry.linkname and hops < MAX_SYMLINK_HOPS:
            hops += 1
            entry = self.entries.get(entry.linkname)
        return entry

    def realpath(self, path: str) -> str | None:
        """Resolve every symlink in ``path`` as a chroot at the image root would.

        A normalized absolute path is its resolved parent directory (remembered: catalogers ask for the
        real paths of every file of every OS package, 10,000 on a Debian image, in a few hundred
        directories) plus its base name, unless that is a symlink too (then the whole path is walked again,
        counting every hop). Resolving a prefix never depends on what follows it, so this is what the walk
        below would find, one component at a time."""
        if path[:1] == "/" and path[-1:] != "/" and "/." not in path and "//" not in path:
            parent, _, base = path.rpartition("/")
            if parent:
                try:
                    real_parent = self._real_dirs[parent]
                except KeyError:  # resolved the same way, from its own parent's memo: one step per level
                    real_parent = self._real_dirs[parent] = self.realpath(parent)
                if real_parent is None:
                    return None
                candidate = f"{real_parent}/{base}" if real_parent != "/" else f"/{base}"
            else:
                candidate = path
            entry = self.entries.get(candidate)
            if entry is None or entry.kind != "symlink":
                return candidate
        return self._walk(path)

    def _walk(self, path: str) -> str | None:
        """``realpath`` one component at a time, following each symlink (at most ``MAX_SYMLINK_HOPS``)."""
        pending = [p for p in path.split("/") if p not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/" + "/".join([*resolved, part])
            entry = self.entries.get(candidate)
            if entry is not None and entry.kind == "symlink" and entry.linkname is not None:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                target = entry.linkname
                if target.startswith("/"):
                    resolved = []
                pending = [p for p in target.split("/") if p not in ("", ".")] + pending
                continue
            resolved.append(part)
        return "/" + "/".join(resolved)

    def read(self, path: str) -> bytes | None:
        """Contents of a selected regular file (following links), or ``None``."""
        entry = self.resolve(path)
        if entry is None or entry.kind not in ("file", "hardlink"):
            return None
        return entry.content

    def read_text(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else data.decode("utf-8", errors="replace")

    def is_file(self, path: str) -> bool:
        entry = self.resolve(path)
        return entry is not None and entry.kind == "file"

    def glob(self, pattern: str) -> list[str]:
        """Paths of the final view matching an fnmatch pattern (``*`` crosses ``/``), sorted.

        Only the paths that can match are tried: a match's last component ends with the pattern's
        literal tail (what follows its last wildcard or ``/``), so a pattern ending in a literal name
        tries the paths of that base name (an index built once), and a pattern with a literal directory
        before its first wildcard tries the paths below it (a slice of the sorted paths). An image of
        45,000 files has a few thousand distinct base names; the catalogers glob five times."""
        rx = re.compile(fnmatch.translate(pattern))
        cut = max(pattern.rfind(c) for c in "*?[/")
        tail = pattern[cut + 1 :]
        first = _first_wildcard(pattern)
        top = pattern[: pattern.rfind("/", 0, first) + 1]  # a literal directory above any match, with "/"
        candidates: Iterable[str]
        if cut >= 0 and pattern[cut] == "/":  # a literal last component: one base name
            candidates = self._names().get(tail, ())
        elif len(top) > 1:
            candidates = self._below(top)
        else:
            candidates = (p for name, paths in self._names().items() if name.endswith(tail) for p in paths)
        return sorted(p for p in candidates if rx.match(p))

    def children(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        return [p for p in self._below(prefix) if p.find("/", len(prefix)) < 0]

    def _below(self, prefix: str) -> list[str]:
        """The paths that start with ``prefix`` (a directory and its "/"), sorted."""
        if self._sorted is None:
            self._sorted = sorted(self.entries)
        paths = self._sorted
        lo = bisect.bisect_left(paths, prefix)
        return paths[lo : bisect.bisect_left(paths, prefix[:-1] + "0", lo)]  # "0" follows "/" in ASCII

    def _names(self) -> dict[str, list[str]]:
        """Paths by base name, built on first use (the view is never changed after it is built)."""
        if self._by_name is None:
            by_name: dict[str, list[str]] = {}
            for path in self.entries:
                by_name.setdefault(path[path.rfind("/") + 1 :], []).append(path)
            self._by_name = by_name
        return self._by_name

    def versions(self, path: str) -> list[FileEntry]:
        """Every layer's version of a ``keep_history`` path, bottom layer first (empty if none)."""
        return list(self.history.get(path, []))
