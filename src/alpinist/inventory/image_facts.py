"""Image facts from the config (user, healthcheck, entrypoint...) and the final filesystem."""

from __future__ import annotations

from typing import Any

from alpinist.images.reference import ImageRef
from alpinist.images.source import ResolvedImage
from alpinist.images.view import FileView
from alpinist.inventory.facts import find_package_managers, find_shell
from alpinist.models import Healthcheck, ImageFacts, LayerInfo


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, str):
        return (value,)
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def healthcheck_of(cfg: dict[str, Any]) -> Healthcheck | None:
    hc = cfg.get("Healthcheck")
    if not isinstance(hc, dict):
        return None
    test = _strings(hc.get("Test"))
    if not test:
        return None
    return Healthcheck(
        test=test,
        interval=_int(hc.get("Interval")),
        timeout=_int(hc.get("Timeout")),
        start_period=_int(hc.get("StartPeriod")),
        retries=_int(hc.get("Retries")),
    )


def image_facts(
    ref: ImageRef,
    resolved: ResolvedImage | None,
    layers: tuple[LayerInfo, ...],
    view: FileView,
) -> ImageFacts:
    config = resolved.config if resolved else {}
    cfg = config.get("config") or {}
    if not isinstance(cfg, dict):
        cfg = {}
    ports = cfg.get("ExposedPorts") or {}
    labels = cfg.get("Labels") or {}
    name = str(ref.registry) if ref.registry else (resolved.name if resolved else None)
    return ImageFacts(
        reference=ref.original,
        transport=ref.transport,
        name=name,
        manifest_digest=resolved.manifest_digest if resolved else None,
        config_digest=resolved.config_digest if resolved else None,
        media_type=resolved.manifest_media_type if resolved else None,
        platform=resolved.platform if resolved else None,
        created=config.get("created") if isinstance(config.get("created"), str) else None,
        layers=layers,
        user=str(cfg.get("User") or ""),
        healthcheck=healthcheck_of(cfg),
        entrypoint=_strings(cfg.get("Entrypoint")),
        cmd=_strings(cfg.get("Cmd")),
        env=_strings(cfg.get("Env")) or (),
        exposed_ports=tuple(sorted(ports)) if isinstance(ports, dict) else (),
        working_dir=str(cfg.get("WorkingDir") or ""),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())) if isinstance(labels, dict) else (),
        shell=find_shell(view),
        package_managers=find_package_managers(view),
    )
