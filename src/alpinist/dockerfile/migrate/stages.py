"""A multi-stage input, translated stage by stage in place (bases, packages, pip, users, healthcheck),
not restructured: build packages go to the stages that are discarded, and to the final image only where
its own pip commands compile (:func:`~.wheelcheck.judge_runtime_pip`).

:func:`migrate_stages` runs the steps in order; the steps it shares with :mod:`.single` live in the
modules both import.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.healthcheck import is_disabled
from alpinist.dockerfile.knowledge import image_python
from alpinist.dockerfile.migrate import locales
from alpinist.dockerfile.migrate.healthcheck import healthcheck_url, rewrite_healthcheck
from alpinist.dockerfile.migrate.options import NONROOT_UID, MigrationOptions
from alpinist.dockerfile.migrate.packages import (
    IN_BUILD_BASE,
    apk_add,
    map_apt,
    moved_path_risks,
    needs_bash,
    unused_probe_tools,
)
from alpinist.dockerfile.migrate.pip import PipContext
from alpinist.dockerfile.migrate.plan import align_builders, alpine_python, map_base
from alpinist.dockerfile.migrate.report import Collector, Migration
from alpinist.dockerfile.migrate.runs import Kind, Run, record_pieces, split_run
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
    run_text,
    source_lines,
)
from alpinist.dockerfile.migrate.users import is_root_user, nonroot_lines, user_line
from alpinist.dockerfile.migrate.wheelcheck import (
    judge_runtime_pip,
    runtime_build_packages,
    wheel_report,
    wheel_risks,
)
from alpinist.dockerfile.model import Dockerfile, Instruction, Stage
from alpinist.dockerfile.parse import parse_image_name
from alpinist.dockerfile.rules import stage_python
from alpinist.dockerfile.wheels import WheelReport

__all__ = ["migrate_stages"]


@dataclass
class _Stages:
    """What the steps share: the input, each stage's classified RUNs, new base and Python."""

    df: Dockerfile
    text: str
    options: MigrationOptions
    stage_runs: dict[int, dict[int, Run]]  # stage index -> id() of a RUN -> its translation
    new_bases: dict[int, str | None]  # stage index -> its Alpine base, None: kept
    pythons: dict[int, str]  # stage index -> the Python it runs after migration
    distro_py: set[int]  # stages on Alpine's python3 package
    pip_stages: list[Stage]
    wheels: WheelReport | None = None
    wheel_py: str | None = None
    scripts: ContextScan = field(default_factory=ContextScan)  # the context's scripts and programs

    def runs(self, st: Stage) -> dict[int, Run]:
        return self.stage_runs[st.index]


def migrate_stages(
    df: Dockerfile, text: str, options: MigrationOptions, c: Collector, client: httpx.Client | None
) -> Migration:
    target = options.to
    ctx = PipContext(env_no_cache(df), venv=False)
    root = df.root_base(df.final_stage)
    stage_runs = {st.index: {id(ins): split_run(ins, ctx) for ins in st.runs} for st in df.stages}
    new_bases = {st.index: map_base(st, target, c) for st in df.stages}
    kept_from = " ".join(
        st.base.raw for st in df.stages if new_bases[st.index] is None and st.base_resolved.has_variables
    )
    out = header(df.path or "Dockerfile", str(root), target, parser_directives(text))
    out += global_args(df, text, c, also_used_in=kept_from)
    pip_stages = [st for st in df.stages if any(r.builder for r in stage_runs[st.index].values())]
    s = _Stages(df, text, options, stage_runs, new_bases, {}, set(), pip_stages)
    s.scripts = scan_context(df, context_dir(df, options.context))
    _stage_pythons(s, c)
    align_builders(df, new_bases, s.pythons, s.distro_py, pip_stages, stage_runs, c)
    if pip_stages and pip_stages[-1].index in s.pythons:
        s.wheel_py = s.pythons[pip_stages[-1].index]
        s.wheels = wheel_report(
            df, [r for runs in stage_runs.values() for r in runs.values()], s.wheel_py, options, client, c
        )
        if s.wheels is not None:
            wheel_risks(s.wheels, c, "from source")
    # the final stage and the stages it is built FROM make the final image: build packages go there only
    # when pip compiles there (a builder stage gets them whenever it runs pip: harmless, it is discarded)
    in_final_image = {st.index for st in df.lineage(df.final_stage)}
    unused_tools = tools_only_the_old_healthcheck_ran(df, stage_runs, s.pythons, texts_run(s.scripts))
    builder_pkgs: list[str] = []
    runtime_pkgs: list[str] = []
    for st in df.stages:
        pkgs = _stage_packages(s, st, st.index in in_final_image, unused_tools, c)
        _stage_scripts(s, st, pkgs, c)
        (runtime_pkgs if st.index in in_final_image else builder_pkgs).extend(pkgs)
        out += _emit_stage(s, st, pkgs, c)
    distinct = {s.pythons[st.index] for st in df.stages if st.index in s.pythons}
    if len(distinct) > 1:
        c.risk(
            "stages run different Pythons after migration ("
            + ", ".join(f"{df.stages[k].label}: {v}" for k, v in sorted(s.pythons.items()))
            + "): packages copied between them will not import; put the builder on the runtime's Python"
        )
    c.note("multi-stage input: translated stage by stage, not restructured")
    final = df.final_stage
    report = c.report(
        df.path or "Dockerfile",
        str(target),
        str(root),
        builder_base=next(
            (new_bases[p.index] for p in pip_stages if p is not final and new_bases[p.index]), None
        ),
        runtime_base=new_bases[final.index] or final.base.raw,
        python=s.pythons.get(final.index),
        python_origin="per stage" if final.index in s.pythons else None,
        builder_packages=builder_pkgs,
        runtime_packages=runtime_pkgs,
        wheels=s.wheels,
    )
    return Migration("\n".join(out) + "\n", report)


