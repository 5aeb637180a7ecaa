"""Run the catalogers over a file view: OS package databases first, then what depends on them.

The Python and CPython catalogers need the OS packages (a distribution that dpkg owns belongs to
Debian's advisories; an interpreter that an OS package owns is not an unpackaged CPython), so
catalogers named in ``OS_CATALOGERS`` run first and their packages go into the context of the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from alpinist.images.view import FileView, PathSelector
from alpinist.inventory.apk import ApkCataloger
from alpinist.inventory.base import CatalogContext, Cataloger
from alpinist.inventory.cpython import CPythonCataloger
from alpinist.inventory.dpkg import DpkgCataloger
from alpinist.inventory.osrelease import OS_SELECTOR, detect_os
from alpinist.inventory.python import PythonCataloger
from alpinist.models import OSInfo, Package

OS_CATALOGERS = frozenset(("apk", "dpkg"))


def default_catalogers() -> list[Cataloger]:
    return [ApkCataloger(), DpkgCataloger(), PythonCataloger(), CPythonCataloger()]


def selector_for(catalogers: Sequence[Cataloger]) -> PathSelector:
    """Every path the catalogers need, plus the files that identify the distribution."""
    selector = OS_SELECTOR
    for cataloger in catalogers:
        selector = selector | cataloger.selector
    return selector


def sort_key(pkg: Package) -> tuple[str, str, str, str, str]:
    """(type, name, version, location), then arch: ``libc6`` for amd64 and i386 share the first four."""
    return (pkg.type, pkg.name, pkg.version, pkg.locations[0] if pkg.locations else "", pkg.arch or "")


def run_catalogers(
    view: FileView,
    env: Sequence[str],
    layer_ids: Sequence[str],
    catalogers: Sequence[Cataloger] | None = None,
) -> tuple[OSInfo | None, tuple[Package, ...]]:
    """The distribution and every package of ``view``, sorted by (type, name, version, location)."""
    catalogers = list(catalogers) if catalogers is not None else default_catalogers()
    os_info = detect_os(view)
    context = CatalogContext(os=os_info, env=tuple(env), layer_ids=tuple(layer_ids))
    os_packages: list[Package] = []
    for cataloger in catalogers:
        if cataloger.name in OS_CATALOGERS:
            os_packages.extend(cataloger.catalog(view, context))
    context = CatalogContext(
        os=os_info, env=tuple(env), layer_ids=tuple(layer_ids), os_packages=tuple(os_packages)
    )
    packages = list(os_packages)
    for cataloger in catalogers:
        if cataloger.name not in OS_CATALOGERS:
            packages.extend(cataloger.catalog(view, context))
    return os_info, tuple(sorted(packages, key=sort_key))
