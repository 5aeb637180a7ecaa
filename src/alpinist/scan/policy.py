"""Policy: which findings a scan shows, which it suppresses and why, and whether it fails the build.

Order of evaluation (``apply_policy``), on the findings that matching produced:

1. **Filters** the user asked for: ``--only-fixed`` keeps findings that have a fixed version;
   ``--severity LIST`` keeps findings of those severities. What they remove is only counted
   (``PolicyOutcome.filtered``): the user asked not to see it.
2. **Suppressions**, on what the filters kept: the rules of an ignore file and the statements of
   OpenVEX documents. A suppressed finding is never dropped silently: it is kept in
   ``PolicyOutcome.suppressed`` with the reason, listed in the JSON report and counted by the others.
3. **Gate**: ``--fail-on SEVERITY`` fails (exit 2) when a finding at or above it remains after 1 and 2.

Ignore file (``--ignore-file``, YAML): a list of rules::

    - id: CVE-2023-45853          # the finding's id or any of its aliases (case-insensitive)
      package: zlib1g             # optional: package name, its origin/source package, or a purl prefix
      reason: not reachable, no zip parsing of untrusted input   # required
      expires: 2025-06-30         # optional ISO date: the rule applies through that day, not after

``package`` is a purl prefix when it starts with ``pkg:``; the prefix must end at a purl boundary
(``pkg:pypi/jinja2`` matches ``pkg:pypi/jinja2@2.11.2`` but not ``pkg:pypi/jinja2-time@…``). Otherwise
it names the package (``libssl3``) or the origin/source package the distro's advisories use
(``openssl`` covers ``libssl3`` and ``libcrypto3``); Python names compare PEP 503-normalised. An expired
rule no longer applies and yields a warning naming it. A malformed file is an error naming the file,
the line and the field.

OpenVEX (``--vex``, JSON, https://github.com/openvex/spec): each statement names a vulnerability
(``vulnerability.name``, ``@id`` and ``aliases``; a plain string in the v0.0.x form), products and a
status. A statement covers a finding when one of its vulnerability ids is the finding's id or one of
its aliases, and one of its products is

- the **image**: the product's purl (``@id`` or ``identifiers.purl``) matches the image purl
  ``pkg:oci/NAME@sha256:…`` (see ``inventory/naming.image_purl``), and either the product has no
  ``subcomponents`` (the statement is about the whole image) or one subcomponent matches the
  finding's package purl; or
- the **package** itself: the product's purl matches the package purl.

Purl matching (``purl_matches``): type, namespace and name equal (PyPI names PEP 503-normalised);
the version, when the VEX purl gives one, equal; each qualifier present on both sides equal
(a qualifier only one side has is ignored, so ``pkg:oci/app@sha256:…`` matches the image whatever its
``tag``/``arch``/``repository_url``). When several statements cover the same finding the latest one
(statement ``timestamp``, else the document's, else document order) decides. ``not_affected`` (which
the spec requires to carry a ``justification`` or an ``impact_statement``) and ``fixed`` suppress, with
the justification in the reason; ``affected`` and ``under_investigation`` do not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from alpinist.advisories.model import SEVERITIES, Severity
from alpinist.errors import AlpinistError
from alpinist.scan.model import (
    Finding,
    IgnoreRule,
    Policy,
    PolicyOutcome,
    Suppression,
    VexProduct,
    VexStatement,
    VexStatus,
)
from alpinist.scan.severity import at_least, parse_severity


class PolicyError(AlpinistError):
    """An ignore file or VEX document that cannot be read; the message names the file and the field."""


# ---------------------------------------------------------------------------------------------- values


VEX_STATUSES: tuple[str, ...] = ("not_affected", "affected", "fixed", "under_investigation")
SUPPRESSING_VEX_STATUSES = frozenset({"not_affected", "fixed"})


# ---------------------------------------------------------------------------------------------- options


def parse_severity_list(values: Iterable[str]) -> frozenset[Severity]:
    """``["critical,high", "medium"]`` -> {CRITICAL, HIGH, MEDIUM}; ValueError naming a bad entry."""
    out: set[Severity] = set()
    for value in values:
        for part in value.split(","):
            if part.strip():
                out.add(parse_severity(part))
    if not out:
        raise ValueError(f"no severity given (expected a comma-separated list of {', '.join(SEVERITIES)})")
    return frozenset(out)


# ---------------------------------------------------------------------------------------------- ignore file


_RULE_KEYS = ("id", "package", "reason", "expires")


MAX_IGNORE_FLOW_DEPTH = 64  # an ignore file is a list of flat mappings: two levels are all it needs
_FLOW_BRACKET = re.compile(r"[\[\]{}]")


def _flow_depth(text: str) -> int:
    """The deepest nesting of YAML flow brackets, counted naively (brackets in quoted strings count
    too, which only matters for a file that could not be an ignore file anyway)."""
    depth = deepest = 0
    for match in _FLOW_BRACKET.finditer(text):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def load_ignore_file(path: Path) -> tuple[IgnoreRule, ...]:
    """Read an ignore file (see the module docstring); PolicyError naming FILE:LINE and the field."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"ignore file {path}: cannot read it: {exc}") from None
    if _flow_depth(text) > MAX_IGNORE_FLOW_DEPTH:
        # found by bench/fuzz_parsers.py: PyYAML's scanner slows down with the square of the depth of
        # [ { nesting (2,000 levels take 1.4 s) before its parser overflows the stack
        raise PolicyError(
            f"ignore file {path}: not an ignore file: [ {{ nested more than {MAX_IGNORE_FLOW_DEPTH} deep"
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # found by tests/test_fuzz_parsers.py: "- - - - ..." deeper than the stack
        raise PolicyError(f"ignore file {path}: not an ignore file: YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"ignore file {where}: not valid YAML: {problem}") from None
    if root is None:
        return ()
    if not isinstance(root, yaml.SequenceNode):
        raise PolicyError(
            f"ignore file {path}:{root.start_mark.line + 1}: expected a list of rules "
            "(- id: ..., reason: ...), found a {}".format(_node_kind(root))
        )
    loader = yaml.SafeLoader("")
    rules: list[IgnoreRule] = []
    for index, item in enumerate(root.value):
        line = item.start_mark.line + 1
        where = f"{path}:{line}"
        if not isinstance(item, yaml.MappingNode):
            raise PolicyError(f"ignore file {where}: rule {index + 1} must be a mapping with id and reason")
        fields: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in item.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            key_line = key_node.start_mark.line + 1
            if key not in _RULE_KEYS:
                raise PolicyError(
                    f"ignore file {path}:{key_line}: unknown field {key!r} in rule {index + 1} "
                    f"(fields: {', '.join(_RULE_KEYS)})"
                )
            if key in fields:
                raise PolicyError(f"ignore file {path}:{key_line}: field {key!r} given twice")
            try:
                fields[key] = loader.construct_object(value_node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError) as exc:
                # PyYAML raises ValueError for an impossible timestamp (2025-13-01)
                hint = " must be an ISO date (YYYY-MM-DD)" if key == "expires" else ""
                raise PolicyError(f"ignore file {path}:{key_line}: field {key!r}{hint}: {exc}") from None
            lines[key] = value_node.start_mark.line + 1
        rules.append(_ignore_rule(fields, lines, path, line, index))
    return tuple(rules)


def _node_kind(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.ScalarNode):
        return "scalar"
    return type(node).__name__


def _ignore_rule(
    fields: Mapping[str, Any], lines: Mapping[str, int], path: Path, line: int, index: int
) -> IgnoreRule:
    def text(key: str, required: bool) -> str | None:
        value = fields.get(key)
        where = f"{path}:{lines.get(key, line)}"
        if value is None:
            if required:
                raise PolicyError(f"ignore file {where}: rule {index + 1} has no {key!r} (required)")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise PolicyError(f"ignore file {where}: field {key!r} must be a string")
        value = str(value).strip()
        if not value:
            raise PolicyError(f"ignore file {where}: field {key!r} is empty")
        return value

    vuln_id = text("id", True)
    reason = text("reason", True)
    package = text("package", False)
    expires = fields.get("expires")
    if expires is not None:
        where = f"{path}:{lines['expires']}"
        if isinstance(expires, datetime):
            expires = expires.date()
        elif isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires.strip())
            except ValueError:
                raise PolicyError(
                    f"ignore file {where}: field 'expires' must be an ISO date (YYYY-MM-DD), got {expires!r}"
                ) from None
        elif not isinstance(expires, date):
            raise PolicyError(f"ignore file {where}: field 'expires' must be an ISO date (YYYY-MM-DD)")
    assert vuln_id is not None and reason is not None
    return IgnoreRule(id=vuln_id, reason=reason, package=package, expires=expires, where=f"{path}:{line}")


def _purl_prefix_matches(prefix: str, purl: str) -> bool:
    if not purl.startswith(prefix):
        return False
    if len(purl) == len(prefix) or prefix[-1] in "/@?&#":
        return True
    return purl[len(prefix)] in "@?#/"


def _ids(finding: Finding) -> set[str]:
    return {finding.id.casefold(), *(a.casefold() for a in finding.aliases)}


def _name_matches(name: str, finding: Finding) -> bool:
    pkg = finding.package
    candidates = {pkg.name, *((pkg.origin,) if pkg.origin else ()), finding.advisory_package}
    if name in candidates:
        return True
    if pkg.type == "python":
        wanted = canonicalize_name(name)
        return any(canonicalize_name(c) == wanted for c in candidates)
    return False


def rule_matches(rule: IgnoreRule, finding: Finding) -> bool:
    """Whether ``rule`` names ``finding`` (expiry is not looked at here)."""
    if rule.id.casefold() not in _ids(finding):
        return False
    if rule.package is None:
        return True
    if rule.package.startswith("pkg:"):
        return _purl_prefix_matches(rule.package, finding.package.purl)
    return _name_matches(rule.package, finding)


# ---------------------------------------------------------------------------------------------- OpenVEX


def load_vex(path: Path, *, start: int = 0) -> tuple[VexStatement, ...]:
    """Read an OpenVEX JSON document (see the module docstring); PolicyError naming the file and field."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"VEX document {path}: cannot read it: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f"{path}:{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(path)
        raise PolicyError(f"VEX document {where}: not valid JSON: {exc}") from None
    except RecursionError:  # found by tests/test_fuzz_parsers.py: "[[[[..." deeper than the stack
        raise PolicyError(f"VEX document {path}: not an OpenVEX document: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"VEX document {path}: expected a JSON object (an OpenVEX document)")
    context = doc.get("@context")
    if not isinstance(context, str) or "openvex" not in context:
        raise PolicyError(f"VEX document {path}: '@context' is {context!r}, not an OpenVEX context")
    doc_time = _vex_time(doc.get("timestamp"), path, "timestamp")
    statements = doc.get("statements")
    if not isinstance(statements, list):
        raise PolicyError(f"VEX document {path}: 'statements' must be a list")
    out: list[VexStatement] = []
    for i, raw in enumerate(statements):
        where = f"statements[{i}]"
        out.append(_vex_statement(raw, path, where, doc_time, start + i))
    return tuple(out)


def _vex_fail(path: Path, where: str, message: str) -> PolicyError:
    return PolicyError(f"VEX document {path}: {where}: {message}")


def _vex_time(value: Any, path: Path, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _vex_fail(path, where, "must be an RFC 3339 timestamp string")
    try:
        # Python 3.11 reads "Z"; RFC 3339 5.6 allows "t" and "z" too, which it does not
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise _vex_fail(path, where, f"not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _opt_str(raw: Mapping[str, Any], key: str, path: Path, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _vex_fail(path, f"{where}.{key}", "must be a string")
    return value.strip() or None


def _vex_statement(raw: Any, path: Path, where: str, doc_time: datetime | None, order: int) -> VexStatement:
    if not isinstance(raw, dict):
        raise _vex_fail(path, where, "must be an object")
    vuln = raw.get("vulnerability")
    ids: list[str] = []
    if isinstance(vuln, str) and vuln.strip():
        ids.append(vuln.strip())
    elif isinstance(vuln, dict):
        for key in ("name", "@id"):
            value = vuln.get(key)
            if value is not None and not isinstance(value, str):
                raise _vex_fail(path, f"{where}.vulnerability.{key}", "must be a string")
            if value and value.strip():
                ids.append(value.strip())
        aliases = vuln.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise _vex_fail(path, f"{where}.vulnerability.aliases", "must be a list of strings")
        ids.extend(a.strip() for a in aliases if a.strip())
        if not vuln.get("name"):
            raise _vex_fail(path, f"{where}.vulnerability.name", "missing (required)")
    else:
        raise _vex_fail(path, f"{where}.vulnerability", "missing, or neither an object nor a string")
    status = raw.get("status")
    if status not in VEX_STATUSES:
        raise _vex_fail(path, f"{where}.status", f"{status!r} is not one of {', '.join(VEX_STATUSES)}")
    products_raw = raw.get("products")
    if not isinstance(products_raw, list) or not products_raw:
        raise _vex_fail(path, f"{where}.products", "must be a non-empty list")
    products = tuple(_vex_product(p, path, f"{where}.products[{j}]") for j, p in enumerate(products_raw))
    justification = _opt_str(raw, "justification", path, where)
    impact = _opt_str(raw, "impact_statement", path, where)
    if status == "not_affected" and not (justification or impact):
        raise _vex_fail(
            path, where, "status not_affected needs a justification or an impact_statement (OpenVEX spec)"
        )
    return VexStatement(
        vulnerabilities=tuple(dict.fromkeys(ids)),
        products=products,
        status=cast(VexStatus, status),
        justification=justification,
        impact_statement=impact,
        status_notes=_opt_str(raw, "status_notes", path, where),
        timestamp=_vex_time(raw.get("timestamp"), path, f"{where}.timestamp") or doc_time,
        where=f"{path} {where}",
        order=order,
    )


def _component_purl(raw: Any, path: Path, where: str) -> str | None:
    if isinstance(raw, str):
        return raw if raw.startswith("pkg:") else None
    if not isinstance(raw, dict):
        raise _vex_fail(path, where, "must be an object with an @id")
    ident = raw.get("@id")
    identifiers = raw.get("identifiers")
    if isinstance(identifiers, dict) and isinstance(identifiers.get("purl"), str):
        return cast(str, identifiers["purl"])
    if isinstance(ident, str) and ident.startswith("pkg:"):
        return ident
    if ident is None and identifiers is None:
        raise _vex_fail(path, where, "has neither @id nor identifiers")
    return None


def _vex_product(raw: Any, path: Path, where: str) -> VexProduct:
    purl = _component_purl(raw, path, where)
    subs: list[str] = []
    if isinstance(raw, dict) and raw.get("subcomponents") is not None:
        sub_raw = raw["subcomponents"]
        if not isinstance(sub_raw, list):
            raise _vex_fail(path, f"{where}.subcomponents", "must be a list")
        for k, sub in enumerate(sub_raw):
            sub_purl = _component_purl(sub, path, f"{where}.subcomponents[{k}]")
            if sub_purl is not None:
                subs.append(sub_purl)
        if not subs:
            # subcomponents alpinist cannot identify: the statement must not widen to the whole image
            return VexProduct(None)
    return VexProduct(purl, tuple(subs))


def _parse_purl(text: str) -> PackageURL | None:
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _purl_name(purl: PackageURL) -> str:
    return canonicalize_name(purl.name) if purl.type == "pypi" else purl.name


def purl_matches(pattern: str, target: str) -> bool:
    """Whether a VEX purl ``pattern`` names ``target`` (see the module docstring for the rules)."""
    p, t = _parse_purl(pattern), _parse_purl(target)
    if p is None or t is None:
        return False
    if (p.type, p.namespace or "", _purl_name(p)) != (t.type, t.namespace or "", _purl_name(t)):
        return False
    if p.version is not None and p.version != t.version:
        return False
    if p.subpath and p.subpath != t.subpath:
        return False
    pq = p.qualifiers if isinstance(p.qualifiers, dict) else {}
    tq = t.qualifiers if isinstance(t.qualifiers, dict) else {}
    return all(tq[key] == value for key, value in pq.items() if key in tq)


def statement_covers(statement: VexStatement, finding: Finding, image_purl: str | None) -> bool:
    if not {v.casefold() for v in statement.vulnerabilities} & _ids(finding):
        return False
    package_purl = finding.package.purl
    for product in statement.products:
        if product.purl is None:
            continue
        if image_purl is not None and purl_matches(product.purl, image_purl):
            if not product.subcomponents:
                return True
            if any(purl_matches(sub, package_purl) for sub in product.subcomponents):
                return True
        elif purl_matches(product.purl, package_purl):
            return True
    return False


def _vex_reason(statement: VexStatement) -> str:
    detail = statement.justification or ""
    if statement.impact_statement:
        detail = f"{detail}: {statement.impact_statement}" if detail else statement.impact_statement
    if statement.status == "fixed" and not detail:
        detail = statement.status_notes or ""
    return f"VEX {statement.status}" + (f": {detail}" if detail else "")


# ---------------------------------------------------------------------------------------------- applying


def apply_policy(findings: Sequence[Finding], policy: Policy, image_purl: str | None = None) -> PolicyOutcome:
    """Filters, then suppressions, then the gate (see the module docstring)."""
    today = policy.today or date.today()
    warnings: list[str] = []
    for rule in policy.ignore_rules:
        if rule.expired(today):
            what = f"{rule.id}" + (f" in {rule.package}" if rule.package else "")
            warnings.append(
                f"ignore rule for {what} ({rule.where}) expired on {rule.expires}; it no longer applies"
            )
    active_rules = [r for r in policy.ignore_rules if not r.expired(today)]
    vex_latest_first = sorted(
        policy.vex,
        key=lambda s: (s.timestamp.timestamp() if s.timestamp else float("-inf"), s.order),
        reverse=True,
    )

    kept: list[Finding] = []
    suppressed: list[Suppression] = []
    filtered = 0
    for finding in findings:
        if policy.only_fixed and not finding.fixed_version:
            filtered += 1
            continue
        if policy.severities is not None and finding.severity not in policy.severities:
            filtered += 1
            continue
        suppression = _suppression(finding, active_rules, vex_latest_first, image_purl)
        if suppression is not None:
            suppressed.append(suppression)
        else:
            kept.append(finding)
    return PolicyOutcome(
        tuple(kept), tuple(suppressed), filtered, tuple(warnings), gate_failed(kept, policy.fail_on)
    )


def _suppression(
    finding: Finding,
    rules: Sequence[IgnoreRule],
    vex: Sequence[VexStatement],
    image_purl: str | None,
) -> Suppression | None:
    for statement in vex:  # latest first: the first that covers the finding decides
        if statement_covers(statement, finding, image_purl):
            if statement.status in SUPPRESSING_VEX_STATUSES:
                return Suppression(
                    finding,
                    _vex_reason(statement),
                    "vex",
                    statement.where,
                    justification=statement.justification,
                    vex_status=statement.status,
                )
            break  # affected / under_investigation: the latest word says it still applies
    for rule in rules:
        if rule_matches(rule, finding):
            return Suppression(finding, f"ignored: {rule.reason}", "ignore-file", rule.where)
    return None


def gate_failed(findings: Iterable[Finding], fail_on: Severity | None) -> bool:
    """Whether any finding is at or above ``fail_on`` (never, when it is None)."""
    return fail_on is not None and any(at_least(f.severity, fail_on) for f in findings)
