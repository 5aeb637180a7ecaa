"""SPDX 2.3 JSON, written by hand as a plain dictionary.

Why not a library: the maintained writer, spdx-tools (0.8.x), pulls in seven more packages
(rdflib, beartype, ply, pyparsing, uritools, xmltodict, click) for one JSON output, takes ~0.12 s
to import and ~0.23 s to validate and write 500 packages (measured on the 2-core test machine),
and its model API changed incompatibly between 0.7 and 0.8. What this module writes is about a
dozen fields per package; the tests check it against the official SPDX 2.3 JSON schema
(``alpinist/schemas/spdx-2.3.schema.json``) and parse and validate it with spdx-tools.

Document layout:

- ``SPDXRef-DOCUMENT`` DESCRIBES ``SPDXRef-Image`` (the container image, purpose CONTAINER,
  version = manifest digest, purl ``pkg:oci/...``);
- the image CONTAINS ``SPDXRef-OperatingSystem`` (when the OS is known) and every package;
- packages: ``filesAnalyzed`` false, ``downloadLocation`` NOASSERTION, ``externalRefs`` with the
  purl (PACKAGE-MANAGER) and each CPE (SECURITY, ``cpe23Type`` or ``cpe22Type``).

Licences: ``licenseDeclared`` is the declared licences as one SPDX expression (joined with AND)
when every one of them is a valid SPDX expression, normalized (``GPL-2.0+`` -> ``GPL-2.0-or-later``);
otherwise NOASSERTION, with the declared strings kept in ``licenseComments``. ``licenseConcluded``
is always NOASSERTION: alpinist reads what packages declare, it does not analyse licence texts,
so it has nothing to conclude.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from license_expression import Licensing, get_spdx_licensing  # type: ignore[import-untyped]

from alpinist import __version__
from alpinist.inventory.naming import image_purl, image_title
from alpinist.models import ImageFacts, Inventory, OSInfo, Package
from alpinist.reports.sbom.common import cpe_kind, digest_hex, valid_purl

SPDX_VERSION = "SPDX-2.3"
NOASSERTION = "NOASSERTION"
DOCUMENT_ID = "SPDXRef-DOCUMENT"
IMAGE_ID = "SPDXRef-Image"
OS_ID = "SPDXRef-OperatingSystem"
# The namespace is an identifier, not a location: ".invalid" (RFC 2606) can never resolve.
NAMESPACE_BASE = "https://alpinist.invalid/spdx/image/"

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def render_spdx(inv: Inventory, *, created: datetime | None = None) -> str:
    """The inventory as an SPDX 2.3 JSON document (indented, no trailing newline).

    ``created`` defaults to now; pass it for byte-identical output. The document namespace is
    derived from the manifest digest (and alpinist's version), so it is the same on every run.
    """
    return json.dumps(build_spdx(inv, created=created), indent=2, ensure_ascii=False)


def build_spdx(inv: Inventory, *, created: datetime | None = None) -> dict[str, Any]:
    facts = inv.image
    when = _spdx_time(created if created is not None else datetime.now(UTC))
    title = image_title(facts)
    packages = [_image_package(facts)]
    relationships = [_rel(DOCUMENT_ID, "DESCRIBES", IMAGE_ID)]
    if inv.os is not None:
        packages.append(_os_package(inv.os))
        relationships.append(_rel(IMAGE_ID, "CONTAINS", OS_ID))
    used: set[str] = {DOCUMENT_ID, IMAGE_ID, OS_ID}
    for p in inv.packages:
        spdx_id = _package_id(p, used)
        packages.append(_package(p, spdx_id))
        relationships.append(_rel(IMAGE_ID, "CONTAINS", spdx_id))
    return {
        "spdxVersion": SPDX_VERSION,
        "dataLicense": "CC0-1.0",
        "SPDXID": DOCUMENT_ID,
        "name": title,
        "documentNamespace": document_namespace(inv),
        "creationInfo": {
            "created": when,
            "creators": [f"Tool: alpinist-{__version__}"],
        },
        "packages": packages,
        "relationships": relationships,
    }


def document_namespace(inv: Inventory) -> str:
    """``https://alpinist.invalid/spdx/image/<name>-<uuid5>``, the UUID from the manifest digest."""
    facts = inv.image
    seed = facts.manifest_digest or facts.config_digest
    if not seed:  # no digest at all (a plain directory): the content itself
        h = hashlib.sha256(facts.reference.encode())
        for p in inv.packages:
            h.update(b"\0" + "\0".join(p.key).encode())
        seed = "content:" + h.hexdigest()
    uid = uuid.uuid5(uuid.NAMESPACE_URL, f"alpinist-{__version__}:{seed}")
    return f"{NAMESPACE_BASE}{_safe(image_title(facts))}-{uid}"


def _spdx_time(ts: datetime) -> str:
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339_to_spdx(text: str | None) -> str | None:
    """An image config's ``created`` (RFC 3339, maybe with nanoseconds) in SPDX's date form."""
    if not text:
        return None
    trimmed = re.sub(r"(\.\d{1,6})\d*", r"\1", text.strip())  # Python parses at most microseconds
    try:
        ts = datetime.fromisoformat(trimmed)
    except ValueError:
        return None
    if ts.tzinfo is None:
        return None
    return _spdx_time(ts)


def _safe(text: str) -> str:
    return _ID_UNSAFE.sub("-", text).strip("-") or "unnamed"


def _rel(a: str, kind: str, b: str) -> dict[str, str]:
    return {"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b}


def _package_id(p: Package, used: set[str]) -> str:
    digest = hashlib.sha256("\0".join(p.key).encode()).hexdigest()[:16]
    base = f"SPDXRef-Package-{p.type}-{_safe(p.name)}-{digest}"
    spdx_id, n = base, 1
    while spdx_id in used:  # two packages with the same key: keep the ids distinct
        n += 1
        spdx_id = f"{base}-{n}"
    used.add(spdx_id)
    return spdx_id


def _image_package(facts: ImageFacts) -> dict[str, Any]:
    pkg: dict[str, Any] = {"name": image_title(facts), "SPDXID": IMAGE_ID}
    if facts.manifest_digest:
        pkg["versionInfo"] = facts.manifest_digest
    pkg["downloadLocation"] = NOASSERTION
    pkg["filesAnalyzed"] = False
    pkg["primaryPackagePurpose"] = "CONTAINER"
    hex_digest = digest_hex(facts.manifest_digest)
    if hex_digest:
        pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": hex_digest}]
    built = _rfc3339_to_spdx(facts.created)
    if built:
        pkg["builtDate"] = built
    pkg["licenseConcluded"] = NOASSERTION
    pkg["licenseDeclared"] = NOASSERTION
    pkg["copyrightText"] = NOASSERTION
    purl = image_purl(facts)
    if purl:
        pkg["externalRefs"] = [_purl_ref(purl)]
    facts_text = [f"reference {facts.reference}", f"transport {facts.transport}"]
    if facts.config_digest:
        facts_text.append(f"config {facts.config_digest}")
    if facts.platform:
        facts_text.append(f"platform {facts.platform}")
    facts_text.append(f"user {facts.user or '(unset: root)'}")
    pkg["comment"] = "; ".join(facts_text)
    return pkg


def _os_package(os_info: OSInfo) -> dict[str, Any]:
    pkg: dict[str, Any] = {
        "name": os_info.id,
        "SPDXID": OS_ID,
        "versionInfo": os_info.version,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "primaryPackagePurpose": "OPERATING_SYSTEM",
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
    }
    if os_info.pretty_name:
        pkg["description"] = os_info.pretty_name
    return pkg


def _package(p: Package, spdx_id: str) -> dict[str, Any]:
    pkg: dict[str, Any] = {
        "name": p.name,
        "SPDXID": spdx_id,
        "versionInfo": p.version,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "primaryPackagePurpose": "APPLICATION" if p.type == "binary" else "LIBRARY",
    }
    if p.locations:
        where = ", ".join(p.locations)
        layer = f" (layer {p.layer_index}: {p.layer})" if p.layer else ""
        pkg["sourceInfo"] = f"acquired package info from {where}{layer}"
    pkg["licenseConcluded"] = NOASSERTION
    expression = spdx_license_expression(p.licenses)
    pkg["licenseDeclared"] = expression or NOASSERTION
    if expression is None and any(v.strip() for v in p.licenses):
        pkg["licenseComments"] = "declared, not a valid SPDX expression: " + "; ".join(p.licenses)
    pkg["copyrightText"] = NOASSERTION
    refs = [_purl_ref(p.purl)] if valid_purl(p.purl) else []
    rejected = [] if refs or not p.purl else [f"purl not valid: {p.purl}"]
    for cpe in p.cpes:
        kind = cpe_kind(cpe)
        if kind is None:
            rejected.append(f"CPE not valid: {cpe}")
            continue
        refs.append({"referenceCategory": "SECURITY", "referenceType": kind, "referenceLocator": cpe})
    if refs:
        pkg["externalRefs"] = refs
    comment = "; ".join(filter(None, [_package_comment(p), *rejected]))
    if comment:
        pkg["comment"] = comment
    return pkg


def _purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}


def _package_comment(p: Package) -> str:
    parts = [f"type {p.type}"]
    if p.arch:
        parts.append(f"arch {p.arch}")
    if p.origin:
        if p.type == "deb":
            parts.append(f"source package {p.origin}" + (f" {p.source_version}" if p.source_version else ""))
        else:
            parts.append(f"origin package {p.origin}")
    if p.owner:
        parts.append(f"owned by {p.owner}")
    if p.vendored:
        parts.append("vendored copy")
    parts += [f"evidence: {e}" for e in p.evidence]
    return "; ".join(parts)


@lru_cache(maxsize=1)
def _licensing() -> Licensing:
    return get_spdx_licensing()


def spdx_license_expression(declared: Sequence[str]) -> str | None:
    """The declared licences as one normalized SPDX expression, or None if any is not valid SPDX."""
    values = list(dict.fromkeys(v.strip() for v in declared if v.strip()))
    if not values:
        return None
    normalized: list[str] = []
    for value in values:
        expr = _valid(value)
        if expr is None:
            return None
        normalized.append(expr)
    if len(normalized) == 1:
        return normalized[0]
    return _valid(" AND ".join(f"({n})" for n in dict.fromkeys(normalized)))


def _valid(expression: str) -> str | None:
    try:
        info = _licensing().validate(expression, strict=True)
    except Exception:  # the parser raises on some malformed input instead of reporting it
        return None
    if info.errors or not info.normalized_expression:
        return None
    return str(info.normalized_expression)
