"""The JSON Schemas of alpinist's own formats, read from the package (``alpinist/schemas/<name>.schema.json``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, cast


def load_schema_named(name: str) -> dict[str, Any]:
    """The schema ``alpinist/schemas/<name>.schema.json`` (``sbom``, ``scan``, ``gate``, ``recommend``…)."""
    text = resources.files("alpinist").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))
