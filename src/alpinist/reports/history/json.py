"""``alpinist history --format json``: ``alpinist-history/1`` (docs/history.md).

``history`` (the store's path), ``filters`` (``image``, ``since``), ``runs`` (the count), ``images[]``
in the order of their first run: ``name`` and ``runs[]`` oldest first, each ``time``, ``verb``,
``reference``, ``manifest_digest``, ``findings``, ``by_severity`` (all six, worst first),
``unique_ids``, ``packages``, ``database_updated_at``, ``new`` and ``gone`` (gate only, else null).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alpinist.history.model import History, HistoryEntry

SCHEMA_ID = "alpinist-history/1"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_dict(e: HistoryEntry) -> dict[str, Any]:
    return {
        "time": iso(e.recorded_at),
        "verb": e.verb,
        "reference": e.reference,
        "manifest_digest": e.manifest_digest,
        "findings": e.findings,
        "by_severity": dict(e.by_severity),
        "unique_ids": e.unique_ids,
        "packages": e.packages,
        "database_updated_at": iso(e.db_updated_at),
        "new": e.new,
        "gone": e.gone,
    }


def history_dict(history: History) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "history": history.path,
        "filters": {"image": history.image, "since": iso(history.since)},
        "runs": len(history.entries),
        "images": [
            {"name": name, "runs": [run_dict(e) for e in history.of_image(name)]} for name in history.images
        ],
    }


def render_history_json(history: History) -> str:
    return json.dumps(history_dict(history), indent=2, ensure_ascii=False)
