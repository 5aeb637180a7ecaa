"""A stored SBOM file -> :class:`Inventory` + warnings, for ``scan sbom:FILE`` and ``rescan``.

Formats accepted (detected from the content, never from the file name; docs/sbom-import.md):

- alpinist's own JSON (``alpinist-sbom/1``): read exactly by ``serialize.inventory_from_dict``;
- CycloneDX JSON (1.4-1.6): alpinist's ``sbom -f cyclonedx``, syft's ``cyclonedx-json``, trivy's
  ``cyclonedx``;
- SPDX 2.3 JSON: alpinist's ``sbom -f spdx``; other producers through purls and CPEs only;
- syft's native JSON (``syft -o json``).

What is recovered, in order of trust: the producer's own fields (alpinist's ``alpinist:*``
properties and SPDX comments, syft's ``syft:metadata:*``, trivy's ``aquasecurity:trivy:*``), then the
purl (``arch``, ``distro``, ``upstream``), then conventions that are said in a warning. A foreign SBOM
never has everything an image gives: what it lacks (the OS release, Debian source packages, layers,
the OS ownership of Python packages) is said in ``warnings``, never guessed silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from packageurl import PackageURL

from alpinist.errors import SbomError
from alpinist.inventory.serialize import SCHEMA_PREFIX, inventory_from_dict
from alpinist.models import ImageFacts, Inventory, OSInfo, Package, PackageType, Platform

ACCEPTED = (
    "alpinist JSON (alpinist-sbom/1), CycloneDX JSON, SPDX 2.3 JSON, syft JSON "
    "(as written by alpinist sbom -f json|cyclonedx|spdx, syft -o json|cyclonedx-json, trivy --format cyclonedx)"
)

# where Debian's dpkg (and only dpkg) installs Python distributions; pip writes /usr/local/lib/python3.X/
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages/"

_PURL_TYPES: dict[str, PackageType] = {"apk": "apk", "deb": "deb", "pypi": "python"}
_TYPE_HINTS: dict[str, PackageType] = {
    "apk": "apk",
    "alpine": "apk",
    "deb": "deb",
    "debian": "deb",
    "python": "python",
    "python-pkg": "python",
    "binary": "binary",
}


@dataclass(frozen=True)
class ImportedSbom:
    """An SBOM read back: the inventory, the format and producer it was read as, what it lacked."""

    inventory: Inventory
    format: str  # alpinist-sbom/1, cyclonedx, spdx, syft-json
    producer: str  # alpinist, syft, trivy, or the tool the document names (else "unknown")
    warnings: tuple[str, ...] = ()


def read_sbom(path: Path) -> ImportedSbom:
    """Read the SBOM at ``path``; :class:`SbomError` (one line) when it cannot be."""
    data = read_json(path)
    try:
        return sbom_from_data(data, str(path))
    except SbomError as exc:
        raise SbomError(f"{path}: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise malformed(path, exc) from None


def read_json(path: Path) -> object:
    """The parsed JSON of ``path`` (the first step of :func:`read_sbom`, with its errors)."""
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise SbomError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SbomError(f"{path}: not JSON ({exc}); accepted formats: {ACCEPTED}") from None


def malformed(path: Path, exc: Exception) -> SbomError:
    """The error :func:`read_sbom` raises for a document of a known format with a field of the wrong shape."""
    return SbomError(f"{path}: malformed SBOM: {exc}")


def is_alpinist_json(data: object) -> bool:
    """``data`` is alpinist's own JSON (read exactly by ``serialize.inventory_from_dict``)."""
    if not isinstance(data, Mapping):
        return False
    schema = data.get("schema")
    return isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX)


def sbom_from_data(data: object, reference: str = "sbom") -> ImportedSbom:
    """The SBOM in ``data`` (parsed JSON), its format detected from its content."""
    if isinstance(data, Mapping):
        schema = data.get("schema")
        if isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX):
            return ImportedSbom(inventory_from_dict(data), schema, "alpinist")
        if data.get("bomFormat") == "CycloneDX":
            return _Builder(reference).cyclonedx(data)
        if isinstance(data.get("spdxVersion"), str):
            return _Builder(reference).spdx(data)
        if isinstance(data.get("artifacts"), list) and isinstance(data.get("descriptor"), Mapping):
            return _Builder(reference).syft(data)
    raise SbomError(f"not an SBOM format alpinist reads; accepted formats: {ACCEPTED}")


