# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""``scan sbom:FILE`` and ``rescan DIR``: stored SBOMs re-matched against the corpus database.

Real parts only: the corpus images' inventories (``build_inventory``), the SBOMs alpinist writes of them
(the report functions ``sbom -f json|cyclonedx|spdx`` uses), syft's and trivy's SBOMs of the same images from
``corpus/expected/<tag>/``, and the database built from the corpus feeds by the real update code
(``scan_db``).

alpinist's own three formats must give exactly the findings of the image. The peers' SBOMs must too, except
for the differences named in ``PEER_DIFFERENCES`` (each with its reason).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from alpinist.advisories.store import Store
from alpinist.cli.app import main
from alpinist.errors import SbomError
from alpinist.inventory.sbom_import import read_sbom, sbom_from_data
from alpinist.models import Inventory
from alpinist.reports.sbom.cyclonedx import render_cyclonedx
from alpinist.reports.sbom.json import render_json
from alpinist.reports.sbom.spdx import render_spdx
from alpinist.scan.matching import match
from alpinist.scan.model import Finding
from tests.conftest import CORPUS, oci_ref
from tests.scan_fixtures import SCANNED_TAGS, copy_db, inventories, scan_db  # noqa: F401  (fixtures)

EXPECTED = CORPUS / "expected"
WRITERS = {
    "json": lambda inv: render_json(inv),
    "cyclonedx": lambda inv: render_cyclonedx(
        inv, serial_number=uuid.UUID(int=1), timestamp=datetime(2025, 1, 1)
    ),
    "spdx": lambda inv: render_spdx(inv),
}
PEER_FILES = ("syft.cdx.json", "syft.json", "trivy.cdx.json")

Key = tuple[str, str, str, str, str, str, str]


def key(f: Finding, *, normalize: bool = False) -> Key:
    p = f.package
    name = canonicalize_name(p.name) if normalize and p.type == "python" else p.name
    return (f.id, name, p.type, p.version, f.fixed_version or "", f.status, f.severity)


def keys(findings: tuple[Finding, ...], *, normalize: bool = False) -> list[Key]:
    return sorted(key(f, normalize=normalize) for f in findings)


@pytest.fixture(scope="module")
def store(scan_db: Path) -> Any:
    with Store.open(scan_db) as s:
        yield s


# ---------------------------------------------------------------------------------- alpinist's own SBOMs


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("tag", SCANNED_TAGS)
def test_own_sbom_gives_exactly_the_image_findings(
    tmp_path: Path, inventories: dict[str, Inventory], store: Store, tag: str, fmt: str
) -> None:
    inv = inventories[tag]
    path = tmp_path / f"sbom.{fmt}.json"
    path.write_text(WRITERS[fmt](inv), encoding="utf-8")
    imported = read_sbom(path)
    assert imported.producer == "alpinist"
    assert imported.warnings == ()
    assert imported.inventory.os == inv.os or fmt == "spdx"  # SPDX keeps id and version, not the codename
    direct = match(inv, store).findings
    again = match(imported.inventory, store).findings
    assert keys(again) == keys(direct)
    # where each finding is (the locations; CycloneDX properties come back sorted) and the notes too
    assert sorted((f.id, sorted(f.package.locations), f.notes) for f in again) == sorted(
        (f.id, sorted(f.package.locations), f.notes) for f in direct
    )


# ---------------------------------------------------------------------------------- peers' SBOMs

# (tag, file) -> (findings of the image missing from the SBOM's, why); none of the peers adds a finding
PEER_DIFFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("python-app:alpine", "trivy.cdx.json"): (
        "binary",
        "trivy does not report the unpackaged CPython 3.11.2 in /usr/local, so its NVD/CNA findings are absent",
    ),
}


@pytest.mark.parametrize("peer", PEER_FILES)
@pytest.mark.parametrize("tag", SCANNED_TAGS)
def test_peer_sbom_findings_match_or_differ_as_named(
    inventories: dict[str, Inventory], store: Store, tag: str, peer: str
) -> None:
    imported = read_sbom(EXPECTED / tag.replace(":", "_") / peer)
    assert imported.producer == peer.split(".")[0]
    # syft lower-cases Python names (jinja2 for Jinja2): the same distribution after PEP 503 normalization
    direct = keys(match(inventories[tag], store).findings, normalize=True)
    again = keys(match(imported.inventory, store).findings, normalize=True)
    assert not set(again) - set(direct), "a peer's SBOM gave a finding the image does not have"
    missing = [k for k in direct if k not in again]
    if (tag, peer) in PEER_DIFFERENCES:
        missing_type, _why = PEER_DIFFERENCES[(tag, peer)]
        assert missing and {k[2] for k in missing} == {missing_type}
        assert sorted(k for k in direct if k[2] != missing_type) == again
    else:
        assert missing == []


