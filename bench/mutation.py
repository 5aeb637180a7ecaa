"""Mutation testing of the modules that decide findings, with cosmic-ray (PyPI): one command, not in CI.

    .venv/bin/python bench/mutation.py [--module NAME]... [--timeout S] [--workdir DIR] [--json FILE]

For each module (default: all of ``MODULES``) cosmic-ray mutates the source one operator at a time
(comparisons, boolean operators, numbers, ``not``, ``break``/``continue``, exceptions…) and runs the
module's own tests; a mutant the tests fail on is *killed*, one they pass on *survived*. The run happens
in a copy of the repository under ``--workdir`` (cosmic-ray edits files in place), with ``../shared``
linked beside it, so the working tree is never touched. Results go to ``bench/mutation.json``::

    {"scan/matching.py": {"killed": N, "survived": N, "incompetent": N, "score": 0.0-1.0,
                          "survivors": ["line 347: ReplaceComparisonOperator_Lt_LtE …", …]}, …}

``score = killed / (killed + survived)``. Left out: incompetent mutants (the code no longer imports, as
cosmic-ray's own report does) and mutants inside annotations (``in_annotations``: under ``from __future__
import annotations`` they are never evaluated, so no test can tell them apart). Goal: ≥ 0.85 for each module. The surviving mutants are listed so
each can be killed by a test or explained (an equivalent mutant: e.g. ``<`` → ``<=`` on a bound that can
never be equal).

cosmic-ray is installed on first use into the project's ``.venv`` (``pip install cosmic-ray``); it is
never a dependency of alpinist. Expect minutes per module: every mutant is one pytest run of the
module's tests (``-x``, no xdist).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# module (under src/alpinist) -> the tests that are its specification
MODULES: dict[str, tuple[str, ...]] = {
    "versions.py": ("tests/test_versions.py",),
    "scan/severity.py": ("tests/test_severity.py",),
    "scan/policy.py": ("tests/test_policy.py",),
    "scan/matching.py": (
        "tests/test_matching.py",
        "tests/test_matching_merge.py",
        "tests/test_matching_batch.py",
        "tests/test_cna.py",
    ),
    "advisories/update.py": ("tests/test_update.py",),
}


def ensure_cosmic_ray() -> Path:
    exe = Path(sys.executable).parent / "cosmic-ray"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "cosmic-ray"], check=True)
    return exe


def copy_repo(workdir: Path) -> Path:
    """A copy of the tracked files (plus ../shared linked beside it) that cosmic-ray may edit."""
    dest = workdir / "alpinist"
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    shared = workdir / "shared"
    if not shared.exists():
        shared.symlink_to(REPO.parent / "shared")
    return dest


def run_module(
    cosmic: Path, copy: Path, module: str, tests: tuple[str, ...], timeout: float
) -> dict[str, object]:
    session = copy / f".mutation-{module.replace('/', '_')}.sqlite"
    config = copy / f".mutation-{module.replace('/', '_')}.toml"
    command = f"{sys.executable} -m pytest -x -q -p no:randomly -p no:cacheprovider {' '.join(tests)}"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "src/alpinist/{module}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "ALPINIST_SKIP_CORPUS_PIN": "1"}
    subprocess.run([str(cosmic), "init", str(config), str(session)], cwd=copy, check=True, env=env)
    subprocess.run([str(cosmic), "exec", str(config), str(session)], cwd=copy, check=True, env=env)
    return summarize(session, copy / "src" / "alpinist" / module)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's annotations are: with ``from __future__ import annotations`` they are never
    evaluated, so a mutant inside one (``X | None`` → ``X ^ None``) is equivalent, not a gap in the tests."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        for ann in found:
            if ann is not None and ann.end_lineno is not None and ann.end_col_offset is not None:
                spans.append(((ann.lineno, ann.col_offset), (ann.end_lineno, ann.end_col_offset)))
    return spans


def summarize(session: Path, source: Path | None = None) -> dict[str, object]:
    db = sqlite3.connect(session)
    spans = annotation_spans(source.read_text()) if source is not None else []
    rows = []
    equivalent = 0
    for outcome, line, col, op, occ in db.execute(
        "SELECT r.test_outcome, s.start_pos_row, s.start_pos_col, s.operator_name, s.occurrence "
        "FROM work_results r JOIN mutation_specs s ON s.job_id = r.job_id"
    ):
        if any(start <= (line, col) < end for start, end in spans):
            equivalent += 1
            continue
        rows.append((str(outcome).lower(), line, op, occ))
    killed = sum(1 for r in rows if r[0] == "killed")
    survived = [r for r in rows if r[0] == "survived"]
    incompetent = sum(1 for r in rows if r[0] == "incompetent")
    judged = killed + len(survived)
    return {
        "killed": killed,
        "survived": len(survived),
        "incompetent": incompetent,
        "in_annotations": equivalent,
        "score": round(killed / judged, 3) if judged else None,
        "survivors": [
            f"line {line}: {op} #{occ}" for _, line, op, occ in sorted(survived, key=lambda r: r[1])
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="default: all")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant's test run")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/alpinist-mutation"))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "mutation.json")
    args = parser.parse_args(argv)
    cosmic = ensure_cosmic_ray()
    args.workdir.mkdir(parents=True, exist_ok=True)
    copy = copy_repo(args.workdir)
    results: dict[str, object] = json.loads(args.json.read_text()) if args.json.exists() else {}
    for module in args.module or sorted(MODULES):
        started = time.monotonic()
        results[module] = {**run_module(cosmic, copy, module, MODULES[module], args.timeout)}
        results[module]["seconds"] = round(time.monotonic() - started)  # type: ignore[index]
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        r = results[module]
        print(f"{module}: killed {r['killed']}, survived {r['survived']}, score {r['score']}")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
