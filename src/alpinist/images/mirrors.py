"""Registry mirrors: ``--registry-mirror REGISTRY=LOCATION`` (``PullOptions.mirrors``).

A mirror is a pair ``(registry, location)``: ``registry`` as the user writes it (``docker.io``,
``index.docker.io`` and ``registry-1.docker.io`` all mean Docker Hub; hosts compare case-insensitively),
``location`` is ``host[:port][/path-prefix]`` as in a ``registries.conf`` mirror location. An image of
``registry`` is then read from ``host``, its repository under ``path-prefix``: with
``("gcr.io", "127.0.0.1:5000/gcr")``, ``gcr.io/distroless/python3`` is read as
``127.0.0.1:5000/gcr/distroless/python3``; Docker Hub's ``python`` is ``library/python`` there too.
The first mirror given for a registry wins. There is no fallback to the registry itself (see
``images.registry``).

This module imports no HTTP client: the CLI checks the option with it before anything is opened.
"""

from __future__ import annotations

from alpinist.images.reference import DOCKER_HUB, is_registry_host, is_repository_path

DOCKER_HUB_NAMES = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io"})
EXAMPLE = "docker.io=127.0.0.1:5000 or gcr.io=mirror.example.org/gcr"


def canonical_registry(registry: str) -> str:
    """The registry host as image names carry it: lower case, Docker Hub's spellings as ``docker.io``."""
    host = registry.strip().lower()
    return DOCKER_HUB if host in DOCKER_HUB_NAMES else host


def split_location(location: str) -> tuple[str, str]:
    """``host[:port][/path-prefix]`` -> (host, prefix); ValueError naming what is wrong."""
    if "://" in location:
        raise ValueError(
            f"mirror location {location!r} must be HOST[:PORT][/PREFIX] without a scheme "
            "(plain http is used for loopback hosts and --insecure-registry hosts, else https)"
        )
    host, _, prefix = location.partition("/")
    prefix = prefix.rstrip("/")
    if not host or not is_registry_host(host):
        raise ValueError(f"mirror location {location!r}: {host!r} is not a registry HOST[:PORT]")
    if prefix and not is_repository_path(prefix):
        raise ValueError(
            f"mirror location {location!r}: the path prefix {prefix!r} is not a repository path "
            "(lower-case components separated by '/')"
        )
    return host.lower(), prefix


def parse_mirror(text: str) -> tuple[str, str]:
    """``REGISTRY=LOCATION`` -> ``(registry, location)``, both checked; ValueError naming what is wrong."""
    registry, sep, location = text.strip().partition("=")
    registry, location = registry.strip(), location.strip()
    if not sep or not registry or not location:
        raise ValueError(f"{text!r} is not REGISTRY=LOCATION (for example {EXAMPLE})")
    if "/" in registry or not is_registry_host(registry):
        raise ValueError(f"{text!r}: {registry!r} is not a registry HOST[:PORT] (for example docker.io)")
    if "." not in registry and ":" not in registry and registry.lower() != "localhost":
        raise ValueError(
            f"{text!r}: {registry!r} is not a registry host: a registry name has a '.' or a ':port' "
            "(or is localhost); Docker Hub is docker.io"
        )
    split_location(location)
    return registry, location


def mirror_for(host: str, mirrors: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """(mirror host, path prefix) of the first mirror of registry ``host``, or None."""
    wanted = canonical_registry(host)
    for registry, location in mirrors:
        if canonical_registry(registry) == wanted:
            return split_location(location)
    return None
