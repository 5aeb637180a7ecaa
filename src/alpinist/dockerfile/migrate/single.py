"""A single-stage input, restructured: a **builder** stage (build packages, the virtual environment, pip)
and a **runtime** stage that gets only the venv, the runtime packages and a non-root user.

:func:`migrate_single` runs the steps in order; each step is one function, and those the multi-stage
translation (:mod:`.stages`) also takes are shared with it (pieces and apt mapping, healthcheck rewrite,
entrypoints, ``USER`` lines, the tools only the old healthcheck ran, the report).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import httpx

from alpinist.dockerfile.healthcheck import is_disabled
from alpinist.dockerfile.migrate import locales
from alpinist.dockerfile.migrate.healthcheck import rewrite_healthcheck
from alpinist.dockerfile.migrate.options import DEFAULT_VENV, NONROOT_UID, MigrationOptions
from alpinist.dockerfile.migrate.packages import (
    IN_BUILD_BASE,
    apk_add,
    map_apt,
    moved_path_risks,
    needs_bash,
    unused_probe_tools,
    uses_tool,
)
from alpinist.dockerfile.migrate.pip import PipContext
from alpinist.dockerfile.migrate.plan import Plan, plan_bases
from alpinist.dockerfile.migrate.report import Collector, Migration
from alpinist.dockerfile.migrate.runs import Kind, Piece, Run, record_pieces, split_run
from alpinist.dockerfile.migrate.scripts import (
    ContextScan,
    apply_scripts,
    context_dir,
    scan_context,
    texts_run,
)
from alpinist.dockerfile.migrate.text import (
    as_written,
    comment_block,
    convert_entrypoints,
    env_no_cache,
    env_without_frontend,
    global_args,
    header,
    parser_directives,
    requirement_like,
    run_text,
    source_lines,
    venv_entrypoint,
)
from alpinist.dockerfile.migrate.users import NONROOT_COMMANDS, NONROOT_USER, is_root_user, user_line
from alpinist.dockerfile.migrate.wheelcheck import wheel_report, wheel_risks
from alpinist.dockerfile.model import Dockerfile, Instruction, Stage
from alpinist.dockerfile.wheels import WheelReport

__all__ = ["migrate_single"]


@dataclass
class _Single:
    """What the steps share: the input, the plan, the classified RUNs, whether there is a builder."""

    df: Dockerfile
    text: str
    stage: Stage
    plan: Plan
    runs: dict[int, Run]  # by id() of the RUN instruction
    has_builder: bool
    last_builder: int  # index of the last RUN that goes to the builder, -1 without one
    own_venv: str | None  # the venv the input creates, if it does
    wheels: WheelReport | None
    scripts: ContextScan = field(default_factory=ContextScan)  # the context's scripts and programs

    @property
    def ordered(self) -> list[Instruction]:
        return list(self.stage.instructions)

    @property
    def venv(self) -> str:
        return self.own_venv or DEFAULT_VENV

    @property
    def pieces(self) -> list[Piece]:
        return [p for r in self.runs.values() for p in r.pieces]

    def goes_to_builder(self, ins: Instruction) -> bool:
        return ins.cmd == "RUN" and self.runs[id(ins)].builder and self.has_builder


@dataclass(frozen=True)
class _Runtime:
    """What the runtime stage applies to the input's instructions: the healthcheck and its rewrite,
    whether the input's user is kept, the exec-form CMD/ENTRYPOINT lines (by id() of the instruction)."""

    hc: Instruction | None
    hc_text: str | None
    keep_user: bool
    exec_forms: dict[int, str]


def migrate_single(
    df: Dockerfile, text: str, options: MigrationOptions, c: Collector, client: httpx.Client | None
) -> Migration:
    s = _prepare(df, text, options, c, client)
    build_pkgs, runtime_pkgs = _packages(s, c)
    hc = df.healthcheck(s.stage)
    hc_text = None
    if hc is not None and not is_disabled(hc):
        hc_text = rewrite_healthcheck(
            hc, dict(s.stage.env), s.plan.python is not None, c, busybox_fallback=True
        )
    runtime_pkgs = _drop_probe_tools(s, hc_text, runtime_pkgs, c)
    _add_tools_run(s, hc, hc_text, build_pkgs, runtime_pkgs, c)
    apply_scripts(
        s.scripts,
        c,
        lambda script: (
            (build_pkgs, "the builder")
            if script.run is not None and s.goes_to_builder(script.run)
            else (runtime_pkgs, "the runtime")
        ),
    )
    runtime_pkgs = list(dict.fromkeys(runtime_pkgs))
    if s.has_builder and "py3-pip" in runtime_pkgs:
        runtime_pkgs.remove("py3-pip")
        c.change("py3-pip not installed: the virtual environment has its own pip")
    user, user_ins = df.effective_user(s.stage)
    keep_user = not is_root_user(user)
    exec_forms = convert_entrypoints(s.stage, c)
    root = df.root_base(s.stage)
    out = header(df.path or "Dockerfile", str(root), options.to, parser_directives(text))
    out += global_args(df, text, c)
    if s.has_builder:
        out += _builder(s, build_pkgs, c)
    out += _runtime(s, runtime_pkgs, _Runtime(hc, hc_text, keep_user, exec_forms), c)
    if not keep_user:
        _report_nonroot(s, user, user_ins, c)
    _closing_notes(s, exec_forms, c)
    report = c.report(
        df.path or "Dockerfile",
        str(options.to),
        str(root),
        builder_base=s.plan.builder_base if s.has_builder else None,
        runtime_base=s.plan.runtime_base,
        python=s.plan.python,
        python_origin=s.plan.origin,
        builder_packages=build_pkgs,
        runtime_packages=runtime_pkgs,
        wheels=s.wheels,
    )
    return Migration("\n".join(out) + "\n", report)


