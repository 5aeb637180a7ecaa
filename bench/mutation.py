"""Mutation testing of the modules that decide findings, with mutmut (PyPI): one command, not in CI.

    .venv/bin/python bench/mutation.py [--module NAME]... [--jobs N] [--workdir DIR] [--json FILE]

For each module (default: all of ``MODULES``) mutmut rewrites every function of the module into many
mutants (comparison and boolean operators, numbers, string literals, ``None`` for arguments and return
values, dropped calls, ``break``/``continue``…). It runs the module's tests once to learn which tests
reach which function, then, for each mutant, only those tests, forked in-process (that is why it is
about a hundred times faster than one pytest process per mutant). A mutant the tests fail on is
*killed*, one they pass on *survived*. The run happens in a copy of the repository under
``--workdir/MODULE`` (mutmut writes a ``mutants/`` tree beside the sources), with ``../shared`` linked
beside it, so the working tree is never touched. Results go to ``bench/mutation.json``::

    {"scan/matching.py": {"killed": N, "survived": N, "score": 0.0-1.0,
                          "no_tests": N, "timeout": N,
                          "survived_in_message_text": N, "score_without_message_text": 0.0-1.0,
                          "survivors": ["_merge #12: -  if a < b: / +  if a <= b:", …]}, …}

``score = (killed + timeout) / (killed + timeout + survived)``, every surviving mutant counted; a
*timeout* is a mutant that made the tests loop until mutmut's CPU limit stopped them: detected, as
mutmut and Stryker count it. mutmut also mutates string
literals (``"text"`` → ``"XXtextXX"``); a survivor that only changes the text of an error or warning
message cannot change a finding, so it is counted apart as well (``survived_in_message_text``) and a
second score leaves it out; the first score is the one the goal is measured on. Goal: ≥ 0.85 for each
module. The surviving mutants are listed so each can be killed by a test or explained.

mutmut is installed on first use into the project's ``.venv`` (``pip install mutmut``); it is never a
dependency of alpinist. mutmut only mutates code inside functions: module-level tables are not mutated.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# module (under src/alpinist) -> the tests that are its specification (unit tests: in-process, so
# mutmut can see which of them reach each function; CLI tests run alpinist in a subprocess, which
# would never load the mutant)
MODULES: dict[str, tuple[str, ...]] = {
    "versions.py": ("tests/test_versions.py", "tests/test_lint_knowledge.py"),
    "scan/severity.py": ("tests/test_severity.py",),
    "scan/policy.py": (
        "tests/test_policy.py",
        "tests/test_policy_errors.py",
        "tests/test_fuzz_parsers.py",
        "tests/test_reports_scan.py",
    ),
    "scan/matching.py": (
        "tests/test_matching.py",
        "tests/test_matching_merge.py",
        "tests/test_matching_batch.py",
        "tests/test_matching_peers.py",
        "tests/test_findings_exact.py",
        "tests/test_cna.py",
    ),
    "advisories/update.py": (
        "tests/test_update.py",
        "tests/test_update_failures.py",
        "tests/test_faults_feeds.py",
        "tests/test_mirror_dir.py",
        "tests/test_update_contract.py",
        "tests/test_db_cli.py",
        "tests/test_store.py",
        "tests/test_advisories_feeds_more.py",
        "tests/test_distro_profile.py",
    ),
}

# directories and files the tests read besides src/ and tests/
ALSO_COPY = ("src", "bench", "examples", "schemas", "scripts", "docs", "deploy", "README.md", "action.yml")

STATUS = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+)$")
# a survivor's diff line that only changes the text of a message
MESSAGE_CALL = re.compile(
    r"^(raise [\w.]+\(|(return )?[\w.]*(warn\w*|_fail\w*|log\w*\.(debug|info|warning|error))\()"
)


def ensure_mutmut() -> Path:
    exe = Path(sys.executable).parent / "mutmut"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "mutmut"], check=True)
    return exe


def copy_repo(dest: Path) -> Path:
    """A copy of the tracked files (plus ../shared linked beside it) that mutmut may write into."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    # the tests find the corpus at REPO/../shared; mutmut runs them from dest/mutants
    for link in (dest.parent / "shared", dest / "shared"):
        if not link.exists():
            link.symlink_to(REPO.parent / "shared")
    return dest


def configure(copy: Path, module: str, tests: tuple[str, ...]) -> None:
    also = [name for name in ALSO_COPY if (copy / name).exists()]
    with (copy / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.mutmut]\n"
            f'source_paths = ["src/alpinist/{module}"]\n'
            f"also_copy = {json.dumps(also)}\n"
            f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n"
            'pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:xdist"]\n'
        )


