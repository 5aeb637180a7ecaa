"""The dpkg cataloger: stanzas, status rules, sources, owned files, distroless status.d, layers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpinist.errors import InventoryError
from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.dpkg import DpkgCataloger, deb_purl, list_paths, parse_stanzas, split_source
from alpinist.models import OSInfo, Package

DEBIAN = OSInfo(id="debian", version_id="12", version="12.15", codename="bookworm")
CONTEXT = CatalogContext(os=DEBIAN, env=(), layer_ids=("sha256:l0", "sha256:l1", "sha256:l2"))
STATUS = "/var/lib/dpkg/status"


def stanza(name: str, version: str, status: str | None = "install ok installed", **fields: str) -> str:
    text = f"Package: {name}\n"
    if status is not None:
        text += f"Status: {status}\n"
    text += f"Version: {version}\nArchitecture: {fields.pop('arch', 'amd64')}\n"
    text += "".join(f"{k.replace('_', '-').title()}: {v}\n" for k, v in fields.items())
    return text + "\n"


def entry(path: str, text: str, layer: int = 0) -> FileEntry:
    data = text.encode()
    return FileEntry(path=path, kind="file", size=len(data), mode=0o644, layer=layer, content=data)


def view_of(files: dict[str, str], *status_history: str) -> FileView:
    entries = {path: entry(path, text) for path, text in files.items()}
    history: dict[str, list[FileEntry]] = {}
    if status_history:
        history[STATUS] = [entry(STATUS, text, layer) for layer, text in enumerate(status_history)]
        entries[STATUS] = history[STATUS][-1]
    return FileView(entries=entries, history=history)


def catalog(files: dict[str, str], *status_history: str) -> dict[str, Package]:
    return {p.name: p for p in DpkgCataloger().catalog(view_of(files, *status_history), CONTEXT)}


def test_source_with_version_and_purl() -> None:
    text = stanza("libc6", "2.36-9+deb12u9", source="glibc (2.36-9+deb12u4)")
    (pkg,) = DpkgCataloger().catalog(view_of({STATUS: text}), CONTEXT)
    assert (pkg.name, pkg.version, pkg.origin, pkg.source_version, pkg.arch) == (
        "libc6",
        "2.36-9+deb12u9",
        "glibc",
        "2.36-9+deb12u4",
        "amd64",
    )
    assert pkg.purl == (
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12&upstream=glibc%402.36-9%2Bdeb12u4"
    )


def test_no_source_means_the_binary_is_its_own_source() -> None:
    (pkg,) = DpkgCataloger().catalog(view_of({STATUS: stanza("bash", "5.2.15-2+b7")}), CONTEXT)
    assert (pkg.origin, pkg.source_version) == ("bash", "5.2.15-2+b7")
    assert "upstream" not in pkg.purl


def test_epoch_is_kept_in_version_and_purl() -> None:
    (pkg,) = DpkgCataloger().catalog(
        view_of({STATUS: stanza("login", "1:4.13+dfsg1-1+deb12u2", source="shadow")}), CONTEXT
    )
    assert pkg.version == "1:4.13+dfsg1-1+deb12u2"
    assert pkg.purl.startswith("pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bdeb12u2?")


def test_ubuntu_namespace() -> None:
    ubuntu = OSInfo(id="ubuntu", version_id="22.04", version="22.04", codename="jammy")
    assert deb_purl("apt", "2.4.5", "amd64", "apt", "2.4.5", ubuntu) == (
        "pkg:deb/ubuntu/apt@2.4.5?arch=amd64&distro=ubuntu-22.04"
    )


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        ("install ok installed", True),
        ("hold ok installed", True),
        ("deinstall ok installed", True),
        ("install ok triggers-pending", True),
        ("install ok triggers-awaited", True),
        ("install ok half-configured", False),
        ("install ok unpacked", False),
        ("install reinstreq half-installed", False),
        ("deinstall ok config-files", False),
        ("purge ok not-installed", False),
        ("install ok", False),
        (None, False),
    ],
)
def test_status_rules_in_the_status_file(status: str | None, counted: bool) -> None:
    assert bool(catalog({STATUS: stanza("pkg", "1.0", status)})) is counted


def test_owned_files_from_arch_qualified_list() -> None:
    files = {
        STATUS: stanza("libc6", "2.36-9", arch="amd64") + stanza("base-files", "12.4", arch="amd64"),
        "/var/lib/dpkg/info/libc6:amd64.list": "/.\n/lib\n/lib/x86_64-linux-gnu/libc.so.6\n",
        "/var/lib/dpkg/info/base-files.list": "/.\n/etc\n/etc/debian_version\n",
    }
    packages = catalog(files)
    assert packages["libc6"].files == ("/lib", "/lib/x86_64-linux-gnu/libc.so.6")
    assert packages["base-files"].files == ("/etc", "/etc/debian_version")
    assert "/var/lib/dpkg/info/libc6:amd64.list" in packages["libc6"].locations


def test_owned_files_from_md5sums_and_conffiles_without_list() -> None:
    text = stanza(
        "adduser",
        "3.134",
        arch="all",
        conffiles="\n /etc/adduser.conf 5cbf7c\n /etc/deluser.conf ab12 obsolete",
    )
    files = {
        STATUS: text,
        "/var/lib/dpkg/info/adduser.md5sums": "d41d8cd98f00b204e9800998ecf8427e  usr/sbin/adduser\n",
    }
    assert catalog(files)["adduser"].files == (
        "/etc/adduser.conf",
        "/etc/deluser.conf",
        "/usr/sbin/adduser",
    )


def test_distroless_status_d() -> None:
    files = {
        "/var/lib/dpkg/status.d/libssl3": stanza(
            "libssl3", "3.0.15-1~deb12u1", status=None, source="openssl"
        ),
        "/var/lib/dpkg/status.d/libssl3.md5sums": "00  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
        "/var/lib/dpkg/status.d/python3.11": stanza("python3.11", "3.11.2-6", status=None, arch="amd64"),
        "/var/lib/dpkg/status.d/removed": stanza("removed", "1.0", status="deinstall ok config-files"),
        "/var/lib/dpkg/status.d/base.preinst": "#!/bin/sh\n",
    }
    packages = catalog(files)
    assert sorted(packages) == ["libssl3", "python3.11"]
    assert packages["libssl3"].files == ("/usr/lib/x86_64-linux-gnu/libssl.so.3",)
    assert packages["libssl3"].origin == "openssl"


def test_package_in_both_status_and_status_d_is_reported_once() -> None:
    files = {
        STATUS: stanza("tzdata", "2024a-0+deb12u1", arch="all"),
        "/var/lib/dpkg/status.d/tzdata": stanza("tzdata", "2024a-0+deb12u1", status=None, arch="all"),
    }
    packages = DpkgCataloger().catalog(view_of(files), CONTEXT)
    assert [p.locations[0] for p in packages] == [STATUS]


def test_layer_that_introduced_each_package() -> None:
    base = stanza("libc6", "2.36-9") + stanza("bash", "5.2-1")
    packages = catalog(
        {},
        base,  # layer 0
        base + stanza("curl", "7.88-1", status="install ok unpacked"),  # layer 1: curl only unpacked
        stanza("libc6", "2.36-9") + stanza("bash", "5.2-2") + stanza("curl", "7.88-1"),  # layer 2
    )
    assert {n: p.layer_index for n, p in packages.items()} == {"libc6": 0, "bash": 2, "curl": 2}


def test_parser_errors() -> None:
    with pytest.raises(InventoryError, match="line 2: not a 'Field: value' line"):
        parse_stanzas("Package: a\nnonsense\n", STATUS)
    with pytest.raises(InventoryError, match="continuation"):
        parse_stanzas(" leading continuation\n", STATUS)
    with pytest.raises(InventoryError, match="given twice"):
        parse_stanzas("Package: a\npackage: b\n", STATUS)


def test_stanza_layout() -> None:
    text = "Package: a\nDescription: one\n two\n .\n\n\n\nPackage: b\nVersion: 1\n"
    assert parse_stanzas(text, STATUS) == [
        {"package": "a", "description": "one\ntwo\n."},
        {"package": "b", "version": "1"},
    ]


@given(st.text(max_size=300))
def test_parser_raises_only_inventory_errors(text: str) -> None:
    try:
        stanzas = parse_stanzas(text, STATUS)
    except InventoryError:
        return
    assert all(stanzas)


_NAME = st.from_regex(r"[a-z0-9][a-z0-9+.-]{0,15}", fullmatch=True)
_VERSION = st.from_regex(r"([0-9]:)?[0-9][A-Za-z0-9.+~]{0,8}(-[A-Za-z0-9.+~]{1,6})?", fullmatch=True)


@given(st.lists(st.tuples(_NAME, _VERSION), max_size=6, unique_by=lambda t: t[0]))
def test_generated_status_files_round_trip(rows: list[tuple[str, str]]) -> None:
    text = "".join(stanza(n, v) for n, v in rows)
    packages = DpkgCataloger().catalog(view_of({STATUS: text}), CONTEXT)
    assert sorted((p.name, p.version) for p in packages) == sorted(rows)


def test_split_source_and_list_paths() -> None:
    assert split_source("glibc (2.36-9+deb12u4)") == ("glibc", "2.36-9+deb12u4")
    assert split_source("  openssl  ") == ("openssl", "")
    assert list_paths("/.\n\n/usr\n/usr/bin/x\n") == ("/usr", "/usr/bin/x")
