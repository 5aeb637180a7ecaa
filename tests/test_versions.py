"""Version comparison against every line of the upstream vector files in ../shared/corpus/versions.

A line passes, or it is a named exception below with the reason. Then properties (hypothesis) on
generated apk and Debian versions: antisymmetry, transitivity, and agreement with univers where univers
implements the same rules.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version
from univers.versions import AlpineLinuxVersion, DebianVersion

from alpinist.advisories.model import VersionRange
from alpinist.errors import AlpinistError
from alpinist.versions import (
    Op,
    Scheme,
    VersionError,
    apk_fuzzy_match,
    compare,
    in_range,
    is_valid,
    release_branch,
    satisfies,
)
from tests.conftest import CORPUS

VECTORS = CORPUS / "versions"
APK_V3 = VECTORS / "apk-tools" / "version.data.master-v3"
APK_214 = VECTORS / "apk-tools" / "version.data.2.14-stable"
APK_CMP = VECTORS / "misc" / "apk.cmp.txt"
APK_FUZZY = VECTORS / "misc" / "apk.fuzzy.txt"
APK_VALIDITY = VECTORS / "misc" / "apk.validity.txt"
OSV_SCALIBR_APK = VECTORS / "misc" / "osv-scalibr.alpine-versions.head.txt"
DPKG_CMP = VECTORS / "misc" / "dpkg.cmp.txt"
DPKG_VALIDITY = VECTORS / "misc" / "dpkg.validity.txt"
GRYPE = VECTORS / "misc" / "grype-constraints.tsv"
PEP440_CMP = VECTORS / "misc" / "pep440.cmp.txt"
PEP440_ORDERED = VECTORS / "misc" / "pep440.ordered.txt"
PEP440_NORMALIZE = VECTORS / "misc" / "pep440.normalize.tsv"
PEP440_INVALID = VECTORS / "misc" / "pep440.invalid.txt"
OSV_SCANNER_PYPI = VECTORS / "misc" / "osv-scanner.pypi-versions.txt"

_LINE = re.compile(r"^(\S+)\s+(<|>|=)\s+(\S+)\s*(?:#.*)?$")


def cmp_lines(path: Path) -> list[tuple[str, str, str]]:
    """``A OP B`` lines of a vector file (``#`` and ``//`` comments skipped, fuzzy/validity lines ignored)."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "//")):
            continue
        found = _LINE.match(line)
        if found:
            a, op, b = found.groups()
            out.append((a, op, b))
    return out


def symbol(c: int) -> str:
    return "<" if c < 0 else ">" if c > 0 else "="


def ids(lines: list[tuple[str, str, str]]) -> list[str]:
    return [f"{i}: {a} {op} {b}" for i, (a, op, b) in enumerate(lines, 1)]


# --------------------------------------------------------------------------------------------- apk

# Lines of apk-tools' own test data whose operands apk-tools itself calls invalid (its file says
# "invalid. do string sort"). alpinist rejects them (VersionError, the matcher skips such records with a
# warning); compared leniently they still order as apk-tools orders them.
APK_INVALID_OPERANDS = {
    ("23_foo", ">", "4_beta"): "'_foo' is no apk suffix; apk still orders by the leading numbers",
    (
        "1.0",
        "<",
        "1.0bc",
    ): "two letters after a number are invalid; apk orders the invalid tail below the end",
}

APK_FILES = [APK_CMP, APK_V3, APK_214]
APK_LINES = [(path.name, line) for path in APK_FILES for line in cmp_lines(path)]


def test_apk_vector_files_are_complete() -> None:
    # apk.cmp.txt is the comparison part of the 3.x file; the 2.14 file is the first 733 lines of the 3.x one
    assert len(cmp_lines(APK_CMP)) == 738
    assert len(cmp_lines(APK_214)) == 733
    assert cmp_lines(APK_V3)[:733] == cmp_lines(APK_214)


@pytest.mark.parametrize(
    ("source", "line"), APK_LINES, ids=[f"{s}:{a} {op} {b}" for s, (a, op, b) in APK_LINES]
)
def test_apk_vectors(source: str, line: tuple[str, str, str]) -> None:
    a, op, b = line
    if line in APK_INVALID_OPERANDS:
        assert not (is_valid("apk", a) and is_valid("apk", b))
        with pytest.raises(VersionError):
            compare("apk", a, b)
        assert symbol(compare("apk", a, b, strict=False)) == op
        return
    assert symbol(compare("apk", a, b)) == op
    assert symbol(compare("apk", b, a)) == {"<": ">", ">": "<", "=": "="}[op]


def test_apk_invalid_exceptions_are_exactly_the_invalid_lines() -> None:
    invalid = {line for _, line in APK_LINES if not (is_valid("apk", line[0]) and is_valid("apk", line[2]))}
    assert invalid == set(APK_INVALID_OPERANDS)


def fuzzy_lines() -> list[tuple[str, str, str]]:
    out = []
    for raw in APK_FUZZY.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        a, op, b = raw.split()
        out.append((a, op, b))
    return out


@pytest.mark.parametrize("line", fuzzy_lines(), ids=ids(fuzzy_lines()))
def test_apk_fuzzy_vectors(line: tuple[str, str, str]) -> None:
    a, op, b = line
    fuzzy = apk_fuzzy_match(a, b)
    c = compare("apk", a, b, strict=False)  # '3.6.9_post1' is not valid apk: '_post' is no suffix
    expected = {"~": fuzzy, "!~": not fuzzy, "<~": c < 0 or fuzzy, ">~": c > 0 or fuzzy}
    assert expected[op]


def validity_lines(path: Path) -> list[tuple[bool, str]]:
    out = []
    for raw in path.read_text(encoding="utf-8").split("\n"):
        if raw.startswith("#") or not raw:
            continue
        kind, _, version = raw.partition(" ")
        out.append((kind == "valid", version))
    return out


@pytest.mark.parametrize(
    ("valid", "version"), validity_lines(APK_VALIDITY), ids=[repr(v) for _, v in validity_lines(APK_VALIDITY)]
)
def test_apk_validity_vectors(valid: bool, version: str) -> None:
    assert is_valid("apk", version) is valid


# osv-scalibr's own list orders strings that apk-tools 3 rejects, by rules of its own. alpinist refuses
# these strings (they never come out of a real apk database or secdb); each line below has an operand
# apk-tools calls invalid, and the reason names the grammar rule it breaks.
EMPTY_COMPONENT = "'.' must be followed by digits (empty version component)"
BAD_REVISION = "'-' must be followed by 'r' and digits"
R_AFTER_NUMBER = "'r' after a number or '.' is no revision ('-r' is)"
UPPER_CASE = "upper-case letters are not in apk's grammar"
DIGIT_AFTER_LETTER = "apk 3 allows no digits after the letter (abuild#10088: '6.6.2p1' must be '6.6.2_p1')"
EMPTY_SUFFIX = "'_' must be followed by a known suffix name"
NO_NUMBER = "a version must start with a number"
OSV_SCALIBR_DIFFERS = {
    ("1", "<", "1."): EMPTY_COMPONENT,
    ("1..", ">", "1.0"): EMPTY_COMPONENT,
    ("1-r", "=", "1-r0"): BAD_REVISION,
    ("1-r-0", ">", "1-r0"): BAD_REVISION,
    ("1-r-1", ">", "1-r0"): BAD_REVISION,
    ("0.r1", ">", "0r2"): R_AFTER_NUMBER,
    ("0..1..0", "<", "0..1..1"): EMPTY_COMPONENT,
    ("0...1...0", "<", "0...1...1"): EMPTY_COMPONENT,
    ("0...1...0.r1", "<", "0...1...0.r2"): EMPTY_COMPONENT,
    ("0...1...0r1", "<", "0...1...0r2"): EMPTY_COMPONENT,
    ("0..8", ">", "0...8"): EMPTY_COMPONENT,
    ("0.8.21.r2", ">", "0.8.21.r1"): R_AFTER_NUMBER,
    ("0.8.21.r2", ">", "0.8.21r2"): R_AFTER_NUMBER,
    ("1.2.0A", ">", "1.2.0d"): UPPER_CASE,
    ("1.2.0D", ">", "1.2.0d"): UPPER_CASE,
    ("6.6.2p1", "<", "6.6.2p2"): DIGIT_AFTER_LETTER,
    ("1", "<", "1-ruff"): BAD_REVISION,
    ("1-r0-1", "=", "1-r-2"): BAD_REVISION,
    ("1.2", "<", "1.2_"): EMPTY_SUFFIX,
    ("1.0p1p2", ">", "1.0p1"): DIGIT_AFTER_LETTER,
    ("1.0p1p2", "<", "1.0p1p3"): DIGIT_AFTER_LETTER,
    ("1.0p1p2", "<", "1.0p1z"): DIGIT_AFTER_LETTER,
    ("1-ruff2", "<", "1--ruff1"): BAD_REVISION,
    (".2", ">", ".1"): NO_NUMBER,
    ("a", "<", "b"): NO_NUMBER,
    ("c", ">", "b"): NO_NUMBER,
}
OSV_SCALIBR_LINES = cmp_lines(OSV_SCALIBR_APK)


@pytest.mark.parametrize("line", OSV_SCALIBR_LINES, ids=ids(OSV_SCALIBR_LINES))
def test_osv_scalibr_alpine_vectors(line: tuple[str, str, str]) -> None:
    a, op, b = line
    valid = is_valid("apk", a) and is_valid("apk", b)
    if valid:
        assert symbol(compare("apk", a, b)) == op
    elif line in OSV_SCALIBR_DIFFERS:
        with pytest.raises(VersionError):
            compare("apk", a, b)
        assert symbol(compare("apk", a, b, strict=False)) != op
    else:
        # invalid per apk-tools, yet apk-tools' lenient order agrees with osv-scalibr
        with pytest.raises(VersionError):
            compare("apk", a, b)
        assert symbol(compare("apk", a, b, strict=False)) == op


def test_apk2_and_apk3_differ_on_leading_zeros_as_documented() -> None:
    # osv-scalibr: "on apk 2.x this is >, on 3.x this is <" - alpinist follows apk-tools 3 (versions.py)
    assert ("1.010", "<", "1.09") in OSV_SCALIBR_LINES
    assert compare("apk", "1.010", "1.09") < 0
    # zero-padded components of the same width order numerically under both
    assert compare("apk", "9.1.0707-r0", "9.1.0016-r0") > 0
    assert compare("apk", "9.0.1000-r0", "9.0.0999-r0") > 0


def test_apk_revision_zero() -> None:
    # apk: a version with one more token is greater unless that token is a pre-release suffix, so a
    # "-r0" revision counts (Gentoo, and univers, treat -r0 as no revision)
    assert compare("apk", "1.0", "1.0-r0") < 0
    assert compare("apk", "1.0-r0", "1.0-r00") == 0


def test_apk_real_world_versions() -> None:
    # DESIGN.md: _alpha < _beta < _pre < _rc < release < _cvs < _svn < _git < _hg < _p; never semver
    chain = [
        "1.2.4_alpha1",
        "1.2.4_beta1",
        "1.2.4_pre1",
        "1.2.4_rc1",
        "1.2.4",
        "1.2.4-r1",
        "1.2.4_cvs1",
        "1.2.4_svn1",
        "1.2.4_git20230717-r5",
        "1.2.4_hg1",
        "1.2.4_p1",
        "1.2.4a",
        "1.2.5",
    ]
    for low, high in itertools.pairwise(chain):
        assert compare("apk", low, high) < 0, (low, high)
    assert compare("apk", "3.3.10-r0", "3.3.9-r0") > 0  # numbers, not strings
    assert compare("apk", "1.36.1-r29", "1.36.1-r3") > 0
    with pytest.raises(VersionError, match=r"1\.0-1"):
        compare("apk", "1.0-1", "1.0")  # a Debian revision is no apk version


# --------------------------------------------------------------------------------------------- dpkg

# Dpkg_Version.t / t-version.c compare objects that dpkg's parser rejects (and `dpkg --compare-versions`
# refuses); alpinist rejects them too and orders them like libdpkg only when asked to be lenient.
DPKG_INVALID_OPERANDS = {
    ("-0.6.5", "<", "0.9.1"): "empty upstream version (the string starts with the revision separator)",
    ("0:a-0", "<", "0:b-0"): "an upstream version must start with a digit",
}
DPKG_LINES = cmp_lines(DPKG_CMP)


def test_dpkg_vector_file_is_complete() -> None:
    assert len(DPKG_LINES) == 69


@pytest.mark.parametrize("line", DPKG_LINES, ids=ids(DPKG_LINES))
def test_dpkg_vectors(line: tuple[str, str, str]) -> None:
    a, op, b = line
    if line in DPKG_INVALID_OPERANDS:
        with pytest.raises(VersionError):
            compare("deb", a, b)
        assert symbol(compare("deb", a, b, strict=False)) == op
        return
    assert symbol(compare("deb", a, b)) == op
    assert symbol(compare("deb", b, a)) == {"<": ">", ">": "<", "=": "="}[op]


def test_dpkg_invalid_exceptions_are_exactly_the_invalid_lines() -> None:
    invalid = {line for line in DPKG_LINES if not (is_valid("deb", line[0]) and is_valid("deb", line[2]))}
    assert invalid == set(DPKG_INVALID_OPERANDS)


@pytest.mark.parametrize(
    ("valid", "version"),
    validity_lines(DPKG_VALIDITY),
    ids=[repr(v) for _, v in validity_lines(DPKG_VALIDITY)],
)
def test_dpkg_validity_vectors(valid: bool, version: str) -> None:
    assert is_valid("deb", version) is valid


def test_dpkg_whitespace_is_trimmed() -> None:
    # dpkg.validity.txt: leading/trailing whitespace is trimmed by dpkg
    assert compare("deb", "  \t0:0-1", "0:0-1") == 0
    assert compare("deb", "0:0-1\t  ", "0:0-1") == 0


def test_dpkg_real_world_versions() -> None:
    # DESIGN.md: 1.0~rc1 < 1.0 < 1.0+deb12u1; binNMU above its source; security updates in order
    assert compare("deb", "1.0~rc1", "1.0") < 0 < compare("deb", "1.0+deb12u1", "1.0")
    assert compare("deb", "5.2.15-2+b13", "5.2.15-2") > 0
    assert compare("deb", "2.36-9+deb12u10", "2.36-9+deb12u4") > 0
    assert compare("deb", "3.0.11-1~deb12u2", "3.0.11-1") < 0
    assert compare("deb", "1:1.2.13.dfsg-1", "1:1.2.11.dfsg-4.1") > 0
    assert compare("deb", "1:1.2.11.dfsg-4.1", "1.3") > 0  # the epoch first


# --------------------------------------------------------------------------------------------- grype


def grype_rows() -> list[tuple[str, str, str, bool, str]]:
    rows = []
    for raw in GRYPE.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        fmt, version, constraint, satisfied, *note = raw.split("\t")
        rows.append((fmt, version, constraint, satisfied == "true", note[0] if note else ""))
    return rows


_TERM = re.compile(r"^(<=|>=|!=|<|>|=)?\s*(.+)$")


def constraint_holds(scheme: Scheme, version: str, constraint: str) -> bool:
    """grype's constraint syntax (test helper): ``,`` is AND, ``||`` is OR, a bare version is ``=``."""
    if not constraint.strip():
        return True
    for alternative in constraint.split("||"):
        terms = [t.strip() for t in alternative.split(",") if t.strip()]
        ok = True
        for term in terms:
            found = _TERM.match(term)
            assert found, term
            op: Op = found.group(1) or "="  # type: ignore[assignment]
            bound = found.group(2).strip().strip("'\"")
            ok = ok and satisfies(scheme, version, op, bound)
        if ok:
            return True
    return False


@pytest.mark.parametrize(
    "row", grype_rows(), ids=[f"{f}:{v} [{c.strip()}] {s} {n}" for f, v, c, s, n in grype_rows()]
)
def test_grype_constraints(row: tuple[str, str, str, bool, str]) -> None:
    fmt, version, constraint, satisfied, _note = row
    scheme: Scheme = {"apk": "apk", "deb": "deb", "pep440": "pep440"}[fmt]  # type: ignore[assignment]
    assert constraint_holds(scheme, version, constraint) is satisfied


def test_grype_constraint_file_is_complete() -> None:
    counts = {"apk": 0, "deb": 0, "pep440": 0}
    for fmt, *_ in grype_rows():
        counts[fmt] += 1
    assert counts == {"apk": 34, "deb": 75, "pep440": 41}


# --------------------------------------------------------------------------------------------- PEP 440

PEP440_LINES = cmp_lines(PEP440_CMP)


@pytest.mark.parametrize("line", PEP440_LINES, ids=ids(PEP440_LINES))
def test_pep440_vectors(line: tuple[str, str, str]) -> None:
    a, op, b = line
    assert symbol(compare("pep440", a, b)) == op


def test_pep440_ordered_list_every_pair() -> None:
    ordered = [
        v for v in PEP440_ORDERED.read_text(encoding="utf-8").splitlines() if v and not v.startswith("#")
    ]
    assert len(ordered) == 54
    for i, low in enumerate(ordered):
        for high in ordered[i + 1 :]:
            assert compare("pep440", low, high) < 0, (low, high)


def normalize_rows() -> list[tuple[str, str]]:
    rows = []
    for raw in PEP440_NORMALIZE.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw:
            continue
        given_, normalized = raw.split("\t")
        rows.append((given_, normalized))
    return rows


@pytest.mark.parametrize(("given_", "normalized"), normalize_rows(), ids=[g for g, _ in normalize_rows()])
def test_pep440_normalization_vectors(given_: str, normalized: str) -> None:
    # matching only needs the two spellings to be the same version
    assert compare("pep440", given_, normalized) == 0
    assert str(Version(given_)) == normalized


@pytest.mark.parametrize(
    "version",
    [v for v in PEP440_INVALID.read_text(encoding="utf-8").splitlines() if v and not v.startswith("#")],
)
def test_pep440_invalid_vectors(version: str) -> None:
    with pytest.raises(VersionError) as caught:
        compare("pep440", version, "1.0")
    assert isinstance(caught.value, AlpinistError)
    assert version in str(caught.value)


# osv-scanner keeps "legacy" (pre-PEP 440) versions that packaging >= 22 rejects; so does alpinist (the
# matcher skips a record range with such a bound, with a warning).
LEGACY = "legacy non-PEP 440 version: rejected by packaging >= 22, hence by alpinist"
OSV_SCANNER_LEGACY = {
    ("0.1-bulbasaur", "<", "0.1-charmander"): LEGACY,
    ("0.1-charmander", "<", "0.9-doduo"): LEGACY,
    ("0.9-doduo", "<", "0.9-eevee"): LEGACY,
    ("0.9-eevee", "<", "0.9-fearow"): LEGACY,
    ("0.9-fearow", "<", "0.9-gyarados"): LEGACY,
    ("0.9-gyarados", "<", "0.9-horsea"): LEGACY,
    ("0.9-horsea", "<", "0.9-ivysaur"): LEGACY,
    ("0.9-ivysaur", "<", "1.0"): LEGACY,
    ("-class.-jw.util.version.version-pre", "<", "1.0"): LEGACY,
    ("-class.-jw.util.version.version-preview", "<", "1.0"): LEGACY,
    ("-class.-jw.util.version.version-dev", "<", "1.0"): LEGACY,
}
OSV_SCANNER_LINES = cmp_lines(OSV_SCANNER_PYPI)


@pytest.mark.parametrize("line", OSV_SCANNER_LINES, ids=ids(OSV_SCANNER_LINES))
def test_osv_scanner_pypi_vectors(line: tuple[str, str, str]) -> None:
    a, op, b = line
    if line in OSV_SCANNER_LEGACY:
        with pytest.raises(VersionError):
            compare("pep440", a, b)
        return
    assert symbol(compare("pep440", a, b)) == op


def test_osv_scanner_file_is_complete() -> None:
    assert len(OSV_SCANNER_LINES) == 37


# --------------------------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("scheme", "version", "rng", "inside"),
    [
        ("apk", "3.3.2-r0", VersionRange(end="3.3.2-r1"), True),
        ("apk", "3.3.2-r1", VersionRange(end="3.3.2-r1"), False),
        ("apk", "2.6.4", VersionRange(start="2.6.5"), False),
        ("deb", "2.36-9+deb12u4", VersionRange(end="2.36-9+deb12u10"), True),
        ("pep440", "2.25.1", VersionRange(start="2.3.0", end="2.31.0"), True),
        ("pep440", "2.31.0", VersionRange(start="2.3.0", end="2.31.0"), False),
        ("pep440", "2.31.0", VersionRange(start="2.3.0", end="2.31.0", end_inclusive=True), True),
        ("pep440", "2.3.0", VersionRange(start="2.3.0", start_inclusive=False), False),
        # a local build of 2.0.0 is 2.0.0 for a bound without a local label (PEP 440 specifiers)
        ("pep440", "2.0.0+cu118", VersionRange(end="2.0.0", end_inclusive=True), True),
        ("pep440", "2.0.0+cu118", VersionRange(end="2.0.0"), False),
        ("generic", "3.11.2", VersionRange(start="3.11.0", end="3.11.9"), True),
        ("generic", "1.0rc1", VersionRange(start="1.0"), False),
    ],
)
def test_in_range(scheme: Scheme, version: str, rng: VersionRange, inside: bool) -> None:
    assert in_range(scheme, version, rng) is inside


