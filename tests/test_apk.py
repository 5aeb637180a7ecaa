"""The apk cataloger: database parsing, origins, purls, apk v3 paths and the layer that added a package."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpinist.errors import InventoryError
from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.apk import ApkCataloger, apk_purl, parse_installed, split_license
from alpinist.inventory.base import CatalogContext
from alpinist.models import OSInfo

ALPINE = OSInfo(id="alpine", version_id="3.20.3", version="3.20.3")
LAYERS = ("sha256:l0", "sha256:l1", "sha256:l2", "sha256:l3")
CONTEXT = CatalogContext(os=ALPINE, env=(), layer_ids=LAYERS)
DB = "/lib/apk/db/installed"


def stanza(name: str, version: str, origin: str | None = None, extra: str = "") -> str:
    text = f"P:{name}\nV:{version}\nA:x86_64\n"
    if origin:
        text += f"o:{origin}\n"
    return text + extra + "\n"


def file_entry(path: str, text: str, layer: int = 0) -> FileEntry:
    data = text.encode()
    return FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=layer, content=data)


def db_view(*versions: str, path: str = DB) -> FileView:
    """A view whose database was written by layers 0, 1, 2... with the given contents."""
    history = [file_entry(path, text, layer) for layer, text in enumerate(versions)]
    return FileView(entries={path: history[-1]}, history={path: history})


def test_fields_files_and_origin() -> None:
    text = (
        "C:Q1abc=\nP:libssl3\nV:3.3.2-r0\nA:x86_64\nL:Apache-2.0\no:openssl\nm:Someone <s@example.org>\n"
        "c:0123abcd\nD:so:libc.musl-x86_64.so.1 so:libcrypto.so.3\np:so:libssl.so.3=3\n"
        "R:toplevel\nF:usr\nF:usr/lib\nR:libssl.so.3\na:0:0:755\nZ:Q1zz=\nF:etc/ssl/\nR:openssl.cnf\n\n"
    )
    (pkg,) = ApkCataloger().catalog(db_view(text), CONTEXT)
    assert (pkg.name, pkg.version, pkg.type, pkg.arch, pkg.origin) == (
        "libssl3",
        "3.3.2-r0",
        "apk",
        "x86_64",
        "openssl",
    )
    assert pkg.licenses == ("Apache-2.0",)
    assert pkg.files == (
        "/toplevel",
        "/usr",
        "/usr/lib",
        "/usr/lib/libssl.so.3",
        "/etc/ssl",
        "/etc/ssl/openssl.cnf",
    )
    assert pkg.purl == "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
    assert pkg.locations == (DB,)
    meta = dict(pkg.metadata)
    assert meta["commit"] == "0123abcd" and meta["checksum"] == "Q1abc="
    assert meta["depends"] == "so:libc.musl-x86_64.so.1 so:libcrypto.so.3"
    assert meta["provides"] == "so:libssl.so.3=3"


def test_missing_origin_means_own_origin() -> None:
    (pkg,) = ApkCataloger().catalog(db_view(stanza("musl", "1.2.5-r0")), CONTEXT)
    assert pkg.origin == "musl"
    assert pkg.purl == "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"


def test_purl_escapes_are_upper_case() -> None:
    assert apk_purl("libstdc++", "13.2.1-r0", "x86_64", "gcc", ALPINE) == (
        "pkg:apk/alpine/libstdc%2B%2B@13.2.1-r0?arch=x86_64&distro=alpine-3.20.3&upstream=gcc"
    )


def test_purl_without_os() -> None:
    assert apk_purl("musl", "1.2.5-r0", None, "musl", None) == "pkg:apk/alpine/musl@1.2.5-r0"


@pytest.mark.parametrize(
    ("value", "licenses"),
    [
        ("MIT", ("MIT",)),
        ("MIT BSD GPL2+", ("MIT", "BSD", "GPL2+")),
        ("MIT AND BSD-2-Clause", ("MIT AND BSD-2-Clause",)),
        ("( Apache-2.0 OR MIT )  AND MPL-2.0", ("( Apache-2.0 OR MIT ) AND MPL-2.0",)),
        ("GPL-2.0-or-later WITH Linux-syscall-note", ("GPL-2.0-or-later WITH Linux-syscall-note",)),
        ("", ()),
        (None, ()),
    ],
)
def test_license_split(value: str | None, licenses: tuple[str, ...]) -> None:
    assert split_license(value) == licenses


def test_stanzas_without_name_or_version_are_skipped() -> None:
    text = "P:noversion\nA:x86_64\n\nV:1.0\n\n" + stanza("ok", "1.0-r0")
    assert [r.name for r in parse_installed(text)] == ["ok"]


def test_corrupt_line_names_the_file_and_line() -> None:
    with pytest.raises(InventoryError, match=r"/lib/apk/db/installed: line 3"):
        ApkCataloger().catalog(db_view("P:a\nV:1\nthis is not a field\n"), CONTEXT)


@given(st.text(max_size=300))
def test_parser_raises_only_inventory_errors(text: str) -> None:
    try:
        records = parse_installed(text)
    except InventoryError:
        return
    assert all(r.name and r.version for r in records)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_+", min_size=1, max_size=12)


@given(st.lists(st.tuples(_WORD, _WORD, st.one_of(st.none(), _WORD)), max_size=8))
def test_generated_databases_round_trip(rows: list[tuple[str, str, str | None]]) -> None:
    text = "".join(stanza(n, v, o) for n, v, o in rows)
    assert [(r.name, r.version, r.origin) for r in parse_installed(text)] == rows


def test_apk_v3_database_under_usr_lib() -> None:
    view = db_view(stanza("apk-tools", "3.0.0-r0"), path="/usr/lib/apk/db/installed")
    (pkg,) = ApkCataloger().catalog(view, CONTEXT)
    assert pkg.locations == ("/usr/lib/apk/db/installed",)


def test_lib_apk_db_symlinked_to_usr_lib_counts_once() -> None:
    real = "/usr/lib/apk/db/installed"
    view = db_view(stanza("musl", "1.2.5-r0"), path=real)
    view.entries["/lib/apk/db"] = FileEntry(
        path="/lib/apk/db", kind="symlink", size=0, mode=0o777, layer=0, linkname="../../usr/lib/apk/db"
    )
    packages = ApkCataloger().catalog(view, CONTEXT)
    assert [(p.name, p.locations) for p in packages] == [("musl", (real,))]


def test_unread_database_is_an_error() -> None:
    entry = FileEntry(path=DB, kind="file", size=10**9, mode=0o644, layer=0, content=None)
    with pytest.raises(InventoryError, match="was not read"):
        ApkCataloger().catalog(FileView(entries={DB: entry}), CONTEXT)


def test_no_database_no_packages() -> None:
    assert ApkCataloger().catalog(FileView(entries={}), CONTEXT) == []


def test_layer_that_introduced_each_package() -> None:
    base = stanza("musl", "1.2.5-r0") + stanza("zlib", "1.3.1-r1") + stanza("busybox", "1.36.1-r29")
    view = db_view(
        base,  # layer 0
        stanza("musl", "1.2.5-r0") + stanza("busybox", "1.36.1-r29"),  # layer 1: zlib removed
        base + stanza("curl", "8.9.1-r1"),  # layer 2: zlib back, curl added
        stanza("musl", "1.2.5-r0")
        + stanza("zlib", "1.3.1-r1")  # layer 3: busybox upgraded, curl removed
        + stanza("busybox", "1.36.1-r30"),
    )
    layers = {p.name: (p.layer_index, p.layer) for p in ApkCataloger().catalog(view, CONTEXT)}
    assert layers == {
        "musl": (0, "sha256:l0"),
        "zlib": (2, "sha256:l2"),
        "busybox": (3, "sha256:l3"),
    }


def test_unreadable_old_version_stops_the_search() -> None:
    view = db_view(stanza("musl", "1.2.5-r0"), stanza("musl", "1.2.5-r0"), stanza("musl", "1.2.5-r0"))
    middle = view.history[DB][1]
    view.history[DB][1] = FileEntry(middle.path, "file", middle.size, middle.mode, 1, content=None)
    (pkg,) = ApkCataloger().catalog(view, CONTEXT)
    assert pkg.layer_index == 2
    corrupt = db_view("garbage line\n", stanza("musl", "1.2.5-r0"))
    (pkg,) = ApkCataloger().catalog(corrupt, CONTEXT)
    assert pkg.layer_index == 1


def test_without_history_the_database_layer_is_used() -> None:
    entry = file_entry(DB, stanza("musl", "1.2.5-r0"), layer=3)
    (pkg,) = ApkCataloger().catalog(FileView(entries={DB: entry}), CONTEXT)
    assert (pkg.layer_index, pkg.layer) == (3, "sha256:l3")
