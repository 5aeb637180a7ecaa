"""What the application runs on today and what it needs from a base: :class:`AppNeeds`.

From a Dockerfile: the final stage's base (``FROM`` after build arguments, following ``FROM stage``),
the Python it runs (the base tag's, or the distro ``python3`` the stage installs), the package manager it
installs with, whether its ``RUN``/``HEALTHCHECK``/``CMD``/``ENTRYPOINT`` need a shell. From an image: its
base label (``org.opencontainers.image.base.name``), the interpreter and Python packages the inventory
found, whether its config's healthcheck and command need a shell.
"""

from __future__ import annotations

from dataclasses import dataclass

from alpinist.compare.base import BASE_NAME_LABEL
from alpinist.dockerfile.knowledge import distro_python, image_distro, image_python
from alpinist.dockerfile.model import SHELLS, Dockerfile, DockerfileError, ImageName, Instruction, Stage
from alpinist.dockerfile.shell import package_operations
from alpinist.models import ImageFacts, Inventory
from alpinist.recommend.families import python_minor
from alpinist.recommend.measure import interpreter_version, libc_of
from alpinist.recommend.model import Libc


@dataclass(frozen=True)
class AppNeeds:
    """What a candidate must offer: Python minor, a shell (and why), the requirements to check for
    musllinux wheels (image input: its installed distributions, pinned)."""

    python: str | None
    python_from: str
    shell_needed_by: tuple[str, ...]  # "HEALTHCHECK (line 14, shell form)", "RUN (line 7)"
    package_manager: str | None  # apt, apk
    os_packages: tuple[str, ...] = ()  # what the final stage installs with it, as written
    pins: tuple[tuple[str, str], ...] = ()  # ("requests==2.32.3", "image") for an image input
    healthcheck_tool: str | None = None  # curl, wget when the healthcheck calls one
    brings_python: bool = False  # the Dockerfile installs the distro's python3 itself (the base needs none)


@dataclass(frozen=True)
class DockerfileBase:
    base: ImageName
    line: int
    stage: Stage
    distro: str | None
    release: str | None


def _needs_shell(ins: Instruction) -> bool:
    if isinstance(ins.args, str):
        return bool(ins.args.strip())
    return bool(ins.args) and ins.args[0].rsplit("/", 1)[-1] in SHELLS


def _check_command(ins: Instruction) -> Instruction | None:
    """The command a ``HEALTHCHECK`` runs (``HEALTHCHECK NONE`` has none)."""
    if ins.words[:1] == ("NONE",) or not ins.args:
        return None
    return ins


def _healthcheck_tool(text: str) -> str | None:
    for tool in ("curl", "wget"):
        if tool in text.split() or f"/{tool}" in text:
            return tool
    return None


def dockerfile_base(df: Dockerfile) -> DockerfileBase:
    """The final stage's external base; DockerfileError naming the line when it cannot be resolved."""
    stage = df.final_stage
    root = df.lineage(stage)[-1]
    base = root.base_resolved
    source = df.path or "Dockerfile"
    line = root.from_instruction.line
    if base.has_variables:
        raise DockerfileError(
            f"{source}:{line}: FROM {base.raw}: the base image cannot be resolved "
            "(a build argument without a default; give it with --build-arg NAME=VALUE)"
        )
    if base.is_scratch:
        raise DockerfileError(f"{source}:{line}: FROM scratch: the final stage has no base image to replace")
    distro = image_distro(base)
    return DockerfileBase(base, line, stage, distro[0] if distro else None, distro[1] if distro else None)