def _prepare(
    df: Dockerfile, text: str, options: MigrationOptions, c: Collector, client: httpx.Client | None
) -> _Single:
    """Plan the bases, classify every RUN (recording what their pieces change), run the wheel check."""
    stage = df.final_stage
    plan = plan_bases(df, stage, options.to, c)
    ctx = PipContext(env_no_cache(df), venv=plan.mode != "plain")
    runs = {id(ins): split_run(ins, ctx) for ins in stage.runs}
    for run in runs.values():
        record_pieces(run, c)
    builder_runs = [
        i for i, ins in enumerate(stage.instructions) if ins.cmd == "RUN" and runs[id(ins)].builder
    ]
    has_builder = bool(builder_runs) and plan.mode != "plain"
    own_venv = next((p.venv for r in runs.values() for p in r.pieces if p.kind is Kind.VENV), None)
    wheels = wheel_report(df, list(runs.values()), plan.python, options, client, c) if has_builder else None
    return _Single(
        df,
        text,
        stage,
        plan,
        runs,
        has_builder,
        builder_runs[-1] if has_builder else -1,
        own_venv,
        wheels,
        scan_context(df, context_dir(df, options.context)),
    )


def _packages(s: _Single, c: Collector) -> tuple[list[str], list[str]]:
    """(builder packages, runtime packages): apt mapped, what the wheels need, Python, bash."""
    apt_build, apt_runtime, apt_names = map_apt(list(s.runs.values()), c, s.stage.of("ENV"))
    moved_path_risks(apt_names, s.stage.instructions, c)
    runtime_pkgs = list(apt_runtime)
    build_pkgs: list[str] = []
    if s.has_builder:
        build_pkgs = ["build-base", *apt_build]
        if s.wheels is not None:
            build_pkgs += s.wheels.build_packages
            runtime_pkgs += s.wheels.runtime_packages
            wheel_risks(s.wheels, c)
        if s.plan.mode == "distro":
            build_pkgs += ["python3", "python3-dev"]
        covered = [p for p in build_pkgs if p in IN_BUILD_BASE]
        if covered:
            c.change(f"{', '.join(sorted(set(covered)))} covered by build-base")
        build_pkgs = [p for p in dict.fromkeys(build_pkgs) if p not in IN_BUILD_BASE]
    else:
        runtime_pkgs += apt_build
        if apt_build:
            c.risk("no pip install to move into a builder: the build packages stay in the final image")
    if s.plan.mode == "distro":
        runtime_pkgs.append("python3")
    if needs_bash(s.stage, s.runs.values()):
        runtime_pkgs.append("bash")
        if s.has_builder:
            build_pkgs.append("bash")
        c.change("bash added: the Dockerfile runs bash, and Alpine's /bin/sh is BusyBox ash")
    return build_pkgs, runtime_pkgs


def _drop_probe_tools(s: _Single, hc_text: str | None, runtime_pkgs: list[str], c: Collector) -> list[str]:
    """Without the curl/wget the old healthcheck ran, when nothing else runs them."""
    if hc_text is None:
        return runtime_pkgs
    unused = unused_probe_tools([(s.runs.values(), s.ordered)], [], texts_run(s.scripts))
    for tool in ("curl", "wget"):
        if tool in runtime_pkgs and tool in unused:
            runtime_pkgs = [p for p in runtime_pkgs if p != tool]
            c.change(f"{tool} not installed in the runtime: only the old HEALTHCHECK used it")
            c.risk(
                f"{tool} removed from the image: add it back to the runtime stage if the service itself runs {tool}"
            )
    return runtime_pkgs


