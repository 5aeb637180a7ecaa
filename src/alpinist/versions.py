"""Version comparison, one entry point per ecosystem: ``compare(scheme, a, b) -> -1 | 0 | 1``.

Schemes
=======

``apk``
    apk-tools' rules: ``digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}``, suffixes ordered
    ``_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p``, ``-rN`` revisions
    numerically, one lower-case letter after the numbers. Written to apk-tools 3.x (``src/version.c`` at
    master, Alpine 3.23 and edge), whose test data is a superset of apk-tools 2.14's (Alpine 3.18-3.22):
    every line of both files passes. Known 2.x/3.x difference, not
    modelled: a numeric component with leading zeros compares as a string in 3.x (``1.010 < 1.09``,
    ``8.2.0 < 8.2.001``) while 2.x reads it as "minus the number of zeros, then the digits" (``1.010 >
    1.09``). No Alpine package version in a secdb branch is known to depend on it (zero-padded components
    such as vim's ``9.1.0707`` order the same in both), and 2.14's exact source was not available to
    verify a second implementation against.
``deb``
    dpkg's ``verrevcmp``: epoch, then upstream version and Debian revision split at the last ``-``, each
    compared as alternating non-digit runs (``~`` before the end, letters before other characters) and
    numbers.
``pep440``
    ``packaging.version.Version`` (PyPI, CPython).
``generic``
    a natural order for versions no ecosystem defines (CPE products): numbers numerically, words
    before the end (``1.0rc1 < 1.0``), trailing ``.0`` insignificant.

Why not ``univers`` for apk and deb: its ``AlpineLinuxVersion`` is Gentoo's algorithm and rejects real
Alpine versions (``1.2.4_git20230717-r5``, ``_cvs``/``_svn``/``_hg`` suffixes, ``~hash``,
``021109-r3``: 16 of the 738 apk-tools vector lines raise), and its ``DebianVersion`` is correct but
re-walks both strings on every comparison (8 µs a comparison, against a 50 ms budget for matching 500
packages). Both are therefore written here from the specifications (apk-tools' ``src/version.c``
semantics, dpkg's ``verrevcmp``) as **sort keys**: a version is parsed once (``functools.lru_cache``)
into a tuple whose ordinary tuple order is the ecosystem's order, so a comparison is one C-level tuple
comparison. ``tests/test_versions.py`` checks every line of the upstream vector files and cross-checks
the keys against univers (Debian, and the Gentoo-compatible subset of apk) on generated versions.

Invalid versions
================

By default a string the ecosystem rejects raises :class:`VersionError` (matching skips that record with
a warning). ``strict=False`` orders invalid strings the way the upstream tool still does when asked
(``apk version -t``, libdpkg's comparison): only for the vector files and diagnostics.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from alpinist.errors import AlpinistError
from alpinist.models import VersionRange

Scheme = Literal["apk", "deb", "pep440", "generic"]
Op = Literal["<", "<=", "=", ">=", ">", "!="]

_CACHE_SIZE = 65536


class VersionError(AlpinistError):
    """A version string the scheme's grammar rejects; the message names the scheme, the string, the reason."""

    def __init__(self, scheme: str, version: str, reason: str) -> None:
        self.scheme = scheme
        self.version = version
        self.reason = reason
        super().__init__(f"invalid {scheme} version {version!r}: {reason}")


# ---------------------------------------------------------------------------------------------- apk (3.x)
#
# A key is a tuple of (rank, value) elements ending with an END or INVALID element. apk compares token by
# token; while both versions have a token of the same kind the values decide; at the first place where
# the kinds differ, a pre-release suffix (_alpha.._rc) is lower than anything, otherwise the version
# whose token kind comes later in the grammar is lower (so 1.2 < 1.2.1, 1.2 > 1.2_rc1, 1.2 < 1.2_p1,
# 1.2-r1 > 1.2, an invalid tail < the end). rank = -kind encodes exactly that, with pre-release suffixes
# given the lowest rank; same rank means same kind, so the values are then compared like apk does.

_K_INITIAL, _K_DIGIT, _K_LETTER, _K_SUFFIX, _K_SUFFIX_NO, _K_HASH, _K_REVISION, _K_END, _K_INVALID = range(9)
_RANK_PRE_SUFFIX = -100

# apk-tools 3: suffix -> order; below _SUFFIX_NONE = pre-release.
_SUFFIX_NONE = 5
_APK3_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_DIGITS = frozenset("0123456789")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_HEX = frozenset("0123456789abcdefABCDEF")

