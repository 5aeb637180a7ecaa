"""``alpinist compare``: several images scanned side by side.

One module per job: :mod:`.model` (the comparison, its columns, metric rows, CVE diffs and tallies),
:mod:`.healthcheck` (an image's healthcheck, read by :mod:`alpinist.dockerfile.healthcheck`), :mod:`.base`
(base-image detection), :mod:`.metrics` (values and verdicts), :mod:`.diff` (the CVE diff) and
:mod:`.build` (``compare_images``, ``build_comparison``).
"""

from alpinist.compare.base import (
    BASE_DIGEST_LABEL,
    BASE_NAME_LABEL,
    BaseCandidate,
    base_candidate,
    detect_base,
)
from alpinist.compare.build import build_comparison, compare_images, default_labels, one_line
from alpinist.compare.diff import cve_diff
from alpinist.compare.healthcheck import HealthcheckInfo, healthcheck_info, image_programs
from alpinist.compare.metrics import build_metrics, human_bytes, os_text, user_text
from alpinist.compare.model import (
    BaseImage,
    Comparison,
    CveDiff,
    DiffId,
    ImageColumn,
    Metric,
    MetricKind,
    PackageIds,
    Tally,
    Value,
    tally_text,
)

__all__ = [
    "BASE_DIGEST_LABEL",
    "BASE_NAME_LABEL",
    "BaseCandidate",
    "BaseImage",
    "Comparison",
    "CveDiff",
    "DiffId",
    "HealthcheckInfo",
    "ImageColumn",
    "Metric",
    "MetricKind",
    "PackageIds",
    "Tally",
    "Value",
    "base_candidate",
    "build_comparison",
    "build_metrics",
    "compare_images",
    "cve_diff",
    "default_labels",
    "detect_base",
    "healthcheck_info",
    "human_bytes",
    "image_programs",
    "one_line",
    "os_text",
    "tally_text",
    "user_text",
]