def test_in_range_refuses_an_invalid_bound() -> None:
    with pytest.raises(VersionError, match="not-a-version"):
        in_range("pep440", "1.0", VersionRange(end="not-a-version"))


def test_release_branch() -> None:
    assert release_branch("pep440", "3.11.2") == (3, 11)
    assert release_branch("pep440", "3.13.0rc1") == (3, 13)
    assert release_branch("generic", "2.4.58") == (2, 4)
    assert release_branch("generic", "abc") is None


def test_generic_order() -> None:
    assert compare("generic", "1.0", "1") == 0
    assert compare("generic", "1.0rc1", "1.0") < 0 < compare("generic", "1.0.1", "1.0")
    assert compare("generic", "1.10", "1.9") > 0
    with pytest.raises(VersionError):
        compare("generic", "", "1")


# --------------------------------------------------------------------------------------------- properties

_number = st.integers(min_value=0, max_value=30).map(str) | st.sampled_from(["100", "20230717", "4294967296"])
_apk_pre = ["alpha", "beta", "pre", "rc"]
_apk_post = ["cvs", "svn", "git", "hg", "p"]


@st.composite
def apk_versions(draw: st.DrawFn, gentoo_subset: bool = False) -> str:
    """Valid apk versions; with ``gentoo_subset`` the part univers' Gentoo algorithm implements too."""
    parts = draw(st.lists(_number, min_size=1, max_size=4))
    text = ".".join(parts)
    if draw(st.booleans()):
        text += draw(st.sampled_from("abcxyz"))
    suffixes = _apk_pre + (["p"] if gentoo_subset else _apk_post)
    # Gentoo reads a suffix without a number as number 0 (_alpha == _alpha0, so _alpha_p < _alpha1) where
    # apk compares token kinds (_alpha1 < _alpha_p): the Gentoo subset has one suffix at most
    for _ in range(draw(st.integers(0, 1 if gentoo_subset else 2))):
        text += "_" + draw(st.sampled_from(suffixes)) + draw(st.sampled_from(["", "1", "2", "10"]))
    if not gentoo_subset and draw(st.booleans()):
        text += "~" + draw(st.sampled_from(["1234abcd", "deadbeef", "0a"]))
    # Alpine package versions always carry -rN; Gentoo reads -r0 as "no revision" where apk's grammar has
    # 1.0 < 1.0-r0 (test_apk_revision_zero), so the Gentoo subset always has a revision
    if gentoo_subset or draw(st.booleans()):
        text += "-r" + draw(st.integers(0, 12).map(str))
    return text