def dockerfile_needs(df: Dockerfile, found: DockerfileBase, python_override: str | None) -> AppNeeds:
    """What the final stage of ``df`` needs from its base."""
    lineage = df.lineage(found.stage)
    shell: list[str] = []
    managers: list[str] = []
    packages: list[str] = []
    distro_py = False
    for stage in reversed(lineage):
        for ins in stage.instructions:
            if ins.cmd == "RUN":
                shell.append(f"RUN (line {ins.line})")
                for op in package_operations(ins):
                    if op.manager in ("apt", "apk") and op.action == "install":
                        managers.append(op.manager)
                        packages += op.packages
                        if any(
                            n.split("=")[0] in ("python3", "python3-pip", "python3-venv") for n in op.packages
                        ):
                            distro_py = True
            elif ins.cmd in ("CMD", "ENTRYPOINT") and _needs_shell(ins):
                shell.append(f"{ins.cmd} (line {ins.line}, shell form)")
    check = df.healthcheck(found.stage)
    tool = None
    if check is not None and _check_command(check) is not None:
        if _needs_shell(check):
            shell.append(f"HEALTHCHECK (line {check.line}, shell form)")
        text = check.args if isinstance(check.args, str) else " ".join(check.args)
        tool = _healthcheck_tool(text)
    if python_override:
        python, origin = python_override, "--python"
    elif (py := image_python(found.base)) is not None:
        python, origin = py, f"the base tag {found.base.raw}"
    elif distro_py and found.distro and found.release and (dp := distro_python(found.distro, found.release)):
        python, origin = dp.python, f"{found.distro} {found.release}'s python3, installed by the Dockerfile"
    else:
        python, origin = None, "unknown (give --python X.Y)"
    return AppNeeds(
        python=python,
        python_from=origin,
        shell_needed_by=tuple(dict.fromkeys(shell)),
        package_manager=managers[-1] if managers else None,
        os_packages=tuple(dict.fromkeys(packages)),
        healthcheck_tool=tool,
        brings_python=distro_py,
    )


def image_needs(inventory: Inventory, python_override: str | None) -> AppNeeds:
    """What an image's application needs: its interpreter's minor, a shell for its healthcheck or
    command, and its installed Python distributions as pins for the wheel check."""
    facts: ImageFacts = inventory.image
    shell: list[str] = []
    tool = None
    check = facts.healthcheck
    if check is not None and not check.disabled and check.test:
        if check.test[0] == "CMD-SHELL":
            shell.append("HEALTHCHECK (CMD-SHELL)")
        elif check.test[0] == "CMD" and len(check.test) > 1 and check.test[1].rsplit("/", 1)[-1] in SHELLS:
            shell.append("HEALTHCHECK (runs a shell)")
        tool = _healthcheck_tool(" ".join(check.test[1:]))
    command = (*(facts.entrypoint or ()), *(facts.cmd or ()))
    if command and command[0].rsplit("/", 1)[-1] in SHELLS:
        shell.append("ENTRYPOINT/CMD (runs a shell)")
    interpreter = interpreter_version(inventory)
    python: str | None
    if python_override:
        python, origin = python_override, "--python"
    elif interpreter:
        python, origin = python_minor(interpreter), f"the image's interpreter ({interpreter})"
    else:
        python, origin = None, "unknown: no interpreter found (give --python X.Y)"
    pins = tuple(
        (f"{p.name}=={p.version}", f"{facts.reference} {p.locations[0] if p.locations else ''}".strip())
        for p in inventory.packages
        if p.type == "python" and not p.owner and not p.vendored
    )
    os_id = inventory.os.id if inventory.os else None
    manager = "apk" if os_id == "alpine" else ("apt" if os_id in ("debian", "ubuntu") else None)
    return AppNeeds(
        python=python,
        python_from=origin,
        shell_needed_by=tuple(shell),
        package_manager=manager,
        pins=pins,
        healthcheck_tool=tool,
    )


def image_base_label(facts: ImageFacts) -> str | None:
    return dict(facts.labels).get(BASE_NAME_LABEL) or None


def libc_for(distro: str | None) -> Libc | None:
    """The libc of a distribution as ``image_distro`` names it (distroless is Debian's glibc)."""
    if distro in ("distroless", "ubuntu", "debian", "wolfi"):
        return "glibc"
    return libc_of(distro)
