"""The names ``alpinist.compare.comparing`` held before the package was split by job; kept for the CLI
(``cli/compare.py`` imports ``compare_images`` and ``Comparison`` from here). New code imports from
:mod:`alpinist.compare`."""

from alpinist.compare import (
    BaseCandidate,
    Comparison,
    CveDiff,
    HealthcheckInfo,
    ImageColumn,
    Metric,
    PackageIds,
    build_comparison,
    compare_images,
    detect_base,
    healthcheck_info,
    human_bytes,
    image_programs,
    one_line,
    tally_text,
)

__all__ = [
    "BaseCandidate",
    "Comparison",
    "CveDiff",
    "HealthcheckInfo",
    "ImageColumn",
    "Metric",
    "PackageIds",
    "build_comparison",
    "compare_images",
    "detect_base",
    "healthcheck_info",
    "human_bytes",
    "image_programs",
    "one_line",
    "tally_text",
]