def test_syft_cyclonedx_says_which_python_packages_it_took_as_dpkg_owned(store: Store) -> None:
    """syft's CycloneDX does not say that pip/setuptools/wheel in /usr/lib/python3/dist-packages belong to
    dpkg (trivy leaves them out; syft's native JSON lists the dpkg files, so ownership is exact there): the
    path rule is applied and said in a warning; else they would be matched against PyPI as well."""
    cdx = read_sbom(EXPECTED / "python-app_debian" / "syft.cdx.json")
    owned = {p.name for p in cdx.inventory.packages if p.type == "python" and p.owner}
    assert owned == {"pip", "setuptools", "wheel"}
    assert any("taken as owned by dpkg" in w and "pip 23.0.1" in w for w in cdx.warnings)
    native = read_sbom(EXPECTED / "python-app_debian" / "syft.json")
    assert {p.owner for p in native.inventory.packages if p.type == "python" and p.owner} == {
        "deb:python3-pip",
        "deb:python3-setuptools",
        "deb:python3-wheel",
    }
    assert not any("taken as owned" in w for w in native.warnings)


def test_trivy_debian_source_versions_are_rebuilt_with_epoch() -> None:
    imported = read_sbom(EXPECTED / "python-app_debian" / "trivy.cdx.json")
    login = next(p for p in imported.inventory.packages if p.name == "login")
    assert (login.origin, login.source_version, login.version) == (
        "shadow",
        "1:4.13+dfsg1-1+deb12u2",
        login.version,
    )
    assert imported.inventory.os is not None and imported.inventory.os.id == "debian"


def _strip(doc: dict[str, Any], *, os_component: bool) -> dict[str, Any]:
    """A CycloneDX document reduced to purls and versions: what a minimal producer writes."""
    comps = []
    for c in doc["components"]:
        if c["type"] == "operating-system":
            if os_component:
                comps.append({"type": c["type"], "name": c["name"], "version": c["version"]})
            continue
        comps.append({k: c[k] for k in ("type", "name", "version", "purl") if k in c})
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": comps}


def test_what_a_minimal_sbom_lacks_is_said_in_warnings(store: Store) -> None:
    doc = json.loads((EXPECTED / "python-app_debian" / "trivy.cdx.json").read_text())
    minimal = sbom_from_data(_strip(doc, os_component=True))
    text = " | ".join(minimal.warnings)
    assert "without their source package" in text  # trivy's purls carry no upstream
    assert "without the layer" in text
    # no OS entry: the OS comes from the purls' distro qualifier, and that is said too
    no_os = sbom_from_data(_strip(doc, os_component=False))
    assert no_os.inventory.os is not None and (no_os.inventory.os.id, no_os.inventory.os.version) == (
        "debian",
        "12.15",
    )
    assert any("read from the packages' purl distro" in w for w in no_os.warnings)
    # nothing at all about the OS: its packages cannot be matched, and both stages say so
    bare = {
        "bomFormat": "CycloneDX",
        "components": [
            {
                "type": "library",
                "name": "bash",
                "version": "5.2.15-2+b13",
                "purl": "pkg:deb/debian/bash@5.2.15-2%2Bb13",
            }
        ],
    }
    unknown = sbom_from_data(bare)
    assert unknown.inventory.os is None
    assert any("names no operating system release" in w for w in unknown.warnings)
    assert any("not matched" in w for w in match(unknown.inventory, store).warnings)


def test_unknown_format_names_the_accepted_ones(tmp_path: Path) -> None:
    for content in ("not json", json.dumps({"hello": "world"}), json.dumps({"spdxVersion": "SPDX-3.0"})):
        path = tmp_path / "x.json"
        path.write_text(content)
        with pytest.raises(
            SbomError, match=r"accepted formats: alpinist JSON.*CycloneDX.*SPDX 2.3.*syft JSON"
        ):
            read_sbom(path)


# ---------------------------------------------------------------------------------- the CLI


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def test_scan_sbom_prefix_gives_the_image_scan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    sbom = tmp_path / "app.cdx.json"
    sbom.write_text(WRITERS["cyclonedx"](inventories["python-app:debian"]))
    code, out, err = run(
        capsys, "scan", f"sbom:{sbom}", "--db", str(scan_db), "-f", "json", "--fail-on", "critical"
    )
    assert code == 2, err
    code_img, out_img, _ = run(
        capsys, "scan", oci_ref("python-app:debian"), "--db", str(scan_db), "-f", "json"
    )
    assert code_img == 0
    found = [
        (f["id"], f["package"]["name"], f["installed_version"], f["severity"])
        for f in json.loads(out)["findings"]
    ]
    expected = [
        (f["id"], f["package"]["name"], f["installed_version"], f["severity"])
        for f in json.loads(out_img)["findings"]
    ]
    assert found == expected
    code, _, err = run(capsys, "scan", f"sbom:{tmp_path / 'missing.json'}", "--db", str(scan_db))
    assert code == 1 and "cannot read" in err


