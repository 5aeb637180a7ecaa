"""The unpackaged-CPython cataloger on hand-built views (the real python-app images: test_catalog.py)."""

from __future__ import annotations

from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.cpython import CPythonCataloger, cpe_escape, patchlevel_version
from alpinist.models import Package

PATCHLEVEL = (
    "#define PY_MAJOR_VERSION        3\n#define PY_MINOR_VERSION        11\n"
    '/* Version as a string */\n#define PY_VERSION              "3.11.2"\n'
)


def file_entry(path: str, data: bytes | None = None, layer: int = 1) -> FileEntry:
    return FileEntry(path=path, kind="file", size=len(data or b""), mode=0o755, layer=layer, content=data)


def link(path: str, target: str) -> FileEntry:
    return FileEntry(path=path, kind="symlink", size=0, mode=0o777, layer=1, linkname=target)


def official_image(include_header: bool = True) -> dict[str, FileEntry]:
    entries = {
        "/usr/local/bin/python3.11": file_entry("/usr/local/bin/python3.11"),
        "/usr/local/bin/python3": link("/usr/local/bin/python3", "python3.11"),
        "/usr/local/bin/python3.11-config": file_entry("/usr/local/bin/python3.11-config"),
        "/usr/local/lib/libpython3.11.so.1.0": file_entry("/usr/local/lib/libpython3.11.so.1.0"),
        "/usr/local/lib/libpython3.11.so": link("/usr/local/lib/libpython3.11.so", "libpython3.11.so.1.0"),
    }
    if include_header:
        path = "/usr/local/include/python3.11/patchlevel.h"
        entries[path] = file_entry(path, PATCHLEVEL.encode())
    return entries


def run(
    entries: dict[str, FileEntry], env: tuple[str, ...] = (), os_packages: tuple[Package, ...] = ()
) -> list[Package]:
    context = CatalogContext(os=None, env=env, layer_ids=("sha256:l0", "sha256:l1"), os_packages=os_packages)
    return CPythonCataloger().catalog(FileView(entries=entries), context)


def test_official_image_layout() -> None:
    (pkg,) = run(official_image(), env=("PATH=/usr/local/bin:/usr/bin", "PYTHON_VERSION=3.11.2"))
    assert (pkg.name, pkg.version, pkg.type, pkg.purl) == (
        "python",
        "3.11.2",
        "binary",
        "pkg:generic/python@3.11.2",
    )
    assert pkg.cpes == ("cpe:2.3:a:python:python:3.11.2:*:*:*:*:*:*:*",)
    assert pkg.locations == (
        "/usr/local/bin/python3.11",
        "/usr/local/lib/libpython3.11.so",
        "/usr/local/lib/libpython3.11.so.1.0",
        "/usr/local/include/python3.11/patchlevel.h",
    )
    assert pkg.evidence[0] == "ENV PYTHON_VERSION=3.11.2"
    assert (pkg.layer_index, pkg.layer) == (1, "sha256:l1")


def test_header_wins_over_env() -> None:
    (pkg,) = run(official_image(), env=("PYTHON_VERSION=3.11.9",))
    assert pkg.version == "3.11.2"
    assert "ENV PYTHON_VERSION=3.11.9" in pkg.evidence


def test_env_version_without_header() -> None:
    (pkg,) = run(official_image(include_header=False), env=("PYTHON_VERSION=3.11.2",))
    assert pkg.version == "3.11.2"
    assert not any("patchlevel" in e for e in pkg.evidence)


def test_env_of_another_branch_is_not_evidence() -> None:
    (pkg,) = run(official_image(include_header=False), env=("PYTHON_VERSION=3.12.1",))
    assert pkg.version == "3.11"
    assert not any("PYTHON_VERSION" in e for e in pkg.evidence)
    assert any("patch level unknown" in e for e in pkg.evidence)


def test_binary_owned_by_an_os_package_is_not_reported() -> None:
    apk = Package(
        name="python3",
        version="3.11.10-r0",
        type="apk",
        purl="pkg:apk/alpine/python3@3.11.10-r0",
        files=("/usr/local/bin/python3.11",),
    )
    assert run(official_image(), env=("PYTHON_VERSION=3.11.2",), os_packages=(apk,)) == []


def test_no_binary_no_package() -> None:
    entries = official_image()
    del entries["/usr/local/bin/python3.11"]
    assert run(entries, env=("PYTHON_VERSION=3.11.2",)) == []


def test_binary_that_is_a_link_to_a_file_counts_and_a_dangling_one_does_not() -> None:
    entries = official_image()
    entries["/usr/local/bin/python3.11"] = link("/usr/local/bin/python3.11", "../python/bin/python3.11")
    entries["/usr/local/python/bin/python3.11"] = file_entry("/usr/local/python/bin/python3.11", layer=0)
    (pkg,) = run(entries)
    assert pkg.version == "3.11.2" and pkg.layer_index == 0
    del entries["/usr/local/python/bin/python3.11"]
    assert run(entries) == []


def test_two_branches_two_packages() -> None:
    entries = official_image()
    entries["/usr/local/bin/python3.12"] = file_entry("/usr/local/bin/python3.12")
    assert sorted(p.version for p in run(entries, env=("PYTHON_VERSION=3.12.7",))) == ["3.11.2", "3.12.7"]


def test_patchlevel_and_cpe_escape() -> None:
    assert patchlevel_version(PATCHLEVEL) == "3.11.2"
    assert patchlevel_version('#  define PY_VERSION "3.13.0rc1+"') == "3.13.0rc1+"
    assert patchlevel_version("no version here") is None
    assert cpe_escape("3.13.0rc1+") == "3.13.0rc1\\+"
