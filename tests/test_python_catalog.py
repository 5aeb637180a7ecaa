"""The Python distribution cataloger: where it looks, what it reads, ownership and vendoring."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpinist.errors import InventoryError
from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.python import PythonCataloger, licenses_of, parse_metadata
from alpinist.models import Package

SITE = "/usr/local/lib/python3.11/site-packages"


def metadata(name: str, version: str, *extra: str, metadata_version: str = "2.1") -> bytes:
    return "\n".join(
        [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}", *extra, ""]
    ).encode()


def file_entry(path: str, data: bytes, layer: int = 0) -> FileEntry:
    return FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=layer, content=data)


def dir_entry(path: str) -> FileEntry:
    return FileEntry(path=path, kind="dir", size=0, mode=0o755, layer=0)


def view_of(
    files: dict[str, bytes], dirs: tuple[str, ...] = (), links: dict[str, str] | None = None
) -> FileView:
    entries = {p: file_entry(p, d) for p, d in files.items()}
    entries |= {d: dir_entry(d) for d in dirs}
    for path, target in (links or {}).items():
        entries[path] = FileEntry(path=path, kind="symlink", size=0, mode=0o777, layer=0, linkname=target)
    return FileView(entries=entries)


def run(view: FileView, os_packages: tuple[Package, ...] = ()) -> list[Package]:
    context = CatalogContext(os=None, env=(), layer_ids=("sha256:l0", "sha256:l1"), os_packages=os_packages)
    return PythonCataloger().catalog(view, context)


def test_dist_info_egg_info_dir_and_egg_info_file() -> None:
    view = view_of(
        {
            f"{SITE}/Jinja2-3.1.4.dist-info/METADATA": metadata("Jinja2", "3.1.4"),
            f"{SITE}/MarkupSafe-1.1.1.egg-info/PKG-INFO": metadata("MarkupSafe", "1.1.1"),
            f"{SITE}/six-1.16.0.egg-info": metadata("six", "1.16.0", metadata_version="1.1"),
            f"{SITE}/cssutils-1.0-py2.7.egg/EGG-INFO/PKG-INFO": metadata("cssutils", "1.0"),
        },
        dirs=(f"{SITE}/Jinja2-3.1.4.dist-info", f"{SITE}/MarkupSafe-1.1.1.egg-info"),
    )
    found = {(p.name, p.version, p.locations[0], p.purl) for p in run(view)}
    assert found == {
        ("Jinja2", "3.1.4", f"{SITE}/Jinja2-3.1.4.dist-info", "pkg:pypi/jinja2@3.1.4"),
        ("MarkupSafe", "1.1.1", f"{SITE}/MarkupSafe-1.1.1.egg-info", "pkg:pypi/markupsafe@1.1.1"),
        ("six", "1.16.0", f"{SITE}/six-1.16.0.egg-info", "pkg:pypi/six@1.16.0"),
        ("cssutils", "1.0", f"{SITE}/cssutils-1.0-py2.7.egg/EGG-INFO", "pkg:pypi/cssutils@1.0"),
    }


def test_purl_uses_the_pep_503_name() -> None:
    view = view_of({f"{SITE}/Zope.Interface-6.0.dist-info/METADATA": metadata("Zope.Interface", "6.0")})
    (pkg,) = run(view)
    assert (pkg.name, pkg.purl) == ("Zope.Interface", "pkg:pypi/zope-interface@6.0")


def test_owner_is_the_os_package_listing_the_metadata() -> None:
    dist = "/usr/lib/python3/dist-packages/pip-23.0.1.dist-info"
    deb = Package(
        name="python3-pip",
        version="23.0.1+dfsg-1",
        type="deb",
        purl="pkg:deb/debian/python3-pip@23.0.1%2Bdfsg-1",
        files=(dist, f"{dist}/METADATA"),
    )
    apk = Package(
        name="py3-six",
        version="1.16.0-r9",
        type="apk",
        purl="pkg:apk/alpine/py3-six@1.16.0-r9",
        files=("/usr/lib/python3.12/site-packages/six-1.16.0.dist-info",),  # the directory only
    )
    view = view_of(
        {
            f"{dist}/METADATA": metadata("pip", "23.0.1"),
            "/usr/lib/python3.12/site-packages/six-1.16.0.dist-info/METADATA": metadata("six", "1.16.0"),
            f"{SITE}/requests-2.32.3.dist-info/METADATA": metadata("requests", "2.32.3"),
        }
    )
    owners = {p.name: p.owner for p in run(view, (deb, apk))}
    assert owners == {"pip": "deb:python3-pip", "six": "apk:py3-six", "requests": None}


def test_owner_through_a_symlinked_directory() -> None:
    """dpkg lists /usr/lib/python3/dist-packages, the image has it behind a /usr/lib64 -> lib link."""
    deb = Package(
        name="python3-six",
        version="1.16.0-4",
        type="deb",
        purl="pkg:deb/debian/python3-six@1.16.0-4",
        files=("/usr/lib64/python3/dist-packages/six-1.16.0.egg-info",),
    )
    view = view_of(
        {
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info": metadata(
                "six", "1.16.0", metadata_version="1.1"
            )
        },
        links={"/usr/lib64": "lib"},
    )
    (pkg,) = run(view, (deb,))
    assert pkg.owner == "deb:python3-six"


@pytest.mark.parametrize(
    ("location", "vendored"),
    [
        (f"{SITE}/setuptools/_vendor/packaging-24.2.dist-info", True),
        (f"{SITE}/pip/_vendored/idna-3.7.dist-info", True),
        ("/opt/wheels/urllib3-2.2.3-py3-none-any.whl/urllib3-2.2.3.dist-info", True),
        (f"{SITE}/packaging-24.2.dist-info", False),
        (f"{SITE}/my_vendor_tools-1.0.dist-info", False),
    ],
)
def test_vendored_copies(location: str, vendored: bool) -> None:
    (pkg,) = run(view_of({f"{location}/METADATA": metadata("x", "1.0")}))
    assert pkg.vendored is vendored


def test_skipped_records() -> None:
    view = view_of(
        {
            "/usr/lib/python2.7/lib-dynload/Python-2.7.egg-info": metadata(
                "Python", "2.7.18", metadata_version="1.1"
            ),
            f"{SITE}/empty-1.0.egg-info": b"",
            f"{SITE}/noname-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nVersion: 1.0\n",
            f"{SITE}/notes.txt": metadata("not", "scanned"),
        },
        dirs=(f"{SITE}/dir-only.egg-info",),
    )
    assert run(view) == []


def test_dangling_metadata_link_is_skipped() -> None:
    view = view_of({}, links={f"{SITE}/x-1.0.dist-info/METADATA": "/nowhere"})
    assert run(view) == []


def test_metadata_linked_to_an_unselected_path_is_skipped() -> None:
    target = "/usr/share/pyshared/six-metadata"
    view = view_of({}, links={f"{SITE}/six-1.16.0.egg-info": target})
    view.entries[target] = FileEntry(path=target, kind="file", size=100, mode=0o644, layer=0)  # not selected
    assert run(view) == []


def test_unread_metadata_is_an_error() -> None:
    path = f"{SITE}/big-1.0.dist-info/METADATA"
    view = FileView(entries={path: FileEntry(path=path, kind="file", size=10**9, mode=0o644, layer=0)})
    with pytest.raises(InventoryError, match=r"big-1\.0\.dist-info/METADATA"):
        run(view)


def test_layer_of_the_metadata_file() -> None:
    path = f"{SITE}/idna-3.10.dist-info/METADATA"
    view = FileView(entries={path: file_entry(path, metadata("idna", "3.10"), layer=1)})
    (pkg,) = run(view)
    assert (pkg.layer_index, pkg.layer) == (1, "sha256:l1")


@pytest.mark.parametrize(
    ("lines", "licenses"),
    [
        (["License-Expression: MIT OR  Apache-2.0", "License: BSD"], ("MIT OR Apache-2.0",)),
        (
            ["License: Apache 2.0", "Classifier: License :: OSI Approved :: Apache Software License"],
            ("Apache 2.0",),
        ),
        (["License: UNKNOWN", "Classifier: License :: OSI Approved :: MIT License"], ("MIT License",)),
        (
            [
                "License: Copyright (c) 2020 Someone",
                "        Permission is hereby granted...",
                "Classifier: License :: OSI Approved :: MIT License",
            ],
            ("MIT License",),
        ),
        (["Classifier: License :: OSI Approved", "Classifier: Topic :: Utilities"], ()),
        (
            [
                "Classifier: License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)",
                "Classifier: License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)",
            ],
            ("GNU General Public License v2 or later (GPLv2+)", "Mozilla Public License 1.1 (MPL 1.1)"),
        ),
        ([], ()),
    ],
)
def test_license_precedence(lines: list[str], licenses: tuple[str, ...]) -> None:
    assert licenses_of(parse_metadata(metadata("x", "1", *lines))) == licenses


def test_body_starts_after_the_blank_line_in_metadata_2_1() -> None:
    data = metadata("x", "1", "License: MIT", "", "Classifier: License :: not a header in the body")
    msg = parse_metadata(data)
    assert msg.get_all("Classifier") is None
    assert msg.get_payload() == ""  # the body is dropped before parsing: nothing reads it


def test_blank_lines_in_an_old_description_do_not_end_the_headers() -> None:
    data = metadata(
        "x",
        "1",
        "Description: first paragraph",
        "",
        "        second paragraph",
        "",
        "Platform: any",
        "Classifier: License :: OSI Approved :: BSD License",
        metadata_version="1.2",
    )
    msg = parse_metadata(data)
    assert msg["Platform"] == "any"
    assert licenses_of(msg) == ("BSD License",)


def test_byte_order_mark_and_bad_utf8() -> None:
    msg = parse_metadata(b"\xef\xbb\xbf" + metadata("caf\xe9", "1.0").replace(b"caf\xe9", b"caf\xc3\xa9\xff"))
    assert msg["Name"].startswith("café") and msg["Version"] == "1.0"


@given(st.binary(max_size=400))
def test_metadata_parser_never_crashes(data: bytes) -> None:
    msg = parse_metadata(data)
    assert isinstance(licenses_of(msg), tuple)