_deb_upstream_chars = st.sampled_from(list("0123456789abcXYZ.+~"))
_deb_revision_chars = st.sampled_from(list("0123456789abz.+~"))


@st.composite
def deb_versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "0:", "1:", "2:"]))
    upstream = draw(st.integers(0, 99).map(str)) + draw(st.text(_deb_upstream_chars, max_size=6))
    revision = draw(st.text(_deb_revision_chars, max_size=5))
    return epoch + upstream + (f"-{revision}" if revision or draw(st.booleans()) else "")


def check_order_laws(scheme: Scheme, a: str, b: str, c: str) -> None:
    ab, bc, ac = compare(scheme, a, b), compare(scheme, b, c), compare(scheme, a, c)
    assert compare(scheme, a, a) == 0
    assert compare(scheme, b, a) == -ab  # antisymmetry
    if ab <= 0 and bc <= 0:  # transitivity
        assert ac <= 0
        if ab < 0 or bc < 0:
            assert ac < 0
    if ab == 0:
        assert ac == bc


@settings(max_examples=400, deadline=None)
@given(apk_versions(), apk_versions(), apk_versions())
def test_apk_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws("apk", a, b, c)


@settings(max_examples=400, deadline=None)
@given(deb_versions(), deb_versions(), deb_versions())
def test_deb_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws("deb", a, b, c)


