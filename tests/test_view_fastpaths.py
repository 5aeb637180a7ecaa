"""The fast paths of the layer reader and the view (issue 15) against their plain definitions.

``normalize_member_path`` answers the common member name with a few string checks, ``FileView.glob`` and
``children`` use an index of base names and parents, ``FileView.realpath`` remembers resolved directories,
``CompiledSelector.wants`` turns paths away by the patterns' literal tails and heads before any regular
expression, and ``merge_layers`` merges a layer with one
``dict.update`` when it deletes nothing: each must give exactly what the plain definition gives, which
these properties restate in a few lines each, on names and trees built to hit every corner ("."
and ".." parts, NUL, empty parts, whiteouts, opaque directories, a file over a directory).
"""

from __future__ import annotations

import fnmatch
import re

from hypothesis import example, given, settings
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


# realpath: the memo of resolved directories against the walk of one component at a time

LINK_NAMES = ("a", "b", "c", "lib", "usr")
_link_component = st.sampled_from(LINK_NAMES)
_link_paths = st.lists(_link_component, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_targets = st.one_of(
    _link_paths,
    st.lists(st.sampled_from((*LINK_NAMES, "..", ".")), min_size=1, max_size=4).map("/".join),
)
_trees = st.dictionaries(
    _link_paths,
    st.one_of(st.just(None), _targets),  # None: a directory or a file, a string: a symlink to it
    max_size=25,
)


def _view(tree: dict[str, str | None]) -> FileView:
    entries: dict[str, FileEntry] = {}
    for path, target in tree.items():
        if target is None:
            entries[path] = FileEntry(path, "dir", 0, 0o755, 0)
        else:
            entries[path] = FileEntry(path, "symlink", 0, 0o777, 0, linkname=target)
    return FileView(entries=entries)


@settings(max_examples=400, derandomize=True)
@given(_trees, st.lists(_link_paths, min_size=1, max_size=20))
def test_realpath_agrees_with_walking_each_component(tree: dict[str, str | None], queries: list[str]) -> None:
    view = _view(tree)
    fresh = _view(tree)
    for query in [*queries, *queries]:  # asked twice: the second answers come from the memo
        assert view.realpath(query) == fresh._walk(query), query


def test_realpath_of_merged_usr_paths() -> None:
    view = _view({"/lib": "usr/lib", "/usr": None, "/usr/lib": None, "/usr/lib/x.so": "libx.so.1"})
    assert (
        view.realpath("/lib/python3/dist-packages/foo.egg-info")
        == "/usr/lib/python3/dist-packages/foo.egg-info"
    )
    assert view.realpath("/lib/x.so") == "/usr/lib/libx.so.1"
    assert view.realpath("/lib") == "/usr/lib"
    assert view.realpath("/") == "/"
    assert view.realpath("/lib/../etc/./passwd") == "/usr/etc/passwd"


def test_realpath_of_a_loop_is_none_through_the_memo_too() -> None:
    view = _view({"/a": "/b", "/b": "/a"})
    assert view.realpath("/a/x") is None
    assert view.realpath("/a/y") is None
    assert view.realpath("/a") is None


# wants: the prefilter against matching every pattern

# a small alphabet, so that random paths often match random patterns
_pattern_chars = st.sampled_from([*"ab/*?[]!", "[ab]", "[!a]", "METADATA"])
_patterns = st.tuples(st.sampled_from(("/", "*", "?", "[/]")), st.lists(_pattern_chars, max_size=6)).map(
    lambda parts: parts[0] + "".join(parts[1])
)
_selector_paths = st.lists(st.sampled_from([*"ab/]![", "METADATA"]), max_size=8).map(
    lambda parts: "/" + "".join(parts)
)


@settings(max_examples=1500, derandomize=True)
@example(["/a[b]c"], [], ["/abc"]).via("a class closes before the literal tail")
@given(
    st.lists(_patterns, max_size=3),
    st.lists(st.tuples(_patterns, st.integers(0, 9)), max_size=3),
    st.lists(_selector_paths, min_size=1, max_size=15),
)
def test_wants_is_any_pattern_matching(
    patterns: list[str], truncate: list[tuple[str, int]], paths: list[str]
) -> None:
    selector = PathSelector(exact=frozenset({"/exact"}), patterns=tuple(patterns), truncate=tuple(truncate))
    compiled = selector.compile()
    every = [*patterns, *(p for p, _ in truncate)]
    for path in [*paths, "/exact"]:
        expected = path == "/exact" or any(fnmatch.fnmatchcase(path, p) for p in every)
        assert compiled.wants(path) is expected, (path, every)


def test_the_catalogers_patterns_are_prefiltered() -> None:
    selector = PathSelector(
        patterns=("/var/lib/dpkg/status.d/*", "/usr/local/include/python3.*/patchlevel.h"),
        truncate=(("*dist-info/METADATA", 1), ("*.egg-info", 1)),
    ).compile()
    assert selector.prefilter == (
        ("/patchlevel.h", "dist-info/METADATA", ".egg-info"),
        ("/var/lib/dpkg/status.d/",),
    )
    assert selector.wants("/venv/lib/python3.11/site-packages/x-1.dist-info/METADATA")
    assert selector.wants("/var/lib/dpkg/status.d/libc6")
    assert not selector.wants("/venv/lib/python3.11/site-packages/x/__init__.py")


def test_a_pattern_without_literal_ends_turns_the_prefilter_off() -> None:
    selector = PathSelector(patterns=("*",), truncate=(("*.egg-info", 1),)).compile()
    assert selector.prefilter is None
    assert selector.wants("/anything/at/all")