def _musl_version(path: Path, version: str) -> None:
    doc = json.loads(path.read_text())
    for p in doc["packages"]:
        if p["name"] in ("musl", "musl-utils"):
            p["version"] = version
    path.write_text(json.dumps(doc))


def test_rescan_gained_lost_unreadable_and_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    sboms = tmp_path / "sboms"
    sboms.mkdir()
    (sboms / "alpine.json").write_text(render_json(inventories["alpine:3.20.3"]))
    (sboms / "app.spdx.json").write_text(render_spdx(inventories["python-app:alpine"]))
    db = copy_db(scan_db, tmp_path)

    def rescan(*args: str) -> tuple[int, dict[str, Any], str]:
        code, out, err = run(capsys, "rescan", str(sboms), "--db", str(db), "-f", "json", *args)
        return code, json.loads(out), err

    # first rescan: every finding is new
    code, doc, err = rescan("--fail-on", "high")
    assert code == 2, err
    assert [i["first"] for i in doc["images"]] == [True, True]
    assert (sboms / ".alpinist-rescan.json").exists()
    # nothing changed
    code, doc, _ = rescan("--fail-on", "high")
    assert code == 0 and doc["summary"]["changed"] == 0 and doc["summary"]["gained"] == 0

    # the SBOM's musl moves to a fixed version: its findings are lost, the other image is unchanged
    _musl_version(sboms / "alpine.json", "1.2.5-r99")
    code, doc, _ = rescan("--fail-on", "high")
    alpine = next(i for i in doc["images"] if i["file"] == "alpine.json")
    assert (
        code == 0
        and alpine["gained"] == []
        and {r["package"] for r in alpine["lost"]} == {"musl", "musl-utils"}
    )
    assert next(i for i in doc["images"] if i["file"] == "app.spdx.json")["lost"] == []

    # the database loses one advisory, then gets it back: lost, then gained (and gated)
    conn = sqlite3.connect(db)
    saved = conn.execute("SELECT * FROM affected WHERE vuln_id = 'CVE-2025-9230'").fetchall()
    assert saved
    conn.execute("DELETE FROM affected WHERE vuln_id = 'CVE-2025-9230'")
    conn.commit()
    code, doc, _ = rescan()
    assert code == 0 and {r["id"] for i in doc["images"] for r in i["lost"]} == {"CVE-2025-9230"}
    conn.executemany(f"INSERT INTO affected VALUES ({','.join('?' * len(saved[0]))})", saved)
    conn.commit()
    conn.close()
    code, doc, _ = rescan("--fail-on", "high")
    assert {r["id"] for i in doc["images"] for r in i["gained"]} == {"CVE-2025-9230"}
    assert code == 2

    # one unreadable SBOM: reported, the others rescanned, exit 1
    (sboms / "broken.json").write_text("{not json")
    code, doc, err = rescan()
    assert code == 1 and "broken.json" in err
    broken = next(i for i in doc["images"] if i["file"] == "broken.json")
    assert broken["error"] and "not JSON" in broken["error"]
    assert sum(1 for i in doc["images"] if i["error"] is None) == 2
    # the table names it too
    code, out, _ = run(capsys, "rescan", str(sboms), "--db", str(db))
    assert code == 1 and "broken.json: unreadable" in out