def _add_tools_run(
    s: _Single,
    hc: Instruction | None,
    hc_text: str | None,
    build_pkgs: list[str],
    runtime_pkgs: list[str],
    c: Collector,
) -> None:
    """curl and git where a kept command runs them (BusyBox has wget and nc, not curl or git)."""
    runtime_texts = [p.text for r in s.runs.values() if not (r.builder and s.has_builder) for p in r.kept()]
    runtime_texts += [ins.value for ins in s.ordered if ins.cmd in ("CMD", "ENTRYPOINT")]
    if hc is not None and hc_text is None:
        runtime_texts.append(hc.value)
    builder_texts = [p.text for r in s.runs.values() if r.builder and s.has_builder for p in r.kept()]
    for tool in ("curl", "git"):
        if tool not in runtime_pkgs and uses_tool(runtime_texts, tool):
            runtime_pkgs.append(tool)
            c.change(f"{tool} added to the runtime: a command kept there runs it")
        in_builder = uses_tool(builder_texts, tool) or (
            tool == "git" and any("git+" in t for t in builder_texts)
        )
        if s.has_builder and tool not in build_pkgs and in_builder:
            build_pkgs.append(tool)
            c.change(f"{tool} added to the builder: a command there runs it")


def _from_flags(stage: Stage) -> str:
    return f"--platform={stage.platform} " if stage.platform else ""


def _run_lines(s: _Single, run: Run) -> list[str]:
    """A RUN's kept pieces (or the RUN as written when it is not translated), with its comments."""
    if run.raw:
        return as_written(s.text, run.ins)
    kept = [p.text for p in run.kept()]
    return [*comment_block(s.text, run.ins), run_text(kept, s.df.escape)] if kept else []


def _builder(s: _Single, build_pkgs: Sequence[str], c: Collector) -> list[str]:
    """The builder stage: build packages, the venv, and the input up to its last pip command."""
    assert s.plan.builder_base is not None
    venv = s.venv
    out = ["", f"FROM {_from_flags(s.stage)}{s.plan.builder_base} AS builder"]
    setup = [cmd for cmd in (apk_add(build_pkgs),) if cmd]
    if s.own_venv is None:
        setup.append(f"python3 -m venv {venv}")
    if setup:
        out.append(run_text(setup, s.df.escape))
    if s.own_venv is None:
        out.append(f'ENV VIRTUAL_ENV={venv} PATH="{venv}/bin:$PATH"')
    for idx, ins in enumerate(s.ordered[: s.last_builder + 1]):
        if ins.cmd in ("ARG", "WORKDIR", "SHELL"):
            out.append(source_lines(s.text, ins))
        elif ins.cmd == "ENV":
            env_line = env_without_frontend(ins, s.text, c, note=False)
            if env_line:
                out.append(env_line)
        elif ins.cmd in ("COPY", "ADD") and not ins.flag("from"):
            out += as_written(s.text, ins)
        elif s.goes_to_builder(ins):
            run = s.runs[id(ins)]
            out += _run_lines(s, run)
            others = [] if run.raw else [p.text for p in run.kept() if p.kind is Kind.OTHER]
            if others:
                c.risk(
                    f"runs {'; '.join(others)} in the builder (with pip): files it makes outside {venv} do not reach the runtime",
                    ins.line,
                )
        elif ins.cmd == "USER" and idx < s.last_builder:
            c.change(
                "USER before pip install dropped from the builder (it installs as root into the venv)",
                ins.line,
            )
    c.change(
        f"builder stage FROM {s.plan.builder_base}: build packages and pip install into {venv}; runtime gets only {venv}"
    )
    return out


def _runtime(s: _Single, runtime_pkgs: Sequence[str], r: _Runtime, c: Collector) -> list[str]:
    """The runtime stage: runtime packages, the nonroot user, the venv, the input's other instructions."""
    out = ["", f"FROM {_from_flags(s.stage)}{s.plan.runtime_base}" + (" AS runtime" if s.has_builder else "")]
    first = [cmd for cmd in (apk_add(runtime_pkgs),) if cmd]
    if not r.keep_user:
        first += NONROOT_COMMANDS
    if first:
        out.append(run_text(first, s.df.escape))
    out += locales.env_lines(runtime_pkgs)
    if s.has_builder:
        out.append(f"COPY --from=builder {s.venv} {s.venv}")
        if s.own_venv is None:
            out.append(f'ENV VIRTUAL_ENV={s.venv} PATH="{s.venv}/bin:$PATH"')
    last_fs = max(
        (
            i
            for i, ins in enumerate(s.ordered)
            if ins.cmd in ("RUN", "COPY", "ADD") and not s.goes_to_builder(ins)
        ),
        default=-1,
    )
    user_emitted = False
    for idx, ins in enumerate(s.ordered):
        out += _runtime_instruction(s, idx, ins, r, c)
        if not r.keep_user and not user_emitted and idx >= last_fs:
            out.append(NONROOT_USER)
            user_emitted = True
    if not r.keep_user and not user_emitted:
        out.append(NONROOT_USER)
    return out


