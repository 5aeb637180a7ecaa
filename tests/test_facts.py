"""Shell and package-manager facts of a final filesystem (real images: test_catalog.py)."""

from __future__ import annotations

from alpinist.images.view import FileEntry, FileView
from alpinist.inventory.facts import find_package_managers, find_shell


def view_of(files: tuple[str, ...], links: dict[str, str] | None = None) -> FileView:
    entries = {p: FileEntry(path=p, kind="file", size=1, mode=0o755, layer=0) for p in files}
    for path, target in (links or {}).items():
        entries[path] = FileEntry(path=path, kind="symlink", size=0, mode=0o777, layer=0, linkname=target)
    return FileView(entries=entries)


def test_shell_through_links() -> None:
    view = view_of(("/usr/bin/dash",), {"/bin": "usr/bin", "/usr/bin/sh": "dash"})
    assert find_shell(view) == "/bin/sh"


def test_dangling_sh_falls_back_to_another_shell() -> None:
    view = view_of(("/bin/bash",), {"/bin/sh": "/bin/missing"})
    assert find_shell(view) == "/bin/bash"


def test_busybox_alone_is_a_shell() -> None:
    assert find_shell(view_of(("/bin/busybox",))) == "/bin/busybox"


def test_no_shell() -> None:
    assert find_shell(view_of(("/app/server",), {"/bin/sh": "../../../../bin/sh"})) is None


def test_package_managers_in_path_dirs() -> None:
    view = view_of(
        ("/sbin/apk", "/usr/bin/dpkg", "/opt/venv/bin/pip", "/usr/bin/pipe_progress", "/usr/local/bin/pip3"),
        {"/usr/bin/apt-get": "/nowhere"},
    )
    assert find_package_managers(view) == ("apk", "dpkg", "pip3")
    assert find_package_managers(view, ["/opt/venv/bin", "/usr/bin"]) == ("dpkg", "pip")


def test_directory_named_like_a_tool_is_not_one() -> None:
    view = FileView(
        entries={"/usr/bin/rpm": FileEntry(path="/usr/bin/rpm", kind="dir", size=0, mode=0o755, layer=0)}
    )
    assert find_package_managers(view) == ()
