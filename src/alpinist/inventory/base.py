"""The one interface of every cataloger.

A cataloger says which paths it needs (``selector``), then reads them from the merged ``FileView``
and returns packages. OS catalogers (apk, dpkg) run first; language catalogers see their results in
``CatalogContext.os_packages`` (a Python distribution that dpkg owns belongs to Debian's advisories).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alpinist.images.view import FileView, PathSelector
from alpinist.models import OSInfo, Package, env_lookup


@dataclass(frozen=True)
class CatalogContext:
    os: OSInfo | None
    env: tuple[str, ...]  # the image config's ENV, KEY=VALUE
    layer_ids: tuple[str, ...]  # per layer index: the diff_id (or blob digest) reported as Package.layer
    os_packages: tuple[Package, ...] = ()

    def layer_id(self, index: int | None) -> str | None:
        if index is None or not 0 <= index < len(self.layer_ids):
            return None
        return self.layer_ids[index]

    def env_value(self, key: str) -> str | None:
        return env_lookup(self.env, key)


class Cataloger(Protocol):
    name: str
    selector: PathSelector

    def catalog(self, view: FileView, context: CatalogContext) -> list[Package]: ...
