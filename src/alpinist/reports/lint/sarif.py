"""``alpinist lint --format sarif``: SARIF 2.1.0 for code-scanning dashboards.

Written as plain JSON like ``reports/scan/sarif.py`` (the scan's SARIF) and validated by the tests
against the same vendored OASIS schema (``schemas/sarif-2.1.0.schema.json``). The log skeleton is
``reports/sarif_common.py``'s, shared with the scan's; ``reports/scan/sarif.py`` itself is not imported:
it imports the scan's models, which ``lint`` must not load.

Mapping: one ``tool.driver.rules`` entry per rule that ran (id, name, one-line doc, help with the fix,
``defaultConfiguration.level``: error → ``error``, warning → ``warning``, info → ``note``); one
result per finding with ``level`` from its own severity, the message followed by the fix, and a
physical location: the Dockerfile as given on the command line (a relative URI reference) and the
instruction's lines. ``partialFingerprints["alpinistLint/v1"]``: sha256 of rule, stage and message,
which do not change when lines move.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from alpinist.dockerfile.lint import LintResult
from alpinist.dockerfile.rules import SARIF_LEVEL, LintFinding, Rule
from alpinist.reports.sarif_common import artifact_uri, single_run_log

FINGERPRINT_KEY = "alpinistLint/v1"


def _uri(path: str | None) -> str:
    return artifact_uri((path or "Dockerfile").replace("\\", "/"))


def _rule(rule: Rule) -> dict[str, Any]:
    md_fix = rule.fix.replace("|", "\\|")
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.doc},
        "fullDescription": {"text": rule.doc},
        "help": {
            "text": f"{rule.doc}\nFix: {rule.fix}",
            "markdown": f"**{rule.id}** {rule.doc}\n\nFix: {md_fix}",
        },
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["dockerfile", "security", "hardening"], "precision": "high"},
    }


def fingerprint(f: LintFinding) -> str:
    return hashlib.sha256("\0".join((f.rule, f.stage or "", f.message)).encode()).hexdigest()


def _result(f: LintFinding, index: int, uri: str) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": f.line}
    if f.end_line is not None and f.end_line > f.line:
        region["endLine"] = f.end_line
    props: dict[str, Any] = {"severity": f.severity}
    if f.stage is not None:
        props["stage"] = f.stage
    return {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.message}. Fix: {f.fix}"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "index": 0}, "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
        "properties": props,
    }


def lint_sarif_log(result: LintResult) -> dict[str, Any]:
    rules = list(result.rules)
    index = {r.id: i for i, r in enumerate(rules)}
    uri = _uri(result.path)
    return single_run_log(
        rules=[_rule(r) for r in rules],
        artifact={"location": {"uri": uri}, "roles": ["analysisTarget"], "mimeType": "text/x-dockerfile"},
        results=[_result(f, index[f.rule], uri) for f in result.findings],
    )


def render_lint_sarif(result: LintResult) -> str:
    """The lint result as a SARIF 2.1.0 log (indented JSON, no trailing newline)."""
    return json.dumps(lint_sarif_log(result), indent=2, ensure_ascii=False)
