"""The fast paths of the layer reader and the view (issue 15) against their plain definitions.

``normalize_member_path`` answers the common member name with a few string checks, ``FileView.glob`` and
``children`` use an index of base names and parents, and ``merge_layers`` merges a layer with one
``dict.update`` when it deletes nothing: each must give exactly what the plain definition gives, which
these properties restate in a few lines each, on names and trees built to hit every corner ("."
and ".." parts, NUL, empty parts, whiteouts, opaque directories, a file over a directory).
"""

from __future__ import annotations

import fnmatch
import re

from hypothesis import given
from hypothesis import strategies as st

from alpinist.images.layers import LayerResult, merge_layers
from alpinist.images.view import FileEntry, FileView, PathSelector, normalize_member_path


def plain_normalize(name: str) -> str | None:
    if "\x00" in name:
        raise ValueError("NUL")
    if name.startswith("/"):
        raise ValueError("absolute")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError("escapes")
            parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts) if parts else None


names = st.lists(st.sampled_from(["a", "b", ".", "/", "\x00", "é", ".wh."]), max_size=12).map("".join)


@given(names)
def test_normalize_equals_the_plain_definition(name: str) -> None:
    try:
        want: str | type[ValueError] | None = plain_normalize(name)
    except ValueError:
        want = ValueError
    try:
        got: str | type[ValueError] | None = normalize_member_path(name)
    except ValueError:
        got = ValueError
    assert got == want


COMPONENTS = ["a", "b", "METADATA", "x.egg-info", "python3.11", "site-packages", "d.dist-info", "EGG-INFO"]
paths = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
PATTERNS = [
    "*dist-info/METADATA",
    "*.egg-info",
    "*EGG-INFO/*",
    "/a/*",
    "/a/python3.*",
    "/a/b/*/METADATA",
    "/a",
    "a",
    "*",
    "/a/[bx]*",
    "/site-packages/?",
    "/nowhere/*",
]


def view_of(found: set[str], parents: bool) -> FileView:
    """A view of ``found``, with their parent directories or (as a tar may be) without them."""
    every = set(found)
    for path in found if parents else ():
        while path.count("/") > 1:
            path = path.rsplit("/", 1)[0]
            every.add(path)
    return FileView({p: FileEntry(p, "file", 0, 0o644, 0) for p in every})


@given(st.sets(paths, max_size=60), st.sampled_from(PATTERNS), st.booleans())
def test_glob_equals_a_scan_of_every_path(found: set[str], pattern: str, parents: bool) -> None:
    view = view_of(found, parents)
    rx = re.compile(fnmatch.translate(pattern))
    assert view.glob(pattern) == sorted(p for p in view.entries if rx.match(p))


@given(
    st.sets(paths, max_size=60), st.sampled_from(["/", "/a", "/a/", "/a/b", "/METADATA", "/zz"]), st.booleans()
)
def test_children_equal_a_scan_of_every_path(found: set[str], directory: str, parents: bool) -> None:
    view = view_of(found, parents)
    prefix = directory.rstrip("/") + "/"
    want = sorted(p for p in view.entries if p.startswith(prefix) and "/" not in p[len(prefix) :])
    assert view.children(directory) == want


# ------------------------------------------------------------------------------------------- merging

tree_paths = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
layer = st.tuples(
    st.lists(st.tuples(tree_paths, st.sampled_from(["file", "dir", "symlink"])), max_size=10),
    st.sets(tree_paths, max_size=2),  # whiteouts
    st.sets(tree_paths, max_size=1),  # opaque directories
)


def plain_merge(layers: list[LayerResult]) -> dict[str, FileEntry]:
    """The OCI changeset rules, one entry at a time, with no index."""
    out: dict[str, FileEntry] = {}

    def drop_below(directory: str) -> None:
        prefix = directory.rstrip("/") + "/"
        for p in [p for p in out if p.startswith(prefix)]:
            del out[p]

    for result in layers:
        for directory in result.opaque_dirs:
            drop_below(directory)
        for path in result.whiteouts:
            out.pop(path, None)
            drop_below(path)
        for path, entry in result.entries.items():
            old = out.get(path)
            if old is not None and old.kind == "dir" and entry.kind != "dir":
                drop_below(path)
            out[path] = entry
    return out


@given(st.lists(layer, min_size=1, max_size=4))
def test_merge_equals_the_plain_changeset_rules(
    spec: list[tuple[list[tuple[str, str]], set[str], set[str]]],
) -> None:
    results = []
    for index, (members, whiteouts, opaque) in enumerate(spec):
        entries = {p: FileEntry(p, kind, 0, 0o644, index) for p, kind in members}  # type: ignore[arg-type]
        results.append(
            LayerResult(
                index=index,
                digest=f"sha256:{index}",
                compressed_size=0,
                uncompressed_size=0,
                diff_id=f"sha256:{index}",
                entries=entries,
                whiteouts=frozenset(whiteouts),
                opaque_dirs=frozenset(opaque),
            )
        )
    merged = merge_layers(results, PathSelector().compile())
    assert merged.entries == plain_merge(results)
