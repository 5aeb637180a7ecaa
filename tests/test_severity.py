"""Severity precedence (severity.py), on scores transcribed by hand from the corpus' NVD subset
(../shared/corpus/advisories/raw/severity/nvd-cvss-subset.csv, the NVD feed all.json) and OSV records.
"""

from __future__ import annotations

import pytest

from alpinist.advisories.model import Affected, CvssScore, Severity, Vulnerability, rank
from alpinist.scan.severity import assess, at_least, choose_severity, cvss_severity, parse_severity

NVD = "nvd@nist.gov"
CISA_ADP = "134c704f-9b21-4f2e-91b3-4a467353bcc0"


def nvd(version: str, vector: str, score: float, severity: Severity, source: str = NVD) -> CvssScore:
    return CvssScore(version, vector, score, severity, source, primary=source == NVD)


def debian_row(vuln_id: str, severity: Severity | None, note: str | None = None) -> Affected:
    return Affected(
        vuln_id, "debian", "debian:bookworm", "pkg", "open", severity=severity, severity_note=note
    )


def osv_row(vuln_id: str, severity: Severity | None = None) -> Affected:
    return Affected(
        vuln_id, "osv", "pypi", "pkg", "fixed", severity=severity, severity_note="ghsa" if severity else None
    )


# CVE-2011-3374 (apt): NVD v3.1 3.7 LOW and v2 4.3 MEDIUM; Debian urgency unimportant
APT_2011_3374 = Vulnerability(
    "CVE-2011-3374",
    cvss=(
        nvd("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N", 3.7, "LOW"),
        nvd("2.0", "AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, "MEDIUM"),
    ),
)
# CVE-2019-1010022 (glibc): NVD v3.0 9.8 CRITICAL, v2 7.5 HIGH; Debian unimportant
GLIBC_2019_1010022 = Vulnerability(
    "CVE-2019-1010022",
    cvss=(
        nvd("3.0", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),
        nvd("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "HIGH"),
    ),
)
# CVE-2023-52425 (expat): NVD v3.1 7.5 HIGH, CISA-ADP v3.1 7.5 HIGH
EXPAT_2023_52425 = Vulnerability(
    "CVE-2023-52425",
    cvss=(
        nvd("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "HIGH", CISA_ADP),
        nvd("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "HIGH"),
    ),
)


def test_debian_urgency_is_the_vendor_severity() -> None:
    assert choose_severity(debian_row("CVE-2011-3374", "NEGLIGIBLE", "unimportant"), APT_2011_3374, ()) == (
        "NEGLIGIBLE",
        "debian",
    )
    # Debian rates it unimportant where NVD says 9.8: the vendor's rating of its own package wins
    choice = assess(debian_row("CVE-2019-1010022", "NEGLIGIBLE", "unimportant"), GLIBC_2019_1010022, ())
    assert (choice.severity, choice.source) == ("NEGLIGIBLE", "debian")
    assert choice.cvss is not None and choice.cvss.base_score == 9.8  # the score is still shown


def test_debian_urgency_guessed_from_nvd_yields_to_nvd() -> None:
    # "low**": Debian copied NVD's rating; NVD's own score is the better evidence when there is one
    row = debian_row("CVE-2023-52425", "LOW", "low**; no-dsa: Minor issue")
    assert choose_severity(row, EXPAT_2023_52425, ()) == ("HIGH", "nvd:cvss3.1")
    assert choose_severity(row, Vulnerability("CVE-2023-52425"), ()) == ("LOW", "debian")


def test_no_vendor_rating_falls_back_to_nvd_primary_v31() -> None:
    assert choose_severity(debian_row("CVE-2023-52425", None), EXPAT_2023_52425, ()) == (
        "HIGH",
        "nvd:cvss3.1",
    )
    # CVE-2025-4802 (glibc): only CISA-ADP scored it, 9.8; NVD names that scorer by UUID
    adp = Vulnerability(
        "CVE-2025-4802",
        cvss=(nvd("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", CISA_ADP),),
    )
    assert choose_severity(debian_row("CVE-2025-4802", None), adp, ()) == ("CRITICAL", "nvd:cvss3.1:cisa-adp")


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # CVE-2016-2781: v3.0 6.5 MEDIUM and v2 2.1 LOW (NVD) -> v3.0
        (
            (
                nvd("3.0", "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N", 6.5, "MEDIUM"),
                nvd("2.0", "AV:L/AC:L/Au:N/C:N/I:P/A:N", 2.1, "LOW"),
            ),
            ("MEDIUM", "nvd:cvss3.0"),
        ),
        # CVE-2005-2541: v2 only, 10.0 HIGH (v2 has no CRITICAL)
        ((nvd("2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "HIGH"),), ("HIGH", "nvd:cvss2.0")),
        # CVE-2025-5278: only a CNA score (Red Hat), secondary
        (
            (
                nvd(
                    "3.1",
                    "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:L",
                    4.4,
                    "MEDIUM",
                    "secalert@redhat.com",
                ),
            ),
            ("MEDIUM", "nvd:cvss3.1:secalert@redhat.com"),
        ),
        # CVE-2025-7458: only CVSS 4.0 (Google CNA), 6.9 MEDIUM
        (
            (
                nvd(
                    "4.0",
                    "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:L/SC:N/SI:N/SA:N",
                    6.9,
                    "MEDIUM",
                    "cve-coordination@google.com",
                ),
            ),
            ("MEDIUM", "nvd:cvss4.0:cve-coordination@google.com"),
        ),
        # CVE-2025-6141: one CNA gives v4.0 4.8 MEDIUM, v3.1 3.3 LOW, v2 1.7 LOW -> v3.1 first
        (
            (
                nvd(
                    "4.0",
                    "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N",
                    4.8,
                    "MEDIUM",
                    "cna@vuldb.com",
                ),
                nvd("3.1", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L", 3.3, "LOW", "cna@vuldb.com"),
                nvd("2.0", "AV:L/AC:L/Au:S/C:N/I:N/A:P", 1.7, "LOW", "cna@vuldb.com"),
            ),
            ("LOW", "nvd:cvss3.1:cna@vuldb.com"),
        ),
        # CVE-2023-37920: NVD 9.8 CRITICAL vs GitHub (CNA) 7.5 HIGH -> NVD's own first
        (
            (
                nvd(
                    "3.1",
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N",
                    7.5,
                    "HIGH",
                    "security-advisories@github.com",
                ),
                nvd("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),
            ),
            ("CRITICAL", "nvd:cvss3.1"),
        ),
        # CVE-2023-4016: NVD 3.3 vs Trellix 2.5, both LOW -> NVD's
        (
            (
                nvd(
                    "3.1",
                    "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:N/I:N/A:L",
                    2.5,
                    "LOW",
                    "trellixpsirt@trellix.com",
                ),
                nvd("3.1", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L", 3.3, "LOW"),
            ),
            ("LOW", "nvd:cvss3.1"),
        ),
        # CVE-2024-22365: "metrics": {} (Awaiting Analysis) -> nothing to go by
        ((), ("UNKNOWN", "none")),
    ],
    ids=[
        "v3.0-over-v2",
        "v2-only",
        "cna-only",
        "v4-only",
        "v3.1-over-v4",
        "primary-first",
        "nvd-over-trellix",
        "none",
    ],
)
def test_nvd_precedence(scores: tuple[CvssScore, ...], expected: tuple[Severity, str]) -> None:
    vuln = Vulnerability("CVE-X", cvss=scores)
    assert choose_severity(debian_row("CVE-X", None), vuln, ()) == expected
    choice = assess(debian_row("CVE-X", None), vuln, ())
    if scores:
        assert choice.cvss in scores


def test_alias_cvss_counts_and_nvd_beats_ghsa() -> None:
    # certifi PYSEC-2023-135 (no score) aliases CVE-2023-37920 (NVD 9.8) and GHSA-xqr8-7jwr-rhp7
    pysec = Vulnerability("PYSEC-2023-135", aliases=("CVE-2023-37920", "GHSA-xqr8-7jwr-rhp7"))
    ghsa = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 7.5, "HIGH", "osv:GHSA")
    nvd_score = nvd("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL")
    assert choose_severity(osv_row("PYSEC-2023-135"), pysec, (ghsa, nvd_score)) == ("CRITICAL", "nvd:cvss3.1")
    assert choose_severity(osv_row("PYSEC-2023-135"), pysec, (ghsa,)) == ("HIGH", "ghsa:cvss3.1")


def test_osv_vectors_then_github_rating() -> None:
    # requests GHSA-j8r2-6x86-q33q: vector CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N (6.1), rated MODERATE
    vector = CvssScore("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1, "MEDIUM", "osv:GHSA")
    ghsa = Vulnerability("GHSA-j8r2-6x86-q33q", aliases=("CVE-2023-32681",), cvss=(vector,))
    assert choose_severity(osv_row(ghsa.id, "MEDIUM"), ghsa, ()) == ("MEDIUM", "ghsa:cvss3.1")
    # idna PYSEC-2024-60 carries its own vector: an OSV score that is not GitHub's
    pysec = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "HIGH", "osv:PYSEC")
    assert choose_severity(osv_row("PYSEC-2024-60"), Vulnerability("PYSEC-2024-60", cvss=(pysec,)), ()) == (
        "HIGH",
        "osv:cvss3.1",
    )
    # GitHub's rating alone (database_specific.severity), no vector anywhere
    assert choose_severity(osv_row(ghsa.id, "HIGH"), Vulnerability(ghsa.id), ()) == ("HIGH", "ghsa")
    # a GitHub rating is no vendor rating: NVD's score comes first
    nvd_score = nvd("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1, "MEDIUM")
    assert choose_severity(osv_row(ghsa.id, "HIGH"), Vulnerability(ghsa.id), (nvd_score,)) == (
        "MEDIUM",
        "nvd:cvss3.1",
    )


def test_cvss_severity_from_the_score_when_the_feed_gives_none() -> None:
    assert cvss_severity(CvssScore("2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "UNKNOWN", NVD)) == "HIGH"
    assert cvss_severity(CvssScore("3.1", "CVSS:3.1/AV:N", 9.0, "UNKNOWN", NVD)) == "CRITICAL"
    assert cvss_severity(CvssScore("3.1", "CVSS:3.1/AV:N", 8.9, "UNKNOWN", NVD)) == "HIGH"
    assert cvss_severity(CvssScore("4.0", "CVSS:4.0/AV:N", 3.9, "UNKNOWN", NVD)) == "LOW"
    assert cvss_severity(CvssScore("3.1", "CVSS:3.1/AV:N", 0.0, "UNKNOWN", NVD)) == "NEGLIGIBLE"


def test_ranking_helpers() -> None:
    order: list[Severity] = ["UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert sorted(order, key=rank) == order
    assert at_least("HIGH", "HIGH") and at_least("CRITICAL", "HIGH")
    assert not at_least("MEDIUM", "HIGH") and not at_least("UNKNOWN", "NEGLIGIBLE")
    assert parse_severity(" high ") == "HIGH"
    assert parse_severity("Moderate") == "MEDIUM"
    assert parse_severity("negligible") == "NEGLIGIBLE"
    with pytest.raises(ValueError, match="severe"):
        parse_severity("severe")


# -- closing what mutation testing (bench/mutation.py) found untested --------------------------------


def test_a_choice_is_frozen() -> None:
    import dataclasses

    choice = assess(debian_row("CVE-2023-52425", None), EXPAT_2023_52425, ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.severity = "LOW"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("versions", "chosen"),
    [
        (("2.0", "3.0", "4.0", "3.1"), "3.1"),  # v3.1 first, then 4.0, then 3.0, then 2
        (("2.0", "3.0", "4.0"), "4.0"),
        (("2.0", "3.0"), "3.0"),
        (("2", "9.9"), "2"),  # "2" is v2.0; an unknown version is ranked last
        (("9.9",), "9.9"),
    ],
)
def test_cvss_version_preference(versions: tuple[str, ...], chosen: str) -> None:
    scores = tuple(CvssScore(v, f"vector-{v}", 5.0, "MEDIUM", NVD, primary=True) for v in versions)
    choice = assess(debian_row("CVE-X", None), Vulnerability("CVE-X", cvss=scores), ())
    assert choice.cvss is not None and choice.cvss.version == chosen


def test_nvds_own_score_wins_over_a_secondary_scorer_even_when_not_flagged_primary() -> None:
    # the source string as a feed parser builds it (not the interned literal): compared by value
    nvd_source = "".join(["nvd@", "nist.gov"])
    secondary = CvssScore("3.1", "CVSS:3.1/AV:N", 9.8, "CRITICAL", "aaa-cna@example.org", primary=False)
    own = CvssScore("3.1", "CVSS:3.1/AV:L", 5.5, "MEDIUM", nvd_source, primary=False)
    for order in ((secondary, own), (own, secondary)):
        choice = assess(debian_row("CVE-X", None), Vulnerability("CVE-X", cvss=order), ())
        assert (choice.severity, choice.source) == ("MEDIUM", "nvd:cvss3.1")


@pytest.mark.parametrize(
    ("note", "guessed"),
    [
        ("low**", True),
        ("low*; no-dsa: Minor issue", True),
        ("low; bug #123*", False),  # only the urgency (before the first ";") carries the mark
        ("low", False),
        (None, False),
    ],
)
def test_only_the_urgency_part_of_the_note_marks_a_guess(note: str | None, guessed: bool) -> None:
    row = debian_row("CVE-2023-52425", "LOW", note)
    expected = ("HIGH", "nvd:cvss3.1") if guessed else ("LOW", "debian")
    assert choose_severity(row, EXPAT_2023_52425, ()) == expected


def test_the_feeds_rating_then_the_score_band() -> None:
    rated = CvssScore("3.1", "v", 2.0, "HIGH", NVD, primary=True)
    assert cvss_severity(rated) == "HIGH"  # the feed's own rating wins over the score
    unrated = CvssScore("3.1", "v", 7.5, "UNKNOWN", NVD, primary=True)
    assert cvss_severity(unrated) == "HIGH"  # UNKNOWN is no rating: the score's band decides
    assert cvss_severity(CvssScore("3.1", "v", 0.0, "", NVD, primary=True)) == "NEGLIGIBLE"
    assert cvss_severity(CvssScore("3.1", "v", 0.1, "", NVD, primary=True)) == "LOW"
    assert cvss_severity(CvssScore("2.0", "v", 9.9, "", NVD, primary=True)) == "HIGH"  # v2 has no CRITICAL


def test_a_primary_score_is_labelled_nvd_whoever_scored_it() -> None:
    primary = CvssScore("3.1", "CVSS:3.1/AV:N", 7.5, "HIGH", "secalert@redhat.com", primary=True)
    assert choose_severity(debian_row("CVE-X", None), Vulnerability("CVE-X", cvss=(primary,)), ()) == (
        "HIGH",
        "nvd:cvss3.1",
    )


def test_an_unrated_osv_row_without_scores_is_unknown() -> None:
    assert choose_severity(osv_row("GHSA-x"), None, ()) == ("UNKNOWN", "none")
    assert choose_severity(osv_row("GHSA-x", "MEDIUM"), None, ()) == ("MEDIUM", "ghsa")
    assert choose_severity(debian_row("CVE-X", None), None, ()) == ("UNKNOWN", "none")
