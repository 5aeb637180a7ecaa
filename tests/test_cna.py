"""The CNA's own ``affected`` block (CVE JSON 5 form, as NVD's API passes it through) -> ``cna`` rows.

Real records from the corpus (``advisories/raw/nvd/``, the same records as in the NVD feed), and small
constructed entries for the parts of the CVE 5 schema no corpus record uses (``changes``,
``lessThanOrEqual``, ``defaultStatus: affected``, ``cpes``).
"""

from __future__ import annotations

import json
from typing import Any

from alpinist.advisories.feeds.nvd.cna import cna_affected, product_key
from alpinist.advisories.model import VersionRange
from tests.conftest import CORPUS

RAW = CORPUS / "advisories" / "raw" / "nvd"


def record(cve_id: str) -> Any:
    return json.loads((RAW / f"{cve_id}.json").read_text(encoding="utf-8"))


def test_psf_ranges_one_per_branch() -> None:
    rows = cna_affected("CVE-2026-15310", "nvd", record("CVE-2026-15310")["affected"])
    assert len(rows) == 1
    row = rows[0]
    assert (row.vuln_id, row.source, row.namespace, row.package, row.status) == (
        "CVE-2026-15310",
        "nvd",
        "cna",
        "python:python",
        "fixed",
    )
    # version "0" is "from the first version": no start bound
    assert row.ranges == (
        VersionRange(None, end="3.10.22"),
        VersionRange("3.11.0", end="3.11.17"),
        VersionRange("3.12.0", end="3.12.15"),
        VersionRange("3.13.0", end="3.13.16"),
        VersionRange("3.14.0", end="3.14.8"),
        VersionRange("3.15.0a1", end="3.15.0rc2"),
    )
    assert row.fixed_version == "3.10.22"  # the lowest fix, for display only


def test_openssl_ranges_and_other_vendors_products_are_left_out() -> None:
    # CVE-2026-28387: OpenSSL's own ranges (semver and custom 1.1.1zg), and Siemens' products (no CPE name)
    rows = cna_affected("CVE-2026-28387", "nvd", record("CVE-2026-28387")["affected"])
    assert [r.package for r in rows] == ["openssl:openssl"]
    assert VersionRange("1.1.1", end="1.1.1zg") in rows[0].ranges
    assert VersionRange("3.3.0", end="3.3.7") in rows[0].ranges
    assert len(rows[0].ranges) == 6


def test_exact_versions_and_free_text() -> None:
    # CVE-2026-6042 (VulDB): musl/libc, exact versions 1.2.0 .. 1.2.6, no defaultStatus
    rows = cna_affected("CVE-2026-6042", "nvd", record("CVE-2026-6042")["affected"])
    assert [(r.package, r.status, r.ranges) for r in rows] == [("musl-libc:musl", "open", ())]
    assert rows[0].versions == ("1.2.0", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6")
    # CVE-2019-5010 (Talos): vendor "n/a", a sentence as the version: no row, never a guess
    assert cna_affected("CVE-2019-5010", "nvd", record("CVE-2019-5010")["affected"]) == []


def entry(*versions: dict[str, Any], default: str = "unaffected", **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "source": "cna@python.org",
            "affectedData": [
                {
                    "vendor": "Python Software Foundation",
                    "product": "CPython",
                    "defaultStatus": default,
                    "versions": list(versions),
                    **extra,
                }
            ],
        }
    ]


def test_changes_split_a_range() -> None:
    # affected from 3.9.0, fixed at 3.9.5 (unaffected from there), the range ending at 3.10.0
    block = entry(
        {
            "version": "3.9.0",
            "lessThan": "3.10.0",
            "status": "affected",
            "versionType": "python",
            "changes": [{"at": "3.9.5", "status": "unaffected"}],
        }
    )
    (row,) = cna_affected("CVE-2099-1", "nvd", block)
    assert row.ranges == (VersionRange("3.9.0", end="3.9.5"),)


def test_less_than_or_equal_and_open_ended_ranges() -> None:
    block = entry(
        {"version": "3.8.0", "lessThanOrEqual": "3.8.20", "status": "affected"},
        {"version": "3.14.0", "lessThan": "*", "status": "affected"},
        {"version": "3.12.0", "lessThan": "3.12.1", "status": "unaffected"},
    )
    (row,) = cna_affected("CVE-2099-2", "nvd", block)
    assert row.ranges == (
        VersionRange("3.8.0", end="3.8.20", end_inclusive=True),
        VersionRange("3.14.0", end=None),
    )
    assert (row.status, row.fixed_version) == ("open", None)


def test_default_status_affected_is_skipped_and_counted() -> None:
    skipped: list[str] = []
    block = entry({"version": "3.12.4", "status": "unaffected"}, default="affected")
    assert cna_affected("CVE-2099-3", "nvd", block, skipped.append) == []
    assert skipped == ["CNA defaultStatus 'affected' (not evaluated)"]


def test_a_cpe_in_the_entry_names_the_product() -> None:
    assert product_key(
        {"vendor": "Acme", "product": "Py", "cpes": ["cpe:2.3:a:python:python:*:*:*:*:*:*:*:*"]}
    ) == ("python:python")
    assert product_key({"vendor": "Acme", "product": "Py"}) is None
    assert product_key({"vendor": "Python Software Foundation", "product": "CPython"}) == "python:python"
