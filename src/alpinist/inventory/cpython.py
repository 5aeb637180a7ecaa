"""CPython built into ``/usr/local`` (official ``python:*`` images): an interpreter no package DB knows.

Evidence, per ``/usr/local/bin/python3.X`` that is a regular file (through links) and that no OS
package owns:

* ``/usr/local/include/python3.X/patchlevel.h`` ``#define PY_VERSION "3.11.2"`` — the build itself;
* ``ENV PYTHON_VERSION=3.11.2`` of the image config, when it is a 3.X version;
* ``/usr/local/lib/libpython3.X*.so*`` — reported as evidence only.

The version is PY_VERSION, else PYTHON_VERSION, else ``3.X`` alone (the branch is known, the patch
level is not; the evidence says so). CPython advisories are compared within the 3.X branch.
"""

from __future__ import annotations

import re

from packageurl import PackageURL

from alpinist.images.view import FileView, PathSelector
from alpinist.inventory.apk import canonical_purl
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.python import owner_index
from alpinist.models import Package

BIN_DIR = "/usr/local/bin"
PATCHLEVEL = "/usr/local/include/python{branch}/patchlevel.h"

_BINARY = re.compile(r"/usr/local/bin/python(3\.\d+)")
_PY_VERSION = re.compile(r'^\s*#\s*define\s+PY_VERSION\s+"([^"]+)"', re.MULTILINE)


def _in_branch(version: str | None, branch: str) -> bool:
    return bool(version) and (version == branch or (version or "").startswith(branch + "."))


def cpe_escape(value: str) -> str:
    """Quote a value for a CPE 2.3 formatted string (every character but [A-Za-z0-9._-] is escaped)."""
    return re.sub(r"([^A-Za-z0-9._-])", r"\\\1", value)


def patchlevel_version(text: str) -> str | None:
    match = _PY_VERSION.search(text)
    return match.group(1).strip() if match else None


class CPythonCataloger:
    name = "cpython"
    selector = PathSelector(patterns=("/usr/local/include/python3.*/patchlevel.h",))

    def catalog(self, view: FileView, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        owners: dict[str, str] | None = None
        for path in view.glob(f"{BIN_DIR}/python3.*"):
            match = _BINARY.fullmatch(path)
            entry = view.resolve(path)
            if match is None or entry is None or entry.kind not in ("file", "hardlink"):
                continue
            if owners is None:
                owners = owner_index(view, context)
            real = view.realpath(path)
            if path in owners or (real is not None and real in owners):
                continue  # the distro's own python: its package database reports it
            branch = match.group(1)
            evidence: list[str] = []
            env_version = context.env_value("PYTHON_VERSION")
            if _in_branch(env_version, branch):
                evidence.append(f"ENV PYTHON_VERSION={env_version}")
            else:
                env_version = None
            evidence.append(f"binary {path}")
            libraries = [
                p
                for p in view.glob(f"/usr/local/lib/libpython{branch}*.so*")
                if (e := view.get(p)) is not None and e.kind in ("file", "hardlink", "symlink")
            ]
            evidence.extend(f"library {p}" for p in libraries)
            header_path = PATCHLEVEL.format(branch=branch)
            header_text = view.read_text(header_path)
            header_version = patchlevel_version(header_text) if header_text is not None else None
            if not _in_branch(header_version, branch):
                header_version = None
            else:
                evidence.append(f'{header_path}: PY_VERSION "{header_version}"')
            version = header_version or env_version or branch
            if version == branch:
                evidence.append(f"patch level unknown: only the binary name gives {branch}")
            locations = (path, *libraries, *((header_path,) if header_version else ()))
            packages.append(
                Package(
                    name="python",
                    version=version,
                    type="binary",
                    purl=canonical_purl(PackageURL(type="generic", name="python", version=version)),
                    layer=context.layer_id(entry.layer),
                    layer_index=entry.layer,
                    locations=locations,
                    cpes=(f"cpe:2.3:a:python:python:{cpe_escape(version)}:*:*:*:*:*:*:*",),
                    evidence=tuple(evidence),
                    metadata=(("branch", branch),),
                )
            )
        return packages
