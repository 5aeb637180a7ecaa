"""Licences of Debian packages from ``/usr/share/doc/<package>/copyright``.

What is read
  Only machine-readable copyright files (DEP-5, "copyright-format 1.0"): the first non-blank line
  is ``Format:`` with the specification's URI (``http(s)://www.debian.org/doc/packaging-manuals/
  copyright-format/...``, or the DEP-5 draft's ``http://dep.debian.net/deps/dep5``). Every
  ``License:`` field counts, wherever it is: the header paragraph, ``Files:`` paragraphs and
  standalone ``License:`` paragraphs. Its first line is the licence expression; the lines after it
  are the licence text and are not read.

  Files without the header give no licences (syft does the same). They are free text: trivy picks
  up ``/usr/share/common-licenses/GPL-2`` mentions and ``License:`` lines from them, which turns
  adduser's "version 2 ... or (at your option) any later version" into ``GPL-2.0-only`` and
  python3.11's file into sentences ("Redistribution and use in source..."); a missing licence is
  better than a wrong one. In python-app:debian 28 of 127 copyright files have no header
  (glibc, gcc, krb5, python3.11...).

  ``/usr/share/common-licenses/<X>`` mentions inside a machine-readable file are not licences either
  (syft and trivy both count them): they say where the text of a licence lives. A ``GPL-2+`` body
  points at ``GPL-2`` because "or later" has no file of its own, so counting the mention reports
  ``GPL-2.0-only`` for every ``GPL-2+`` package; liblzma5's ``GPL-3`` mention is the text behind an
  Autoconf exception.

Expressions
  ``GPL-1+ or Artistic, and BSD-4-clause-POWERDOG`` gives three licences: alternatives (``or``),
  conjunctions (``and``, ``and/or``) and the comma are split, as trivy does (syft keeps only the
  first word of the line). ``GPL-2+ with OpenSSL exception`` stays one licence. ``none`` and empty
  names are dropped; so is an item with spaces that is not a ``with ... exception`` (DEP-5 names
  contain no spaces: such an item is prose, not a name). The order is that of first appearance:
  the ``Files: *`` paragraph, which covers most of the package, comes first.

Names
  DEP-5 short names with an exact SPDX meaning are written as the SPDX id: ``GPL-2`` ->
  ``GPL-2.0-only``, ``GPL-2+`` -> ``GPL-2.0-or-later``, ``LGPL-2.1`` -> ``LGPL-2.1-only``,
  ``BSD-3-clause`` -> ``BSD-3-Clause``, ``Expat`` -> ``MIT``, ``Apache-2`` -> ``Apache-2.0``,
  ``GFDL-NIV-1.3`` -> ``GFDL-1.3-no-invariants-only``... (``SPDX_FAMILIES`` and ``SPDX_NAMES``).
  DEP-5 short names are case-insensitive. Everything else is kept as written: unversioned ``GPL``,
  ``LGPL`` and ``Artistic`` (Perl's ``Artistic`` is Artistic 1.0 in its Perl variant, trivy's
  ``Artistic-2.0`` is wrong), ``public-domain``, ``permissive`` and the package's own names. The SBOM
  writers put such names in ``name`` (CycloneDX) or ``licenseComments`` (SPDX).

Cost
  Copyright files are selected with a ``truncate`` cap (``COPYRIGHT_TRUNCATE``): the layer reader keeps
  only the first ``MAX_PARSE_BYTES`` of each (python-app:debian's 127 files hold 1.8 MB together) and a
  larger one never refuses its layer. Only those bytes are parsed; when a file was cut, its last,
  possibly partial line is dropped, so a ``License:`` line cut in the middle gives no half a name.
  The ``Files: *`` paragraph, whose licence matters most, comes first in the file.
"""

from __future__ import annotations

import dataclasses
import re

from alpinist.images.view import FileView
from alpinist.models import Package

