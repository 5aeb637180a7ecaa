"""``alpinist lint --format json``: the ``alpinist-lint/1`` document (schema: ``schemas/lint.schema.json``).

Shape::

    {"schema": "alpinist-lint/1", "tool": {"name": "alpinist", "version": "…"}, "file": "Dockerfile",
     "findings": [{"rule", "name", "severity", "line", "end_line", "stage", "message", "fix"}, …],
     "suppressed": [same shape: findings silenced by `# alpinist ignore=` comments],
     "summary": {"error": n, "warning": n, "info": n, "total": n, "suppressed": n}}

Findings are sorted by line, then rule id. ``stage`` is the stage's ``AS`` alias or its index as a
string (``"0"``), ``null`` for an ``ARG`` before the first ``FROM``.
"""

from __future__ import annotations

import json
from typing import Any

from alpinist import __version__
from alpinist.dockerfile.lint import LintResult
from alpinist.dockerfile.rules import LintFinding, get_rule

LINT_SCHEMA_ID = "alpinist-lint/1"


def finding_to_dict(f: LintFinding) -> dict[str, Any]:
    rule = get_rule(f.rule)
    return {
        "rule": f.rule,
        "name": rule.name if rule else f.rule,
        "severity": f.severity,
        "line": f.line,
        "end_line": f.end_line if f.end_line is not None else f.line,
        "stage": f.stage,
        "message": f.message,
        "fix": f.fix,
    }


def lint_to_dict(result: LintResult) -> dict[str, Any]:
    counts = result.counts()
    return {
        "schema": LINT_SCHEMA_ID,
        "tool": {"name": "alpinist", "version": __version__},
        "file": result.path,
        "findings": [finding_to_dict(f) for f in result.findings],
        "suppressed": [finding_to_dict(f) for f in result.suppressed],
        "summary": {
            **counts,
            "total": len(result.findings),
            "suppressed": len(result.suppressed),
        },
    }


def render_lint_json(result: LintResult) -> str:
    """The lint result as indented JSON (no trailing newline)."""
    return json.dumps(lint_to_dict(result), indent=2, ensure_ascii=False)
