"""An image's ``HEALTHCHECK`` as compare shows it: what it runs (read by
:mod:`alpinist.dockerfile.healthcheck`, as lint and migrate read it) and whether it needs a tool the
application itself does not run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from alpinist.dockerfile.healthcheck import (
    EXTRA_TOOL_KINDS,
    HealthTool,
    programs_in_argv,
    programs_in_shell,
    tool_kind,
)
from alpinist.models import Healthcheck, ImageFacts

HealthForm = Literal["shell", "exec"]


@dataclass(frozen=True)
class HealthcheckInfo:
    """What a HEALTHCHECK runs and whether it needs a tool the application itself does not use.

    ``tool``: ``curl``, ``wget``, ``python`` (``python3``, ``python3.11``…), ``other`` (another
    program: the app's own binary, ``nc``…) or ``none`` (no healthcheck, or one made of shell builtins
    only). ``extra_tool``: the check needs curl, wget or python while the image's entrypoint/cmd does
    not run that program, i.e. it was installed for the check (curl in a Python image: yes; python in
    a Python image: no). ``needs_shell``: shell form (``CMD-SHELL``) or an explicit ``sh -c``.
    """

    present: bool
    command: str = ""
    form: HealthForm | None = None
    programs: tuple[str, ...] = ()  # basenames of the programs the check runs, in order
    tool: HealthTool = "none"
    extra_tool: bool = False
    needs_shell: bool = False

    @property
    def text(self) -> str:
        """``curl (shell form)``, ``python (exec form)``, ``none``."""
        if not self.present:
            return "none"
        name = self.programs[0] if self.tool == "other" and self.programs else self.tool
        return f"{name} ({self.form} form)" if self.form else name

    @property
    def score(self) -> int:
        """Lower is better: 0 a check without an extra tool, 1 a check that needs one, 2 no check."""
        if not self.present:
            return 2
        return 1 if self.extra_tool else 0


def image_programs(facts: ImageFacts) -> list[str]:
    """The programs the image runs: its entrypoint, else its cmd (a shell's ``-c`` script is read)."""
    argv = list(facts.entrypoint or ()) or list(facts.cmd or ())
    return programs_in_argv(argv)[0]


def healthcheck_info(healthcheck: Healthcheck | None, runs: Iterable[str] = ()) -> HealthcheckInfo:
    """Parse the image's HEALTHCHECK; ``runs`` are the programs of its entrypoint/cmd."""
    if healthcheck is None or healthcheck.disabled or not healthcheck.test:
        return HealthcheckInfo(present=False)
    kind, args = healthcheck.test[0], healthcheck.test[1:]
    form: HealthForm
    if kind == "CMD":
        form = "exec"
        programs, needs_shell = programs_in_argv(args)
    else:  # CMD-SHELL, or a bare string as some builders write it
        form = "shell"
        script = " ".join(args) if kind == "CMD-SHELL" else " ".join(healthcheck.test)
        programs, needs_shell = programs_in_shell(script), True
    kinds = [tool_kind(p) for p in programs]
    tool: HealthTool = next((k for k in kinds if k != "other"), "other" if programs else "none")
    app_kinds = {tool_kind(p) for p in runs}
    extra = tool in EXTRA_TOOL_KINDS and tool not in app_kinds
    return HealthcheckInfo(
        present=True,
        command=healthcheck.command,
        form=form,
        programs=tuple(programs),
        tool=tool,
        extra_tool=extra,
        needs_shell=needs_shell,
    )
