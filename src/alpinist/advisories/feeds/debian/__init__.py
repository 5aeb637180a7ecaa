"""The Debian security tracker: the profile of the ``debian`` feed (``tracker.py`` downloads and parses it).

- packages: ``deb``, matched by **source** package, comparing the **source** version (``bash
  5.2.15-2+b13`` is a binNMU of source ``5.2.15-2``) by dpkg's rules;
- namespace: the release codename (os-release ``VERSION_CODENAME``, else the major version through
  :data:`DEBIAN_CODENAMES`: 12 -> ``debian:bookworm``);
- an OS feed (``fixed_version`` ``0`` is "not affected"); its urgency is the vendor's severity;
- ``TEMP-`` ids (issues without a CVE yet) are read on the tracker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alpinist.advisories.profile import PackageRule, Profile, SourceOptions

if TYPE_CHECKING:
    from alpinist.advisories.feed import Source
    from alpinist.models import OSInfo, Package

NAME = "debian"
TRACKER = "https://security-tracker.debian.org/tracker/"

DEBIAN_CODENAMES: dict[str, str] = {
    "7": "wheezy",
    "8": "jessie",
    "9": "stretch",
    "10": "buster",
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
    "14": "forky",
}


def debian_namespace(os: OSInfo | None) -> str | None:
    """``debian:bookworm`` from the codename, or from the major version when os-release has none."""
    if os is None or os.id != "debian":
        return None
    if os.codename:
        return f"debian:{os.codename.strip().lower()}"
    major = (os.version_id or os.version).split(".")[0]
    codename = DEBIAN_CODENAMES.get(major)
    return f"debian:{codename}" if codename else None


def source_version(package: Package) -> str:
    """The source package's version (``Source: glibc (2.36-9+deb12u4)``), else the package's."""
    return package.source_version or package.version


def make_source(options: SourceOptions) -> Source:
    from alpinist.advisories.feeds.debian.tracker import DebianTrackerSource

    return DebianTrackerSource()


PROFILE = Profile(
    name=NAME,
    title="Debian security tracker",
    make_source=make_source,
    rules=(PackageRule("deb", debian_namespace, "deb", version=source_version, missing="Debian release"),),
    preference=2,
    vendor_severity=True,
    os_feed=True,
    advisory_urls=(("TEMP-", TRACKER + "{id}"),),
    source_url=TRACKER + "{id}",
)
