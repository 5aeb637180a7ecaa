"""The registry of feeds: which profiles exist, in update order, and what is derived from them.

``PROFILES`` is the one table of the feeds alpinist knows (``feeds/<name>/__init__.py``). Everything
that used to name a feed reads it through this module: ``sources.SOURCE_NAMES`` and ``all_sources()``,
the store's description preference, matching (which rules apply to a package type, which feeds are OS
feeds), severity (which feeds' ratings are the vendor's), the advisory URLs of reports and the CycloneDX
source of a finding.

``register`` adds a profile at run time (a test's toy distro, a plug-in); ``registered`` does so for the
length of a ``with`` block. The default registry is ``PROFILES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alpinist.advisories.feeds import alpine, debian, nvd, osv
from alpinist.advisories.profile import PackageRule, Profile

# The feeds, in update order. A new distro: its package under feeds/ and one line here.
PROFILES: tuple[Profile, ...] = (
    alpine.PROFILE,
    debian.PROFILE,
    osv.PROFILE,
    nvd.PROFILE,
)


@dataclass(frozen=True)
class _Derived:
    """What the readers need, computed once per registry change (matching asks for it on every scan)."""

    profiles: tuple[Profile, ...]
    by_name: dict[str, Profile]
    preference: tuple[str, ...]
    vendor_feeds: frozenset[str]
    os_feeds: frozenset[str]
    rules: dict[str, tuple[tuple[Profile, PackageRule], ...]]
    # the (prefix, url) pairs that can claim an id, by the id's head (up to its first "-"), in claim order:
    # a prefix with a "-" only claims ids of its own head; one without goes into every list
    urls_by_head: dict[str, tuple[tuple[str, str], ...]]
    urls_without_head: tuple[tuple[str, str], ...]
    # advisory_url's answers with this registry (a scan asks for thousands; bounded by _URL_MEMO)
    url_memo: dict[str, str | None]


_URL_MEMO = 65536


def _head(text: str) -> str | None:
    dash = text.find("-")
    return text[: dash + 1] if dash >= 0 else None


def _urls_by_head(urls: tuple[tuple[str, str], ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    heads = {head for prefix, _ in urls if (head := _head(prefix)) is not None}
    return {
        head: tuple((prefix, url) for prefix, url in urls if _head(prefix) in (head, None)) for head in heads
    }


def _derive(profiles: tuple[Profile, ...]) -> _Derived:
    rules: dict[str, list[tuple[Profile, PackageRule]]] = {}
    for feed in profiles:
        for rule in feed.rules:
            rules.setdefault(rule.package_type, []).append((feed, rule))
    ranked = sorted(enumerate(profiles), key=lambda item: (item[1].preference, item[0]))
    urls = tuple((prefix.upper(), url) for p in profiles for prefix, url in p.advisory_urls)
    return _Derived(
        profiles=profiles,
        by_name={p.name: p for p in profiles},
        preference=tuple(p.name for _, p in ranked),
        vendor_feeds=frozenset(p.name for p in profiles if p.vendor_severity),
        os_feeds=frozenset(p.name for p in profiles if p.os_feed),
        rules={kind: tuple(found) for kind, found in rules.items()},
        urls_by_head=_urls_by_head(urls),
        urls_without_head=tuple((prefix, url) for prefix, url in urls if _head(prefix) is None),
        url_memo={},
    )


_current = _derive(PROFILES)


def profiles() -> tuple[Profile, ...]:
    """The registered profiles, in update order."""
    return _current.profiles


def profile(name: str) -> Profile | None:
    return _current.by_name.get(name)


def register(new: Profile) -> None:
    """Add a feed after the registered ones; ValueError if its name is taken."""
    global _current
    if new.name in _current.by_name:
        raise ValueError(f"advisory feed {new.name!r} is already registered")
    _current = _derive((*_current.profiles, new))


def unregister(name: str) -> None:
    global _current
    _current = _derive(tuple(p for p in _current.profiles if p.name != name))


@contextmanager
def registered(new: Profile) -> Iterator[Profile]:
    """``register(new)`` for the length of the block."""
    register(new)
    try:
        yield new
    finally:
        unregister(new.name)


def source_names() -> tuple[str, ...]:
    return tuple(p.name for p in _current.profiles)


def feed_preference() -> tuple[str, ...]:
    """Feed names in the order their descriptions of one id are preferred (``Store.vulnerability``)."""
    return _current.preference


def vendor_feeds() -> frozenset[str]:
    """Feeds whose ``Affected.severity`` is the distro's own rating."""
    return _current.vendor_feeds


def os_feeds() -> frozenset[str]:
    """Feeds where a fixed version ``0`` means "never affected"."""
    return _current.os_feeds


def rules_by_type() -> dict[str, tuple[tuple[Profile, PackageRule], ...]]:
    """Package type -> (feed, rule) of every feed that matches packages of that type, in registry order."""
    return dict(_current.rules)


def advisory_url(vuln_id: str) -> str | None:
    """Where a person reads about an id (the first feed that claims its prefix), or None."""
    derived = _current
    memo = derived.url_memo
    if vuln_id in memo:
        return memo[vuln_id]
    url = _first_claim(derived.urls_by_head, derived.urls_without_head, vuln_id.upper())
    if len(memo) >= _URL_MEMO:
        memo.clear()
    memo[vuln_id] = found = None if url is None else url.replace("{id}", vuln_id)
    return found


def _first_claim(
    by_head: dict[str, tuple[tuple[str, str], ...]], without_head: tuple[tuple[str, str], ...], upper: str
) -> str | None:
    """The URL of the first (prefix, url) whose prefix starts ``upper``, looking only where one can."""
    head = _head(upper)
    candidates = without_head if head is None else by_head.get(head, without_head)
    for prefix, url in candidates:
        if upper.startswith(prefix):
            return url
    return None


def feed_reference(source: str, vuln_id: str) -> tuple[str, str | None]:
    """A finding's feed for CycloneDX: its title and its page of ``vuln_id`` (or the feed's own URL)."""
    found = _current.by_name.get(source)
    if found is None:
        return source, None
    url = found.source_url.replace("{id}", vuln_id) if found.source_url else None
    return found.title, url
