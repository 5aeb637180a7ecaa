"""Which images a fleet run scans: a list file (``--images FILE``) or a registry's catalog
(``--catalog REGISTRY[/PREFIX]``).

``read_image_list(path)`` reads one image reference a line, in any transport alpinist reads
(``registry:``/``docker://``, ``docker-archive:``, ``oci-archive:``, ``oci:``, ``dir:``, plain paths, bare
names such as ``alpine:3.20``); ``-`` reads standard input. Surrounding spaces are stripped; blank lines
and lines starting with ``#`` are skipped (a ``#`` later in a line is part of the reference: paths may
hold one). Relative paths are relative to the working directory, as on the command line. Each line is
checked with ``images.reference.parse_reference``: a line that is no reference (or a path that does not
exist) is an ``ImageListError`` naming the file and the line, and the run does not start (exit 64, a usage
error), as does a file without any reference, one that is not UTF-8 text, or one larger than
``MAX_LIST_BYTES`` (16 MiB: 100 000 references of 160 characters). The same image listed twice (spelled
alike, or ``alpine:3.20`` and ``docker.io/library/alpine:3.20``) is kept once, at its first line, with a
warning naming both lines.

``catalog_references(spec, options)`` lists every tag of every repository of a registry under an
optional prefix (``images.catalog``, ``images.tags``), as ``REGISTRY/REPOSITORY:TAG``, sorted. A
repository whose tags cannot be listed is not dropped: it comes back in ``Catalog.errors`` with its
one-line reason (the run records it as a failed image). A registry without the catalog API raises.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alpinist.errors import EXIT_USAGE, AlpinistError, BadReference, RegistryError
from alpinist.images.catalog import check_prefix, check_registry, list_repositories
from alpinist.images.open import PullOptions
from alpinist.images.reference import ImageRef, parse_reference
from alpinist.images.tags import list_tags

MAX_LIST_BYTES = 16 * 1024 * 1024
STDIN = "-"
TAG_LISTERS = 8  # repositories whose tags are listed at once (an unreachable registry waits once)


class ImageListError(AlpinistError):
    """An image list (``--images FILE``) that cannot be used: unreadable, too large, not UTF-8, empty, or
    a line that is no image reference (the message names the file and the line). A usage error: the run
    does not start."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class ImageList:
    references: tuple[str, ...]  # as written (stripped), in the file's order, each image once
    warnings: tuple[str, ...] = ()  # one line each: "FILE:LINE: ..."


@dataclass(frozen=True)
class Catalog:
    references: tuple[str, ...]  # REGISTRY/REPOSITORY:TAG, sorted
    errors: tuple[tuple[str, str], ...] = ()  # (REGISTRY/REPOSITORY, one-line reason), sorted


def read_image_list(path: Path) -> ImageList:
    """The references of the list file at ``path`` (``-``: standard input); see the module's docstring."""
    name = "<stdin>" if str(path) == STDIN else str(path)
    text = _read_text(path, name)
    seen: dict[str, tuple[int, str]] = {}  # image key -> (line number, reference) of its first line
    references: list[str] = []
    warnings: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            ref = parse_reference(line)
        except BadReference as exc:
            raise ImageListError(f"{name}:{number}: {exc}") from None
        key = _image_key(ref)
        if key in seen:
            first, spelled = seen[key]
            same = "listed" if spelled == line else f"the same image as {spelled!r}"
            warnings.append(f"{name}:{number}: {line!r} is {same} at line {first}; kept once")
            continue
        seen[key] = (number, line)
        references.append(line)
    if not references:
        raise ImageListError(f"{name}: no image reference in it (only blank lines and # comments)")
    return ImageList(tuple(references), tuple(warnings))


def _read_text(path: Path, name: str) -> str:
    """The file's text, bounded, UTF-8 (a byte order mark is dropped); ``ImageListError`` otherwise."""
    too_large = ImageListError(f"{name}: larger than {MAX_LIST_BYTES} bytes; split the list")
    if str(path) == STDIN:
        stream: BinaryIO | None = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes under it (io.StringIO)
            text = sys.stdin.read(MAX_LIST_BYTES + 1)
            if len(text.encode("utf-8", "surrogatepass")) > MAX_LIST_BYTES:
                raise too_large
            return text.removeprefix("\ufeff")
        data = stream.read(MAX_LIST_BYTES + 1)
    else:
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_LIST_BYTES + 1)
        except OSError as exc:
            raise ImageListError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_LIST_BYTES:
        raise too_large
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImageListError(f"{name}:{line}: not UTF-8 text (byte {exc.start})") from None


def _image_key(ref: ImageRef) -> str:
    """What makes two lines the same image: a registry image's normalized name (``alpine:3.20`` is
    ``docker.io/library/alpine:3.20``), a local one's transport, path and reference inside it."""
    if ref.registry is not None:
        return f"registry {ref.registry}"
    return f"{ref.transport} {ref.path}\0{ref.ref or ''}"


def catalog_references(spec: str, options: PullOptions, *, max_images: int = 100_000) -> Catalog:
    """Every tag of every repository of ``spec`` (``REGISTRY[/PREFIX]``: ``127.0.0.1:5000``,
    ``registry.example.com/team``) as ``REGISTRY/REPOSITORY:TAG``, sorted, and the repositories whose
    tags could not be listed. More than ``max_images`` images is an error (narrow the prefix)."""
    if max_images < 1:
        raise ValueError(f"max_images ({max_images}) must be positive")
    text = spec.strip()
    for scheme in ("registry:", "docker://"):
        text = text.removeprefix(scheme)
    host_part, _, prefix_part = text.partition("/")
    registry, prefix = check_registry(host_part), check_prefix(prefix_part)
    repositories = list_repositories(registry, options, prefix=prefix or None, max_repositories=max_images)

    def tags_of(repository: str) -> tuple[str, ...] | str:
        try:
            return list_tags(f"{registry}/{repository}", options, max_tags=max_images)
        except (AlpinistError, OSError) as exc:
            return " ".join(str(exc).split()) or type(exc).__name__

    if not repositories:
        return Catalog(())
    with ThreadPoolExecutor(max_workers=min(TAG_LISTERS, len(repositories))) as pool:
        listed = list(pool.map(tags_of, repositories))
    references: list[str] = []
    errors: list[tuple[str, str]] = []
    for repository, tags in zip(repositories, listed, strict=True):
        if isinstance(tags, str):
            errors.append((f"{registry}/{repository}", tags))
            continue
        references.extend(f"{registry}/{repository}:{tag}" for tag in tags)
        if len(references) > max_images:
            where = f"{registry}/{prefix}" if prefix else registry
            raise RegistryError(
                f"catalog of {where}: more than {max_images} images; stopped there "
                "(narrow it with REGISTRY/PREFIX, or list the images in a file for --images FILE)"
            )
    return Catalog(tuple(sorted(references)), tuple(errors))