def _stage_pythons(s: _Stages, c: Collector) -> None:
    """The Python of each stage after migration: its image's, Alpine's python3, or the kept base's."""
    for st in s.df.stages:
        new_base = s.new_bases[st.index]
        if new_base is None:
            if st.parent is not None and st.parent in s.pythons:
                s.pythons[st.index] = s.pythons[st.parent]
            elif st.parent is None and (kept := stage_python(s.df, st)) is not None:
                s.pythons[st.index] = kept.version
            continue
        tag_py = image_python(parse_image_name(new_base))
        if tag_py:
            s.pythons[st.index] = tag_py
        elif stage_python(s.df, st) is not None or any(r.builder for r in s.runs(st).values()):
            s.distro_py.add(st.index)
            alp = alpine_python(s.options.to, c)
            if alp:
                s.pythons[st.index] = alp


def _stage_packages(
    s: _Stages, st: Stage, in_final_image: bool, unused_tools: set[str], c: Collector
) -> list[str]:
    """The apk packages of one stage (recording what its RUNs change on the way)."""
    runs = s.runs(st)
    for run in runs.values():
        record_pieces(run, c)
    build, runtime, names = map_apt(list(runs.values()), c, st.of("ENV") if in_final_image else ())
    if in_final_image:
        moved_path_risks(names, [ins for stage in s.df.stages for ins in stage.instructions], c)
    pkgs = [*build, *runtime]
    distro = st.index in s.distro_py
    where = (
        "the final stage"
        if st is s.df.final_stage
        else f"stage {st.label} (the final stage is built FROM it)"
    )
    if in_final_image:
        if distro:
            pkgs.append("python3")
        judged = judge_runtime_pip(s.df, runs.values(), s.wheels, s.wheel_py, s.options)
        pkgs += runtime_build_packages(judged, where, distro, build, c)
    else:
        if distro:
            pkgs += ["python3", "python3-dev"]
        if s.wheels is not None and st in s.pip_stages:
            pkgs += ["build-base", *s.wheels.build_packages]
    if st is s.df.final_stage and s.wheels is not None:
        pkgs += s.wheels.runtime_packages
    if s.new_bases[st.index] is not None and needs_bash(st, runs.values()):
        pkgs.append("bash")
        stage_name = "the final stage" if st is s.df.final_stage else f"stage {st.label}"
        c.change(
            f"bash added to {stage_name}: it runs bash, and Alpine's /bin/sh is BusyBox ash", st.start_line
        )
    if in_final_image:
        for tool in sorted(unused_tools.intersection(pkgs)):
            pkgs = [p for p in pkgs if p != tool]
            c.change(f"{tool} not installed in {where}: only the old HEALTHCHECK used it")
            c.risk(f"{tool} removed from the final image: add it back if the service itself runs {tool}")
    return [p for p in dict.fromkeys(pkgs) if not ("build-base" in pkgs and p in IN_BUILD_BASE)]


def _stage_scripts(s: _Stages, st: Stage, pkgs: list[str], c: Collector) -> None:
    """The shells the scripts this stage runs need (added to ``pkgs``), and their report lines; the
    glibc programs and unread files are reported with the final stage. A stage whose base is kept gets
    no package (its base is not Alpine)."""
    final = st is s.df.final_stage
    scan = ContextScan(
        tuple(x for x in s.scripts.scripts if x.stage == st.index),
        s.scripts.binaries if final else (),
        s.scripts.problems if final else (),
    )
    where = "the final stage" if final else f"stage {st.label}"
    migrated = s.new_bases[st.index] is not None
    apply_scripts(scan, c, lambda _script: (pkgs, where) if migrated else None)


