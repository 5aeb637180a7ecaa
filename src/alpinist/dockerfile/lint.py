"""Run the lint rules over a parsed Dockerfile, apply ignore comments, and judge ``--fail-on``."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alpinist.dockerfile.model import Dockerfile, Instruction
from alpinist.dockerfile.parse import parse_dockerfile, read_dockerfile
from alpinist.dockerfile.rules import RULES, SEVERITIES, LintFinding, Rule, Severity, severity_rank

__all__ = ["LintResult", "lint", "lint_file", "lint_text"]


@dataclass(frozen=True)
class LintResult:
    """Findings (sorted by line, then rule), those silenced by ignore comments, and the rules that ran."""

    path: str | None
    findings: tuple[LintFinding, ...]
    suppressed: tuple[LintFinding, ...]
    rules: tuple[Rule, ...]

    def counts(self) -> dict[Severity, int]:
        out: dict[Severity, int] = {s: 0 for s in reversed(SEVERITIES)}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def fails(self, fail_on: Severity | None) -> bool:
        """True when a finding at or above ``fail_on`` remains (``None``: never)."""
        if fail_on is None:
            return False
        threshold = severity_rank(fail_on)
        return any(severity_rank(f.severity) >= threshold for f in self.findings)


def _ignores_by_line(df: Dockerfile) -> list[Instruction]:
    out = list(df.args_before_from)
    for stage in df.stages:
        out.append(stage.from_instruction)
        out.extend(stage.instructions)
    return out


def _suppressed(
    finding: LintFinding, instructions: list[Instruction], starts: list[int], file_ignores: frozenset[str]
) -> bool:
    if finding.rule in file_ignores or "ALL" in file_ignores:
        return True
    k = bisect.bisect_right(starts, finding.line) - 1
    if k >= 0 and instructions[k].line <= finding.line <= instructions[k].end_line:
        ignore = instructions[k].ignore
        return finding.rule in ignore or "ALL" in ignore
    return False


def lint(df: Dockerfile, *, select: Iterable[str] | None = None, ignore: Iterable[str] = ()) -> LintResult:
    """Run ``RULES`` (or only ``select``; minus ``ignore``) over ``df``.

    ``# alpinist ignore=RULE[,RULE]`` silences a rule on the next instruction (``ALL`` every rule);
    ``# alpinist ignore-file=RULE`` on the whole file. Silenced findings are kept in ``suppressed``.
    """
    chosen = {s.upper() for s in select} if select is not None else None
    skipped = {s.upper() for s in ignore}
    rules = tuple(r for r in RULES if (chosen is None or r.id in chosen) and r.id not in skipped)
    instructions = _ignores_by_line(df)
    starts = [i.line for i in instructions]
    kept: list[LintFinding] = []
    silenced: list[LintFinding] = []
    seen: set[tuple[str, int, str]] = set()
    for rule in rules:
        for finding in rule.check(df):
            key = (finding.rule, finding.line, finding.message)
            if key in seen:
                continue
            seen.add(key)
            (silenced if _suppressed(finding, instructions, starts, df.ignore_file) else kept).append(finding)
    order = {r.id: i for i, r in enumerate(RULES)}
    kept.sort(key=lambda f: (f.line, order[f.rule]))
    silenced.sort(key=lambda f: (f.line, order[f.rule]))
    return LintResult(df.path, tuple(kept), tuple(silenced), rules)


def lint_text(text: str, path: str | None = None, **kwargs: Iterable[str] | None) -> LintResult:
    return lint(parse_dockerfile(text, path), **kwargs)  # type: ignore[arg-type]


def lint_file(
    path: str | Path, *, select: Iterable[str] | None = None, ignore: Iterable[str] = ()
) -> LintResult:
    return lint(read_dockerfile(path), select=select, ignore=ignore)
