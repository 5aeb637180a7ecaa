"""Alpine secdb: the profile of the ``alpine`` feed (``secdb.py`` downloads and parses it).

- packages: ``apk``, matched by **origin** (``o:``; ``libssl3`` and ``libcrypto3`` are ``openssl``), apk
  versions compared by apk-tools' rules;
- namespace: the secdb branch of ``/etc/alpine-release`` (``3.20.3`` -> ``alpine:3.20``; an ``_alpha``
  release is ``alpine:edge``); no other branch is ever used in its place;
- one id under several secfixes keys of a branch: the first fix decides (``first-fix``);
- an OS feed (a key ``0`` is "never affected"); its severity, when it has one, is the vendor's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from alpinist.advisories.profile import PackageRule, Profile, SourceOptions

if TYPE_CHECKING:
    from alpinist.advisories.feed import Source
    from alpinist.models import OSInfo

NAME = "alpine"


def alpine_namespace(os: OSInfo | None) -> str | None:
    """``alpine:3.20`` for Alpine 3.20.x, ``alpine:edge`` for an edge (``_alpha``) release, else None."""
    if os is None or os.id != "alpine":
        return None
    release = os.version or os.version_id
    if "_alpha" in release or release.strip() == "edge":
        return "alpine:edge"
    found = re.match(r"(\d+)\.(\d+)", release) or re.match(r"(\d+)\.(\d+)", os.version_id)
    return f"alpine:{found.group(1)}.{found.group(2)}" if found else None


def make_source(options: SourceOptions) -> Source:
    from alpinist.advisories.feeds.alpine.secdb import DEFAULT_ALPINE_BRANCHES, AlpineSecdbSource

    branches = options.alpine_branches
    return AlpineSecdbSource(branches=DEFAULT_ALPINE_BRANCHES if branches is None else branches)


PROFILE = Profile(
    name=NAME,
    title="Alpine secdb",
    make_source=make_source,
    rules=(PackageRule("apk", alpine_namespace, "apk", decide="first-fix", missing="Alpine secdb branch"),),
    preference=3,
    vendor_severity=True,
    os_feed=True,
    source_url="https://secdb.alpinelinux.org/",
)
