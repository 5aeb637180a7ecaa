"""The result of a migration: frozen :class:`MigrationReport` and :class:`Migration`, and the
:class:`Collector` the steps write their report lines into. Rendering is in :mod:`.render`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alpinist.dockerfile.wheels import WheelReport


@dataclass(frozen=True)
class Note:
    """One line of the report, tied to a line of the input when it has one."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class MigrationReport:
    """What changed, what may break, unmapped packages, the wheel check, notes."""

    source: str
    target: str
    changed: bool
    unchanged_reason: str | None = None
    input_base: str | None = None
    builder_base: str | None = None
    runtime_base: str | None = None
    python: str | None = None
    python_origin: str | None = None
    changes: tuple[Note, ...] = ()
    risks: tuple[Note, ...] = ()
    unmapped: tuple[Note, ...] = ()
    builder_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()
    wheels: WheelReport | None = None
    notes: tuple[Note, ...] = ()

    # the CLI's calls; the rendering itself is in :mod:`.render` (pure functions of the report)
    def to_dict(self) -> dict[str, Any]:
        from alpinist.dockerfile.migrate.render import report_dict

        return report_dict(self)

    def render_json(self) -> str:
        from alpinist.dockerfile.migrate.render import render_json

        return render_json(self)

    def render_text(self) -> str:
        from alpinist.dockerfile.migrate.render import render_text

        return render_text(self)


@dataclass(frozen=True)
class Migration:
    """The migrated Dockerfile text (the input itself when unchanged) and its report."""

    text: str
    report: MigrationReport


def by_line(notes: Iterable[Note]) -> tuple[Note, ...]:
    """Notes in input-line order (stable), those without a line last."""
    return tuple(sorted(notes, key=lambda n: (n.line is None, n.line or 0)))


class Collector:
    """The report lines the steps of a migration write (each once), turned into the frozen report at the end."""

    def __init__(self) -> None:
        self.changes: list[Note] = []
        self.risks: list[Note] = []
        self.unmapped: list[Note] = []
        self.notes: list[Note] = []

    def change(self, message: str, line: int | None = None) -> None:
        note = Note(message, line)
        if note not in self.changes:
            self.changes.append(note)

    def risk(self, message: str, line: int | None = None) -> None:
        note = Note(message, line)
        if note not in self.risks:
            self.risks.append(note)

    def note(self, message: str, line: int | None = None) -> None:
        note = Note(message, line)
        if note not in self.notes:
            self.notes.append(note)

    def report(
        self,
        source: str,
        target: str,
        input_base: str,
        *,
        builder_base: str | None,
        runtime_base: str,
        python: str | None,
        python_origin: str | None,
        builder_packages: Iterable[str],
        runtime_packages: Iterable[str],
        wheels: WheelReport | None,
    ) -> MigrationReport:
        """The report of a changed Dockerfile: changes and risks in input-line order, packages sorted."""
        return MigrationReport(
            source=source,
            target=target,
            changed=True,
            input_base=input_base,
            builder_base=builder_base,
            runtime_base=runtime_base,
            python=python,
            python_origin=python_origin,
            changes=by_line(self.changes),
            risks=by_line(self.risks),
            unmapped=tuple(self.unmapped),
            builder_packages=tuple(sorted(set(builder_packages))),
            runtime_packages=tuple(sorted(set(runtime_packages))),
            wheels=wheels,
            notes=tuple(self.notes),
        )
