"""The CNA's own ``affected`` ranges (CVE JSON 5 form) -> ``Affected`` rows in namespace ``cna``.

The CVE Numbering Authority that published a CVE says which versions of its product are affected, in the
CVE record's ``containers.cna.affected[]``; the NVD API 2.0 passes that block through as
``cve.affected[].affectedData[]`` (one ``affected`` item per source, e.g. ``cna@python.org``): NIST does
not document it, but its responses carry it since June 2026 (records NVD touched before then lack it).
For CPython the Python Software Foundation gives one ``lessThan`` per release branch
(``3.11.0 <= v < 3.11.17``), which is exactly what NVD's CPE configurations often get wrong (a
``<= 3.12.5`` that reads as "3.11.10 is affected").

One entry of ``affectedData`` (CVE JSON 5.1 ``product``):

- ``vendor``/``product`` (and optionally ``cpes``): which product. Rows are keyed by the CPE
  ``vendor:product`` the inventory uses (``python:python``): from the entry's own application CPEs when it
  has them, else from :data:`PRODUCTS`, a table of the names CNAs write. An entry naming a product this
  table does not know gives no row (counted as skipped): a guess from free text would match the wrong
  binary.
- ``versions[]``: ``{version, status, lessThan | lessThanOrEqual, versionType, changes[]}``. With
  ``lessThan``/``lessThanOrEqual`` it is a range starting at ``version`` (``"0"``: from the first
  version; ``lessThan: "*"``: no end); without, one exact version. ``changes[{at, status}]`` switch the
  status inside a range (from ``at`` on). Only ``affected`` spans become ranges.
- ``defaultStatus``: the status of versions no entry names. ``unaffected`` and ``unknown`` (and absent)
  mean: only what the entries call affected is affected. ``affected`` (everything but the listed
  unaffected versions) is not evaluated: it is skipped and counted, never turned into "nothing affected".

Each row has ``status`` ``fixed`` when some range has an exclusive end (the first version without the
flaw on that line), else ``open``; ``fixed_version`` is the lowest such end, for display only: matching
reads the ranges per release branch (``matching.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packaging.version import InvalidVersion, Version

from alpinist.advisories.feed import as_list
from alpinist.advisories.model import Affected, VersionRange

NAMESPACE = "cna"

# (vendor, product) as CNAs write them, lower-cased -> the CPE vendor:product of the inventory. One place
# for these names: extend it when a cataloger finds another product without a package database.
PRODUCTS: dict[tuple[str, str], str] = {
    ("python software foundation", "cpython"): "python:python",
    ("python", "cpython"): "python:python",
    ("openssl", "openssl"): "openssl:openssl",
    ("musl-libc", "musl"): "musl-libc:musl",
    ("musl", "libc"): "musl-libc:musl",
    ("musl", "musl"): "musl-libc:musl",
}

# entries without ``lessThan`` name one version; a few CNAs write a range or a sentence there instead
_NOT_A_VERSION = frozenset({"", "*", "n/a", "unspecified", "-"})


def product_key(entry: dict[str, Any]) -> str | None:
    """The CPE ``vendor:product`` one ``affectedData`` entry is about, or None when unknown."""
    for cpe in as_list(entry.get("cpes")):
        if isinstance(cpe, str):
            fields = cpe.split(":")
            if len(fields) > 4 and fields[:3] == ["cpe", "2.3", "a"] and fields[3] not in ("*", "-"):
                return f"{fields[3]}:{fields[4]}".lower().replace("\\", "")
    vendor, product = entry.get("vendor"), entry.get("product")
    if not isinstance(vendor, str) or not isinstance(product, str):
        return None
    return PRODUCTS.get((vendor.strip().lower(), product.strip().lower()))


def cna_affected(
    cve_id: str,
    source: str,
    affected: Any,
    skip: Callable[[str], None] = lambda reason: None,
) -> list[Affected]:
    """The ``Affected`` rows (namespace ``cna``, ``source`` the feed's name) of one record's CNA block.

    ``affected`` is NVD's ``cve.affected`` (``[{source, affectedData: [...]}]``) or CVE 5's
    ``containers.cna.affected`` (the entries themselves); ``skip`` is told why an entry gave no row.
    """
    entries: list[dict[str, Any]] = []
    for item in affected if isinstance(affected, list) else ():
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("affectedData"), list):
            entries.extend(e for e in item["affectedData"] if isinstance(e, dict))
        elif "versions" in item or "product" in item:
            entries.append(item)
    found: dict[str, tuple[list[VersionRange], list[str]]] = {}
    for entry in entries:
        product = product_key(entry)
        if product is None:
            continue  # a product we do not inventory (or cannot name): not an error
        default = str(entry.get("defaultStatus") or "unaffected").lower()
        if default == "affected":
            skip("CNA defaultStatus 'affected' (not evaluated)")
            continue
        ranges, versions = found.setdefault(product, ([], []))
        for version in as_list(entry.get("versions")):
            if isinstance(version, dict):
                _add_version(version, ranges, versions, skip)
    rows = []
    for product, (ranges, versions) in found.items():
        if not ranges and not versions:
            continue
        fixes = [r.end for r in ranges if r.end is not None and not r.end_inclusive]
        rows.append(ranged_row(cve_id, source, NAMESPACE, product, ranges, versions, fixes))
    return rows


def ranged_row(
    cve_id: str,
    source: str,
    namespace: str,
    product: str,
    ranges: list[VersionRange],
    versions: list[str],
    fixes: list[str],
) -> Affected:
    """One product's row of a CVE (NVD's CPE configurations or a CNA block): ``fixed`` when some range has an
    exclusive end, the lowest such end as ``fixed_version`` (for display), duplicates dropped."""
    return Affected(
        cve_id,
        source,
        namespace,
        product,
        "fixed" if fixes else "open",
        fixed_version=lowest_version(fixes),
        ranges=tuple(dict.fromkeys(ranges)),
        versions=tuple(dict.fromkeys(versions)),
    )


def _add_version(
    entry: dict[str, Any], ranges: list[VersionRange], versions: list[str], skip: Callable[[str], None]
) -> None:
    start = entry.get("version")
    status = entry.get("status")
    if not isinstance(start, str) or status not in ("affected", "unaffected", "unknown"):
        skip("CNA version entry without version or status")
        return
    start = start.strip()
    less, less_equal = entry.get("lessThan"), entry.get("lessThanOrEqual")
    if not isinstance(less, str) and not isinstance(less_equal, str):
        if status == "affected":
            if start.lower() in _NOT_A_VERSION or " " in start:
                skip("CNA version that is not a version")
            else:
                versions.append(start)
        return
    end = (less if isinstance(less, str) else less_equal or "").strip()
    inclusive = not isinstance(less, str)
    if end in ("*", ""):
        end_bound: str | None = None
    elif " " in end:
        skip("CNA range bound that is not a version")
        return
    else:
        end_bound = end
    begin: str | None = None if start in ("0", "", "*") else start
    # the status over the range: ``status`` from ``version``, then each change from its ``at`` on (the schema
    # asks clients not to trust the order; CNAs write them ascending, and a range's changes are few)
    spans: list[tuple[str | None, str]] = [(begin, status)]
    for change in as_list(entry.get("changes")):
        if (
            isinstance(change, dict)
            and isinstance(change.get("at"), str)
            and isinstance(change.get("status"), str)
        ):
            spans.append((change["at"].strip(), change["status"]))
    for index, (span_start, span_status) in enumerate(spans):
        if span_status != "affected":
            continue
        if index + 1 < len(spans):  # ends where the next change begins (exclusive)
            ranges.append(VersionRange(start=span_start, end=spans[index + 1][0], end_inclusive=False))
        else:
            ranges.append(
                VersionRange(
                    start=span_start, end=end_bound, end_inclusive=inclusive and end_bound is not None
                )
            )


def lowest_version(versions: list[str]) -> str | None:
    """The lowest of the fixes, for display: in PEP 440 order when they all parse, else the first."""
    if not versions:
        return None
    try:
        return min(versions, key=Version)
    except InvalidVersion:
        return versions[0]
