"""A feed record with a version string no scheme can read: the database still updates, the scan says
which record it skipped, and every other finding stands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alpinist.cli.app import main

from .conftest import CORPUS, oci_ref

FEEDS = CORPUS / "advisories" / "feeds"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_unknown_version_string_in_a_feed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mirror = tmp_path / "feeds"
    shutil.copytree(FEEDS, mirror)
    secdb = mirror / "secdb.alpinelinux.org" / "v3.20" / "main.json"
    doc = json.loads(secdb.read_text())
    musl = next(p for p in doc["packages"] if p["pkg"]["name"] == "musl")
    # the real record says CVE-2025-26519 is fixed in 1.2.5-r1; make that version unreadable
    fixes = musl["pkg"]["secfixes"]
    fixes["1.2.5-r1!!"] = fixes.pop("1.2.5-r1")
    secdb.write_text(json.dumps(doc))
    db = tmp_path / "advisories.db"

    code, _, err = run(["db", "update", "--db", str(db), "--mirror", str(mirror)], capsys)
    assert code == 0, err

    code, out, err = run(["scan", oci_ref("alpine:3.20.3"), "--db", str(db), "-f", "json"], capsys)
    assert code == 0
    assert "1.2.5-r1!!" in err and "CVE-2025-26519" in err  # the skipped record is named
    findings = {(f["id"], f["package"]["name"]) for f in json.loads(out)["findings"]}
    assert ("CVE-2025-26519", "musl") not in findings
    # musl's other fixes (1.2.5-r2, 1.2.5-r3 > installed 1.2.5-r0) are still reported
    assert {("CVE-2026-6042", "musl"), ("CVE-2026-40200", "musl")} <= findings