def _univers_cmp(cls: type, a: str, b: str) -> int:
    va, vb = cls(a), cls(b)
    return -1 if va < vb else 1 if va > vb else 0


@settings(max_examples=500, deadline=None)
@given(deb_versions(), deb_versions())
def test_deb_agrees_with_univers(a: str, b: str) -> None:
    # univers' DebianVersion is a port of dpkg's verrevcmp: on valid versions both must agree
    if DebianVersion.is_valid(a) and DebianVersion.is_valid(b):  # type: ignore[no-untyped-call]
        assert compare("deb", a, b) == _univers_cmp(DebianVersion, a, b)


@settings(max_examples=500, deadline=None)
@given(apk_versions(gentoo_subset=True), apk_versions(gentoo_subset=True))
def test_apk_agrees_with_univers_on_the_gentoo_subset(a: str, b: str) -> None:
    # numbers without leading zeros, one letter, _alpha/_beta/_pre/_rc/_p suffixes, -rN: the grammar apk
    # took from Gentoo, where univers' Gentoo algorithm must give the same order
    if AlpineLinuxVersion.is_valid(a) and AlpineLinuxVersion.is_valid(b):  # type: ignore[no-untyped-call]
        assert compare("apk", a, b) == _univers_cmp(AlpineLinuxVersion, a, b)


