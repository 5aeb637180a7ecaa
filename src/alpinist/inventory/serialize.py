"""The inventory as a JSON-ready dictionary (schema ``alpinist-sbom/1``), and back.

``inventory_to_dict`` / ``inventory_from_dict`` round-trip an :class:`~alpinist.models.Inventory`
exactly (``inventory_from_dict(inventory_to_dict(inv)) == inv``), so the same dictionary serves as
the inventory cache (``inventory/build.py``) and as ``alpinist sbom --format json``
(``reports/sbom/json.py``). The format is documented field by field in ``docs/sbom-json.md`` and
described by the JSON Schema ``alpinist/schemas/sbom.schema.json`` (draft 2020-12). It is stable:
fields are only ever added; removing or changing the meaning of one would mean ``alpinist-sbom/2``.
Fields derived from others (``runs_as_root``, ``healthcheck.command``, ``os.release``, the sizes,
``summary``) are written for readers and ignored when reading back.

Reading is hand-written rather than done with ``jsonschema`` plus a generic loader: a warm rerun
reads thousands of packages and a full schema validation would cost more than the parse; the
checks here are the ones that matter to build valid dataclasses, and each error names the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast, get_args

from alpinist.models import (
    Healthcheck,
    ImageFacts,
    Inventory,
    LayerInfo,
    OSInfo,
    Package,
    PackageType,
    Platform,
)

SCHEMA_PREFIX = "alpinist-sbom/"
SCHEMA_ID = SCHEMA_PREFIX + "1"
SUPPORTED_SCHEMA_VERSIONS = ("1",)
PACKAGE_TYPES: tuple[str, ...] = get_args(PackageType)


# --------------------------------------------------------------------------------------------- writing


def inventory_to_dict(inv: Inventory, *, include_files: bool = True) -> dict[str, Any]:
    """The inventory as a JSON-ready dictionary.

    ``include_files`` defaults to True here so that the dictionary holds the whole inventory (a
    cache must); ``reports.sbom.json.render_json`` leaves them out unless asked.
    """
    by_type: Counter[str] = Counter(p.type for p in inv.packages)
    return {
        "schema": SCHEMA_PREFIX + inv.schema_version,
        "image": _image_to_dict(inv.image),
        "os": _os_to_dict(inv.os) if inv.os is not None else None,
        "packages": [_package_to_dict(p, include_files=include_files) for p in inv.packages],
        "summary": {
            "packages": len(inv.packages),
            "by_type": {t: by_type.get(t, 0) for t in PACKAGE_TYPES},
        },
    }


def _image_to_dict(img: ImageFacts) -> dict[str, Any]:
    return {
        "reference": img.reference,
        "transport": img.transport,
        "name": img.name,
        "manifest_digest": img.manifest_digest,
        "config_digest": img.config_digest,
        "media_type": img.media_type,
        "platform": _platform_to_dict(img.platform) if img.platform is not None else None,
        "created": img.created,
        "user": img.user,
        "runs_as_root": img.runs_as_root,
        "healthcheck": _healthcheck_to_dict(img.healthcheck) if img.healthcheck is not None else None,
        "entrypoint": list(img.entrypoint) if img.entrypoint is not None else None,
        "cmd": list(img.cmd) if img.cmd is not None else None,
        "env": list(img.env),
        "exposed_ports": list(img.exposed_ports),
        "working_dir": img.working_dir,
        "labels": dict(img.labels),
        "shell": img.shell,
        "package_managers": list(img.package_managers),
        "layers": [_layer_to_dict(layer) for layer in img.layers],
        "compressed_size": img.compressed_size,
        "uncompressed_size": img.uncompressed_size,
    }


def _platform_to_dict(p: Platform) -> dict[str, Any]:
    return {"os": p.os, "architecture": p.architecture, "variant": p.variant}


def _healthcheck_to_dict(h: Healthcheck) -> dict[str, Any]:
    return {
        "test": list(h.test),
        "command": h.command,
        "disabled": h.disabled,
        "interval": h.interval,
        "timeout": h.timeout,
        "start_period": h.start_period,
        "retries": h.retries,
    }


def _layer_to_dict(layer: LayerInfo) -> dict[str, Any]:
    return {
        "index": layer.index,
        "digest": layer.digest,
        "diff_id": layer.diff_id,
        "media_type": layer.media_type,
        "compressed_size": layer.compressed_size,
        "uncompressed_size": layer.uncompressed_size,
        "created_by": layer.created_by,
    }


def _os_to_dict(o: OSInfo) -> dict[str, Any]:
    return {**os_identity_to_dict(o), "id_like": list(o.id_like), "release": o.release}


def os_identity_to_dict(o: OSInfo) -> dict[str, Any]:
    """The OS's identity (``id``, ``version_id``, ``version``, ``codename``, ``pretty_name``): the head
    of the SBOM's ``os`` object, and the whole of the scan and compare JSON's."""
    return {
        "id": o.id,
        "version_id": o.version_id,
        "version": o.version,
        "codename": o.codename,
        "pretty_name": o.pretty_name,
    }


def _package_to_dict(p: Package, *, include_files: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": p.name,
        "version": p.version,
        "type": p.type,
        "purl": p.purl,
        "layer": p.layer,
        "layer_index": p.layer_index,
        "arch": p.arch,
    }
    # The model keeps one field for "where this package comes from"; the JSON names it after each
    # world: apk's origin package, Debian's source package (with its own version).
    if p.type == "deb":
        d["source"] = p.origin
        d["source_version"] = p.source_version
    else:
        if p.type == "apk" or p.origin is not None:
            d["origin"] = p.origin
        if p.source_version is not None:
            d["source_version"] = p.source_version
    if p.type == "python" or p.owner is not None or p.vendored:
        d["owner"] = p.owner
        d["vendored"] = p.vendored
    d["licenses"] = list(p.licenses)
    d["locations"] = list(p.locations)
    d["cpes"] = list(p.cpes)
    d["evidence"] = list(p.evidence)
    if p.metadata:
        d["metadata"] = [[k, v] for k, v in p.metadata]
    if include_files:
        d["files"] = list(p.files)
    return d


# --------------------------------------------------------------------------------------------- reading


def inventory_from_dict(d: Mapping[str, Any]) -> Inventory:
    """Rebuild an :class:`Inventory` from :func:`inventory_to_dict` output (or parsed JSON of it).

    Raises ``ValueError`` (one line naming the offending field) for an unknown schema or a field of
    the wrong shape. A package without ``files`` (JSON rendered without them) reads back with none.
    """
    head = read_head(d)
    return Inventory(
        image=head.image,
        os=head.os,
        packages=tuple(package_from_dict(p, f"$.packages[{i}]") for i, p in enumerate(head.packages)),
        schema_version=head.schema_version,
    )


@dataclass(frozen=True)
class InventoryHead:
    """What :func:`read_head` reads of an inventory dictionary: all but the packages, left as parsed."""

    image: ImageFacts
    os: OSInfo | None
    schema_version: str
    packages: Sequence[object]  # each for package_from_dict(entry, f"$.packages[{i}]")


def read_head(d: Mapping[str, Any]) -> InventoryHead:
    """The schema, image and OS of an inventory dictionary, checked as :func:`inventory_from_dict` checks
    them (and in the same order), with its package entries unread: for a reader that builds (or reuses)
    packages itself, e.g. ``rescan`` keeping the packages it has already met."""
    r = _Reader(d, "$")
    schema = r.text("schema")
    version = schema.removeprefix(SCHEMA_PREFIX)
    if not schema.startswith(SCHEMA_PREFIX) or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ValueError(f"$.schema: unsupported SBOM schema {schema!r} (this alpinist reads {SCHEMA_ID})")
    os_r = r.opt_obj("os")
    image = _image_from(r.obj("image"))
    os = _os_from(os_r) if os_r is not None else None
    entries = r.array("packages")
    for i, entry in enumerate(entries):  # every entry an object before any is read, as before
        if not isinstance(entry, Mapping):
            raise ValueError(f"$.packages[{i}]: expected an object, got {_kind(entry)}")
    return InventoryHead(image, os, version, entries)


def package_from_dict(data: object, path: str) -> Package:
    """One package entry of an inventory dictionary (``path`` names it in errors: ``$.packages[3]``)."""
    return _package_from(_Reader(data, path))


def _image_from(r: _Reader) -> ImageFacts:
    plat = r.opt_obj("platform")
    hc = r.opt_obj("healthcheck")
    entrypoint = r.opt_texts("entrypoint")
    cmd = r.opt_texts("cmd")
    labels = r.obj("labels")
    return ImageFacts(
        reference=r.text("reference"),
        transport=r.text("transport"),
        name=r.opt_text("name"),
        manifest_digest=r.opt_text("manifest_digest"),
        config_digest=r.opt_text("config_digest"),
        media_type=r.opt_text("media_type"),
        platform=(
            Platform(plat.text("os"), plat.text("architecture"), plat.opt_text("variant"))
            if plat is not None
            else None
        ),
        created=r.opt_text("created"),
        layers=tuple(_layer_from(layer) for layer in r.objs("layers")),
        user=r.text("user"),
        healthcheck=(
            Healthcheck(
                test=tuple(hc.texts("test")),
                interval=hc.opt_integer("interval"),
                timeout=hc.opt_integer("timeout"),
                start_period=hc.opt_integer("start_period"),
                retries=hc.opt_integer("retries"),
            )
            if hc is not None
            else None
        ),
        entrypoint=tuple(entrypoint) if entrypoint is not None else None,
        cmd=tuple(cmd) if cmd is not None else None,
        env=tuple(r.texts("env")),
        exposed_ports=tuple(r.texts("exposed_ports")),
        working_dir=r.text("working_dir"),
        labels=tuple((k, labels.text(k)) for k in labels.field_names()),
        shell=r.opt_text("shell"),
        package_managers=tuple(r.texts("package_managers")),
    )


def _layer_from(r: _Reader) -> LayerInfo:
    return LayerInfo(
        index=r.integer("index"),
        digest=r.text("digest"),
        media_type=r.text("media_type"),
        compressed_size=r.integer("compressed_size"),
        uncompressed_size=r.opt_integer("uncompressed_size"),
        diff_id=r.opt_text("diff_id"),
        created_by=r.opt_text("created_by"),
    )


def _os_from(r: _Reader) -> OSInfo:
    return OSInfo(
        id=r.text("id"),
        version_id=r.text("version_id"),
        version=r.text("version"),
        codename=r.opt_text("codename"),
        pretty_name=r.opt_text("pretty_name"),
        id_like=tuple(r.texts("id_like", default=())),
    )


def _package_from(r: _Reader) -> Package:
    ptype = r.text("type")
    if ptype not in PACKAGE_TYPES:
        raise ValueError(f"{r.path}.type: unknown package type {ptype!r}")
    origin = r.opt_text("source") if ptype == "deb" else r.opt_text("origin", missing_ok=True)
    metadata = []
    for i, pair in enumerate(r.array("metadata", default=())):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ValueError(f"{r.path}.metadata[{i}]: expected a [key, value] pair of strings")
        metadata.append((pair[0], pair[1]))
    return Package(
        name=r.text("name"),
        version=r.text("version"),
        type=cast(PackageType, ptype),
        purl=r.text("purl"),
        layer=r.opt_text("layer"),
        layer_index=r.opt_integer("layer_index"),
        arch=r.opt_text("arch"),
        origin=origin,
        source_version=r.opt_text("source_version", missing_ok=ptype != "deb"),
        licenses=tuple(r.texts("licenses")),
        locations=tuple(r.texts("locations")),
        files=tuple(r.texts("files", default=())),
        owner=r.opt_text("owner", missing_ok=True),
        vendored=r.flag("vendored", default=False),
        cpes=tuple(r.texts("cpes")),
        evidence=tuple(r.texts("evidence")),
        metadata=tuple(metadata),
    )


_MISSING = object()


class _Reader:
    """Typed access to one JSON object; every error names the JSON path of the field."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected an object, got {_kind(data)}")
        self._d: Mapping[str, object] = data
        self.path = path

    def field_names(self) -> list[str]:
        return [str(k) for k in self._d]

    def _get(self, key: str, default: object = _MISSING) -> object:
        if key in self._d:
            return self._d[key]
        if default is _MISSING:
            raise ValueError(f"{self.path}.{key}: missing")
        return default

    def _fail(self, key: str, want: str, got: object) -> ValueError:
        return ValueError(f"{self.path}.{key}: expected {want}, got {_kind(got)}")

    def text(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str):
            raise self._fail(key, "a string", v)
        return v

    def opt_text(self, key: str, *, missing_ok: bool = False) -> str | None:
        v = self._get(key, None if missing_ok else _MISSING)
        if v is not None and not isinstance(v, str):
            raise self._fail(key, "a string or null", v)
        return v

    def integer(self, key: str) -> int:
        v = self._get(key)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self._fail(key, "an integer", v)
        return v

    def opt_integer(self, key: str) -> int | None:
        v = self._get(key)
        if v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool):
            raise self._fail(key, "an integer or null", v)
        return v

    def flag(self, key: str, *, default: bool) -> bool:
        v = self._get(key, default)
        if not isinstance(v, bool):
            raise self._fail(key, "true or false", v)
        return v

    def array(self, key: str, *, default: Sequence[object] | object = _MISSING) -> Sequence[object]:
        v = self._get(key, default)
        if not isinstance(v, list | tuple):
            raise self._fail(key, "an array", v)
        return v

    def texts(self, key: str, *, default: Sequence[object] | object = _MISSING) -> list[str]:
        items = self.array(key, default=default)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ValueError(f"{self.path}.{key}[{i}]: expected a string, got {_kind(item)}")
        return cast(list[str], list(items))

    def opt_texts(self, key: str) -> list[str] | None:
        if self._get(key) is None:
            return None
        return self.texts(key)

    def obj(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.path}.{key}")

    def opt_obj(self, key: str) -> _Reader | None:
        v = self._get(key)
        return None if v is None else _Reader(v, f"{self.path}.{key}")

    def objs(self, key: str) -> list[_Reader]:
        return [_Reader(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(self.array(key))]


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list | tuple):
        return "an array"
    if isinstance(v, Mapping):
        return "an object"
    return type(v).__name__
