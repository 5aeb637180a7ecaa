"""Build small OCI image layouts in a test's tmp dir from tar members written by the test itself."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    linkname: str = ""
    size: int | None = None  # claim another size than len(data) in the header


def tar_bytes(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.kind
            info.linkname = m.linkname
            info.mode = 0o755 if m.kind == tarfile.DIRTYPE else 0o644
            info.size = len(m.data) if m.kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(m.data) if m.kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def _put(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def make_layout(
    layout: Path,
    tag: str,
    layers: list[bytes],
    *,
    config: dict[str, object] | None = None,
    compress: bool = True,
) -> dict[str, str]:
    """Write an OCI layout with one image; ``layers`` are uncompressed tars. Returns the digests."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors = []
    diff_ids = []
    for tar in layers:
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        blob = gzip.compress(tar, mtime=0) if compress else tar
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
        descriptors.append({"mediaType": media, "digest": _put(layout, blob), "size": len(blob)})
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "config": config or {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    cfg_bytes = json.dumps(cfg).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _put(layout, cfg_bytes),
            "size": len(cfg_bytes),
        },
        "layers": descriptors,
    }
    man_bytes = json.dumps(manifest).encode()
    man_digest = _put(layout, man_bytes)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": man_digest,
                "size": len(man_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return {"manifest": man_digest, "layers": ",".join(d["digest"] for d in descriptors)}


def corpus_image(layout: Path, tag: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(index entry, manifest, config) of ``tag`` in the corpus OCI layout at ``layout``, parsed."""

    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

    index = json.loads((layout / "index.json").read_text())
    (entry,) = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    manifest = json.loads(blob(entry["digest"]))
    return entry, manifest, json.loads(blob(manifest["config"]["digest"]))