def _emit_stage(s: _Stages, st: Stage, pkgs: Sequence[str], c: Collector) -> list[str]:
    """One stage: its FROM (on the new base), its apk packages, its instructions translated; the final
    stage also switches to ``nonroot`` after its last filesystem change when it ran as root."""
    new_base = s.new_bases[st.index]
    resolved = st.base_resolved
    base_text = new_base or (resolved.raw if not resolved.has_variables else st.base.raw)
    platform = f"--platform={st.platform} " if st.platform else ""
    alias = f" AS {st.name}" if st.name else ""
    out = ["", *comment_block(s.text, st.from_instruction), f"FROM {platform}{base_text}{alias}"]
    if new_base:
        c.change(f"FROM {st.base_resolved} → {new_base}", st.start_line)
    add = apk_add(pkgs)
    if add:
        out.append(f"RUN {add}")
    out += locales.env_lines(pkgs)
    is_final = st is s.df.final_stage
    exec_forms = convert_entrypoints(st, c) if is_final else {}
    add_nonroot = is_final and is_root_user(s.df.effective_user(st)[0])
    last_fs = max(
        (i for i, ins in enumerate(st.instructions) if ins.cmd in ("RUN", "COPY", "ADD")), default=-1
    )
    if add_nonroot and last_fs < 0:
        out += nonroot_lines(s.df.escape)
    for idx, ins in enumerate(st.instructions):
        if add_nonroot and idx == last_fs + 1 and last_fs >= 0:
            out += nonroot_lines(s.df.escape)
        out += _stage_instruction(s, st, ins, is_final, add_nonroot, exec_forms, c)
    if add_nonroot and last_fs == len(st.instructions) - 1:
        out += nonroot_lines(s.df.escape)
    if add_nonroot:
        c.change(f"the final stage runs as nonroot (uid/gid {NONROOT_UID}) instead of root")
    return out


def _stage_instruction(
    s: _Stages,
    st: Stage,
    ins: Instruction,
    is_final: bool,
    add_nonroot: bool,
    exec_forms: dict[int, str],
    c: Collector,
) -> list[str]:
    """One instruction of a stage, translated."""
    text = s.text
    if ins.cmd == "RUN":
        run = s.runs(st)[id(ins)]
        if run.raw:
            return as_written(text, ins)
        cmds = [
            re.sub(r"^(\S*/)?python(?=\s)", "python3", p.text)
            if p.kind is Kind.VENV and st.index in s.distro_py
            else p.text
            for p in run.kept()
        ]
        return [*comment_block(text, ins), run_text(cmds, s.df.escape)] if cmds else []
    if ins.cmd == "ENV":
        line = env_without_frontend(ins, text, c, note=True)
        return [*comment_block(text, ins), line] if line else []
    if ins.cmd == "HEALTHCHECK" and is_final and not is_disabled(ins):
        new = rewrite_healthcheck(ins, dict(st.env), st.index in s.pythons, c, busybox_fallback=False)
        return as_written(text, ins) if new is None else [*comment_block(text, ins), new]
    if ins.cmd == "USER" and is_final:
        if add_nonroot:
            value = expand_word(ins.words[0] if ins.words else ins.value, st.env).value
            c.change(f"USER {value} replaced by USER {NONROOT_UID}:{NONROOT_UID} (nonroot)", ins.line)
            return comment_block(text, ins)
        pieces = [p for r in s.runs(st).values() for p in r.pieces]
        return [*comment_block(text, ins), user_line(ins, st, text, pieces, c)]
    return [*comment_block(text, ins), exec_forms.get(id(ins)) or source_lines(text, ins)]


def tools_only_the_old_healthcheck_ran(
    df: Dockerfile,
    stage_runs: dict[int, dict[int, Run]],
    pythons: dict[int, str],
    also_run: Sequence[str] = (),
) -> set[str]:
    """``curl``/``wget`` that the final image needs no more: its healthcheck in effect is rewritten to
    Python (as :func:`migrate_stages` does: a probe of one URL, the final stage has a Python) and no
    other command of the final image's stages runs them (a healthcheck kept as written counts)."""
    final = df.final_stage
    if final.index not in pythons:
        return set()
    env = dict(final.env)
    rewritten = {
        id(ins)
        for ins in final.of("HEALTHCHECK")
        if not is_disabled(ins) and healthcheck_url(ins, env)[0] is not None
    }
    effective = df.healthcheck(final)
    if effective is None or id(effective) not in rewritten:
        return set()
    lineage = df.lineage(final)
    return unused_probe_tools(
        [(stage_runs[st.index].values(), st.instructions) for st in lineage],
        [hc for st in lineage for hc in st.of("HEALTHCHECK") if id(hc) not in rewritten],
        also_run,
    )