ApkKey = tuple[tuple[Any, ...], ...]


def _run(text: str, start: int, chars: frozenset[str]) -> int:
    end = start
    while end < len(text) and text[end] in chars:
        end += 1
    return end


def _apk3_tokens(text: str) -> tuple[list[tuple[int, Any]], bool]:
    """apk-tools 3 tokens ``(kind, value)``; the last one is END (valid) or INVALID."""
    tokens: list[tuple[int, Any]] = []
    end = _run(text, 0, _DIGITS)
    if end == 0:
        return [(_K_INVALID, None)], False
    tokens.append((_K_INITIAL, int(text[:end])))
    kind, pos = _K_INITIAL, end
    while True:
        if pos == len(text):
            tokens.append((_K_END, None))
            return tokens, True
        char = text[pos]
        if char in _LOWER and kind <= _K_DIGIT:
            kind, pos = _K_LETTER, pos + 1
            tokens.append((kind, char))
            continue
        if (char == "." and kind <= _K_DIGIT) or (
            char in _DIGITS and kind in (_K_INITIAL, _K_DIGIT, _K_SUFFIX)
        ):
            if char == ".":
                pos += 1
            kind = _K_SUFFIX_NO if kind == _K_SUFFIX else _K_DIGIT
            end = _run(text, pos, _DIGITS)
            if end == pos:
                break
            digits, pos = text[pos:end], end
            if kind == _K_DIGIT:
                # a leading zero makes the component compare as a string (Gentoo's rule), otherwise as a
                # number; every leading-zero string sorts below every other number, as apk's string
                # comparison of "0..." against "[1-9]..." also gives.
                tokens.append((kind, (0, digits) if digits[0] == "0" else (1, int(digits))))
            else:
                tokens.append((kind, int(digits)))
            continue
        if char == "_" and kind <= _K_SUFFIX_NO:
            end = _run(text, pos + 1, _LOWER)
            order = _APK3_SUFFIXES.get(text[pos + 1 : end])
            if order is None:
                break
            kind, pos = _K_SUFFIX, end
            tokens.append((kind, order))
            continue
        if char == "~" and kind < _K_HASH:
            end = _run(text, pos + 1, _HEX)
            if end == pos + 1:
                break
            kind = _K_HASH
            tokens.append((kind, text[pos + 1 : end]))
            pos = end
            continue
        if char == "-" and kind < _K_REVISION and text.startswith("-r", pos):
            end = _run(text, pos + 2, _DIGITS)
            if end == pos + 2:
                break
            kind = _K_REVISION
            tokens.append((kind, int(text[pos + 2 : end])))
            pos = end
            continue
        break
    tokens.append((_K_INVALID, None))
    return tokens, False


def _apk3_rank(kind: int, value: Any) -> int:
    if kind == _K_SUFFIX and value < _SUFFIX_NONE:
        return _RANK_PRE_SUFFIX
    return -kind


@lru_cache(maxsize=_CACHE_SIZE)
def _apk3_parse(text: str) -> tuple[ApkKey, bool]:
    tokens, valid = _apk3_tokens(text)
    key = tuple(
        (_apk3_rank(kind, value),) if value is None else (_apk3_rank(kind, value), value)
        for kind, value in tokens
    )
    return key, valid


def apk_fuzzy_match(version: str, prefix: str) -> bool:
    """apk's ``~`` operator: ``version`` equals ``prefix`` on all of ``prefix``'s tokens (``3.6.9 ~ 3.6``)."""
    key, _ = _apk3_parse(version)
    other, valid = _apk3_parse(prefix)
    if not valid:
        return key == other
    body = other[:-1]  # without END
    return key[: len(body)] == body


# ---------------------------------------------------------------------------------------------- dpkg
#
# verrevcmp compares alternating runs: a non-digit run character by character by order(c) (end of run =
# 0, '~' = -1, letters = their code, anything else = code + 256), then a digit run numerically. A part's
# key is the sequence of (non-digit run, number) pairs; the shorter string is padded with empty pairs,
# which the key represents by stripping trailing empty pairs and ending with two of them (after the first
# pair no pair is ever empty, so the padding meets a real pair first).

_EMPTY_PAIR: tuple[tuple[int, ...], int] = ((0,), 0)
_DEB_UPSTREAM_OK = re.compile(r"[A-Za-z0-9.+~:\-]*")
_DEB_REVISION_OK = re.compile(r"[A-Za-z0-9.+~]*")
_INT_MAX = 2**31 - 1


def _deb_order(char: str) -> int:
    if char == "~":
        return -1
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