DOC_DIR = "/usr/share/doc"
COPYRIGHT_PATTERN = f"{DOC_DIR}/*/copyright"
MAX_PARSE_BYTES = 1024 * 1024  # the largest in Debian 12's main archive are a few hundred KB
# for a cataloger's PathSelector(truncate=...): keep only the bytes that are parsed
COPYRIGHT_TRUNCATE = (COPYRIGHT_PATTERN, MAX_PARSE_BYTES)

_FORMAT_HEADER = re.compile(  # the first non-blank line (a UTF-8 BOM allowed before it)
    r"\A\ufeff?(?:[ \t]*\r?\n)*Format:[ \t]*https?://(?:www\.debian\.org/doc/packaging-manuals/copyright-format/"
    r"|dep\.debian\.net/deps/dep5)",
    re.IGNORECASE,
)
_LICENSE_FIELD = re.compile(r"^License[ \t]*:[ \t]*(.*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_OPERATOR = re.compile(r",|\s+(?:and/or|and|or)\s+", re.IGNORECASE)
_EXCEPTION = re.compile(r"\S+ with \S.* exception", re.IGNORECASE)

# Families whose SPDX ids say "-only" / "-or-later", with the versions SPDX has for them.
GNU_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gpl": ("GPL", ("1.0", "2.0", "3.0")),
    "lgpl": ("LGPL", ("2.0", "2.1", "3.0")),
    "agpl": ("AGPL", ("1.0", "3.0")),
    "gfdl": ("GFDL", ("1.1", "1.2", "1.3")),
    "gfdl-niv": ("GFDL", ("1.1", "1.2", "1.3")),  # GFDL-NIV = no invariant sections
}
# Versioned families whose SPDX id is FAMILY-VERSION (a "+" is not mapped: kept as written).
SPDX_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "apache": ("Apache", ("1.0", "1.1", "2.0")),
    "artistic": ("Artistic", ("1.0", "2.0")),
    "mpl": ("MPL", ("1.0", "1.1", "2.0")),
    "epl": ("EPL", ("1.0", "2.0")),
    "bsl": ("BSL", ("1.0",)),  # Boost (the Business Source License is BUSL)
    "cc-by": ("CC-BY", ("1.0", "2.0", "2.5", "3.0", "4.0")),
    "cc-by-sa": ("CC-BY-SA", ("1.0", "2.0", "2.5", "3.0", "4.0")),
    "cc-by-nd": ("CC-BY-ND", ("1.0", "2.0", "2.5", "3.0", "4.0")),
    "cc-by-nc": ("CC-BY-NC", ("1.0", "2.0", "2.5", "3.0", "4.0")),
    "cc-by-nc-sa": ("CC-BY-NC-SA", ("1.0", "2.0", "2.5", "3.0", "4.0")),
    "cc-by-nc-nd": ("CC-BY-NC-ND", ("1.0", "2.0", "2.5", "3.0", "4.0")),
    "cc0": ("CC0", ("1.0",)),
    "cddl": ("CDDL", ("1.0", "1.1")),
    "cpl": ("CPL", ("1.0",)),
    "efl": ("EFL", ("1.0", "2.0")),
    "lppl": ("LPPL", ("1.0", "1.1", "1.2", "1.3a", "1.3c")),
    "python": ("Python", ("2.0",)),
    "qpl": ("QPL", ("1.0",)),
    "zope": ("ZPL", ("1.1", "2.0", "2.1")),
}
# Unversioned DEP-5 names with one SPDX meaning (lower-cased keys).
SPDX_NAMES: dict[str, str] = {
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause",
    "expat": "MIT",  # SPDX's MIT is the Expat licence (DEP-5 prefers the name Expat)
    "mit": "MIT",
    "isc": "ISC",
    "zlib": "Zlib",
    "w3c": "W3C",
    "cc0": "CC0-1.0",  # there is one CC0
}
_VERSIONED = re.compile(
    r"(?P<family>gfdl-niv|gfdl|lgpl|agpl|gpl|" + "|".join(sorted(SPDX_FAMILIES, key=len, reverse=True)) + r")"
    r"(?:-v?|v)(?P<version>\d+(?:\.\d+)*[a-z]?)(?P<plus>\+)?",
    re.IGNORECASE,
)


