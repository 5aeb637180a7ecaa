"""Installed Python distributions: every ``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO`` and
``*.egg-info`` regular file anywhere in the final filesystem (``DIST-INFO``/``EGG-INFO`` too).

* Name: as written in ``Name:`` (``Jinja2``), and PEP 503-normalised in the purl (``pkg:pypi/jinja2``).
* Location: the ``.dist-info``/``.egg-info`` directory, or the ``.egg-info`` file itself.
* Licences: ``License-Expression``, else a one-line ``License:`` other than ``UNKNOWN``, else the
  ``License ::`` classifiers (last segment; ``OSI Approved`` alone says nothing). syft takes the
  ``License:`` field, trivy prefers the classifiers: the author's own words are usually the more
  precise (``Apache 2.0`` against ``Apache Software License``), so they come first. ``UNKNOWN`` is no
  value, and a multi-line ``License:`` (the licence text itself, not a name) is left out.
* Owner: ``deb:<pkg>``/``apk:<pkg>`` when an OS package's file list contains the metadata file or
  the dist-info/egg-info path (such copies belong to the distro's advisories, not PyPI's).
* Vendored: copies under ``_vendor/``/``_vendored/`` or inside an unpacked ``*.whl`` directory.
* Skipped: metadata without ``Name:`` (an empty egg-info) and the interpreter's own
  ``Python-X.Y.egg-info`` (``Name: Python``), as syft does.
* Headers are read with ``email.parser`` (RFC 822, as the core metadata spec says), after a repair
  for what real files contain: a header continued on lines without leading whitespace (osv-scalibr's
  ``malformed_pkginfo``) is a continuation, not the end of the headers. Before Metadata-Version 2.1,
  and whenever the description is a ``Description:`` header, a file has no body, so blank lines
  (left by tools that strip the whitespace of blank description lines) do not end the headers
  either: the ``Classifier:`` lines after them are still read. A repeated single-use field
  (``Version:`` twice) keeps its first value, as ``importlib.metadata`` does.
"""

from __future__ import annotations

import email.parser
import email.policy
import posixpath
import re
from email.message import Message

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from alpinist.errors import InventoryError
from alpinist.images.view import FileView, PathSelector
from alpinist.inventory.apk import canonical_purl
from alpinist.inventory.base import CatalogContext
from alpinist.models import Package

METADATA_PATTERNS = ("*dist-info/METADATA", "*DIST-INFO/METADATA", "*egg-info/PKG-INFO", "*EGG-INFO/PKG-INFO")
EGG_INFO_FILE_PATTERN = "*.egg-info"

_HEADER = re.compile(r"[!-9;-~]+:")  # RFC 5322 field name (printable ASCII but ':') then ':'
_VENDOR_DIRS = frozenset(("_vendor", "_vendored"))


_METADATA_VERSION = re.compile(r"Metadata-Version:\s*(\d+)\.(\d+)", re.IGNORECASE)


def _has_body(lines: list[str]) -> bool:
    """Whether a blank line may separate the headers from a body (the description, metadata >= 2.1)."""
    version: tuple[int, int] | None = None
    for line in lines:
        if not line:
            break
        if line.lower().startswith("description:"):
            return False
        match = _METADATA_VERSION.match(line)
        if match:
            version = (int(match.group(1)), int(match.group(2)))
    return version is not None and version >= (2, 1)


def _repair_headers(text: str) -> str:
    """Make every line of the header block a header or a continuation (see the module docstring)."""
    lines = text.splitlines()
    has_body = _has_body(lines)
    for i, line in enumerate(lines):
        if not line:
            if has_body:
                # the header/body separator: the body (a README, often most of the file) is never
                # read, and the email parser would split it into lines for nothing
                del lines[i:]
                break
            lines[i] = " "  # a blank line inside a folded value: a whitespace-only continuation
            continue
        if i > 0 and not line[0].isspace() and not _HEADER.match(line):
            lines[i] = " " + line
    return "\n".join(lines) + "\n"


def parse_metadata(data: bytes) -> Message:
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    parser = email.parser.HeaderParser(policy=email.policy.compat32)
    return parser.parsestr(_repair_headers(text))


def _field(msg: Message, name: str) -> str:
    value = msg.get(name)
    return str(value).strip() if value is not None else ""


