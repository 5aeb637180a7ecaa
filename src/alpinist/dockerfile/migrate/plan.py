"""The new bases and the Python they run: ``python:X.Y-alpineA.B``, ``alpine:A.B`` with its ``python3``,
or a language image's Alpine tag; the builders put on the final stage's Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from alpinist.dockerfile.knowledge import distro_python, image_distro, image_python
from alpinist.dockerfile.migrate.options import AlpineTarget, alpine_release, check_python_image
from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.migrate.runs import Kind, Run
from alpinist.dockerfile.model import Dockerfile, ImageName, Stage
from alpinist.dockerfile.parse import parse_image_name
from alpinist.dockerfile.rules import stage_python
from alpinist.dockerfile.shell import package_operations


@dataclass
class Plan:
    mode: str  # "image" (python:X.Y-alpine) | "distro" (alpine + python3) | "plain" (no Python)
    python: str | None
    builder_base: str | None
    runtime_base: str
    origin: str | None


_LANGUAGE_IMAGES = frozenset({"node", "ruby", "golang", "php", "perl"})


def alpine_python(target: AlpineTarget, c: Collector) -> str | None:
    known = distro_python("alpine", target.release)
    if known is None:
        c.risk(
            f"alpinist does not know which python3 Alpine {target.release} ships: check it before building"
        )
        return None
    if not known.verified:
        c.note(f"Alpine {target.release}'s python3 is {known.python} per {known.source}")
    return known.python


def python_image(py: str, target: AlpineTarget) -> str:
    """``python:X.Y-alpineA.B``; ``MigrationTargetError`` when that tag was never published."""
    check_python_image(py, target.release)
    return f"python:{py}-alpine{target.release}"


def target_risks(target: AlpineTarget, c: Collector) -> None:
    """What the target itself may break: a release past its end of life, a patch release (the python
    images are tagged by release only, and alpinist does not check that the patch exists)."""
    known = alpine_release(target.release)
    if known is not None and known.end_of_life < date.today():
        c.risk(
            f"Alpine {target.release} reached its end of life on {known.end_of_life.isoformat()}: "
            "no security fixes; choose a supported release"
        )
    if target.tag != target.release:
        c.risk(
            f"--to {target}: python:X.Y-alpine images are tagged by release only, so a python base is "
            f"python:X.Y-alpine{target.release} (the newest {target.release}.x), not {target.tag}; "
            f"alpine:{target.tag} is written as given: alpinist does not check that it exists"
        )


def _family_base(image: ImageName, target: AlpineTarget, c: Collector, line: int | None = None) -> str:
    """The Alpine image to use instead of a non-Python base: an official language image keeps its
    language (``node:20-bookworm`` → ``node:20-alpine3.22``), Debian/Ubuntu become ``alpine:A.B``."""
    if image.name in _LANGUAGE_IMAGES and image.registry in (None, "docker.io"):
        first = (image.tag or "").split("-")[0]
        keep = first if first and (first[0].isdigit() or first in ("lts", "current")) else ""
        new = f"{image.repository}:{keep + '-' if keep else ''}alpine{target.release}"
        c.risk(f"FROM {image} → {new}: check that the official {image.name} image publishes this tag", line)
        return new
    distro = image_distro(image)
    if distro is None or distro[0] not in ("debian", "ubuntu"):
        c.risk(
            f"FROM {image} is replaced by {target}: software that image adds beyond its distribution is gone; "
            "pick an Alpine variant of it by hand",
            line,
        )
    return str(target)


def plan_bases(df: Dockerfile, stage: Stage, target: AlpineTarget, c: Collector) -> Plan:
    root = df.root_base(stage)
    tag_py = image_python(root)
    if tag_py and root.name == "python":
        base = python_image(tag_py, target)
        if tuple(int(x) for x in tag_py.split(".")) < (3, 9):
            c.risk(f"CPython {tag_py} is past its end of life: no {base} image is published")
        return Plan("image", tag_py, base, base, f"kept from FROM {root}: python:{tag_py} in both stages")
    before = stage_python(df, stage)
    uses_pip = any(op.manager == "pip" for ins in stage.runs for op in package_operations(ins))
    if root.name == "python" and not tag_py:
        c.risk(
            f"FROM {root} does not name a Python X.Y: migrated to Alpine {target.release}'s python3; "
            "pin python:X.Y in the input to keep its version"
        )
    if before is not None or tag_py or uses_pip or root.name == "python":
        py = alpine_python(target, c)
        base = str(target) if root.name == "python" else _family_base(root, target, c, stage.start_line)
        old = before.version if before else tag_py
        if py and old and old != py:
            c.risk(
                f"Python changes from {old} ({before.evidence if before else f'FROM {root}'}) to {py} "
                f"(Alpine {target.release}'s python3): check the requirements support {py}"
            )
        origin = f"Alpine {target.release}'s python3 package in both stages"
        return Plan("distro", py, base, base, origin)
    return Plan("plain", None, None, _family_base(root, target, c, stage.start_line), None)


def map_base(stage: Stage, target: AlpineTarget, c: Collector) -> str | None:
    """The Alpine counterpart of a stage's external base, or None to keep it."""
    if stage.parent is not None:
        return None
    base = stage.base_resolved
    distro = image_distro(base)
    py = image_python(base)
    if base.name == "python" and py:
        return python_image(py, target)
    if distro is not None and distro[0] == "distroless" and py:
        return python_image(py, target)
    if distro is not None and distro[0] in ("alpine", "wolfi", "busybox", "scratch", "distroless"):
        return None
    return _family_base(base, target, c, stage.start_line)


def align_builders(
    df: Dockerfile,
    new_bases: dict[int, str | None],
    pythons: dict[int, str],
    distro_py: set[int],
    pip_stages: Sequence[Stage],
    stage_runs: dict[int, dict[int, Run]],
    c: Collector,
) -> None:
    """Put each pip stage the final stage copies from on the final stage's Python (both were mapped).

    A builder on ``python:X.Y-alpine`` and a runtime installing Alpine's ``python3`` of another ``X.Y``
    is the story's bug; the builder follows the runtime. On the distribution's ``python3``, pip needs a
    virtual environment (PEP 668), so a builder that creates none is reported instead of moved.
    """
    final = df.final_stage
    final_base = new_bases[final.index]
    final_py = pythons.get(final.index)
    if final_base is None or final_py is None:
        return
    sources = {src.index for _ins, ref in final.copies_from if (src := df.stage(ref)) is not None}
    for st in pip_stages:
        if st is final or st.index not in sources or new_bases[st.index] is None:
            continue
        if pythons.get(st.index) == final_py:
            continue
        on_image = image_python(parse_image_name(final_base)) is not None
        has_venv = any(p.kind is Kind.VENV for r in stage_runs[st.index].values() for p in r.pieces)
        if not on_image and not has_venv:
            continue  # reported as a mismatch below
        new_bases[st.index] = final_base
        if on_image:
            distro_py.discard(st.index)
        else:
            distro_py.add(st.index)
        c.change(
            f"stage {st.label} moved to {final_base}: its Python ({pythons.get(st.index, 'unknown')}) now equals "
            f"the final stage's ({final_py})",
            st.start_line,
        )
        pythons[st.index] = final_py
