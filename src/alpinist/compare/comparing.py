"""The compare stage: several images, each scanned as ``alpinist scan`` would, side by side.

``compare_images`` builds each image's inventory (``pipeline.build_inventory``) and scans it
(``scanning.scan_inventory``) against one advisory store with one policy, so every number in a column
is the number ``alpinist scan`` prints for that image alone. ``build_comparison`` turns the per-image
results into the :class:`Comparison` the reports lay out (``reports/compare_*.py``): one
:class:`ImageColumn` per image, the metric rows with a verdict each, and the CVE diff of every image
against the first. The rules behind each verdict are in ``docs/compare.md`` and in ``METRICS`` below.

An image that cannot be read (a missing file, a blob that fails its digest, a broken package
database) becomes a column holding its one-line error; the others are still compared. Errors of the
advisory database are not per image: they propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from alpinist.advisories.model import SEVERITIES, Severity
from alpinist.dockerfile.healthcheck import (
    EXTRA_TOOL_KINDS,
    HealthTool,
    programs_in_argv,
    programs_in_shell,
    tool_kind,
)
from alpinist.errors import AlpinistError, DatabaseError
from alpinist.models import Healthcheck, ImageFacts, LayerInfo, OSInfo
from alpinist.scan.matching import Finding
from alpinist.scan.scanning import DEFAULT_MAX_DB_AGE, ScanResult, Summary
from alpinist.scan.severity import rank

if TYPE_CHECKING:
    from alpinist.advisories.store import Store
    from alpinist.images.open import PullOptions
    from alpinist.scan.policy import Policy

BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"

# ---------------------------------------------------------------------------------------------- healthcheck

HealthForm = Literal["shell", "exec"]


@dataclass(frozen=True)
class HealthcheckInfo:
    """What a HEALTHCHECK runs and whether it needs a tool the application itself does not use.

    ``tool``: ``curl``, ``wget``, ``python`` (``python3``, ``python3.11``…), ``other`` (another
    program: the app's own binary, ``nc``…) or ``none`` (no healthcheck, or one made of shell builtins
    only). ``extra_tool``: the check needs curl, wget or python while the image's entrypoint/cmd does
    not run that program, i.e. it was installed for the check (curl in a Python image: yes; python in
    a Python image: no). ``needs_shell``: shell form (``CMD-SHELL``) or an explicit ``sh -c``.
    """

    present: bool
    command: str = ""
    form: HealthForm | None = None
    programs: tuple[str, ...] = ()  # basenames of the programs the check runs, in order
    tool: HealthTool = "none"
    extra_tool: bool = False
    needs_shell: bool = False

    @property
    def text(self) -> str:
        """``curl (shell form)``, ``python (exec form)``, ``none``."""
        if not self.present:
            return "none"
        name = self.programs[0] if self.tool == "other" and self.programs else self.tool
        return f"{name} ({self.form} form)" if self.form else name

    @property
    def score(self) -> int:
        """Lower is better: 0 a check without an extra tool, 1 a check that needs one, 2 no check."""
        if not self.present:
            return 2
        return 1 if self.extra_tool else 0


def image_programs(facts: ImageFacts) -> list[str]:
    """The programs the image runs: its entrypoint, else its cmd (a shell's ``-c`` script is read)."""
    argv = list(facts.entrypoint or ()) or list(facts.cmd or ())
    return programs_in_argv(argv)[0]


def healthcheck_info(healthcheck: Healthcheck | None, runs: Iterable[str] = ()) -> HealthcheckInfo:
    """Parse the image's HEALTHCHECK; ``runs`` are the programs of its entrypoint/cmd."""
    if healthcheck is None or healthcheck.disabled or not healthcheck.test:
        return HealthcheckInfo(present=False)
    kind, args = healthcheck.test[0], healthcheck.test[1:]
    form: HealthForm
    if kind == "CMD":
        form = "exec"
        programs, needs_shell = programs_in_argv(args)
    else:  # CMD-SHELL, or a bare string as some builders write it
        form = "shell"
        script = " ".join(args) if kind == "CMD-SHELL" else " ".join(healthcheck.test)
        programs, needs_shell = programs_in_shell(script), True
    kinds = [tool_kind(p) for p in programs]
    tool: HealthTool = next((k for k in kinds if k != "other"), "other" if programs else "none")
    app_kinds = {tool_kind(p) for p in runs}
    extra = tool in EXTRA_TOOL_KINDS and tool not in app_kinds
    return HealthcheckInfo(
        present=True,
        command=healthcheck.command,
        form=form,
        programs=tuple(programs),
        tool=tool,
        extra_tool=extra,
        needs_shell=needs_shell,
    )


# ---------------------------------------------------------------------------------------------- base image


@dataclass(frozen=True)
class BaseCandidate:
    """An image that may be the base of a compared one: its diff_ids, bottom layer first."""

    name: str
    diff_ids: tuple[str, ...]
    digest: str | None = None


@dataclass(frozen=True)
class BaseImage:
    name: str | None
    digest: str | None
    source: Literal["label", "layers"]  # image config labels, or a layer-prefix match
    layers: int | None = None  # layers shared with the base (layer-prefix match)

    @property
    def text(self) -> str:
        what = self.name or (self.digest[:19] + "…" if self.digest else "?")
        if self.source == "label":
            return f"{what} (label)"
        return f"{what} ({self.layers} shared {'layer' if self.layers == 1 else 'layers'})"


def detect_base(facts: ImageFacts, candidates: Sequence[BaseCandidate]) -> BaseImage | None:
    """The image's base: the ``org.opencontainers.image.base.name``/``.digest`` labels when set, else the
    candidate with the longest diff_id list that is a strict prefix of the image's (first given wins a tie).
    """
    labels = dict(facts.labels)
    name, digest = labels.get(BASE_NAME_LABEL) or None, labels.get(BASE_DIGEST_LABEL) or None
    if name or digest:
        return BaseImage(name=name, digest=digest, source="label")
    ids = tuple(layer.diff_id for layer in facts.layers)
    if not ids or any(i is None for i in ids):
        return None
    best: BaseCandidate | None = None
    for cand in candidates:
        n = len(cand.diff_ids)
        if 0 < n < len(ids) and ids[:n] == cand.diff_ids and (best is None or n > len(best.diff_ids)):
            best = cand
    if best is None:
        return None
    return BaseImage(name=best.name, digest=best.digest, source="layers", layers=len(best.diff_ids))


def base_candidate(reference: str, options: PullOptions | None = None) -> BaseCandidate:
    """Resolve ``reference`` (manifest and config only, no layer is read) into a base candidate."""
    from alpinist.errors import ManifestError
    from alpinist.images.open import PullOptions, open_source
    from alpinist.images.reference import parse_reference

    ref = parse_reference(reference)
    if ref.transport == "dir":
        raise ManifestError(f"{reference}: a dir: root filesystem has no layers to match as a base image")
    source = open_source(ref, options or PullOptions())
    try:
        resolved = source.resolve()
    finally:
        source.close()
    rootfs = resolved.config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ManifestError(f"config {resolved.config_digest} of {reference}: no rootfs.diff_ids list")
    name = str(ref.registry) if ref.registry else (resolved.name or reference)
    return BaseCandidate(name=name, diff_ids=tuple(diff_ids), digest=resolved.manifest_digest)


# ---------------------------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class ImageColumn:
    label: str
    reference: str
    result: ScanResult | None = None
    error: str | None = None  # one line: why the image could not be compared
    base: BaseImage | None = None
    healthcheck: HealthcheckInfo = field(default_factory=lambda: HealthcheckInfo(present=False))

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def facts(self) -> ImageFacts | None:
        return self.result.inventory.image if self.result is not None else None

    @property
    def os(self) -> OSInfo | None:
        return self.result.inventory.os if self.result is not None else None

    @property
    def summary(self) -> Summary | None:
        return self.result.summary if self.result is not None else None

    @property
    def layers(self) -> tuple[LayerInfo, ...]:
        return self.facts.layers if self.facts is not None else ()

    @property
    def title(self) -> str:
        """The image's name (``python-app:alpine``), else the reference as written."""
        return (self.facts.name or self.facts.reference) if self.facts is not None else self.reference

    @property
    def short_digest(self) -> str:
        """``sha256:fad3a445b3af`` (12 hex digits of the manifest digest), or empty."""
        digest = self.facts.manifest_digest if self.facts is not None else None
        return digest[:19] if digest else ""


# ---------------------------------------------------------------------------------------------- metrics

MetricKind = Literal["text", "count", "bytes"]
Value = int | str | bool | None


@dataclass(frozen=True)
class Metric:
    """One line of the comparison: a value per image and which image is better on it.

    ``scores`` (lower is better, None where the image has no value or the line has no verdict) decide
    ``best``: the indices of the images with the lowest score, empty when the line gives no verdict
    (informational lines, fewer than two readable images) or every readable image ties (``tie``).
    """

    key: str
    label: str
    kind: MetricKind
    values: tuple[Value, ...]
    texts: tuple[str, ...]
    scores: tuple[float | None, ...] = ()
    rule: str = ""  # how the verdict is decided, for the docs and the HTML tooltip

    @property
    def judged(self) -> bool:
        return sum(s is not None for s in self.scores) >= 2

    @property
    def best(self) -> tuple[int, ...]:
        if not self.judged:
            return ()
        scored = [(s, i) for i, s in enumerate(self.scores) if s is not None]
        low = min(s for s, _ in scored)
        winners = tuple(i for s, i in scored if s == low)
        return () if len(winners) == len(scored) else winners

    @property
    def tie(self) -> bool:
        return self.judged and not self.best

    def compare(self, i: int, j: int) -> int | None:
        """-1 when image ``i`` is better than ``j`` on this line, 1 when worse, 0 same, None no verdict."""
        if not self.scores:
            return None
        a, b = self.scores[i], self.scores[j]
        if a is None or b is None:
            return None
        return (a > b) - (a < b)

    def delta(self, i: int, against: int = 0) -> str:
        """``+3``/``-102`` (counts) or ``-90%`` (sizes) of image ``i`` against image ``against``."""
        a, b = self.values[i], self.values[against]
        if self.kind == "text" or i == against or not isinstance(a, int) or not isinstance(b, int):
            return ""
        if isinstance(a, bool) or isinstance(b, bool):
            return ""
        if self.kind == "count":
            return "±0" if a == b else f"{a - b:+d}"
        if b == 0:
            return ""
        pct = round(100 * (a - b) / b)
        return "±0%" if pct == 0 else f"{pct:+d}%"


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


# ---------------------------------------------------------------------------------------------- CVE diff


@dataclass(frozen=True)
class DiffId:
    id: str
    severity: Severity


@dataclass(frozen=True)
class PackageIds:
    """The ids one advisory package gains or loses: ``glibc`` (deb) with ``libc6 2.36-9+deb12u9``…"""

    package: str  # the advisory package: Alpine origin, Debian source, PEP 503 name, vendor:product
    type: str  # apk, deb, python, binary
    installed: tuple[str, ...]  # "name version" of the installed packages behind it
    ids: tuple[DiffId, ...]  # worst severity first, then id


@dataclass(frozen=True)
class CveDiff:
    """Image ``image`` against image ``against`` (the first): the ids it removes and the ids it adds.

    Ids are compared with their aliases (a GHSA on one side and its CVE on the other are the same
    issue). ``unchanged``: distinct ids of ``image`` that ``against`` has too.
    """

    image: int
    against: int
    removed: tuple[PackageIds, ...]
    added: tuple[PackageIds, ...]
    unchanged: int

    @property
    def removed_ids(self) -> int:
        return len({d.id for g in self.removed for d in g.ids})

    @property
    def added_ids(self) -> int:
        return len({d.id for g in self.added for d in g.ids})


def _names(finding: Finding) -> set[str]:
    return {finding.id, *finding.aliases}


def _group(findings: Iterable[Finding]) -> tuple[PackageIds, ...]:
    groups: dict[tuple[str, str], tuple[set[str], dict[str, Severity]]] = {}
    for f in findings:
        installed, ids = groups.setdefault((f.package.type, f.advisory_package), (set(), {}))
        installed.add(f"{f.package.name} {f.package.version}")
        if f.id not in ids or rank(f.severity) > rank(ids[f.id]):
            ids[f.id] = f.severity
    out = [
        PackageIds(
            package=pkg,
            type=typ,
            installed=tuple(sorted(installed)),
            ids=tuple(DiffId(i, sev) for i, sev in sorted(ids.items(), key=lambda kv: (-rank(kv[1]), kv[0]))),
        )
        for (typ, pkg), (installed, ids) in groups.items()
    ]
    return tuple(sorted(out, key=lambda g: (g.package.lower(), g.type)))


def cve_diff(first: ScanResult, other: ScanResult, *, image: int = 1, against: int = 0) -> CveDiff:
    known_first = set().union(*(_names(f) for f in first.findings)) if first.findings else set()
    known_other = set().union(*(_names(f) for f in other.findings)) if other.findings else set()
    removed = [f for f in first.findings if not _names(f) & known_other]
    added = [f for f in other.findings if not _names(f) & known_first]
    unchanged = {f.id for f in other.findings if _names(f) & known_first}
    return CveDiff(image, against, _group(removed), _group(added), len(unchanged))


# ---------------------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Tally:
    """Image ``image`` against image ``against`` over the lines that give a verdict."""

    image: int
    against: int
    better: int
    worse: int
    same: int


@dataclass(frozen=True)
class Comparison:
    columns: tuple[ImageColumn, ...]
    metrics: tuple[Metric, ...]
    diffs: tuple[CveDiff, ...]  # each readable image after the first, against the first
    warnings: tuple[str, ...] = ()  # base images that could not be read, per-image scan warnings
    errors: tuple[str, ...] = ()  # what failed: unreadable images and base images (exit code 1)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.columns)

    def metric(self, key: str) -> Metric:
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(key)

    def tallies(self) -> tuple[Tally, ...]:
        """Each readable image after the first against the first: lines better, worse, the same."""
        out = []
        if not self.columns or not self.columns[0].ok:
            return ()
        for i in range(1, len(self.columns)):
            if not self.columns[i].ok:
                continue
            verdicts = [m.compare(i, 0) for m in self.metrics]
            out.append(
                Tally(
                    i,
                    0,
                    better=verdicts.count(-1),
                    worse=verdicts.count(1),
                    same=verdicts.count(0),
                )
            )
        return tuple(out)

    def verdict_text(self, metric: Metric) -> str:
        """``after``, ``after, java``, ``=`` (all the same) or empty (no verdict)."""
        if metric.tie:
            return "="
        return ", ".join(self.columns[i].label for i in metric.best)


def tally_text(comparison: Comparison, tally: Tally) -> str:
    """``after vs before: better on 12 lines, worse on 1, the same on 3``."""
    a, b = comparison.columns[tally.image].label, comparison.columns[tally.against].label
    lines = "line" if tally.better == 1 else "lines"
    return f"{a} vs {b}: better on {tally.better} {lines}, worse on {tally.worse}, the same on {tally.same}"


def default_labels(references: Sequence[str], results: Sequence[ScanResult | None]) -> list[str]:
    """The image's name (``python-app:alpine``) or the reference as written; repeats get ``#2``, ``#3``."""
    from alpinist.reports.sbom.common import image_title

    labels: list[str] = []
    for ref, res in zip(references, results, strict=True):
        base = image_title(res.inventory.image) if res is not None else ref
        label, n = base, 2
        while label in labels:
            label, n = f"{base} #{n}", n + 1
        labels.append(label)
    return labels


def build_comparison(
    references: Sequence[str],
    outcomes: Sequence[ScanResult | str],
    *,
    labels: Sequence[str] | None = None,
    bases: Sequence[BaseCandidate] = (),
    warnings: Sequence[str] = (),
    errors: Sequence[str] = (),
) -> Comparison:
    """The comparison of images already scanned: ``outcomes[i]`` is image i's ScanResult, or its error
    (one line). Base candidates are ``bases`` plus every compared image (a compared image can be the
    base of another: ``alpine:3.20.3`` of ``python-app:alpine``).
    """
    if len(outcomes) != len(references):
        raise ValueError("one outcome per reference")
    results = [o if isinstance(o, ScanResult) else None for o in outcomes]
    names = list(labels) if labels is not None else default_labels(references, results)
    if len(names) != len(references):
        raise ValueError(f"{len(names)} labels for {len(references)} images")
    candidates = list(bases)
    for res in results:
        facts = res.inventory.image if res is not None else None
        if facts is not None and all(layer.diff_id for layer in facts.layers):
            ids = tuple(layer.diff_id or "" for layer in facts.layers)
            candidates.append(BaseCandidate(facts.name or facts.reference, ids, facts.manifest_digest))
    columns = []
    for ref, name, outcome in zip(references, names, outcomes, strict=True):
        if isinstance(outcome, ScanResult):
            facts = outcome.inventory.image
            columns.append(
                ImageColumn(
                    label=name,
                    reference=ref,
                    result=outcome,
                    base=detect_base(facts, candidates),
                    healthcheck=healthcheck_info(facts.healthcheck, image_programs(facts)),
                )
            )
        else:
            columns.append(ImageColumn(label=name, reference=ref, error=outcome))
    diffs: list[CveDiff] = []
    first = columns[0].result if columns else None
    if first is not None:
        for i, col in enumerate(columns[1:], start=1):
            if col.result is not None:
                diffs.append(cve_diff(first, col.result, image=i, against=0))
    all_errors = [f"{c.label}: {c.error}" for c in columns if c.error is not None] + list(errors)
    all_warnings = list(warnings)
    for col in columns:
        if col.result is not None:
            all_warnings += [f"{col.label}: {w}" for w in col.result.warnings]
    return Comparison(
        columns=tuple(columns),
        metrics=build_metrics(columns),
        diffs=tuple(diffs),
        warnings=tuple(dict.fromkeys(all_warnings)),
        errors=tuple(all_errors),
    )


def one_line(exc: BaseException) -> str:
    """An exception as one line (the message of alpinist's errors already names what and why)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, AlpinistError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def compare_images(
    references: Sequence[str],
    store: Store,
    policy: Policy | None = None,
    *,
    labels: Sequence[str] | None = None,
    bases: Sequence[str] = (),
    pull_options: PullOptions | None = None,
    use_cache: bool = True,
    layer_progress: Callable[[int, int], None] | None = None,
    max_db_age: timedelta | None = DEFAULT_MAX_DB_AGE,
    now: datetime | None = None,
) -> Comparison:
    """Scan every image in ``references`` (as ``scan_image`` does) and compare them.

    An image that cannot be read, or a ``bases`` image that cannot be resolved, is recorded as an
    error (``Comparison.errors``) and the rest go on; a ``DatabaseError`` propagates.
    """
    from datetime import UTC

    from alpinist.inventory.build import build_inventory
    from alpinist.scan.scanning import scan_inventory, staleness_warnings

    # the database's age is one warning for the whole comparison, not one per column
    db_warnings = staleness_warnings(store.status(now or datetime.now(UTC)), max_db_age) if max_db_age else []
    outcomes: list[ScanResult | str] = []
    for ref in references:
        try:
            inventory = build_inventory(ref, pull_options, use_cache=use_cache, layer_progress=layer_progress)
            outcomes.append(scan_inventory(inventory, store, policy, max_db_age=None, now=now))
        except DatabaseError:
            raise
        except (AlpinistError, OSError) as exc:
            outcomes.append(one_line(exc))
    candidates: list[BaseCandidate] = []
    errors: list[str] = []
    for ref in bases:
        try:
            candidates.append(base_candidate(ref, pull_options))
        except (AlpinistError, OSError) as exc:
            errors.append(f"--base {ref}: {one_line(exc)}")
    return build_comparison(
        references, outcomes, labels=labels, bases=candidates, warnings=db_warnings, errors=errors
    )