def licenses_of(msg: Message) -> tuple[str, ...]:
    expression = " ".join(_field(msg, "License-Expression").split())
    if expression:
        return (expression,)
    field = _field(msg, "License")
    if field and "\n" not in field and field.upper() != "UNKNOWN":
        return (field,)
    classifiers: list[str] = []
    for classifier in msg.get_all("Classifier") or []:
        parts = [p.strip() for p in str(classifier).split("::")]
        if len(parts) >= 2 and parts[0] == "License" and parts[-1] not in ("OSI Approved", ""):
            classifiers.append(parts[-1])
    return tuple(dict.fromkeys(classifiers))


def is_vendored(location: str) -> bool:
    parts = location.split("/")[:-1]
    return any(p in _VENDOR_DIRS or p.endswith(".whl") for p in parts)


def pypi_purl(name: str, version: str) -> str:
    return canonical_purl(PackageURL(type="pypi", name=canonicalize_name(name), version=version or None))


def owner_index(view: FileView, context: CatalogContext) -> dict[str, str]:
    """Every file an OS package owns (as a real path in the view) -> ``deb:<pkg>``/``apk:<pkg>``."""
    index: dict[str, str] = {}
    for pkg in context.os_packages:
        owner = f"{pkg.type}:{pkg.name}"
        for path in pkg.files:
            index.setdefault(path, owner)
            real = view.realpath(path)
            if real is not None:
                index.setdefault(real, owner)
    return index


def _candidates(view: FileView) -> list[tuple[str, str]]:
    """(metadata file, location) of every distribution record in the view."""
    found: dict[str, str] = {}
    for pattern in METADATA_PATTERNS:
        for path in view.glob(pattern):
            found.setdefault(path, posixpath.dirname(path))
    for path in view.glob(EGG_INFO_FILE_PATTERN):
        found.setdefault(path, path)
    return sorted(found.items())


class PythonCataloger:
    name = "python"
    # Metadata is evidence, not essential: the first MiB of each file is kept (a METADATA body can
    # hold a whole README) and a larger file never refuses its layer. The headers read here come
    # before the first blank line, at the top; see the test_truncate module for what a cut changes.
    selector = PathSelector(truncate=tuple((p, 1 << 20) for p in (*METADATA_PATTERNS, EGG_INFO_FILE_PATTERN)))

    def catalog(self, view: FileView, context: CatalogContext) -> list[Package]:
        owners: dict[str, str] | None = None
        packages: list[Package] = []
        for meta_path, location in _candidates(view):
            entry = view.resolve(meta_path)
            if entry is None or entry.kind not in ("file", "hardlink"):
                continue  # an egg-info directory matched by the file pattern, or a dangling link
            if entry.content is None:
                literal = view.get(meta_path)
                if literal is not None and literal.kind in ("symlink", "hardlink"):
                    # A link to a path no selector pattern names: its bytes were never kept. Rare
                    # (old Debian python-support linked egg-info into /usr/share/pyshared); skipped.
                    continue
                raise InventoryError(f"{meta_path}: Python metadata was not read (over the size limit?)")
            data = entry.content
            if entry.truncated:  # the last line of a cut file may be cut too: never parse half a header
                data = data[: data.rfind(b"\n") + 1]
            msg = parse_metadata(data)
            name = _field(msg, "Name")
            if not name or canonicalize_name(name) == "python":
                continue
            version = _field(msg, "Version")
            if owners is None:
                owners = owner_index(view, context)
            owner = owners.get(meta_path) or owners.get(location)
            if owner is None:
                real = view.realpath(location)
                owner = owners.get(real) if real is not None else None
            metadata = tuple(
                (k, v)
                for k, v in (
                    ("normalized_name", str(canonicalize_name(name))),
                    ("metadata_file", meta_path),
                    ("author", _field(msg, "Author")),
                    ("requires_python", _field(msg, "Requires-Python")),
                )
                if v
            )
            packages.append(
                Package(
                    name=name,
                    version=version,
                    type="python",
                    purl=pypi_purl(name, version),
                    layer=context.layer_id(entry.layer),
                    layer_index=entry.layer,
                    licenses=licenses_of(msg),
                    locations=(location,),
                    owner=owner,
                    vendored=is_vendored(location),
                    metadata=metadata,
                )
            )
        return packages
