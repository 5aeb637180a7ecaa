"""The values of each line of the comparison and the rule of its verdict (``docs/compare.md``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alpinist.advisories.model import SEVERITIES, Severity
from alpinist.compare.model import ImageColumn, Metric, MetricKind, Value
from alpinist.models import ImageFacts, OSInfo
from alpinist.scan.model import Summary


def human_bytes(n: int | None) -> str:
    """Decimal units as ``docker images`` prints them: ``552 B``, ``1.2 kB``, ``14.6 MB``, ``1.03 GB``."""
    if n is None:
        return "?"
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.2f} {unit}" if value < 10 and unit in ("GB", "TB") else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def user_text(facts: ImageFacts) -> str:
    if not facts.user:
        return "root (default)"
    return f"{facts.user} (root)" if facts.runs_as_root and facts.user not in ("root", "0") else facts.user


def os_text(os: OSInfo | None) -> str:
    if os is None:
        return "unknown"
    return os.pretty_name or f"{os.id} {os.version}".strip()


def _metric(
    columns: Sequence[ImageColumn],
    key: str,
    label: str,
    kind: MetricKind,
    get: Callable[[ImageColumn], Value],
    text: Callable[[ImageColumn, Value], str] | None = None,
    score: Callable[[ImageColumn, Value], float | None] | None = None,
    rule: str = "",
) -> Metric:
    values: list[Value] = []
    texts: list[str] = []
    scores: list[float | None] = []
    for col in columns:
        if not col.ok:
            values.append(None)
            texts.append("")
            scores.append(None)
            continue
        v = get(col)
        values.append(v)
        if text is not None:
            texts.append(text(col, v))
        elif kind == "bytes":
            texts.append(human_bytes(v if isinstance(v, int) else None))
        else:
            texts.append("" if v is None else str(v))
        if score is not None:
            scores.append(score(col, v))
        else:
            scores.append(None)
    return Metric(key, label, kind, tuple(values), tuple(texts), tuple(scores) if score else (), rule)


def _number(col: ImageColumn, v: Value) -> float | None:
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else None


def _severity_count(severity: Severity) -> Callable[[ImageColumn], Value]:
    def get(col: ImageColumn) -> Value:
        assert col.summary is not None
        return col.summary.count(severity)

    return get


def build_metrics(columns: Sequence[ImageColumn]) -> tuple[Metric, ...]:
    """The lines of the comparison, in the order every report prints them."""

    def s(col: ImageColumn) -> Summary:
        assert col.summary is not None
        return col.summary

    def f(col: ImageColumn) -> ImageFacts:
        assert col.facts is not None
        return col.facts

    fewer = "fewer is better"
    metrics = [
        _metric(columns, "os", "OS", "text", lambda c: os_text(c.os)),
        _metric(columns, "os_version", "OS version", "text", lambda c: c.os.version if c.os else ""),
        _metric(
            columns,
            "base",
            "Base image",
            "text",
            lambda c: c.base.text if c.base else None,
            lambda c, v: str(v) if v else "not detected",
        ),
        _metric(
            columns,
            "vulnerabilities",
            "Vulnerabilities",
            "count",
            lambda c: s(c).vulnerabilities,
            score=_number,
            rule=f"findings (package × advisory), {fewer}",
        ),
    ]
    metrics += [
        _metric(
            columns,
            f"severity.{sev.lower()}",
            sev.capitalize() if sev != "UNKNOWN" else "Unknown severity",
            "count",
            _severity_count(sev),
            score=_number,
            rule=f"{sev} findings, {fewer}",
        )
        for sev in SEVERITIES
    ]
    metrics += [
        _metric(
            columns,
            "unique_ids",
            "Distinct IDs",
            "count",
            lambda c: s(c).unique_ids,
            score=_number,
            rule=f"distinct advisory ids, {fewer}",
        ),
        _metric(
            columns,
            "vulnerable_packages",
            "Packages with vulnerabilities",
            "count",
            lambda c: s(c).packages,
            score=_number,
            rule=f"packages with at least one finding, {fewer}",
        ),
        _metric(
            columns,
            "packages",
            "Packages",
            "count",
            lambda c: s(c).packages_scanned,
            score=_number,
            rule=f"installed packages (attack surface), {fewer}",
        ),
        _metric(
            columns,
            "size.compressed",
            "Compressed size",
            "bytes",
            lambda c: f(c).compressed_size,
            score=_number,
            rule="sum of the layer blobs as pulled, smaller is better",
        ),
        _metric(
            columns,
            "size.uncompressed",
            "Uncompressed size",
            "bytes",
            lambda c: f(c).uncompressed_size,
            score=_number,
            rule="sum of the layer tars as unpacked, smaller is better",
        ),
        _metric(columns, "layers", "Layers", "count", lambda c: len(f(c).layers)),
        _metric(
            columns,
            "user",
            "User",
            "text",
            lambda c: f(c).user,
            text=lambda c, v: user_text(f(c)),
            score=lambda c, v: 1.0 if f(c).runs_as_root else 0.0,
            rule="non-root is better than root",
        ),
        _metric(
            columns,
            "healthcheck",
            "Healthcheck",
            "text",
            lambda c: c.healthcheck.tool if c.healthcheck.present else None,
            text=lambda c, v: c.healthcheck.text,
            score=lambda c, v: float(c.healthcheck.score),
            rule="a healthcheck without an extra tool, then one that needs curl/wget/python the app does "
            "not run, then none",
        ),
        _metric(
            columns,
            "shell",
            "Shell",
            "text",
            lambda c: f(c).shell,
            text=lambda c, v: str(v) if v else "none",
            score=lambda c, v: 1.0 if v else 0.0,
            rule="no shell is better",
        ),
        _metric(
            columns,
            "package_managers",
            "Package manager",
            "text",
            lambda c: ", ".join(f(c).package_managers) or None,
            text=lambda c, v: str(v) if v else "none",
            score=lambda c, v: 1.0 if v else 0.0,
            rule="no package manager is better (one is enough to install anything)",
        ),
    ]
    return tuple(metrics)