def run_module(mutmut: Path, copy: Path, module: str, tests: tuple[str, ...], jobs: int) -> dict[str, object]:
    configure(copy, module, tests)
    env = {**os.environ, "ALPINIST_SKIP_CORPUS_PIN": "1"}
    env.pop("PYTHONPATH", None)
    log = copy / "mutmut.log"
    with log.open("w") as out:  # a file, not a pipe: a hung mutant orphaned past its timeout keeps a
        # pipe open and run() would wait for it forever
        run = subprocess.run(
            [str(mutmut), "run", "--max-children", str(jobs)], cwd=copy, env=env, stdout=out, stderr=out
        )
    _kill_orphans(copy)
    if run.returncode != 0:
        raise SystemExit(f"mutmut failed on {module}: see {log}:\n{log.read_text()[-3000:]}")
    return summarize(mutmut, copy, module, env)


def _kill_orphans(copy: Path) -> None:
    """mutmut stops a mutant that runs past its CPU limit (a loop that never ends: a *timeout*, counted
    as detected) but may leave the forked test process behind; stop those of this copy."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.joinpath("cmdline").read_bytes().startswith(b"mutmut: ") and str(
                proc.joinpath("cwd").resolve()
            ).startswith(str(copy)):
                os.kill(int(proc.name), 9)
        except (OSError, ValueError):
            continue


def summarize(mutmut: Path, copy: Path, module: str, env: dict[str, str]) -> dict[str, object]:
    listing = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = {m["name"]: m["status"].strip() for m in map(STATUS.match, listing.splitlines()) if m}
    survivors = sorted(name for name, status in statuses.items() if status == "survived")
    cache: dict[str, dict[str, str]] = {}
    diffs = {name: _diff(copy, module, name, cache) for name in survivors}
    in_message = sum(1 for d in diffs.values() if _only_message_text(d))
    timeout = sum(1 for s in statuses.values() if s == "timeout")
    killed = sum(1 for s in statuses.values() if s == "killed")
    judged = killed + timeout + len(survivors)
    return {
        "killed": killed,
        "survived": len(survivors),
        "timeout": timeout,
        "score": round((killed + timeout) / judged, 3) if judged else None,
        "no_tests": sum(1 for s in statuses.values() if s == "no tests"),
        "survived_in_message_text": in_message,
        "score_without_message_text": (
            round((killed + timeout) / (judged - in_message), 3) if judged > in_message else None
        ),
        "survivors": [f"{_short(name)}: {' / '.join(diffs[name])}" for name in survivors],
    }


def _diff(copy: Path, module: str, name: str, cache: dict[str, dict[str, str]]) -> list[str]:
    """The line a mutant changes, before and after (``-old`` / ``+new``), read from mutmut's mutants
    file (each mutant is a copy of its function named ``x_FUNC__mutmut_N`` beside ``x_FUNC__mutmut_orig``)
    rather than by one ``mutmut show`` per survivor (a second each)."""
    if module not in cache:
        tree_source = (copy / "mutants" / "src" / "alpinist" / module).read_text()
        lines = tree_source.splitlines()
        functions: dict[str, str] = {}
        for node in ast.walk(ast.parse(tree_source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
                functions[node.name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        cache[module] = functions
    functions = cache[module]
    func = name.rsplit(".", 1)[-1]
    original = functions.get(func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "")
    mutant = functions.get(func, "")
    old_lines, new_lines = original.splitlines()[1:], mutant.splitlines()[1:]  # past the def line
    for old, new in zip(old_lines, new_lines, strict=False):
        if old != new:
            return ["-" + old.strip(), "+" + new.strip()]
    return []


def _only_message_text(diff: list[str]) -> bool:
    """The mutant changed only what an error or a warning says: the same ``raise E(`` / ``log.warning(``
    / ``_fail(`` call on both sides, with other arguments (another text, ``None``, one left out)."""
    if len(diff) != 2:
        return False
    before, after = diff[0][1:], diff[1][1:]
    call = MESSAGE_CALL.match(before)
    return call is not None and after.startswith(call.group(0)) and before != after


def _short(name: str) -> str:
    # alpinist.scan.policy.x_parse_severity_list__mutmut_7 -> parse_severity_list #7
    tail = name.rsplit(".", 1)[-1]
    func, _, number = tail.partition("__mutmut_")
    return f"{func.removeprefix('x_').replace('ǁ', '.')} #{number}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), help="default: all")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/alpinist-mutation"))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "mutation.json")
    parser.add_argument(
        "--summarize-only", action="store_true", help="read the results of the last run in --workdir again"
    )
    args = parser.parse_args(argv)
    mutmut = ensure_mutmut()
    results: dict[str, object] = json.loads(args.json.read_text()) if args.json.exists() else {}
    for module in args.module or sorted(MODULES):
        started = time.monotonic()
        copy = args.workdir / module.replace("/", "_") / "alpinist"
        if args.summarize_only:
            env = {**os.environ, "ALPINIST_SKIP_CORPUS_PIN": "1"}
            result = summarize(mutmut, copy, module, env)
        else:
            result = run_module(mutmut, copy_repo(copy), module, MODULES[module], args.jobs)
        result["seconds"] = round(time.monotonic() - started)
        results[module] = result
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(
            f"{module}: killed {result['killed']}, survived {result['survived']}, score {result['score']}"
            f" ({result['survived_in_message_text']} survivors only change message text:"
            f" {result['score_without_message_text']} without them)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
