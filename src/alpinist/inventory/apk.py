"""Alpine packages from apk's installed database (``/lib/apk/db/installed``, apk v3: ``/usr/lib/...``).

The database is a list of stanzas separated by blank lines; each line is ``K:value`` with a one-letter
key: ``P`` name, ``V`` version, ``o`` origin (the aports package it was built from), ``A`` arch, ``L``
licence, ``c`` aports commit, ``m`` maintainer, ``D``/``p`` dependencies/provides, ``F`` a directory
and the ``R`` files in it. Advisories are keyed by origin: ``libssl3`` is matched as ``openssl``.

Choices where the peers differ (see tests/test_apk.py):

* a stanza without ``o:`` is its own origin (``origin = name``; osv-scalibr keeps ``""``), so that
  matching by origin needs no special case; the purl gets ``upstream=`` only when origin != name;
* ``L:`` is kept whole when it is an SPDX expression (``MIT AND BSD-2-Clause``) and split on spaces
  when it is an old space-separated list (``MIT BSD GPL2+``), as syft does; licence names are not
  rewritten (trivy normalises ``GPL2`` to ``GPL-2.0-only``);
* a stanza without ``P:`` or ``V:`` cannot be matched and is skipped (as trivy does);
* a line that is not ``K:value`` makes the whole database an ``InventoryError`` (as syft does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packageurl import PackageURL

from alpinist.errors import InventoryError
from alpinist.images.view import FileView, PathSelector
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.facts import introduced_layers
from alpinist.models import OSInfo, Package

DB_PATHS = ("/lib/apk/db/installed", "/usr/lib/apk/db/installed")

_LINE = re.compile(r"([A-Za-z]):(.*)")
_SPDX_OPERATOR = re.compile(r"\b(AND|OR|WITH)\b|[()]")
_LOWER_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


@dataclass(frozen=True)
class ApkRecord:
    name: str
    version: str
    arch: str | None
    origin: str | None
    license: str | None
    commit: str | None
    maintainer: str | None
    depends: tuple[str, ...]
    provides: tuple[str, ...]
    checksum: str | None
    files: tuple[str, ...]


def parse_installed(text: str, path: str = DB_PATHS[0]) -> list[ApkRecord]:
    """Every stanza of an installed database that names a package and a version."""
    records: list[ApkRecord] = []
    fields: dict[str, str] = {}
    lists: dict[str, tuple[str, ...]] = {}
    files: list[str] = []
    directory = ""

    def flush() -> None:
        name, version = fields.get("P", "").strip(), fields.get("V", "").strip()
        if name and version:
            records.append(
                ApkRecord(
                    name=name,
                    version=version,
                    arch=fields.get("A", "").strip() or None,
                    origin=fields.get("o", "").strip() or None,
                    license=fields.get("L", "").strip() or None,
                    commit=fields.get("c", "").strip() or None,
                    maintainer=fields.get("m", "").strip() or None,
                    depends=lists.get("D", ()),
                    provides=lists.get("p", ()),
                    checksum=fields.get("C", "").strip() or None,
                    files=tuple(files),
                )
            )

    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if fields or files:
                flush()
            fields, lists, files, directory = {}, {}, [], ""
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise InventoryError(f"{path}: line {number}: not an apk database line: {line[:60]!r}")
        key, value = match.group(1), match.group(2)
        if key == "F":
            directory = value.strip("/")
            files.append("/" + directory)
        elif key == "R":
            files.append(f"/{directory}/{value}" if directory else f"/{value}")
        elif key in ("D", "p"):
            lists[key] = tuple(value.split())
        else:
            fields.setdefault(key, value)
    if fields or files:
        flush()
    return records


def split_license(value: str | None) -> tuple[str, ...]:
    """``MIT AND BSD-2-Clause`` -> one expression; ``MIT BSD GPL2+`` (old style list) -> three names."""
    if not value or not value.strip():
        return ()
    value = " ".join(value.split())
    if _SPDX_OPERATOR.search(value):
        return (value,)
    return tuple(value.split(" "))


def canonical_purl(purl: PackageURL) -> str:
    """The purl string with upper-case percent escapes (purl spec; packageurl-python lower-cases the
    escapes of apk names when it lower-cases the name: ``g%2b%2b``)."""
    return _LOWER_ESCAPE.sub(lambda m: m.group(0).upper(), purl.to_string())


def apk_purl(name: str, version: str, arch: str | None, origin: str | None, os: OSInfo | None) -> str:
    """``pkg:apk/alpine/NAME@VERSION?arch=ARCH&distro=alpine-3.20.3[&upstream=ORIGIN]`` (syft's form)."""
    qualifiers: dict[str, str] = {}
    if arch:
        qualifiers["arch"] = arch
    if os is not None and os.version_id:
        qualifiers["distro"] = f"{os.id}-{os.version_id}"
    if origin and origin != name:
        qualifiers["upstream"] = origin
    namespace = os.id if os is not None and os.id else "alpine"
    return canonical_purl(
        PackageURL(type="apk", namespace=namespace, name=name, version=version or None, qualifiers=qualifiers)
    )


def _db_path(view: FileView) -> str | None:
    """The database file: the one written last when ``/lib`` and ``/usr/lib`` hold different ones."""
    found: dict[str, int] = {}
    for path in DB_PATHS:
        real = view.realpath(path)
        entry = view.resolve(path)
        if real is not None and entry is not None and entry.kind == "file":
            found.setdefault(real, entry.layer)
    if not found:
        return None
    return max(found, key=lambda p: (found[p], p.startswith("/usr/")))


class ApkCataloger:
    name = "apk"
    selector = PathSelector(exact=frozenset(DB_PATHS), keep_history=frozenset(DB_PATHS))

    def catalog(self, view: FileView, context: CatalogContext) -> list[Package]:
        path = _db_path(view)
        if path is None:
            return []
        entry = view.resolve(path)
        assert entry is not None
        if entry.content is None:
            raise InventoryError(f"{path}: the apk database was not read (over the size limit?)")
        records = parse_installed(entry.content.decode("utf-8", errors="replace"), path)
        layers = introduced_layers(
            view,
            path,
            ((r.name, r.version) for r in records),
            lambda data: (
                (r.name, r.version) for r in parse_installed(data.decode("utf-8", "replace"), path)
            ),
        )
        packages: list[Package] = []
        for rec in records:
            layer_index = layers.get((rec.name, rec.version), entry.layer)
            origin = rec.origin or rec.name
            metadata = tuple(
                (k, v)
                for k, v in (
                    ("commit", rec.commit or ""),
                    ("maintainer", rec.maintainer or ""),
                    ("depends", " ".join(rec.depends)),
                    ("provides", " ".join(rec.provides)),
                    ("checksum", rec.checksum or ""),
                )
                if v
            )
            packages.append(
                Package(
                    name=rec.name,
                    version=rec.version,
                    type="apk",
                    purl=apk_purl(rec.name, rec.version, rec.arch, origin, context.os),
                    layer=context.layer_id(layer_index),
                    layer_index=layer_index,
                    arch=rec.arch,
                    origin=origin,
                    licenses=split_license(rec.license),
                    locations=(path,),
                    files=rec.files,
                    metadata=metadata,
                )
            )
        return packages