def _deb_part_key(text: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    pairs: list[tuple[tuple[int, ...], int]] = []
    pos = 0
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos] not in _DIGITS:
            pos += 1
        run = (*(_deb_order(c) for c in text[start:pos]), 0)
        start = pos
        pos = _run(text, pos, _DIGITS)
        pairs.append((run, int(text[start:pos]) if pos > start else 0))
    while pairs and pairs[-1] == _EMPTY_PAIR:
        pairs.pop()
    return (*pairs, _EMPTY_PAIR, _EMPTY_PAIR)


DebKey = tuple[int, tuple[tuple[tuple[int, ...], int], ...], tuple[tuple[tuple[int, ...], int], ...]]


def _deb_split(text: str) -> tuple[str, str, str]:
    epoch, colon, rest = text.partition(":")
    if not colon:
        epoch, rest = "", text
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    return epoch, upstream, revision


@lru_cache(maxsize=_CACHE_SIZE)
def _deb_parse(text: str) -> tuple[DebKey | None, str | None]:
    """``(key, None)`` for a version dpkg's parser accepts, ``(lenient key or None, reason)`` otherwise."""
    version = text.strip()
    if not version:
        return None, "empty version"
    epoch_text, upstream, revision = _deb_split(version)
    lenient_epoch = int(epoch_text) if epoch_text.isdigit() else 0
    lenient: DebKey = (lenient_epoch, _deb_part_key(upstream), _deb_part_key(revision))
    reason: str | None = None
    if any(c.isspace() for c in version):
        reason = "embedded whitespace"
    elif epoch_text == "" and ":" in version:
        reason = "empty epoch"
    elif epoch_text and not epoch_text.isdigit():
        reason = "epoch is not a number"
    elif epoch_text and int(epoch_text) > _INT_MAX:
        reason = "epoch is too big"
    elif not upstream:
        reason = "empty upstream version"
    elif not upstream[0].isdigit():
        reason = "upstream version does not start with a digit"
    elif not _DEB_UPSTREAM_OK.fullmatch(upstream):
        reason = "invalid character in upstream version"
    elif not _DEB_REVISION_OK.fullmatch(revision):
        reason = "invalid character in revision"
    return lenient, reason


# ---------------------------------------------------------------------------------------------- others