def copyright_path(package: str) -> str:
    return f"{DOC_DIR}/{package}/copyright"


def is_machine_readable(text: str) -> bool:
    """Whether the first non-blank line is the DEP-5 ``Format:`` header."""
    return _FORMAT_HEADER.match(text) is not None


def split_expression(value: str) -> tuple[str, ...]:
    """``GPL-1+ or Artistic, and Zlib`` -> (``GPL-1+``, ``Artistic``, ``Zlib``); prose and ``none`` dropped."""
    names: list[str] = []
    for part in _OPERATOR.split(value):
        name = " ".join(part.strip().strip("()").split())
        if not name or name.lower() == "none":
            continue
        if " " in name and not _EXCEPTION.fullmatch(name):
            continue
        names.append(name)
    return tuple(names)


def license_names(text: str) -> tuple[str, ...] | None:
    """The licence names of a copyright file as written, first appearance first, each once.

    ``None`` when the file is not machine-readable (no DEP-5 ``Format:`` header).
    """
    if not is_machine_readable(text):
        return None
    found: dict[str, None] = {}
    for match in _LICENSE_FIELD.finditer(text):
        for name in split_expression(match.group(1)):
            found.setdefault(name, None)
    return tuple(found)


def spdx_id(name: str) -> str:
    """The SPDX id of a DEP-5 short name where it has exactly one, else the name unchanged."""
    key = name.lower()
    if key in SPDX_NAMES:
        return SPDX_NAMES[key]
    match = _VERSIONED.fullmatch(name)
    if match is None:
        return name
    family, plus = match.group("family").lower(), bool(match.group("plus"))
    version = match.group("version").lower()
    if "." not in version:
        version += ".0"
    if family in GNU_FAMILIES:
        spdx, versions = GNU_FAMILIES[family]
        if version not in versions:
            return name
        niv = "-no-invariants" if family == "gfdl-niv" else ""
        return f"{spdx}-{version}{niv}-{'or-later' if plus else 'only'}"
    spdx, versions = SPDX_FAMILIES[family]
    if plus or version not in versions:
        return name
    return f"{spdx}-{version}"


def copyright_licenses(data: bytes | str, truncated: bool = False) -> tuple[str, ...]:
    """The licences a copyright file declares, SPDX ids where they map, each once; () if none.

    Only the first ``MAX_PARSE_BYTES`` are read. ``truncated`` says ``data`` is already only the start
    of the file (``FileEntry.truncated``); either way a cut file's last line, which may be partial, is
    left out.
    """
    cut = truncated or len(data) > MAX_PARSE_BYTES
    if isinstance(data, bytes):
        head = data[:MAX_PARSE_BYTES]
        if cut:
            head = head[: head.rfind(b"\n") + 1]
        text = head.decode("utf-8", "replace")
    else:
        text = data[:MAX_PARSE_BYTES]
        if cut:
            text = text[: text.rfind("\n") + 1]
    names = license_names(text)
    if not names:
        return ()
    return tuple(dict.fromkeys(spdx_id(n) for n in names))


def with_copyright_licenses(view: FileView, package: Package) -> Package:
    """``package`` with the licences of ``/usr/share/doc/<name>/copyright`` (and that path as a location).

    The doc directory may be a symlink to another package's (libstdc++6 -> gcc-12-base): it is
    followed inside the image. A package that already has licences, or whose file is missing, not
    selected or not machine-readable, is returned unchanged.
    """
    if package.licenses:
        return package
    path = copyright_path(package.name)
    entry = view.resolve(path)
    if entry is None or entry.kind not in ("file", "hardlink") or entry.content is None:
        return package
    licenses = copyright_licenses(entry.content, entry.truncated)
    if not licenses:
        return package
    locations = package.locations if path in package.locations else (*package.locations, path)
    return dataclasses.replace(package, licenses=licenses, locations=locations)