# ------------------------------------------------------------------------------------------ components


@dataclass
class _Item:
    """One package as any format states it, before it becomes a :class:`Package`."""

    name: str
    version: str
    purl: str | None
    type_hint: str | None = None
    arch: str | None = None
    origin: str | None = None
    source_version: str | None = None
    source_known: bool = False  # the format said the source (or that it is the package itself)
    owner: str | None = None
    vendored: bool = False
    cpes: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    layer: str | None = None
    layer_index: int | None = None
    licenses: tuple[str, ...] = ()
    evidence: list[str] = field(default_factory=list)


def _props(component: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in component.get("properties") or ():
        if isinstance(prop, Mapping) and isinstance(prop.get("name"), str):
            out.setdefault(prop["name"], []).append(str(prop.get("value", "")))
    return out


def _first(props: Mapping[str, list[str]], *names: str) -> str | None:
    for name in names:
        values = props.get(name)
        if values:
            return values[0]
    return None


def _dist_dir(path: str) -> str:
    """A dist-info/egg-info metadata file -> its directory (alpinist's Python location)."""
    path = path if path.startswith("/") else "/" + path
    for suffix in ("/METADATA", "/PKG-INFO", "/RECORD", "/top_level.txt"):
        if path.endswith(suffix) and (".dist-info/" in path or ".egg-info/" in path):
            return path[: -len(suffix)]
    return path


def _parse_purl(text: str | None) -> PackageURL | None:
    if not text:
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _qualifiers(purl: PackageURL) -> dict[str, str]:
    q = purl.qualifiers
    return dict(q) if isinstance(q, dict) else {}


class _Builder:
    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.warnings: list[str] = []
        self.producer = "unknown"

    # --- CycloneDX

    def cyclonedx(self, doc: Mapping[str, Any]) -> ImportedSbom:
        metadata = doc.get("metadata") or {}
        self.producer = _cdx_producer(metadata)
        component = metadata.get("component")
        image: Mapping[str, Any] = component if isinstance(component, Mapping) else {}
        os_info: OSInfo | None = None
        items: list[_Item] = []
        for comp in _walk_components(doc.get("components") or ()):
            props = _props(comp)
            if comp.get("type") == "operating-system":
                os_info = os_info or _cdx_os(comp, props)
                continue
            items.append(self._cdx_item(comp, props))
        facts = self._cdx_image(image)
        return self._finish("cyclonedx", facts, os_info, items)

    def _cdx_item(self, comp: Mapping[str, Any], props: Mapping[str, list[str]]) -> _Item:
        item = _Item(
            name=str(comp.get("name", "")),
            version=str(comp.get("version", "")),
            purl=comp.get("purl") if isinstance(comp.get("purl"), str) else None,
        )
        item.type_hint = _first(props, "alpinist:type", "syft:package:type", "aquasecurity:trivy:PkgType")
        if isinstance(comp.get("cpe"), str):
            item.cpes.append(comp["cpe"])
        item.cpes += props.get("alpinist:cpe", []) + props.get("syft:cpe23", [])
        item.licenses = _cdx_licenses(comp.get("licenses") or ())
        if self.producer == "alpinist":
            item.arch = _first(props, "alpinist:arch")
            item.origin = _first(props, "alpinist:source", "alpinist:origin")
            item.source_version = _first(props, "alpinist:source_version")
            item.source_known = True
            item.owner = _first(props, "alpinist:owner")
            item.vendored = _first(props, "alpinist:vendored") == "true"
            item.locations = list(props.get("alpinist:location", []))
            item.layer = _first(props, "alpinist:layer")
            index = _first(props, "alpinist:layer_index")
            item.layer_index = int(index) if index and index.isdigit() else None
            item.evidence = list(props.get("alpinist:evidence", []))
            return item
        # syft
        origin = _first(props, "syft:metadata:originPackage", "syft:metadata:source")
        if origin is not None:
            item.origin = origin
            item.source_version = _first(props, "syft:metadata:sourceVersion")
            item.source_known = True
        paths = [v for k, vs in props.items() if re.fullmatch(r"syft:location:\d+:path", k) for v in vs]
        layer = _first(props, "syft:location:0:layerID", "aquasecurity:trivy:LayerDiffID")
        item.layer = layer
        # trivy
        src = _first(props, "aquasecurity:trivy:SrcName")
        if src is not None:
            item.origin = src
            version = _first(props, "aquasecurity:trivy:SrcVersion")
            release = _first(props, "aquasecurity:trivy:SrcRelease")
            epoch = _first(props, "aquasecurity:trivy:SrcEpoch")
            if version is not None and (item.type_hint in ("debian", "deb")):
                item.source_version = (
                    (f"{epoch}:" if epoch and epoch != "0" else "")
                    + version
                    + (f"-{release}" if release else "")
                )
            item.source_known = True
        trivy_path = _first(props, "aquasecurity:trivy:FilePath")
        if trivy_path:
            paths.insert(0, trivy_path)
        is_python = (item.type_hint or "").startswith("python") or (item.purl or "").startswith("pkg:pypi/")
        if paths and is_python:
            item.locations = [_dist_dir(paths[0])]
        elif paths and item.type_hint == "binary":
            item.locations = [p for p in paths if p][:1]
        return item

    def _cdx_image(self, comp: Mapping[str, Any]) -> ImageFacts:
        props = _props(comp)
        name = str(comp.get("name") or "") or None
        version = comp.get("version") if isinstance(comp.get("version"), str) else None
        if self.producer == "alpinist":
            layers = _alpinist_layers(props)
            platform = _first(props, "alpinist:image:platform")
            return _facts(
                reference=_first(props, "alpinist:image:reference") or self.reference,
                transport=_first(props, "alpinist:image:transport") or "sbom",
                name=name,
                manifest_digest=version,
                config_digest=_first(props, "alpinist:image:config_digest"),
                platform=_platform(platform),
                user=_first(props, "alpinist:image:user") or "",
                layers=layers,
            )
        digest = version if version and version.startswith("sha256:") else None
        return _facts(reference=name or self.reference, transport="sbom", name=None, manifest_digest=digest)

    # --- SPDX

    def spdx(self, doc: Mapping[str, Any]) -> ImportedSbom:
        version = str(doc.get("spdxVersion"))
        if not version.startswith("SPDX-2."):
            raise SbomError(f"{version} is not SPDX 2.x JSON; accepted formats: {ACCEPTED}")
        creators = " ".join(str(c) for c in (doc.get("creationInfo") or {}).get("creators") or ())
        self.producer = _producer_of(creators)
        os_info: OSInfo | None = None
        facts = _facts(reference=str(doc.get("name") or self.reference), transport="sbom")
        items: list[_Item] = []
        for pkg in doc.get("packages") or ():
            purpose = str(pkg.get("primaryPackagePurpose", "")).replace("-", "_")
            if purpose == "OPERATING_SYSTEM":
                name = str(pkg.get("name", "")).lower()
                ver = str(pkg.get("versionInfo", ""))
                os_info = os_info or OSInfo(
                    id=name,
                    version_id=ver,
                    version=ver,
                    pretty_name=pkg.get("description"),
                )
                continue
            if purpose == "CONTAINER" or pkg.get("SPDXID") == "SPDXRef-Image":
                facts = self._spdx_image(pkg, facts)
                continue
            items.append(self._spdx_item(pkg))
        return self._finish("spdx", facts, os_info, items)

    def _spdx_image(self, pkg: Mapping[str, Any], facts: ImageFacts) -> ImageFacts:
        version = pkg.get("versionInfo")
        digest = version if isinstance(version, str) and version.startswith("sha256:") else None
        comment = str(pkg.get("comment") or "")
        fields = dict(part.split(" ", 1) for part in comment.split("; ") if " " in part)
        return _facts(
            reference=fields.get("reference") or str(pkg.get("name") or self.reference),
            transport=fields.get("transport") or "sbom",
            name=str(pkg.get("name")) if self.producer == "alpinist" and pkg.get("name") else None,
            manifest_digest=digest,
            config_digest=fields.get("config"),
            platform=_platform(fields.get("platform")),
            user=fields.get("user", ""),
        )

    def _spdx_item(self, pkg: Mapping[str, Any]) -> _Item:
        purl = None
        cpes: list[str] = []
        for ref in pkg.get("externalRefs") or ():
            kind = ref.get("referenceType")
            if kind == "purl" and purl is None:
                purl = ref.get("referenceLocator")
            elif kind in ("cpe23Type", "cpe22Type"):
                cpes.append(str(ref.get("referenceLocator")))
        item = _Item(
            name=str(pkg.get("name", "")), version=str(pkg.get("versionInfo", "")), purl=purl, cpes=cpes
        )
        declared = pkg.get("licenseDeclared")
        if isinstance(declared, str) and declared not in ("NOASSERTION", "NONE"):
            item.licenses = (declared,)
        if self.producer != "alpinist":
            return item
        item.source_known = True
        for part in str(pkg.get("comment") or "").split("; "):
            if part.startswith("type "):
                item.type_hint = part[5:]
            elif part.startswith("arch "):
                item.arch = part[5:]
            elif part.startswith("origin package "):
                item.origin = part[len("origin package ") :]
            elif part.startswith("source package "):
                source, _, version = part[len("source package ") :].partition(" ")
                item.origin, item.source_version = source, version or None
            elif part.startswith("owned by "):
                item.owner = part[len("owned by ") :]
            elif part == "vendored copy":
                item.vendored = True
            elif part.startswith("evidence: "):
                item.evidence.append(part[len("evidence: ") :])
        info = str(pkg.get("sourceInfo") or "")
        found = re.fullmatch(r"acquired package info from (.*?)(?: \(layer (\d+): (\S+)\))?", info)
        if found:
            item.locations = [loc for loc in found.group(1).split(", ") if loc]
            if found.group(2):
                item.layer_index, item.layer = int(found.group(2)), found.group(3)
        return item

    # --- syft JSON

    def syft(self, doc: Mapping[str, Any]) -> ImportedSbom:
        self.producer = str((doc.get("descriptor") or {}).get("name") or "syft")
        distro = doc.get("distro") or {}
        os_info = None
        if distro.get("id"):
            os_info = OSInfo(
                id=str(distro["id"]),
                version_id=str(distro.get("versionID") or ""),
                version=str(distro.get("versionID") or ""),
                codename=distro.get("versionCodename") or None,
                pretty_name=distro.get("prettyName"),
            )
        source = doc.get("source") or {}
        meta = source.get("metadata") or {}
        facts = _facts(
            reference=str(meta.get("userInput") or source.get("name") or self.reference),
            transport="sbom",
            manifest_digest=meta.get("manifestDigest"),
            config_digest=meta.get("imageID"),
        )
        # which deb package owns each file: the OS ownership of Python distributions, exactly
        owned: dict[str, str] = {}
        for art in doc["artifacts"]:
            if art.get("type") in ("deb", "apk"):
                for f in (art.get("metadata") or {}).get("files") or ():
                    path = f.get("path") if isinstance(f, Mapping) else None
                    if isinstance(path, str):
                        owned[path] = f"{art['type']}:{art['name']}"
        items: list[_Item] = []
        for art in doc["artifacts"]:
            meta = art.get("metadata") or {}
            locs = [loc for loc in art.get("locations") or () if isinstance(loc, Mapping)]
            item = _Item(
                name=str(art.get("name", "")),
                version=str(art.get("version", "")),
                purl=art.get("purl"),
                type_hint=art.get("type"),
                cpes=[str(c.get("cpe")) if isinstance(c, Mapping) else str(c) for c in art.get("cpes") or ()],
                layer=locs[0].get("layerID") if locs else None,
            )
            if art.get("type") == "apk":
                item.origin, item.source_known = meta.get("originPackage"), True
                item.arch = meta.get("architecture")
            elif art.get("type") == "deb":
                item.origin, item.source_known = meta.get("source") or None, True
                item.source_version = meta.get("sourceVersion") or None
                item.arch = meta.get("architecture")
            elif art.get("type") == "python":
                primary = next(
                    (loc for loc in locs if (loc.get("annotations") or {}).get("evidence") == "primary"), None
                )
                path = str((primary or (locs[0] if locs else {})).get("path") or "")
                if path:
                    item.locations = [_dist_dir(path)]
                    item.owner = owned.get(path)
            elif locs:
                item.locations = [str(locs[0].get("path"))]
            items.append(item)
        return self._finish("syft-json", facts, os_info, items)

    # --- common

    def _finish(
        self, fmt: str, facts: ImageFacts, os_info: OSInfo | None, items: Sequence[_Item]
    ) -> ImportedSbom:
        alpinist = self.producer == "alpinist"
        purls = [_parse_purl(i.purl) for i in items]
        if os_info is None:
            os_info = _os_from_purls(p for p in purls if p is not None)
            if os_info is not None:
                self.warn(
                    f"the SBOM has no operating-system entry: the OS ({os_info.id} {os_info.version}) was read "
                    "from the packages' purl distro qualifiers"
                )
        packages: list[Package] = []
        skipped: dict[str, int] = {}
        no_source: list[str] = []
        no_layer = 0
        inferred_owner: list[str] = []
        for item, purl in zip(items, purls, strict=True):
            pkg_type = self._type_of(item, purl)
            if pkg_type is None:
                kind = purl.type if purl is not None else (item.type_hint or "without purl")
                skipped[kind] = skipped.get(kind, 0) + 1
                continue
            quals = _qualifiers(purl) if purl is not None else {}
            origin, source_version = item.origin, item.source_version
            if not item.source_known and pkg_type in ("apk", "deb"):
                upstream = quals.get("upstream")
                if upstream is not None or self.producer == "syft":
                    # syft's (and alpinist's) purl convention: no upstream -> the package is its own source
                    name, _, version = (upstream or "").partition("@")
                    origin, source_version = name or None, version or None
                elif pkg_type == "deb":
                    no_source.append(item.name)
            owner = item.owner
            if (
                pkg_type == "python"
                and owner is None
                and not alpinist
                and os_info is not None
                and os_info.id == "debian"
                and any(loc.startswith(DEBIAN_DIST_PACKAGES) for loc in item.locations)
            ):
                owner = "deb (by path " + DEBIAN_DIST_PACKAGES.rstrip("/") + ")"
                inferred_owner.append(f"{item.name} {item.version}")
            if item.layer is None and not alpinist:
                no_layer += 1
            cpes = tuple(dict.fromkeys(item.cpes)) if pkg_type == "binary" else tuple(item.cpes[:1])
            packages.append(
                Package(
                    name=item.name,
                    version=item.version,
                    type=pkg_type,
                    purl=item.purl or "",
                    layer=item.layer,
                    layer_index=item.layer_index,
                    arch=item.arch or quals.get("arch"),
                    origin=origin,
                    source_version=source_version if pkg_type == "deb" else None,
                    licenses=item.licenses,
                    locations=tuple(item.locations),
                    owner=owner,
                    vendored=item.vendored,
                    cpes=cpes,
                    evidence=tuple(item.evidence),
                )
            )
        if os_info is None and any(p.type in ("apk", "deb") for p in packages):
            self.warn(
                "the SBOM names no operating system release (no operating-system entry, no purl distro "
                "qualifier): its OS packages cannot be matched"
            )
        if no_source:
            self.warn(
                f"{len(no_source)} deb package(s) without their source package in the SBOM (e.g. "
                f"{', '.join(no_source[:3])}): matched by binary name and version, which misses advisories "
                "filed under the source package"
            )
        if inferred_owner:
            self.warn(
                f"{len(inferred_owner)} Python package(s) under {DEBIAN_DIST_PACKAGES} taken as owned by dpkg "
                f"(Debian installs only its own packages there; the SBOM does not say): "
                f"{', '.join(inferred_owner)}; left to the Debian feed"
            )
        if no_layer:
            self.warn(f"{no_layer} package(s) without the layer that introduced them (not in the SBOM)")
        if skipped:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(skipped.items()))
            self.warn(
                f"components not matched ({kinds}): alpinist matches apk, deb, PyPI packages and binaries "
                "with a CPE"
            )
        inventory = Inventory(image=facts, os=os_info, packages=tuple(packages))
        return ImportedSbom(inventory, fmt, self.producer, tuple(self.warnings))

    def _type_of(self, item: _Item, purl: PackageURL | None) -> PackageType | None:
        if purl is not None and purl.type in _PURL_TYPES:
            return _PURL_TYPES[purl.type]
        hint = _TYPE_HINTS.get(item.type_hint or "")
        if hint is not None and hint != "binary":
            return hint
        if (hint == "binary" or (purl is not None and purl.type == "generic")) and (
            item.cpes or item.name.lower() == "python"
        ):
            return "binary"
        return None

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