@lru_cache(maxsize=_CACHE_SIZE)
def _pep440_parse(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


_GENERIC_TOKEN = re.compile(r"\d+|[A-Za-z]+")


@lru_cache(maxsize=_CACHE_SIZE)
def _generic_parse(text: str) -> tuple[tuple[int, Any], ...] | None:
    # the leading numbers (the release) without trailing zeros (1.0 = 1), then the rest; words sort
    # before the end of a version (1.0rc1 < 1.0), the end before a number (1.0 < 1.0.1)
    tokens = _GENERIC_TOKEN.findall(text)
    if not tokens:
        return None
    release_end = next((i for i, t in enumerate(tokens) if not t.isdigit()), len(tokens))
    release = [int(t) for t in tokens[:release_end]]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    rest = [(2, int(t)) if t.isdigit() else (0, t.lower()) for t in tokens[release_end:]]
    return (*((2, n) for n in release), *rest, (1, 0))


# ---------------------------------------------------------------------------------------------- public API


def sort_key(scheme: Scheme, version: str, *, strict: bool = True) -> Any:
    """The cached sort key of ``version``: keys of one scheme compare like the versions do."""
    if scheme == "apk":
        key, valid = _apk3_parse(version)
        if not valid and strict:
            raise VersionError(scheme, version, "not valid apk-tools version syntax")
        return key
    if scheme == "deb":
        deb, reason = _deb_parse(version)
        if reason is not None and (strict or deb is None):
            raise VersionError(scheme, version, reason)
        return deb
    if scheme == "pep440":
        parsed = _pep440_parse(version)
        if parsed is None:
            raise VersionError(scheme, version, "not a PEP 440 version")
        return parsed
    if scheme == "generic":
        generic = _generic_parse(version)
        if generic is None:
            raise VersionError(scheme, version, "no number or word in it")
        return generic
    raise ValueError(f"unknown version scheme {scheme!r}")


# every ASCII character but the digits 1-9: ``str.translate`` drops them
_NOT_NONZERO_DIGITS = {code: None for code in range(128) if not ord("1") <= code <= ord("9")}
_NOT_NONZERO_DIGIT = re.compile(r"[^1-9]+")


def pep440_digits(version: str) -> str:
    """The digits 1-9 of a version string, in order. Versions PEP 440 calls equal have the same ones: numbers
    compare as integers (01 = 1), trailing zeros of the release and implicit zeros do not count (1.0 = 1.0.0,
    1.0a = 1.0a0, 1.0.dev = 1.0.dev0), an epoch of 0 may be written or not (0!1.0 = 1.0), and the spellings of
    pre-, post- and dev-releases, separators, a leading ``v`` and case carry no digit. Two versions with other
    digits are never equal; the same digits do not make them equal (1.2 and 12.0)."""
    if version.isascii():
        return version.translate(_NOT_NONZERO_DIGITS)
    return _NOT_NONZERO_DIGIT.sub("", version)  # (packaging strips Unicode whitespace around a version)


@lru_cache(maxsize=4096)
def _pep440_by_digits(versions: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for version in versions:
        found.setdefault(pep440_digits(version), []).append(version)
    return {digits: tuple(same) for digits, same in found.items()}


def pep440_may_equal(version: str, versions: tuple[str, ...]) -> tuple[str, ...]:
    """The strings of ``versions`` that can be PEP 440-equal to ``version`` (``pep440_digits``): only these
    need parsing to answer "is it one of a record's hundreds of listed versions" (the index of a list is
    made once per process, at a fraction of the cost of parsing it)."""
    return _pep440_by_digits(versions).get(pep440_digits(version), ())


@lru_cache(maxsize=4096)
def key_set(scheme: Scheme, versions: tuple[str, ...]) -> frozenset[Any] | None:
    """The sort keys of ``versions`` that ``scheme`` reads, as a set (cached, as the keys are): "is this
    version one of a record's hundreds of listed versions" is then one lookup, and each list is parsed
    once per process, not once per scan of it. None when the scheme's keys cannot be hashed. Keys compare
    as versions do and equal keys have equal hashes, so membership is version equality."""
    keys = []
    for version in versions:
        try:
            keys.append(sort_key(scheme, version))
        except VersionError:
            continue
    try:
        return frozenset(keys)
    except TypeError:
        return None


def is_valid(scheme: Scheme, version: str) -> bool:
    try:
        sort_key(scheme, version)
    except VersionError:
        return False
    return True


def compare(scheme: Scheme, a: str, b: str, *, strict: bool = True) -> int:
    """-1, 0 or 1 as ``a`` is lower than, equal to or higher than ``b`` in ``scheme``'s order.

    Raises :class:`VersionError` when either string is not a valid version of the scheme (with
    ``strict=False``, apk and deb order invalid strings as their tools do instead).
    """
    ka = sort_key(scheme, a, strict=strict)
    kb = sort_key(scheme, b, strict=strict)
    return int((ka > kb) - (ka < kb))


def satisfies(scheme: Scheme, version: str, op: Op, bound: str) -> bool:
    """``version OP bound``. PEP 440: a bound without a local label ignores the version's local label
    (``2.0.0+cu118 <= 2.0.0``, ``6.4+cgr.1 = 6.4``), as PEP 440 version specifiers do.
    """
    if scheme == "pep440":
        bound_v = sort_key("pep440", bound)
        version_v = sort_key("pep440", version)
        if bound_v.local is None and version_v.local is not None:
            version_v = sort_key("pep440", version_v.public)
        c = int((version_v > bound_v) - (version_v < bound_v))
    else:
        c = compare(scheme, version, bound)
    if op == "<":
        return c < 0
    if op == "<=":
        return c <= 0
    if op == "=":
        return c == 0
    if op == ">=":
        return c >= 0
    if op == ">":
        return c > 0
    if op == "!=":
        return c != 0
    raise ValueError(f"unknown operator {op!r}")


def in_range(scheme: Scheme, version: str, rng: VersionRange) -> bool:
    """Whether ``version`` lies in ``rng`` (``None`` bounds are open)."""
    if rng.start is not None and not satisfies(
        scheme, version, ">=" if rng.start_inclusive else ">", rng.start
    ):
        return False
    return rng.end is None or satisfies(scheme, version, "<=" if rng.end_inclusive else "<", rng.end)


def release_branch(scheme: Scheme, version: str) -> tuple[int, int] | None:
    """``(major, minor)`` of a version (3.11.2 -> (3, 11)); None when it has no two numeric components."""
    if scheme == "pep440":
        release = sort_key("pep440", version).release
        return (release[0], release[1] if len(release) > 1 else 0)
    numbers = re.findall(r"\d+", version)
    if not numbers:
        return None
    return (int(numbers[0]), int(numbers[1]) if len(numbers) > 1 else 0)
