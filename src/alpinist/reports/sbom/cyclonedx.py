"""CycloneDX 1.6 JSON through cyclonedx-python-lib (its model, its ``JsonV1Dot6`` writer).

Mapping (documented for users in docs/sbom-json.md, "CycloneDX"):

- ``metadata.component``: the image, type ``container``; version = manifest digest, purl
  ``pkg:oci/...`` where one can be formed, the manifest digest again as a SHA-256 hash.
- one ``operating-system`` component for the OS (name = os-release ``ID``, version = most precise).
- one component per package: ``library`` (apk, deb, python) or ``application`` (binary, e.g.
  CPython); purl, bom-ref (the purl; a ``package-id`` qualifier is added only where two packages
  share a purl), ``cpe`` (the first well-formed CPE; any others as ``alpinist:cpe`` properties),
  licences. A purl that does not parse is left out rather than written.
- properties in the ``alpinist:`` namespace for what CycloneDX has no field for (origin, source,
  layer, location...). The namespace is this project's own; it is not registered in the CycloneDX
  property taxonomy.
- dependencies: the image depends on the OS component and on every non-OS package, the OS
  component on every OS package. alpinist does not collect dependencies between packages; the
  library still gives every component an entry (empty), as its model requires of "dependables".

Licences: CycloneDX 1.6 accepts either a list of single licences or exactly one SPDX expression,
never both. Each declared licence that is a valid SPDX id becomes ``{"license": {"id": ...}}``, any
other string ``{"license": {"name": ...}}``; valid compound expressions become one ``expression``
(several are joined with AND) when every declared licence is valid SPDX, else they are kept as names.

Every import of cyclonedx stays inside this module: the library takes ~40 ms to import and the CLI
loads formatters lazily.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.spdx import fixup_id, is_expression
from packageurl import PackageURL

from alpinist import __version__
from alpinist.inventory.naming import image_purl, image_title
from alpinist.models import ImageFacts, Inventory, OSInfo, Package
from alpinist.reports.sbom.common import (
    cpe_kind,
    digest_hex,
    is_os_package,
    valid_purl,
)

NS = "alpinist"  # property namespace: alpinist:<name>, alpinist:image:<name>, alpinist:os:<name>

License = DisjunctiveLicense | LicenseExpression


def render_cyclonedx(
    inv: Inventory,
    *,
    serial_number: uuid.UUID | None = None,
    timestamp: datetime | None = None,
) -> str:
    """The inventory as a CycloneDX 1.6 JSON document (indented, no trailing newline).

    ``serial_number`` and ``timestamp`` default to a fresh random UUID and the current time (every
    BOM should have its own serial number); pass them to get byte-identical output.
    """
    return JsonV1Dot6(build_bom(inv, serial_number=serial_number, timestamp=timestamp)).output_as_string(
        indent=2
    )


def build_bom(
    inv: Inventory,
    *,
    serial_number: uuid.UUID | None = None,
    timestamp: datetime | None = None,
) -> Bom:
    """The cyclonedx-python-lib model of the inventory (for callers that add to it, e.g. VEX)."""
    image = _image_component(inv.image)
    os_component = _os_component(inv.os) if inv.os is not None else None
    refs = package_refs(inv.packages)
    packages = [_package_component(p, ref) for p, ref in zip(inv.packages, refs, strict=True)]

    components: list[Component] = ([os_component] if os_component else []) + packages
    os_deps = [c for p, c in zip(inv.packages, packages, strict=True) if is_os_package(p)]
    other_deps = [c for p, c in zip(inv.packages, packages, strict=True) if not is_os_package(p)]
    dependencies: list[Dependency] = []
    if os_component is not None:
        dependencies.append(Dependency(ref=image.bom_ref, dependencies=_deps([os_component, *other_deps])))
        dependencies.append(Dependency(ref=os_component.bom_ref, dependencies=_deps(os_deps)))
    else:
        dependencies.append(Dependency(ref=image.bom_ref, dependencies=_deps(packages)))

    tool = Component(type=ComponentType.APPLICATION, name="alpinist", version=__version__)
    metadata = BomMetaData(
        component=image,
        tools=ToolRepository(components=[tool]),
        timestamp=_utc(timestamp) if timestamp is not None else datetime.now(UTC),
    )
    return Bom(
        components=components,
        metadata=metadata,
        serial_number=serial_number or uuid.uuid4(),
        dependencies=dependencies,
    )


def _deps(components: Iterable[Component]) -> list[Dependency]:
    return [Dependency(ref=c.bom_ref) for c in components]


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _prop(name: str, value: object) -> Property:
    return Property(name=f"{NS}:{name}", value=str(value))


# ------------------------------------------------------------------------------------------ the image


def _image_component(facts: ImageFacts) -> Component:
    purl = image_purl(facts)
    props = [_prop("image:reference", facts.reference), _prop("image:transport", facts.transport)]
    optional = {
        "image:config_digest": facts.config_digest,
        "image:media_type": facts.media_type,
        "image:platform": str(facts.platform) if facts.platform else None,
        "image:created": facts.created,
        "image:shell": facts.shell,
        "image:uncompressed_size": facts.uncompressed_size,
    }
    props += [_prop(k, v) for k, v in optional.items() if v is not None]
    props += [
        _prop("image:user", facts.user),
        _prop("image:runs_as_root", str(facts.runs_as_root).lower()),
        _prop("image:compressed_size", facts.compressed_size),
    ]
    if facts.healthcheck is not None:
        hc = facts.healthcheck
        props.append(_prop("image:healthcheck", "disabled" if hc.disabled else hc.command))
    props += [_prop("image:package_manager", pm) for pm in facts.package_managers]
    for layer in facts.layers:
        props.append(_prop(f"image:layer:{layer.index}:digest", layer.digest))
        if layer.diff_id:
            props.append(_prop(f"image:layer:{layer.index}:diff_id", layer.diff_id))
    props += [_prop(f"image:label:{k}", v) for k, v in facts.labels]
    hex_digest = digest_hex(facts.manifest_digest)
    return Component(
        type=ComponentType.CONTAINER,
        name=image_title(facts),
        version=facts.manifest_digest,
        bom_ref=purl or "alpinist:image",
        purl=PackageURL.from_string(purl) if purl else None,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=hex_digest)] if hex_digest else None,
        properties=props,
    )


def _os_component(os_info: OSInfo) -> Component:
    props = [_prop("os:version_id", os_info.version_id), _prop("os:release", os_info.release)]
    if os_info.codename:
        props.append(_prop("os:codename", os_info.codename))
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=os_info.id,
        version=os_info.version,
        description=os_info.pretty_name,
        bom_ref=f"alpinist:os:{os_info.id}@{os_info.version}",
        properties=props,
    )


# --------------------------------------------------------------------------------------- the packages


def package_refs(packages: Sequence[Package]) -> list[str]:
    """One unique bom-ref per package: its purl, qualified with a package-id only where needed."""
    bases = [p.purl if valid_purl(p.purl) else f"alpinist:{p.type}:{p.name}@{p.version}" for p in packages]
    counts = Counter(bases)
    refs: list[str] = []
    seen: set[str] = set()
    for p, base in zip(packages, bases, strict=True):
        ref = base
        if counts[base] > 1:
            ref = _with_package_id(base, _package_id(p))
        n = 1
        unique = ref
        while unique in seen:  # identical packages (same key): still distinct refs
            n += 1
            unique = f"{ref}-{n}"
        seen.add(unique)
        refs.append(unique)
    return refs


def _package_id(p: Package) -> str:
    return hashlib.sha256("\0".join(p.key).encode()).hexdigest()[:16]


def _with_package_id(base: str, package_id: str) -> str:
    try:
        purl = PackageURL.from_string(base)
    except ValueError:
        return f"{base}:{package_id}"
    qualifiers = dict(purl.qualifiers) if isinstance(purl.qualifiers, dict) else {}
    qualifiers["package-id"] = package_id
    return str(purl._replace(qualifiers=qualifiers))


def _package_component(p: Package, ref: str) -> Component:
    cpe = next((c for c in p.cpes if cpe_kind(c)), None)
    return Component(
        type=ComponentType.APPLICATION if p.type == "binary" else ComponentType.LIBRARY,
        name=p.name,
        version=p.version,
        bom_ref=ref,
        purl=valid_purl(p.purl),
        cpe=cpe,
        licenses=licenses(p.licenses),
        properties=_package_properties(p, cpe),
    )


def _package_properties(p: Package, cpe: str | None) -> list[Property]:
    props = [_prop("type", p.type)]
    if p.layer:
        props.append(_prop("layer", p.layer))
    if p.layer_index is not None:
        props.append(_prop("layer_index", p.layer_index))
    if p.arch:
        props.append(_prop("arch", p.arch))
    if p.origin:
        props.append(_prop("source" if p.type == "deb" else "origin", p.origin))
    if p.source_version:
        props.append(_prop("source_version", p.source_version))
    if p.owner:
        props.append(_prop("owner", p.owner))
    if p.vendored:
        props.append(_prop("vendored", "true"))
    props += [_prop("location", loc) for loc in p.locations]
    props += [_prop("cpe", c) for c in p.cpes if c != cpe]
    props += [_prop("evidence", e) for e in p.evidence]
    return props


def licenses(declared: Sequence[str]) -> list[License]:
    """Declared licence strings as CycloneDX licences (see the module docstring for the rules)."""
    values = [v.strip() for v in declared if v.strip()]
    ids = [fixup_id(v) for v in values]
    if all(ids):
        return [DisjunctiveLicense(id=i) for i in ids if i]
    compound = [i is None and is_expression(v) for v, i in zip(values, ids, strict=True)]
    if all(i is not None or c for i, c in zip(ids, compound, strict=True)):
        if len(values) == 1:
            return [LicenseExpression(values[0])]
        parts = [i if i else f"({v})" for v, i in zip(values, ids, strict=True)]
        return [LicenseExpression(" AND ".join(parts))]
    return [
        DisjunctiveLicense(id=i) if i else DisjunctiveLicense(name=v)
        for v, i in zip(values, ids, strict=True)
    ]
