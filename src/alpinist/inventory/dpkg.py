"""Debian/Ubuntu packages from dpkg's database.

* ``/var/lib/dpkg/status``: deb822 stanzas. A package counts when its current state (the third word
  of ``Status:``) says its files are on disk and configured: ``installed``, or ``triggers-pending`` /
  ``triggers-awaited`` (configured, only triggers outstanding; dpkg itself treats these as satisfying
  dependencies). The *want* word is ignored: ``hold ok installed`` and ``deinstall ok installed``
  are installed packages (osv-scalibr agrees; syft drops ``deinstall``). ``config-files``,
  ``half-installed``, ``unpacked``, ``half-configured`` and ``not-installed`` do not count.
* Distroless images: ``/var/lib/dpkg/status.d/<pkg>`` files, one or more stanzas each, usually
  without ``Status:`` (then the package counts), and ``<pkg>.md5sums`` beside them.
* ``Source: glibc (2.36-9+deb12u4)`` gives the source package and its version; no ``Source:`` means
  source = binary name, and no version in it means source version = binary version. Advisories are
  keyed by source package.
* Owned files: ``/var/lib/dpkg/info/<pkg>.list`` or ``<pkg>:<arch>.list``; without a list, the
  ``.md5sums`` file (relative paths, made absolute) plus the stanza's ``Conffiles``.
* Licences: the machine-readable ``/usr/share/doc/<pkg>/copyright`` (``deb_copyright.py``).

A stanza without ``Package:`` or ``Version:`` is skipped (osv-scalibr and trivy do the same). A line
that is neither ``Field: value`` nor a continuation, a continuation with no field before it, or a
field given twice in one stanza makes the file an ``InventoryError`` (dpkg itself refuses these).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packageurl import PackageURL

from alpinist.errors import InventoryError
from alpinist.images.view import FileView, PathSelector
from alpinist.inventory.apk import canonical_purl
from alpinist.inventory.base import CatalogContext
from alpinist.inventory.deb_copyright import COPYRIGHT_TRUNCATE, with_copyright_licenses
from alpinist.inventory.facts import introduced_layers
from alpinist.models import OSInfo, Package

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d"
INFO = "/var/lib/dpkg/info"

COUNTED_STATES = frozenset(("installed", "triggers-pending", "triggers-awaited"))
# Files beside the stanza files in status.d/ that are not stanzas (package names may contain dots).
_STATUS_D_SIDE_FILES = (
    ".md5sums",
    ".preinst",
    ".postinst",
    ".prerm",
    ".postrm",
    ".conffiles",
    ".list",
    ".shlibs",
    ".symbols",
    ".triggers",
    ".templates",
    ".config",
)

_FIELD = re.compile(r"([^\s:#-][^\s:]*):(.*)")
_SOURCE = re.compile(r"(\S+)(?:\s*\(([^)]*)\))?")

Stanza = dict[str, str]  # lower-case field name -> value (continuation lines joined with "\n")


def parse_stanzas(text: str, path: str) -> list[Stanza]:
    """The deb822 stanzas of a dpkg status file, with field names lower-cased."""
    stanzas: list[Stanza] = []
    current: Stanza = {}
    last: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if current:
                stanzas.append(current)
            current, last = {}, None
            continue
        if line[0] in " \t":
            if last is None:
                raise InventoryError(f"{path}: line {number}: continuation line without a field")
            current[last] += "\n" + line.strip()
            continue
        if line.startswith("#"):
            continue
        match = _FIELD.fullmatch(line)
        if match is None:
            raise InventoryError(f"{path}: line {number}: not a 'Field: value' line: {line[:60]!r}")
        key = match.group(1).lower()
        if key in current:
            raise InventoryError(f"{path}: line {number}: field {match.group(1)!r} given twice in one stanza")
        current[key] = match.group(2).strip()
        last = key
    if current:
        stanzas.append(current)
    return stanzas


def split_source(value: str) -> tuple[str, str]:
    """``glibc (2.36-9+deb12u4)`` -> (``glibc``, ``2.36-9+deb12u4``); ``openssl`` -> (``openssl``, "")."""
    match = _SOURCE.match(value.strip())
    if not match:
        return "", ""
    return match.group(1), (match.group(2) or "").strip()


def is_counted(stanza: Stanza, require_status: bool) -> bool:
    status = stanza.get("status")
    if status is None:
        return not require_status
    words = status.split()
    return len(words) == 3 and words[2] in COUNTED_STATES


@dataclass(frozen=True)
class DpkgRecord:
    name: str
    version: str
    arch: str | None
    source: str  # source package name (the binary name when there is no Source:)
    source_version: str  # its version (the binary version when Source: gives none)
    conffiles: tuple[str, ...]
    stanza: Stanza


def records_of(text: str, path: str, require_status: bool) -> list[DpkgRecord]:
    records: list[DpkgRecord] = []
    for stanza in parse_stanzas(text, path):
        name, version = stanza.get("package", "").strip(), stanza.get("version", "").strip()
        if not name or not version or not is_counted(stanza, require_status):
            continue
        source, source_version = split_source(stanza.get("source", ""))
        conffiles = tuple(
            line.split()[0]
            for line in stanza.get("conffiles", "").splitlines()
            if line.strip().startswith("/")
        )
        records.append(
            DpkgRecord(
                name=name,
                version=version,
                arch=stanza.get("architecture", "").strip() or None,
                source=source or name,
                source_version=source_version or version,
                conffiles=conffiles,
                stanza=stanza,
            )
        )
    return records


def deb_purl(
    name: str,
    version: str,
    arch: str | None,
    source: str | None,
    source_version: str | None,
    os: OSInfo | None,
) -> str:
    """``pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12&upstream=SRC[@SRCVERSION]`` (syft's form).

    ``upstream`` is added when the source package differs from the binary (by name or version).
    Without os-release the namespace is ``debian`` and there is no ``distro`` qualifier.
    """
    qualifiers: dict[str, str] = {}
    if arch:
        qualifiers["arch"] = arch
    if os is not None and os.version_id:
        qualifiers["distro"] = f"{os.id}-{os.version_id}"
    source = source or name
    source_version = source_version or version
    if source_version != version:
        qualifiers["upstream"] = f"{source}@{source_version}"
    elif source != name:
        qualifiers["upstream"] = source
    namespace = os.id if os is not None and os.id else "debian"
    return canonical_purl(
        PackageURL(type="deb", namespace=namespace, name=name, version=version or None, qualifiers=qualifiers)
    )


def md5sums_paths(text: str) -> tuple[str, ...]:
    """Paths of a ``.md5sums`` file (``<md5>  <relative path>``), made absolute."""
    paths: list[str] = []
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2:
            paths.append("/" + parts[1].strip().lstrip("/"))
    return tuple(paths)


def list_paths(text: str) -> tuple[str, ...]:
    """Paths of a ``.list`` file (absolute, one per line; the ``/.`` root entry dropped)."""
    return tuple(p for p in (line.strip() for line in text.splitlines()) if p and p != "/.")


def _owned_files(view: FileView, rec: DpkgRecord) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(files, supporting locations) of a package from the status file."""
    names = [f"{rec.name}:{rec.arch}", rec.name] if rec.arch else [rec.name]
    for stem in names:
        text = view.read_text(f"{INFO}/{stem}.list")
        if text is not None:
            return list_paths(text), (f"{INFO}/{stem}.list",)
    for stem in names:
        text = view.read_text(f"{INFO}/{stem}.md5sums")
        if text is not None:
            return rec.conffiles + md5sums_paths(text), (f"{INFO}/{stem}.md5sums",)
    return rec.conffiles, ()


def _metadata(rec: DpkgRecord) -> tuple[tuple[str, str], ...]:
    keys = ("status", "maintainer", "installed-size", "depends", "pre-depends", "provides")
    return tuple((k, " ".join(rec.stanza[k].split())) for k in keys if rec.stanza.get(k))


class DpkgCataloger:
    name = "dpkg"
    selector = PathSelector(
        exact=frozenset((STATUS,)),
        patterns=(f"{STATUS_D}/*", f"{INFO}/*.list", f"{INFO}/*.md5sums"),
        keep_history=frozenset((STATUS,)),
        truncate=(COPYRIGHT_TRUNCATE,),  # evidence, not essential: its first MiB, never refusing the layer
    )

    def catalog(self, view: FileView, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        seen: set[tuple[str, str, str | None]] = set()

        status = view.resolve(STATUS)
        if status is not None and status.kind == "file":
            if status.content is None:
                raise InventoryError(f"{STATUS}: the dpkg status file was not read (over the size limit?)")
            records = records_of(status.content.decode("utf-8", "replace"), STATUS, require_status=True)
            layers = introduced_layers(
                view,
                STATUS,
                ((r.name, r.version, r.arch) for r in records),
                lambda data: (
                    (r.name, r.version, r.arch)
                    for r in records_of(data.decode("utf-8", "replace"), STATUS, require_status=True)
                ),
            )
            for rec in records:
                files, supporting = _owned_files(view, rec)
                index = layers.get((rec.name, rec.version, rec.arch), status.layer)
                packages.append(self._package(rec, context, index, (STATUS, *supporting), files))
                seen.add((rec.name, rec.version, rec.arch))

        for path in view.children(STATUS_D):
            if path.endswith(_STATUS_D_SIDE_FILES):
                continue
            entry = view.resolve(path)
            if entry is None or entry.kind != "file":
                continue
            if entry.content is None:
                raise InventoryError(f"{path}: the dpkg status file was not read (over the size limit?)")
            md5_text = view.read_text(f"{path}.md5sums")
            for rec in records_of(entry.content.decode("utf-8", "replace"), path, require_status=False):
                if (rec.name, rec.version, rec.arch) in seen:
                    continue
                seen.add((rec.name, rec.version, rec.arch))
                files = rec.conffiles + (md5sums_paths(md5_text) if md5_text is not None else ())
                locations = (path, f"{path}.md5sums") if md5_text is not None else (path,)
                packages.append(self._package(rec, context, entry.layer, locations, files))
        return [with_copyright_licenses(view, p) for p in packages]  # licences: deb_copyright.py

    @staticmethod
    def _package(
        rec: DpkgRecord,
        context: CatalogContext,
        layer_index: int,
        locations: tuple[str, ...],
        files: tuple[str, ...],
    ) -> Package:
        return Package(
            name=rec.name,
            version=rec.version,
            type="deb",
            purl=deb_purl(rec.name, rec.version, rec.arch, rec.source, rec.source_version, context.os),
            layer=context.layer_id(layer_index),
            layer_index=layer_index,
            arch=rec.arch,
            origin=rec.source,
            source_version=rec.source_version,
            locations=tuple(dict.fromkeys(locations)),
            files=files,
            metadata=_metadata(rec),
        )
