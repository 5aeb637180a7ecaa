"""os-release(5) parsing and distribution detection."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.osrelease import codename_from_version, detect_os, parse_os_release
from alpinist.models import OSInfo

from .conftest import PEERS

DEBIAN_12 = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
    'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\n'
)
ALPINE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'


def view_of(files: dict[str, str], links: dict[str, str] | None = None) -> FileView:
    entries = {
        path: FileEntry(path=path, kind="file", size=len(text), mode=0o644, layer=0, content=text.encode())
        for path, text in files.items()
    }
    for path, target in (links or {}).items():
        entries[path] = FileEntry(path=path, kind="symlink", size=0, mode=0o777, layer=0, linkname=target)
    return FileView(entries=entries)


def test_quoting_rules() -> None:
    text = (
        "# a comment\n"
        "\n"
        'A="double quoted"\n'
        "B='single quoted $HOME'\n"
        "C=bare\n"
        'D="escaped \\"quote\\" \\\\ \\$dollar \\`tick\\`"\n'
        "E=\n"
        "not an assignment\n"
        "1BAD=x\n"
        'F="unbalanced\n'
        "C=later wins\n"
    )
    assert parse_os_release(text) == {
        "A": "double quoted",
        "B": "single quoted $HOME",
        "C": "later wins",
        "D": 'escaped "quote" \\ $dollar `tick`',
        "E": "",
        "F": "unbalanced",
    }


_VALUE_CHARS = string.ascii_letters + string.digits + " .,;:()/_-+=#!?&*'\"\\$`~@%^[]{}<>|"


def _double_quote(value: str) -> str:
    """Quote as os-release(5) says: double quotes, with \\ " $ ` escaped by a backslash."""
    return '"' + "".join("\\" + c if c in '\\"$`' else c for c in value) + '"'


@given(st.text(alphabet=_VALUE_CHARS, max_size=40))
def test_double_quoted_values_round_trip(value: str) -> None:
    assert parse_os_release(f"PRETTY_NAME={_double_quote(value)}\n") == {"PRETTY_NAME": value}


@given(st.text(alphabet=_VALUE_CHARS.replace("'", ""), max_size=40))
def test_single_quoted_values_are_literal(value: str) -> None:
    assert parse_os_release(f"NAME='{value}'\n") == {"NAME": value}


@given(st.text(max_size=200))
def test_parser_never_crashes(text: str) -> None:
    result = parse_os_release(text)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())


def test_codename_from_version() -> None:
    assert codename_from_version("12 (bookworm)") == "bookworm"
    assert codename_from_version("22.04.3 LTS (Jammy Jellyfish)") == "jammy"
    assert codename_from_version("3.20") is None


def test_debian_point_release_from_debian_version() -> None:
    view = view_of(
        {"/usr/lib/os-release": DEBIAN_12, "/etc/debian_version": "12.15\n"},
        {"/etc/os-release": "../usr/lib/os-release"},
    )
    assert detect_os(view) == OSInfo(
        id="debian",
        version_id="12",
        version="12.15",
        codename="bookworm",
        pretty_name="Debian GNU/Linux 12 (bookworm)",
    )


def test_debian_testing_keeps_version_id() -> None:
    text = 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=trixie\nID=debian\n'
    info = detect_os(view_of({"/etc/os-release": text, "/etc/debian_version": "trixie/sid\n"}))
    assert info is not None
    assert (info.id, info.version_id, info.version, info.codename) == ("debian", "", "", "trixie")


def test_codename_parsed_from_version_when_no_codename_field() -> None:
    text = 'ID=debian\nVERSION_ID="11"\nVERSION="11 (bullseye)"\n'
    info = detect_os(view_of({"/etc/os-release": text}))
    assert info is not None and info.codename == "bullseye" and info.version == "11"


def test_ubuntu_ignores_debian_version() -> None:
    text = 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n'
    info = detect_os(view_of({"/etc/os-release": text, "/etc/debian_version": "bookworm/sid\n"}))
    assert info is not None
    assert (info.id, info.version_id, info.version, info.codename, info.id_like) == (
        "ubuntu",
        "22.04",
        "22.04",
        "jammy",
        ("debian",),
    )
    assert info.release == "22"


def test_alpine_release_refines_the_version() -> None:
    info = detect_os(
        view_of({"/etc/os-release": ALPINE.replace("3.20.3", "3.20.0"), "/etc/alpine-release": "3.20.3\n"})
    )
    assert info is not None
    assert (info.id, info.version_id, info.version, info.release) == ("alpine", "3.20.0", "3.20.3", "3.20")


def test_usr_lib_os_release_alone() -> None:
    info = detect_os(view_of({"/usr/lib/os-release": ALPINE}))
    assert info is not None and info.id == "alpine" and info.pretty_name == "Alpine Linux v3.20"


def test_version_files_without_os_release() -> None:
    assert detect_os(view_of({"/etc/alpine-release": "3.18.9\n"})) == OSInfo("alpine", "3.18.9", "3.18.9")
    assert detect_os(view_of({"/etc/debian_version": "12.15\n"})) == OSInfo("debian", "12", "12.15")
    assert detect_os(view_of({"/etc/debian_version": "trixie/sid\n"})) is None
    assert detect_os(view_of({})) is None


def test_dangling_os_release_link_is_no_os() -> None:
    assert detect_os(view_of({}, {"/etc/os-release": "../usr/lib/os-release"})) is None


def test_osv_scalibr_os_release_strings() -> None:
    """osv-scalibr's bookworm os-release gives id/version_id/codename as its tests expect."""
    import json

    doc = json.loads((PEERS / "osv-scalibr/dpkg/expected.json").read_text())
    exp = doc["cases"][0]["expected"][0]
    info = detect_os(view_of({"/etc/os-release": doc["os_release_bookworm"]}))
    assert info is not None
    assert (info.id, info.version_id, info.codename) == (
        exp["os_id"],
        exp["os_version_id"],
        exp["os_version_codename"],
    )
