"""Local transports: ``oci:`` layout directories, ``oci-archive:`` and ``docker-archive:`` tarballs.

Archives are read in place: ``tarstream.index_archive`` indexes the (uncompressed) outer tar, a bounded
index of its regular members (name, data offset, size) built by the project's own tar header parser
rather than ``tarfile`` (quadratic pax parsing before CPython 3.11.10, CVE-2024-6232, and an unbounded
member list), and every blob is then read through a file handle of its own at its offset; nothing is
extracted. Member names are normalized (``./x`` is ``x``); absolute or escaping names, and two members
of one name, make the archive refused. Every manifest and config is verified against its digest;
layers are verified while they stream (``layers.py``).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from alpinist.errors import BadReference, ImageError, ManifestError, NotFound
from alpinist.images import manifest as mf
from alpinist.images.source import ResolvedImage, digest_of, split_digest, verify_bytes
from alpinist.images.tarstream import ArchiveMember, archive_name, index_archive
from alpinist.models import Descriptor, Platform

REF_NAME = "org.opencontainers.image.ref.name"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class _LayoutStore:
    """Blob access for an OCI image layout, either a directory or a tar of one."""

    def __init__(self, path: Path, archive: bool) -> None:
        self.path = path
        self._members: dict[str, ArchiveMember] | None = None
        if archive:
            self._members = _index(path)
        elif not path.is_dir():
            raise NotFound(f"{path}: not an OCI layout directory")

    def read_small(self, name: str, limit: int) -> bytes:
        with self.open_file(name) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ManifestError(f"{self.path}: {name} is larger than {limit} bytes")
        return data

    def open_file(self, name: str) -> IO[bytes]:
        if self._members is not None:
            member = self._members.get(name)
            if member is None:
                raise NotFound(f"{self.path}: no {name} in the archive")
            return _member_stream(self.path, member)
        target = self.path / name
        if not target.is_file() or target.is_symlink():
            raise NotFound(f"{self.path}: no regular file {name}")
        return target.open("rb")

    def blob_name(self, digest: str) -> str:
        algo, hexpart = split_digest(digest)
        return f"blobs/{algo}/{hexpart}"

    def close(self) -> None:
        pass  # every open_file stream has its own handle, closed by its reader


def _index(path: Path) -> dict[str, ArchiveMember]:
    if not path.is_file():
        raise NotFound(f"{path}: no such archive")
    return index_archive(path)  # random access needs an uncompressed outer tar


class _MemberReader(io.RawIOBase):
    """One tar member's bytes through a file handle of its own.

    ``TarFile.extractfile`` views share the archive's one handle, so two threads reading two layers
    would interleave seeks; a handle per blob lets layers of an archive be read in parallel.
    """

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._fh = path.open("rb")
        self._fh.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        n = self._fh.readinto(view[: min(len(view), self._left)])
        self._left -= n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _member_stream(path: Path, member: ArchiveMember) -> BinaryIO:
    # the index refuses sparse members, whose bytes would not be contiguous in the archive
    return cast(BinaryIO, io.BufferedReader(_MemberReader(path, member.data_offset, member.size), 1 << 20))


class OCILayoutSource:
    """``oci:DIR[:REF]`` and ``oci-archive:PATH[:REF]``."""

    fork_safe = True  # every open_blob stream opens its own file: a forked worker may read layers

    def __init__(
        self, path: str, ref: str | None, *, archive: bool, platform: Platform, reference: str
    ) -> None:
        self.transport = "oci-archive" if archive else "oci"
        self.reference = reference
        self._ref = ref
        self._platform = platform
        self._store = _LayoutStore(Path(path), archive)

    def _index_entry(self) -> Descriptor:
        data = self._store.read_small("index.json", mf.MAX_MANIFEST_BYTES)
        index = mf.load_json(data, f"{self._store.path}/index.json")
        entries = mf.index_entries(index, f"{self._store.path}/index.json")
        if self._ref is not None:
            if self._ref.startswith("sha256:"):
                matches = [e for e in entries if e.digest == self._ref]
            else:
                matches = [e for e in entries if e.annotation(REF_NAME) == self._ref]
            if not matches:
                names = sorted({e.annotation(REF_NAME) or e.digest for e in entries})
                raise NotFound(
                    f"{self.reference}: no image {self._ref!r} in the layout (has: {', '.join(names)})"
                )
            entries = matches
        if len(entries) == 1:
            return entries[0]
        names = sorted({e.annotation(REF_NAME) or e.digest for e in entries})
        if self._ref is None and len(names) > 1 and not any(e.platform for e in entries):
            # several images, not one image for several platforms: say how to name one
            prefix = "oci-archive" if self.transport == "oci-archive" else "oci"
            raise NotFound(
                f"{self.reference}: the layout holds {len(names)} images; name one as "
                f"{prefix}:{self._store.path}:REF, REF one of: {', '.join(names)}"
            )
        return mf.select_platform(entries, self._platform, self.reference)

    def _read_verified(self, desc: Descriptor, limit: int) -> bytes:
        data = self._store.read_small(self._store.blob_name(desc.digest), limit)
        return verify_bytes(data, desc.digest, desc.size)

    def resolve(self) -> ResolvedImage:
        desc = self._index_entry()
        for _ in range(4):  # an index may point at a nested index
            raw = self._read_verified(desc, mf.MAX_MANIFEST_BYTES)
            doc = mf.load_json(raw, f"manifest {desc.digest}")
            media_type = mf.media_type_of(doc, desc.media_type or None)
            if media_type in mf.INDEX_TYPES:
                desc = mf.select_platform(mf.index_entries(doc, desc.digest), self._platform, self.reference)
                continue
            config_desc, layers = mf.parse_manifest(doc, f"manifest {desc.digest}")
            config = mf.load_json(
                self._read_verified(config_desc, mf.MAX_CONFIG_BYTES), f"config {config_desc.digest}"
            )
            return ResolvedImage(
                name=self._ref,
                manifest_digest=desc.digest,
                manifest_media_type=media_type,
                config_digest=config_desc.digest,
                config=config,
                layers=layers,
                platform=mf.config_platform(config),
            )
        raise ManifestError(f"{self.reference}: index nesting too deep")

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        return cast(BinaryIO, self._store.open_file(self._store.blob_name(descriptor.digest)))

    def close(self) -> None:
        self._store.close()


class DockerArchiveSource:
    """``docker-archive:PATH[:REF]``: the ``docker save`` format (manifest.json + config + layer tars).

    There is no registry manifest in such an archive; the image is identified by its config digest
    (the image ID). REF selects among several images by RepoTag or by ``@N`` (index in manifest.json).
    """

    transport = "docker-archive"
    fork_safe = True  # every open_blob stream opens the archive anew: a forked worker may read layers

    def __init__(self, path: str, ref: str | None, *, reference: str) -> None:
        self.reference = reference
        self._path = Path(path)
        self._ref = ref
        self._members = _index(self._path)
        self._layer_files: dict[str, ArchiveMember] = {}

    def _member(self, name: str) -> ArchiveMember:
        """The regular member ``name`` (as manifest.json writes it, so normalized like the index)."""
        try:
            member = self._members.get(archive_name(name))
        except ValueError as exc:
            raise ManifestError(
                f"{self._path}: manifest.json names a path outside the archive: {exc}"
            ) from None
        if member is None:
            raise ManifestError(f"{self._path}: manifest.json names {name!r}, which the archive lacks")
        return member

    def _read_member(self, name: str, limit: int) -> bytes:
        member = self._member(name)
        if member.size > limit:
            raise ManifestError(f"{self._path}: {name} is larger than {limit} bytes")
        with _member_stream(self._path, member) as fh:
            data = fh.read(member.size)
        if len(data) != member.size:  # the index saw the whole member: the file changed since
            raise ImageError(f"{self._path}: {name} is truncated ({len(data)} of {member.size} bytes)")
        return data

    def _select(self, entries: list[Any]) -> dict[str, Any]:
        if not entries:
            raise ManifestError(f"{self._path}: manifest.json lists no image")
        if self._ref is None:
            if len(entries) > 1:
                raise BadReference(f"{self._path}: holds {len(entries)} images; name one as :TAG or :@N")
            chosen = entries[0]
        elif self._ref.startswith("@"):
            try:
                chosen = entries[int(self._ref[1:])]
            except (ValueError, IndexError):
                raise NotFound(f"{self.reference}: no image at index {self._ref}") from None
        else:
            tagged = [
                e for e in entries if isinstance(e, dict) and self._ref in _string_list(e.get("RepoTags"))
            ]
            if not tagged:
                raise NotFound(f"{self.reference}: no image tagged {self._ref!r}")
            chosen = tagged[0]
        if not isinstance(chosen, dict):
            raise ManifestError(f"{self._path}: manifest.json entry is not an object")
        return chosen

    def resolve(self) -> ResolvedImage:
        raw = self._read_member("manifest.json", mf.MAX_MANIFEST_BYTES)
        entries = mf.parse_json(raw, f"{self._path}: manifest.json")
        if not isinstance(entries, list):
            raise ManifestError(f"{self._path}: manifest.json is not a list")
        chosen = self._select(entries)
        config_name = chosen.get("Config")
        layer_names = chosen.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layer_names, list):
            raise ManifestError(f"{self._path}: manifest.json entry lacks Config or Layers")
        config_bytes = self._read_member(config_name, mf.MAX_CONFIG_BYTES)
        config_digest = digest_of(config_bytes)
        named = _digest_in_name(self._member(config_name).name)
        if named is not None:
            verify_bytes(config_bytes, named)
        config = mf.load_json(config_bytes, f"config {config_name}")
        rootfs = config.get("rootfs")
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        if not isinstance(diff_ids, list):
            raise ManifestError(f"{self._path}: config {config_name} has no rootfs.diff_ids list")
        if len(diff_ids) != len(layer_names):
            raise ManifestError(
                f"{self._path}: config lists {len(diff_ids)} diff_ids for {len(layer_names)} layers"
            )
        layers: list[Descriptor] = []
        for name, diff_id in zip(layer_names, diff_ids, strict=True):
            if not isinstance(name, str) or not isinstance(diff_id, str):
                raise ManifestError(f"{self._path}: bad layer entry {name!r}")
            member = self._member(name)
            digest = _digest_in_name(member.name) or diff_id
            self._layer_files[digest] = member
            layers.append(Descriptor(mf.DOCKER_LAYER_TAR, digest, member.size))
        tags = chosen.get("RepoTags") or []
        return ResolvedImage(
            name=tags[0] if tags and isinstance(tags[0], str) else None,
            manifest_digest=config_digest,  # no registry manifest: the image ID stands in
            manifest_media_type="application/vnd.docker.save.manifest.v1+json",
            config_digest=config_digest,
            config=config,
            layers=tuple(layers),
            platform=mf.config_platform(config),
        )

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        member = self._layer_files.get(descriptor.digest)
        if member is None:
            raise NotFound(f"{self._path}: no layer {descriptor.digest}")
        return _member_stream(self._path, member)

    def close(self) -> None:
        pass  # every open_blob stream has its own handle, closed by its reader


def _string_list(value: Any) -> list[str]:
    """``RepoTags`` as a list of strings (anything else in a hostile manifest.json names no tag)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _digest_in_name(name: str) -> str | None:
    """``blobs/sha256/<hex>``, ``<hex>.tar``, ``<hex>.json`` name their content's sha256."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs" and parts[1] == "sha256" and _HEX64.fullmatch(parts[2]):
        return f"sha256:{parts[2]}"
    stem = parts[-1].rsplit(".", 1)[0]
    if len(parts) == 1 and _HEX64.fullmatch(stem):
        return f"sha256:{stem}"
    return None
