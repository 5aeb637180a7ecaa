"""One image measured for ``recommend``: its scan reduced to a :class:`Measurement`.

A candidate whose OS packages no advisory feed covers (Wolfi, Ubuntu today), or whose release the
database holds no data for, is *not scanned*: its counts would be a statement of missing data, not of
safety, so the measurement says why and the reports show no count.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from alpinist.advisories.registry import rules_by_type
from alpinist.models import Inventory
from alpinist.recommend.model import Libc, Measurement, zero_by_severity
from alpinist.scan.model import ScanResult

OS_PACKAGE_TYPES = ("apk", "deb")


def libc_of(os_id: str | None) -> Libc | None:
    """musl for Alpine, glibc for the other Linux distributions alpinist reads; None when unknown."""
    if not os_id:
        return None
    return "musl" if os_id == "alpine" else "glibc"


_DEB_PYTHON = re.compile(r"^(?:lib)?python(3\.\d+)(?:-minimal)?$")
_APK_PYTHON = re.compile(r"^python(?:3|-3\.\d+)$")  # Alpine's python3, Wolfi's python-3.12


def interpreter_version(inventory: Inventory) -> str | None:
    """The CPython the image runs: the ``/usr/local`` build the inventory found, else the distro's
    ``python3.X`` (deb), ``python3`` (Alpine) or ``python-3.X`` (Wolfi) package's upstream version. None when there is none."""
    for pkg in inventory.packages:
        if pkg.type == "binary" and pkg.name == "python":
            return pkg.version
    for pkg in inventory.packages:
        if pkg.type == "deb":
            found = _DEB_PYTHON.match(pkg.name)
            if found and pkg.name.startswith("python"):
                upstream = pkg.version.split(":")[-1].split("-")[0].split("+")[0]
                return upstream if upstream.startswith(found.group(1)) else found.group(1)
        if pkg.type == "apk" and _APK_PYTHON.match(pkg.name):
            return pkg.version.split("-r")[0]
    return None


def coverage_gap(inventory: Inventory, namespaces: Collection[str]) -> str | None:
    """Why the OS packages of ``inventory`` cannot be matched, or None when an OS feed covers them.

    ``namespaces``: what the advisory database holds (``Store.namespaces()``).
    """
    types = {p.type for p in inventory.packages if p.type in OS_PACKAGE_TYPES}
    if not types:
        return None
    os = inventory.os
    os_name = os.id if os and os.id else "an unknown OS"
    rules = rules_by_type()
    wanted: list[str] = []
    for kind in sorted(types):
        for feed, rule in rules.get(kind, ()):
            if not feed.os_feed:
                continue
            namespace = rule.namespace(os)
            if namespace is None:
                continue
            if namespace in namespaces:
                return None
            wanted.append(namespace)
    if wanted:
        return (
            f"the advisory database has no {', '.join(dict.fromkeys(wanted))} data (run `alpinist db update`)"
        )
    return f"no advisory feed for {os_name}"


def measure(result: ScanResult, namespaces: Collection[str]) -> Measurement:
    """The figures ``recommend`` ranks on, from a finished scan."""
    inv = result.inventory
    facts = inv.image
    gap = coverage_gap(inv, namespaces)
    summary = result.summary
    os = inv.os
    return Measurement(
        reference=facts.reference,
        digest=facts.manifest_digest,
        os=f"{os.id} {os.version}".strip() if os else "",
        libc=libc_of(os.id if os else None),
        python=interpreter_version(inv),
        scanned=gap is None,
        not_scanned=gap,
        by_severity=summary.by_severity if gap is None else zero_by_severity(),
        vulnerabilities=summary.vulnerabilities if gap is None else 0,
        fixable=sum(1 for f in result.findings if f.fixed_version) if gap is None else 0,
        packages=len(inv.packages),
        compressed=facts.compressed_size,
        uncompressed=facts.uncompressed_size,
        user=facts.user,
        runs_as_root=facts.runs_as_root,
        shell=facts.shell,
        package_managers=facts.package_managers,
        diff_ids=tuple(layer.diff_id for layer in facts.layers if layer.diff_id),
    )
