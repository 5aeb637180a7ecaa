"""The comparison the reports lay out: one :class:`ImageColumn` per image, the :class:`Metric` rows with
their verdicts, the :class:`CveDiff` of each image against the first, and the :class:`Tally` of lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from alpinist.advisories.model import Severity
from alpinist.compare.healthcheck import HealthcheckInfo
from alpinist.models import ImageFacts, LayerInfo, OSInfo
from alpinist.scan.model import ScanResult, Summary


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


MetricKind = Literal["text", "count", "bytes"]


Value = int | str | bool | None

EQUIVALENT = "≈"  # the Better cell of a line whose values differ but rank alike by its rule
LEGEND = "= all the same; ≈ different, but equally good by the line's rule"


@dataclass(frozen=True)
class Metric:
    """One line of the comparison: a value per image and which image is better on it.

    ``scores`` (lower is better, None where the image has no value or the line has no verdict) decide
    ``best``: the indices of the images with the lowest score, empty when the line gives no verdict
    (informational lines, fewer than two readable images) or every readable image scores the same:
    ``tie`` when their values are the same too (``=``), ``equivalent`` when the values differ but the
    line's rule ranks them alike (``≈``: ``appuser`` and ``nonroot``, both not root).
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

    def _scored_values(self) -> set[str]:
        return {repr(v) for v, s in zip(self.values, self.scores, strict=False) if s is not None}

    @property
    def tie(self) -> bool:
        """Every readable image scores the same and has the same value."""
        return self.judged and not self.best and len(self._scored_values()) == 1

    @property
    def equivalent(self) -> bool:
        """Every readable image scores the same, but their values differ (the rule ranks them alike)."""
        return self.judged and not self.best and len(self._scored_values()) > 1

    def compare(self, i: int, j: int) -> int | None:
        """-1 when image ``i`` is better than ``j`` on this line, 1 when worse, 0 same score, None no
        verdict (``same_value`` tells a tie from two values the rule ranks alike)."""
        if not self.scores:
            return None
        a, b = self.scores[i], self.scores[j]
        if a is None or b is None:
            return None
        return (a > b) - (a < b)

    def same_value(self, i: int, j: int) -> bool:
        return repr(self.values[i]) == repr(self.values[j])

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


@dataclass(frozen=True)
class DiffId:
    id: str
    severity: Severity
    url: str | None = None  # where a person reads about the id (the finding's link, from the feeds' profiles)


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


@dataclass(frozen=True)
class Tally:
    """Image ``image`` against image ``against`` over the lines that give a verdict."""

    image: int
    against: int
    better: int
    worse: int
    same: int  # the same value
    equivalent: int = 0  # different values, equally good by the line's rule (both non-root, ...)


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
            alike = [m.same_value(i, 0) for m in self.metrics]
            out.append(
                Tally(
                    i,
                    0,
                    better=verdicts.count(-1),
                    worse=verdicts.count(1),
                    same=sum(v == 0 and a for v, a in zip(verdicts, alike, strict=True)),
                    equivalent=sum(v == 0 and not a for v, a in zip(verdicts, alike, strict=True)),
                )
            )
        return tuple(out)

    def verdict_text(self, metric: Metric) -> str:
        """``after``, ``after, java``, ``=`` (all the same), ``≈`` (different values, equally good by
        the line's rule: never ``=`` for values that differ) or empty (no verdict)."""
        if metric.tie:
            return "="
        if metric.equivalent:
            return EQUIVALENT
        return ", ".join(self.columns[i].label for i in metric.best)


def tally_text(comparison: Comparison, tally: Tally) -> str:
    """``after vs before: better on 12 lines, worse on 1, the same on 1, equivalent on 2`` (the last
    part only when some lines differ in value but are equally good by their rule)."""
    a, b = comparison.columns[tally.image].label, comparison.columns[tally.against].label
    lines = "line" if tally.better == 1 else "lines"
    text = f"{a} vs {b}: better on {tally.better} {lines}, worse on {tally.worse}, the same on {tally.same}"
    return text + (f", equivalent on {tally.equivalent}" if tally.equivalent else "")
