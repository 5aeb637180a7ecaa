"""alpinist's own SBOM JSON (schema ``alpinist-sbom/1``): ``alpinist sbom --format json``.

The dictionary itself, and reading it back, live in :mod:`alpinist.inventory.serialize` (the same
dictionary is the inventory cache). The format is documented field by field in
``docs/sbom-json.md`` and described by the JSON Schema ``alpinist/schemas/sbom.schema.json`` (draft
2020-12). ``render_json`` leaves out each package's ``files`` unless asked: they are bulky and of
little use to a reader.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, cast

from alpinist.inventory.serialize import inventory_to_dict
from alpinist.models import Inventory


def load_schema() -> dict[str, Any]:
    """The JSON Schema of this format (``alpinist/schemas/sbom.schema.json``)."""
    text = resources.files("alpinist").joinpath("schemas/sbom.schema.json").read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


def render_json(inv: Inventory, *, include_files: bool = False) -> str:
    """The inventory as ``alpinist-sbom/1`` JSON text (indented, no trailing newline)."""
    return json.dumps(inventory_to_dict(inv, include_files=include_files), indent=2, ensure_ascii=False)
