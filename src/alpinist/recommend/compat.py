"""Can the application run on a candidate? The compatibility :class:`~alpinist.recommend.model.Note`
lines of one candidate.

Blockers (the candidate is ranked last): the candidate's Python minor is not the application's (the
story's builder 3.11 / runtime 3.12 bug), or it has no Python at all; it has no shell and the Dockerfile's
``RUN``/``HEALTHCHECK``/``CMD``/``ENTRYPOINT`` need one; a requirement cannot be installed on musl at all.
Warnings (work the move needs): a glibc → musl move with requirements that have no musllinux wheel and
compile (which build packages the builder needs), apt packages without an Alpine name (migrate's table),
OS packages a base without a package manager cannot install. Info: the tag and the image disagree,
migrate's other remarks, a healthcheck tool the base lacks (migrate rewrites it).

The wheel check is :mod:`alpinist.dockerfile.wheels`, the apt → apk table is migrate's: this module only
turns their answers into notes.
"""

from __future__ import annotations

from alpinist.dockerfile.migrate.report import MigrationReport
from alpinist.dockerfile.wheels import WheelReport, WheelStatus
from alpinist.recommend.current import AppNeeds
from alpinist.recommend.families import python_minor
from alpinist.recommend.model import Candidate, Measurement, Note


def python_notes(needs: AppNeeds, candidate: Candidate, measured: Measurement | None) -> list[Note]:
    """The candidate's Python minor (measured, else its tag's) against the application's."""
    notes: list[Note] = []
    found = python_minor(measured.python) if measured is not None else None
    tagged = python_minor(candidate.tag_python) if candidate.tag_python else None
    if measured is not None and found is None:
        if needs.brings_python:
            return [Note("info", "python", "no Python in the image: the Dockerfile installs its own python3")]
        said = f" (its tag says {tagged})" if tagged else ""
        return [Note("blocker", "python", f"no Python interpreter found in the image{said}")]
    if found and tagged and found != tagged:
        notes.append(Note("info", "tag", f"the tag says Python {tagged}, the image has {measured.python}"))  # type: ignore[union-attr]
    have = found or tagged
    if needs.python and have and have != needs.python:
        notes.append(
            Note(
                "blocker",
                "python",
                f"Python {have}, the application runs {needs.python} ({needs.python_from}): builder, "
                "wheels and runtime must be one minor (or pass --python)",
            )
        )
    return notes


def release_note(candidate: Candidate, measured: Measurement | None) -> list[Note]:
    """The tag names one release and the image is another (a mislabelled or mirrored tag)."""
    if measured is None or not candidate.release or not measured.os:
        return []
    version = measured.os.split(" ", 1)[-1]
    if candidate.distro in ("alpine", "debian", "ubuntu") and not (
        version == candidate.release or version.startswith(candidate.release + ".")
    ):
        return [
            Note(
                "info",
                "tag",
                f"the tag names {candidate.distro} {candidate.release}, the image is {measured.os}",
            )
        ]
    return []


def shell_notes(needs: AppNeeds, measured: Measurement | None) -> list[Note]:
    if measured is None or measured.shell or not needs.shell_needed_by:
        return []
    return [
        Note(
            "blocker",
            "shell",
            f"no shell in the image, and {', '.join(needs.shell_needed_by)} need(s) one",
        )
    ]


def package_manager_notes(needs: AppNeeds, measured: Measurement | None) -> list[Note]:
    if measured is None or not needs.os_packages:
        return []
    managers = set(measured.package_managers)
    if managers & {"apk", "apt", "apt-get", "dpkg"}:
        return []
    return [
        Note(
            "blocker",
            "packages",
            f"no package manager in the image to install {', '.join(needs.os_packages)} "
            "(install them in a builder stage and copy the files)",
        )
    ]


def wheel_notes(wheels: WheelReport | None) -> list[Note]:
    """The musllinux wheel check as notes."""
    if wheels is None:
        return []
    if wheels.skipped_reason:
        return [Note("info", "wheels", f"wheel check not run: {wheels.skipped_reason}")]
    notes: list[Note] = []
    compiled = wheels.compiled
    if compiled:
        names = ", ".join(f.pin.text for f in compiled)
        build = " ".join(wheels.build_packages) or "build-base"
        notes.append(
            Note(
                "warning",
                "wheels",
                f"{len(compiled)} requirement(s) have no wheel for {wheels.target.describe()} and compile: "
                f"{names}; the builder needs: {build}",
            )
        )
        if wheels.runtime_packages:
            notes.append(
                Note("warning", "wheels", f"the runtime then needs: {' '.join(wheels.runtime_packages)}")
            )
    for f in wheels.findings:
        if f.status is WheelStatus.MISSING:
            notes.append(Note("blocker", "wheels", f.message))
        elif f.status is WheelStatus.ERROR:
            notes.append(Note("warning", "wheels", f"not checked: {f.message}"))
    if not wheels.findings and not wheels.problems:
        notes.append(Note("info", "wheels", "no pinned requirements to check"))
    notes += [Note("info", "wheels", str(p)) for p in wheels.problems]
    return notes


def migration_notes(report: MigrationReport) -> list[Note]:
    """What ``migrate`` would say about the move to this Alpine release: unmapped packages (warnings),
    the wheel check, and its risks (info)."""
    notes = [Note("warning", "packages", f"no Alpine package: {n}") for n in report.unmapped]
    notes += wheel_notes(report.wheels)
    notes += [Note("info", "migrate", str(n)) for n in report.risks]
    return notes


def healthcheck_notes(needs: AppNeeds, candidate: Candidate, measured: Measurement | None) -> list[Note]:
    tool = needs.healthcheck_tool
    if tool is None or measured is None:
        return []
    if candidate.distro == "alpine":
        return [
            Note(
                "info",
                "healthcheck",
                f"no {tool} in Alpine: migrate rewrites the healthcheck to Python's urllib",
            )
        ]
    if measured.shell is None:
        return [Note("blocker", "healthcheck", f"the healthcheck runs {tool}, which this image cannot have")]
    return []