def test_rescan_state_written_at_end_with_iso_time(
    tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    from alpinist.scan.rescan import STATE_FILE, rescan_directory

    (tmp_path / "a.json").write_text(render_json(inventories["alpine:3.20.3"]))
    with Store.open(scan_db) as s:
        result = rescan_directory(tmp_path, s, now=datetime(2025, 1, 2, tzinfo=UTC))
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["schema"] == "alpinist-rescan/1" and state["rescanned_at"] == "2025-01-02T00:00:00Z"
    assert len(state["images"]["a.json"]["findings"]) == result.images[0].findings
    shutil.rmtree(tmp_path / "none", ignore_errors=True)


def test_rescan_memo_gives_what_match_of_each_file_gives(
    tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    """rescan reads alpinist JSON with a memo per (OS, package entry) and matches new packages alone: each
    image's findings, gained and lost are those of match() over the whole file, and an unchanged state line
    gains and loses nothing."""
    import dataclasses

    from alpinist.scan.rescan import _diff, finding_ref, load_state, rescan_directory

    sboms = tmp_path / "sboms"
    sboms.mkdir()
    for n, (_tag, inv) in enumerate(sorted(inventories.items())):
        (sboms / f"{n}-a.json").write_text(render_json(inv))
        # the same packages in another order, one dropped, one at another version
        moved = [
            dataclasses.replace(p, version=p.version + "1") if i == 0 else p
            for i, p in enumerate(inv.packages)
        ]
        changed = dataclasses.replace(inv, packages=tuple(reversed(moved[:-1])))
        (sboms / f"{n}-b.json").write_text(render_json(changed))
    (sboms / "z.spdx.json").write_text(render_spdx(inventories["python-app:alpine"]))

    def expected(path: Path, before: list[Any]) -> tuple[int, tuple[Any, ...], tuple[Any, ...]]:
        with Store.open(scan_db) as store:
            refs = [finding_ref(f) for f in match(read_sbom(path).inventory, store).findings]
        return (len(refs), *_diff(refs, before))

    with Store.open(scan_db) as store:
        first = rescan_directory(sboms, store)
    for image in first.images:
        assert (image.findings, image.gained, image.lost) == expected(sboms / image.file, [])
    state = load_state(sboms)
    with Store.open(scan_db) as store:
        second = rescan_directory(sboms, store)
    assert all(not i.gained and not i.lost and i.findings == len(state[i.file]) for i in second.images)
    # a changed file: only its line is parsed again, and the diff is match()'s
    inv = inventories["alpine:3.20.3"]
    name = next(f"{n}-a.json" for n, tag in enumerate(sorted(inventories)) if tag == "alpine:3.20.3")
    (sboms / name).write_text(render_json(dataclasses.replace(inv, packages=inv.packages[::2])))
    with Store.open(scan_db) as store:
        third = rescan_directory(sboms, store)
    changed = next(i for i in third.images if i.file == name)
    assert changed.lost and (changed.findings, changed.gained, changed.lost) == expected(
        sboms / name, state[name]
    )


def test_rescan_with_workers_gives_what_one_process_gives(
    tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    import dataclasses

    from alpinist.scan import rescan

    sboms = tmp_path / "sboms"
    sboms.mkdir()
    tags = sorted(inventories)
    for n in range(2 * rescan._MIN_PER_WORKER + 3):
        inv = inventories[tags[n % len(tags)]]
        (sboms / f"{n:03d}.json").write_text(
            render_json(dataclasses.replace(inv, packages=inv.packages[n % 7 :]))
        )
    (sboms / "broken.json").write_text("{")
    with Store.open(scan_db) as store:
        one = rescan.rescan_directory(sboms, store, save=False)
        two = rescan.rescan_directory(sboms, store, workers=2)
        state = (sboms / rescan.STATE_FILE).read_text()
        again = rescan.rescan_directory(sboms, store, workers=2)
    assert one.images == two.images and one.failed == two.failed
    assert all(not i.gained and not i.lost for i in again.images)
    assert (sboms / rescan.STATE_FILE).read_text().split("\n", 1)[1] == state.split("\n", 1)[1]


def test_rescan_exit_code_as_trivy_users_expect(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scan_db: Path, inventories: dict[str, Inventory]
) -> None:
    """``--exit-code N`` (Trivy's, as scan has it): N instead of 2 when the gate fails; without
    ``--fail-on`` any new finding fails; nothing new: 0."""
    sboms = tmp_path / "sboms"
    sboms.mkdir()
    (sboms / "alpine.json").write_text(render_json(inventories["alpine:3.20.3"]))
    db = copy_db(scan_db, tmp_path)

    def rescan(*args: str) -> int:
        code, _, _ = run(capsys, "rescan", str(sboms), "--db", str(db), "-f", "json", *args)
        return code

    assert rescan("--exit-code", "5") == 5  # first rescan: every finding is new, no --fail-on needed
    assert rescan("--exit-code", "5") == 0  # nothing new
    # the advisory lost, then back: a new finding (at or above high, as the test above shows)
    conn = sqlite3.connect(db)
    saved = conn.execute("SELECT * FROM affected WHERE vuln_id = 'CVE-2025-9230'").fetchall()
    conn.execute("DELETE FROM affected WHERE vuln_id = 'CVE-2025-9230'")
    conn.commit()
    assert rescan("--exit-code", "5") == 0  # only lost
    conn.executemany(f"INSERT INTO affected VALUES ({','.join('?' * len(saved[0]))})", saved)
    conn.commit()
    conn.close()
    state = (sboms / ".alpinist-rescan.json").read_bytes()
    assert rescan("--exit-code", "5", "--fail-on", "high") == 5
    (sboms / ".alpinist-rescan.json").write_bytes(state)  # the same rescan again, without a threshold
    assert rescan("--exit-code", "5") == 5
    assert rescan("--exit-code", "5") == 0