def _runtime_instruction(s: _Single, idx: int, ins: Instruction, r: _Runtime, c: Collector) -> list[str]:
    """One instruction of the input in the runtime stage (nothing when it went to the builder)."""
    text = s.text
    if ins.cmd == "RUN":
        return [] if s.goes_to_builder(ins) else _run_lines(s, s.runs[id(ins)])
    if ins.cmd in ("COPY", "ADD"):
        srcs = ins.words[:-1]
        if (
            s.has_builder
            and idx < s.last_builder
            and srcs
            and all(requirement_like(src) for src in srcs)
            and not ins.flag("from")
        ):
            c.change(f"{ins.cmd} {' '.join(srcs)} only in the builder", ins.line)
            return []
        return as_written(text, ins)
    if ins.cmd == "ENV":
        env_line = env_without_frontend(ins, text, c, note=True)
        return [*comment_block(text, ins), env_line] if env_line else []
    if ins.cmd == "USER":
        if r.keep_user:
            return [*comment_block(text, ins), user_line(ins, s.stage, text, s.pieces, c)]
        c.change(f"USER {ins.value} replaced by USER {NONROOT_UID}:{NONROOT_UID} (nonroot)", ins.line)
        return []
    if ins.cmd == "HEALTHCHECK":
        return [
            *comment_block(text, ins),
            r.hc_text if (r.hc_text and ins is r.hc) else source_lines(text, ins),
        ]
    line = r.exec_forms.get(id(ins))
    if s.has_builder and s.own_venv is None and ins.cmd in ("CMD", "ENTRYPOINT"):
        on_venv = venv_entrypoint(ins, line, s.venv)
        if on_venv is not None:
            line = on_venv
            c.change(f"{ins.cmd}: the image's Python named by path → {s.venv}/bin (the packages)", ins.line)
    return [*comment_block(text, ins), line or source_lines(text, ins)]


def _report_nonroot(s: _Single, user: str | None, user_ins: Instruction | None, c: Collector) -> None:
    """What running as ``nonroot`` changes: the files it can write, the ports it can bind."""
    if user_ins is None:
        c.change(
            f"runs as nonroot (uid/gid {NONROOT_UID}) instead of root: addgroup/adduser, USER {NONROOT_UID}:{NONROOT_UID}"
        )
    else:
        c.change(f"runs as nonroot (uid/gid {NONROOT_UID}) instead of {user}")
    c.risk(
        f"the service now runs as uid {NONROOT_UID}: it cannot write where root owns the files "
        "(the application files copied in stay root-owned and read-only: use a volume or "
        f"COPY --chown={NONROOT_UID}:{NONROOT_UID} for what it writes)"
    )
    for ins in s.stage.of("EXPOSE"):
        low = [w for w in ins.words if w.split("/")[0].isdigit() and int(w.split("/")[0]) < 1024]
        if low:
            c.risk(
                f"EXPOSE {' '.join(low)}: uid {NONROOT_UID} cannot bind a port below 1024 unless the runtime "
                "allows it (Docker does by default, Kubernetes does not); listen on a port above 1023",
                ins.line,
            )
    if any(p.kind is Kind.USERS for p in s.pieces):
        c.note("the input's own user creation is kept (translated) although the image now runs as nonroot")


def _closing_notes(s: _Single, exec_forms: dict[int, str], c: Collector) -> None:
    root = s.df.root_base(s.stage)
    c.change(
        f"FROM {root} → {s.plan.runtime_base}"
        + (f" (builder {s.plan.builder_base})" if s.has_builder else ""),
        s.stage.start_line,
    )
    c.change("apk add --no-cache everywhere (no package index left in the image)")
    if any(
        ins.cmd in ("CMD", "ENTRYPOINT") and isinstance(ins.args, str) and id(ins) not in exec_forms
        for ins in s.ordered
    ):
        c.note("shell-form CMD/ENTRYPOINT runs under BusyBox sh on Alpine, not bash")
    if s.wheels is not None and not s.wheels.skipped_reason:
        from alpinist.dockerfile.locks import LOCK_FILES

        locked = [f for f in s.wheels.files if PurePosixPath(f).name in LOCK_FILES.values()]
        others = [f for f in s.wheels.files if f not in locked]
        if others or not locked:
            c.note(
                "only the pins in the requirement files were checked; their own dependencies were not resolved"
                + (f" (the lock files, {', '.join(locked)}, list theirs: all were checked)" if locked else "")
            )
        else:
            c.note(
                f"every package of {', '.join(locked)} was checked (a lock file lists the dependencies too)"
            )