# ------------------------------------------------------------------------------------------------ helpers


def _walk_components(components: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for comp in components:
        if isinstance(comp, Mapping):
            yield comp
            yield from _walk_components(comp.get("components") or ())


def _producer_of(text: str) -> str:
    low = text.lower()
    for name in ("alpinist", "syft", "trivy"):
        if name in low:
            return name
    return "unknown"


def _cdx_producer(metadata: Mapping[str, Any]) -> str:
    tools = metadata.get("tools")
    names: list[str] = []
    if isinstance(tools, Mapping):
        names = [str(t.get("name", "")) for t in tools.get("components") or () if isinstance(t, Mapping)]
    elif isinstance(tools, list):
        names = [str(t.get("name", "")) for t in tools if isinstance(t, Mapping)]
    return _producer_of(" ".join(names))


def _cdx_os(comp: Mapping[str, Any], props: Mapping[str, list[str]]) -> OSInfo:
    version = str(comp.get("version") or "")
    return OSInfo(
        id=str(_first(props, "syft:distro:id") or comp.get("name") or "").lower(),
        version_id=_first(props, "alpinist:os:version_id", "syft:distro:versionID") or version,
        version=version,
        codename=_first(props, "alpinist:os:codename", "syft:distro:versionCodename"),
        pretty_name=_first(props, "syft:distro:prettyName") or comp.get("description"),
    )


def _os_from_purls(purls: Iterable[PackageURL]) -> OSInfo | None:
    for purl in purls:
        if purl.type not in ("apk", "deb"):
            continue
        distro = _qualifiers(purl).get("distro")
        if not distro:
            continue
        os_id, sep, version = distro.rpartition("-")
        if not sep:  # trivy: distro=3.20.3, the id is the purl namespace
            os_id = purl.namespace or ""
        os_id = os_id or purl.namespace or ""
        if os_id and version:
            return OSInfo(id=os_id.lower(), version_id=version, version=version)
    return None


def _cdx_licenses(entries: Iterable[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if isinstance(entry.get("expression"), str):
            out.append(entry["expression"])
            continue
        lic = entry.get("license") or {}
        value = lic.get("id") or lic.get("name")
        if isinstance(value, str):
            out.append(value)
    return tuple(out)


def _alpinist_layers(props: Mapping[str, list[str]]) -> tuple[Any, ...]:
    from alpinist.models import LayerInfo

    layers: list[LayerInfo] = []
    index = 0
    while f"alpinist:image:layer:{index}:digest" in props:
        layers.append(
            LayerInfo(
                index=index,
                digest=props[f"alpinist:image:layer:{index}:digest"][0],
                media_type="",
                compressed_size=0,
                uncompressed_size=None,
                diff_id=_first(props, f"alpinist:image:layer:{index}:diff_id"),
            )
        )
        index += 1
    return tuple(layers)


def _platform(text: str | None) -> Platform | None:
    if not text:
        return None
    try:
        return Platform.parse(text)
    except ValueError:
        return None


def _facts(
    *,
    reference: str,
    transport: str,
    name: str | None = None,
    manifest_digest: str | None = None,
    config_digest: str | None = None,
    platform: Platform | None = None,
    user: str = "",
    layers: tuple[Any, ...] = (),
) -> ImageFacts:
    return ImageFacts(
        reference=reference,
        transport=transport,
        name=name,
        manifest_digest=manifest_digest,
        config_digest=config_digest,
        media_type=None,
        platform=platform,
        created=None,
        layers=cast(Any, layers),
        user=user,
        healthcheck=None,
        entrypoint=None,
        cmd=None,
        env=(),
        exposed_ports=(),
        working_dir="",
        labels=(),
    )
