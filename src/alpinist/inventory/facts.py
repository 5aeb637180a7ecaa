"""Facts about the final filesystem that are not packages: a shell, package managers, layer history.

Everything here reads only entry kinds and links from the ``FileView`` (no contents), except
``introduced_layers``, which reads the kept layer versions of a package database.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from alpinist.errors import InventoryError
from alpinist.images.view import FileView

# Most specific first: the POSIX shell path scripts use, then the shells that provide one.
SHELL_CANDIDATES = (
    "/bin/sh",
    "/usr/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/ash",
    "/bin/dash",
    "/usr/bin/dash",
    "/bin/zsh",
    "/usr/bin/zsh",
    "/bin/busybox",
    "/usr/bin/busybox",
)

DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

PACKAGE_MANAGERS = ("apk", "apt", "apt-get", "dpkg", "rpm", "dnf", "microdnf", "yum", "pip", "pip3")

K = TypeVar("K", bound=Hashable)


def _is_program(view: FileView, path: str) -> bool:
    entry = view.resolve(path)
    return entry is not None and entry.kind in ("file", "hardlink")


def find_shell(view: FileView) -> str | None:
    """The first shell path that resolves (through symlinks, inside the image) to a regular file."""
    for path in SHELL_CANDIDATES:
        if _is_program(view, path):
            return path
    return None


def find_package_managers(view: FileView, path_dirs: Iterable[str] | None = None) -> tuple[str, ...]:
    """Package managers present as programs in the ``PATH`` directories, in a fixed order.

    ``path_dirs`` defaults to the usual ``PATH``; pass the image's own ``PATH`` (split on ``:``) to
    also see a venv's ``pip``.
    """
    dirs = tuple(d.rstrip("/") or "/" for d in (path_dirs if path_dirs is not None else DEFAULT_PATH) if d)
    found: list[str] = []
    for name in PACKAGE_MANAGERS:
        if any(_is_program(view, f"{d.rstrip('/')}/{name}") for d in dirs):
            found.append(name)
    return tuple(found)


def introduced_layers(
    view: FileView,
    path: str,
    final_keys: Iterable[K],
    keys_of: Callable[[bytes], Iterable[K]],
) -> dict[K, int]:
    """For each key of the final package database at ``path``, the layer that introduced it.

    ``view.versions`` holds every layer's version of the database (bottom first). A key's layer is
    the earliest version from which it is present in every later version up to the final one: a
    package removed and re-installed counts from its re-installation. Versions that cannot be read
    or parsed end the search (the layers above them are still exact). Keys missing from the result
    (no history kept) are the caller's to place, usually in the final file's layer.
    """
    real = view.realpath(path) or path
    versions = view.versions(real)
    final = view.get(real)
    if not versions or final is None or versions[-1].layer != final.layer:
        return {}
    alive = set(final_keys)
    result = {key: final.layer for key in alive}
    for entry in reversed(versions[:-1]):
        if not alive or entry.kind != "file" or entry.content is None:
            break
        try:
            present = set(keys_of(entry.content))
        except InventoryError:
            break
        for key in list(alive):
            if key in present:
                result[key] = entry.layer
            else:
                alive.discard(key)
    return result
