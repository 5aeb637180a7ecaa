"""alpinist's own SBOM JSON (schema ``alpinist-sbom/1``): ``alpinist sbom --format json``.

The dictionary itself, and reading it back, live in :mod:`alpinist.inventory.serialize` (the same
dictionary is the inventory cache). The format is documented field by field in
``docs/sbom-json.md`` and described by the JSON Schema ``alpinist/schemas/sbom.schema.json`` (draft
2020-12). ``render_json`` leaves out each package's ``files`` unless asked: they are bulky and of
little use to a reader.
"""

from __future__ import annotations

import json
from typing import Any

from alpinist.inventory.serialize import inventory_to_dict
from alpinist.models import Inventory
from alpinist.reports.json_schema import load_schema_named


def load_schema() -> dict[str, Any]:
    """The JSON Schema of this format (``alpinist/schemas/sbom.schema.json``)."""
    return load_schema_named("sbom")


def render_json(inv: Inventory, *, include_files: bool = False) -> str:
    """The inventory as ``alpinist-sbom/1`` JSON text (indented, no trailing newline)."""
    return json.dumps(inventory_to_dict(inv, include_files=include_files), indent=2, ensure_ascii=False)
