"""How an image is named in what alpinist writes: its title, and its package URL.

Used by the scan stage (an OpenVEX statement may name the image by its purl), by compare (a column is
labelled with the title) and by the reports; hence here rather than in a formatter.
"""

from __future__ import annotations

from packageurl import PackageURL

from alpinist.errors import BadReference
from alpinist.images.reference import parse_registry_name
from alpinist.models import ImageFacts


def image_title(facts: ImageFacts) -> str:
    """The name a report gives the image: its normalized name, else the reference as written."""
    return facts.name or facts.reference


def image_purl(facts: ImageFacts) -> str | None:
    """``pkg:oci/NAME@DIGEST?arch=...&repository_url=...&tag=...`` (purl spec, type ``oci``).

    Formed only when the manifest digest is known (the purl version of an OCI artifact is its
    digest). ``repository_url`` is given only for images pulled from a registry: a local archive
    or layout says nothing about where the image can be fetched.
    """
    if not facts.manifest_digest:
        return None
    repository: str | None = None
    tag: str | None = None
    last = ""
    if facts.name:
        try:
            ref = parse_registry_name(facts.name)
        except BadReference:
            ref = None
        if ref is not None:
            repository, tag, last = ref.name, ref.tag, ref.path.rsplit("/", 1)[-1]
    if not last:
        return None
    qualifiers: dict[str, str] = {}
    if facts.platform is not None:
        qualifiers["arch"] = facts.platform.architecture
    if repository and facts.transport == "registry":
        qualifiers["repository_url"] = repository
    if tag:
        qualifiers["tag"] = tag
    return str(
        PackageURL(type="oci", name=last.lower(), version=facts.manifest_digest, qualifiers=qualifiers)
    )
