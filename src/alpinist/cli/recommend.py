"""``alpinist recommend IMAGE|DOCKERFILE``: which base image to move to, measured and checked.

Loaded lazily by the group (``app.py``). The candidates are the current base's newer tags ("refresh")
and the families of ``recommend.families.FAMILIES``, their tags listed with the registry API, plus every
``--candidate``; each is pulled (cached), scanned and checked against the application (docs/recommend.md).

Exit codes (``errors.py``): 0 the ranking was written (also when no candidate is compatible: the report
says so); 1 the Dockerfile or image cannot be read, its base cannot be resolved, the database failed,
or not one candidate could be listed or pulled (one line naming the registries and tags tried); 64
usage.
"""

from __future__ import annotations

import re
import tarfile
from datetime import timedelta
from pathlib import Path

import click

from alpinist.cli.common import pull_options
from alpinist.cli.db import open_database
from alpinist.cli.formats import RECOMMEND_FORMATS
from alpinist.cli.options import build_arg_option, database_options, image_options, output_options
from alpinist.cli.quiet import pull_progress, warn
from alpinist.dockerfile.wheels import DEFAULT_INDEX_URL
from alpinist.errors import EXIT_OK

_FAMILY_CHOICES = ("refresh", "python-slim", "python-alpine", "distroless", "ubuntu", "wolfi", "none")
_LOCAL = ("oci:", "oci-archive:", "docker-archive:", "dir:", "oci-dir:", "sbom:")


def dockerfile_path(target: str) -> Path | None:
    """``target`` as a Dockerfile: an existing text file (not a tar archive), or a directory holding a
    ``Dockerfile``/``Containerfile``; None when it is an image reference."""
    if target.startswith(_LOCAL):
        return None
    path = Path(target)
    if path.is_dir():
        for name in ("Dockerfile", "Containerfile"):
            if (path / name).is_file():
                return path / name
        return None
    if path.is_file():
        try:
            return None if tarfile.is_tarfile(path) else path
        except OSError:
            return path
    return None


@click.command()
@click.argument("target", metavar="IMAGE|DOCKERFILE")
@click.option(
    "--context",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Build context holding requirements.txt / pyproject.toml (default: the Dockerfile's directory).",
)
@click.option(
    "--candidate",
    "candidates",
    multiple=True,
    metavar="REF",
    help="Also try this base image (repeatable; any transport). With --family none, only these.",
)
@click.option(
    "--family",
    "families",
    multiple=True,
    type=click.Choice(_FAMILY_CHOICES),
    help="Discover candidates only in these families (repeatable; default: all; none: only --candidate).",
)
@click.option(
    "--python",
    "python",
    metavar="X.Y",
    help="The Python minor the candidates must have (default: the application's).",
)
@click.option(
    "--libc",
    type=click.Choice(("glibc", "musl", "any")),
    default="any",
    show_default=True,
    help="Only candidates with this C library.",
)
@click.option(
    "--releases",
    type=click.IntRange(1, 10),
    default=2,
    show_default=True,
    help="How many of the newest distro releases of each family are tried.",
)
@click.option(
    "--index-url",
    default=DEFAULT_INDEX_URL,
    show_default=True,
    metavar="URL",
    help="Package index asked for musllinux wheels on a glibc → musl move.",
)
@click.option(
    "--no-index", is_flag=True, help="Do not ask the package index (the wheel check is skipped and says so)."
)
@build_arg_option
@output_options(RECOMMEND_FORMATS)
@database_options
@image_options
def recommend(
    target: str,
    context: Path | None,
    candidates: tuple[str, ...],
    families: tuple[str, ...],
    python: str | None,
    libc: str,
    releases: int,
    index_url: str,
    no_index: bool,
    build_args: dict[str, str],
    fmt: str,
    output: Path | None,
    offline: bool,
    max_db_age: timedelta,
    db_path: Path | None,
    mirror: str | None,
    platform: str | None,
    insecure: tuple[str, ...],
    creds: str | None,
    registry_mirrors: tuple[tuple[str, str], ...],
    no_cache: bool,
) -> int:
    """Recommend a base image for IMAGE or DOCKERFILE: the current base's newer tags and other families
    (python slim and alpine, distroless, Ubuntu, Wolfi) of the same Python minor, each pulled, scanned
    and checked against the application (Python minor, glibc → musl wheels, shell, packages), ranked.

    Exit codes: 0 success (also when nothing is compatible: the report says so), 1 error (the input,
    its base, the database, or no candidate reachable), 64 usage.
    """
    from alpinist.dockerfile.parse import read_dockerfile
    from alpinist.recommend.run import RecommendOptions, recommend_dockerfile, recommend_image

    if python is not None and not re.fullmatch(r"3\.\d+", python):
        raise click.BadParameter(f"{python!r}: give a Python minor such as 3.11", param_hint="--python")
    if not index_url.startswith(("http://", "https://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="--index-url")
    chosen = tuple(f for f in families if f != "none")
    if "none" in families and chosen:
        raise click.UsageError("--family none cannot be combined with other families")
    if "none" in families and not candidates:
        raise click.UsageError("--family none needs at least one --candidate")
    dockerfile = dockerfile_path(target)
    if offline:
        remote = [c for c in candidates if not c.startswith(_LOCAL)]
        if "none" not in families or remote or (dockerfile is None and not target.startswith(_LOCAL)):
            raise click.UsageError(
                "--offline: recommend lists tags and pulls candidates from registries; use --offline only "
                "with --family none and local --candidate copies (oci:, docker-archive:…)"
            )
    options = RecommendOptions(
        pull=pull_options(platform, insecure, creds, registry_mirrors),
        candidates=candidates,
        families=chosen or tuple(f for f in families if f == "none"),
        python=python,
        libc=libc,  # type: ignore[arg-type]
        releases=releases,
        context=context,
        index_url=index_url,
        check_index=not no_index,
        use_cache=not no_cache,
    )
    with (
        open_database(db_path, offline, mirror, max_db_age) as store,
        pull_progress(options.pull) as (pull, _),
    ):
        from dataclasses import replace

        options = replace(options, pull=pull)
        if dockerfile is not None:
            df = read_dockerfile(dockerfile, build_args=build_args)
            text = dockerfile.read_text(encoding="utf-8").removeprefix("\ufeff")
            result = recommend_dockerfile(df, text, store, options)
        else:
            result = recommend_image(target, store, options)
    for warning in result.warnings:
        warn(warning)
    RECOMMEND_FORMATS.write(fmt, result, output)
    return EXIT_OK