@settings(max_examples=200, deadline=None)
@given(apk_versions())
def test_generated_apk_versions_are_valid(version: str) -> None:
    # the strategy only builds grammatical versions: a rejection would be a parser bug
    assert is_valid("apk", version), version


def test_key_set_holds_the_keys_the_scheme_reads_and_answers_version_equality() -> None:
    from alpinist.versions import key_set, sort_key

    listed = ("1.0", "not a version", "2.0rc1", "1!3.0")
    found = key_set("pep440", listed)
    assert found is not None and len(found) == 3
    assert sort_key("pep440", "1.0.0") in found  # equal as versions, spelt otherwise
    assert sort_key("pep440", "v2.0rc1") in found and sort_key("pep440", "2.0") not in found
    assert sort_key("pep440", "3.0") not in found  # another epoch
    assert key_set("apk", ("1.0-r0", "1.0-r1")) == {sort_key("apk", "1.0-r0"), sort_key("apk", "1.0-r1")}
    assert key_set("pep440", ()) == frozenset()


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(
        r"\A\s*v?([0-9]!)?[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc|c|alpha|beta|pre|preview)[-_.]?[0-9]{0,2})?"
        r"([-_.]?(post|rev|r)[-_.]?[0-9]{0,2})?([-_.]?dev[-_.]?[0-9]{0,2})?(\+[a-z0-9]{1,3}([-_.][a-z0-9]{1,3}){0,2})?\s*\Z",
        fullmatch=True,
    ),
    st.data(),
)
def test_pep440_equal_versions_have_the_same_digits(text: str, data: st.DataObject) -> None:
    from packaging.version import InvalidVersion, Version

    from alpinist.versions import pep440_digits

    try:
        version = Version(text)
    except InvalidVersion:
        return
    # the normalized spelling, the public part, and a respelling with zeros and separators changed
    for other in (str(version), version.public, f"0!{version}" if version.epoch == 0 else str(version)):
        if Version(other) == version:
            assert pep440_digits(other) == pep440_digits(text), (text, other)
    padded = data.draw(st.sampled_from([".0", ".0.0", ""]))
    if version.pre is None and version.post is None and version.dev is None and version.local is None:
        respelt = f"{version.epoch}!{version.base_version.split('!')[-1]}{padded}"
        assert Version(respelt) == version and pep440_digits(respelt) == pep440_digits(text)


def test_pep440_digits_ignore_what_packaging_ignores_beyond_ascii() -> None:
    from alpinist.versions import pep440_digits, pep440_may_equal

    # Unicode whitespace around a version (packaging strips it)
    for spelt, plain in (("1.0\x85", "1.0"), ("\u00a01.0", "1.0"), ("\u20031.0.0\u2028", "1.0")):
        assert Version(spelt) == Version(plain)
        assert pep440_digits(spelt) == pep440_digits(plain)
        assert pep440_may_equal(spelt, ("2.0", plain)) == (plain,)
