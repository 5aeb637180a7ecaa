# ruff: noqa: F811  (the session fixtures imported from tests.scan_fixtures are parameters here)
"""``compare`` on the corpus: python-app:debian (before), python-app:alpine (after), alpine:3.20.3 (a third,
reference image), against a database built once per session from the corpus feeds by the real update code on
127.0.0.1 (``tests/scan_fixtures.py``).

Expected values come from the corpus, not from alpinist:

- findings: the hand-written ``tests/expected_findings/<tag>.tsv`` (every finding of the three images, derived
  from the advisory records) give the counts per severity, the distinct ids, the affected packages and the
  CVE diff (ids of one file minus ids of the other: python-app:alpine against python-app:debian 81 removed, 43
  added, CVE-2023-27043, CVE-2024-7592 and CVE-2025-9230 in both; alpine:3.20.3 against python-app:debian 83
  removed, 26 added, CVE-2025-9230 in both);
- the grouping of the diff: a Debian binary package's source from ``expected/<tag>/packages.tsv``
  (``source_name``), an Alpine package's ``origin``, a Python distribution's PEP 503 name;
- sizes, layers, user, healthcheck: ``expected/<tag>/sizes.tsv``, ``layers.tsv``, ``config.json``;
- OS: ``expected/<tag>/os-release`` and ``distro-version``;
- the consistency check: each column against ``scan_inventory`` of that image alone.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from rich.console import Console

from alpinist.advisories.store import Store
from alpinist.compare import Comparison, build_comparison, compare_images
from alpinist.models import Inventory
from alpinist.reports.compare.html import cve_chart, layer_chart, render_compare_html
from alpinist.reports.compare.json import SCHEMA_ID, comparison_to_dict, render_compare_json
from alpinist.reports.compare.markdown import render_compare_markdown
from alpinist.reports.compare.table import render_compare_table
from alpinist.scan.model import IgnoreRule, Policy, ScanResult
from alpinist.scan.scanning import scan_inventory
from tests.conftest import OCI_LAYOUT, expected_dir, oci_ref, read_tsv
from tests.scan_fixtures import inventories, scan_db  # noqa: F401  (fixtures)

TAGS = ("python-app:debian", "python-app:alpine", "alpine:3.20.3")
LABELS = ("before", "after", "java")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
FINDINGS_DIR = Path(__file__).parent / "expected_findings"

Row = dict[str, str]


def expected_findings(tag: str) -> list[Row]:
    """Rows of the hand-written findings file: id, package, type, installed, fixed, status, severity."""
    lines = [
        ln
        for ln in (FINDINGS_DIR / f"{tag.replace(':', '_')}.tsv").read_text(encoding="utf-8").splitlines()
        if ln and not ln.startswith("#")
    ]
    header = lines[0].split("\t")
    return [dict(zip(header, ln.split("\t"), strict=True)) for ln in lines[1:]]


def expected_config(tag: str) -> dict[str, Any]:
    return json.loads((expected_dir(tag) / "config.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def os_release(tag: str) -> dict[str, str]:
    out = {}
    for line in (expected_dir(tag) / "os-release").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value.strip('"')
    return out


@pytest.fixture(scope="module")
def comparison(scan_db: Path) -> Comparison:
    with Store.open(scan_db) as store:
        return compare_images(
            [oci_ref(t) for t in TAGS],
            store,
            labels=LABELS,
            bases=[oci_ref("debian:12-slim")],
            use_cache=False,
        )


@pytest.fixture(scope="module")
def alone(scan_db: Path, inventories: dict[str, Inventory]) -> dict[str, ScanResult]:
    with Store.open(scan_db) as store:
        return {tag: scan_inventory(inventories[tag], store) for tag in TAGS}


# ---------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("index", range(3))
def test_each_column_is_what_scanning_the_image_alone_gives(
    comparison: Comparison, alone: dict[str, ScanResult], index: int
) -> None:
    col = comparison.columns[index]
    single = alone[TAGS[index]]
    assert col.result is not None and col.error is None
    assert col.result.summary == single.summary
    key = lambda f: (f.id, f.package.name, f.package.version, f.severity, f.status)  # noqa: E731
    assert Counter(map(key, col.result.findings)) == Counter(map(key, single.findings))
    values = {m.key: m.values[index] for m in comparison.metrics}
    summary = single.summary
    assert values["vulnerabilities"] == summary.vulnerabilities
    assert values["unique_ids"] == summary.unique_ids
    assert values["vulnerable_packages"] == summary.packages
    assert values["packages"] == len(single.inventory.packages)
    for sev in SEVERITIES:
        assert values[f"severity.{sev.lower()}"] == summary.count(sev)


@pytest.mark.parametrize("index", range(3))
def test_counts_match_the_hand_written_findings(comparison: Comparison, index: int) -> None:
    rows = expected_findings(TAGS[index])
    values = {m.key: m.values[index] for m in comparison.metrics}
    by_severity = Counter(r["severity"] for r in rows)
    assert values["vulnerabilities"] == len(rows)
    assert values["unique_ids"] == len({r["id"] for r in rows})
    assert values["vulnerable_packages"] == len({(r["package"], r["type"], r["installed"]) for r in rows})
    for sev in SEVERITIES:
        assert values[f"severity.{sev.lower()}"] == by_severity.get(sev, 0), sev


def test_headline_numbers_written_by_hand(comparison: Comparison) -> None:
    """python-app:debian: 158 findings, 84 ids, 61 packages (tests/test_findings_exact.py's headline);
    python-app:alpine: the 56 apk rows of alpine:3.20.3 and 19 CPython rows (counted from the TSVs)."""
    assert comparison.metric("vulnerabilities").values == (158, 75, 56)
    assert comparison.metric("unique_ids").values == (84, 46, 27)
    assert comparison.metric("severity.critical").values == (6, 4, 2)
    assert comparison.metric("severity.high").values == (25, 31, 22)
    assert comparison.metric("severity.unknown").values == (12, 8, 8)


@pytest.mark.parametrize("index", range(3))
def test_sizes_layers_and_config_facts(comparison: Comparison, index: int) -> None:
    tag = TAGS[index]
    (sizes,) = read_tsv(expected_dir(tag) / "sizes.tsv")
    layers = read_tsv(expected_dir(tag) / "layers.tsv")
    config = expected_config(tag)
    values = {m.key: m.values[index] for m in comparison.metrics}
    texts = {m.key: m.texts[index] for m in comparison.metrics}
    assert values["size.compressed"] == int(sizes["compressed_layers_bytes"])
    assert values["size.uncompressed"] == int(sizes["uncompressed_layers_bytes"])
    assert values["layers"] == int(sizes["layers"])
    col = comparison.columns[index]
    assert [(layer.diff_id, layer.compressed_size, layer.uncompressed_size) for layer in col.layers] == [
        (row["diff_id"], int(row["compressed_size"]), int(row["uncompressed_size"])) for row in layers
    ]
    assert values["user"] == config["user"]
    osr = os_release(tag)
    assert texts["os"] == osr["PRETTY_NAME"]
    distro_version = (expected_dir(tag) / "distro-version").read_text(encoding="utf-8").strip()
    assert texts["os_version"] == distro_version
    assert comparison.columns[index].short_digest == config["manifest_digest"][:19]


def test_user_healthcheck_shell_package_manager(comparison: Comparison) -> None:
    # config.json: appuser / nonroot:nonroot / "" (root); healthchecks: curl / python3 -c urllib / none
    assert comparison.metric("user").texts == ("appuser", "nonroot:nonroot", "root (default)")
    before, after, java = (c.healthcheck for c in comparison.columns)
    assert (before.tool, before.extra_tool, before.form, before.programs) == (
        "curl",
        True,
        "shell",
        ("curl",),
    )
    assert before.command == expected_config("python-app:debian")["healthcheck"]["Test"][1]
    # the image runs python3 (CMD ["python3", "/app/app.py"]): its python healthcheck needs nothing extra
    assert (after.tool, after.extra_tool, after.programs) == ("python", False, ("python3",))
    assert not java.present and java.tool == "none"
    assert comparison.metric("healthcheck").texts == ("curl (shell form)", "python (shell form)", "none")
    # every image has /bin/sh; Debian has apt, apt-get, dpkg and the venv-less pip/pip3 of python3-pip
    assert comparison.metric("shell").texts == ("/bin/sh", "/bin/sh", "/bin/sh")
    assert comparison.metric("package_managers").texts == ("apt, apt-get, dpkg, pip, pip3", "apk", "apk")


def test_base_images(comparison: Comparison) -> None:
    """debian:12-slim (given with --base) is the bottom layer of python-app:debian; alpine:3.20.3, one of the
    compared images, is the bottom layer of python-app:alpine (layers.tsv: the same diff_id)."""
    debian_slim = read_tsv(expected_dir("debian:12-slim") / "layers.tsv")
    assert (
        read_tsv(expected_dir("python-app:debian") / "layers.tsv")[0]["diff_id"] == debian_slim[0]["diff_id"]
    )
    before, after, java = (c.base for c in comparison.columns)
    assert before is not None and (before.name, before.source, before.layers) == (
        "debian:12-slim",
        "layers",
        1,
    )
    assert (
        before.digest
        == json.loads((expected_dir("debian:12-slim") / "config.json").read_text())["manifest_digest"]
    )
    assert after is not None and (after.name, after.source, after.layers) == ("alpine:3.20.3", "layers", 1)
    assert java is None
    assert comparison.metric("base").texts == (
        "debian:12-slim (1 shared layer)",
        "alpine:3.20.3 (1 shared layer)",
        "not detected",
    )


# ---------------------------------------------------------------------------------------------- verdicts


def test_verdicts(comparison: Comparison) -> None:
    def best(key: str) -> tuple[str, ...]:
        return tuple(comparison.columns[i].label for i in comparison.metric(key).best)

    assert best("vulnerabilities") == ("java",)  # 158 / 75 / 56
    assert best("severity.critical") == ("java",)  # 6 / 4 / 2
    assert best("severity.high") == ("java",)  # 25 / 31 / 22: CPython's findings make after worse than before
    assert best("severity.unknown") == ("after", "java")  # 12 / 8 / 8: ids that no source scores
    assert best("packages") == ("java",)  # 143 / 21 / 14
    assert best("size.compressed") == ("java",)
    assert best("size.uncompressed") == ("java",)
    assert best("user") == ("before", "after")  # java runs as root
    assert best("healthcheck") == ("after",)  # no extra tool < curl < none
    # /bin/sh everywhere: the same; apt, apt-get, dpkg, pip, pip3 / apk / apk: one each, ranked alike
    # but not the same (issue 14: the table said "=" for them)
    assert comparison.metric("shell").tie and not comparison.metric("shell").equivalent
    assert comparison.metric("package_managers").equivalent and not comparison.metric("package_managers").tie
    for informational in ("os", "os_version", "base", "layers"):
        m = comparison.metric(informational)
        assert not m.judged and m.best == () and not m.tie and not m.equivalent
    assert comparison.verdict_text(comparison.metric("shell")) == "="
    assert comparison.verdict_text(comparison.metric("package_managers")) == "≈"
    assert comparison.verdict_text(comparison.metric("user")) == "before, after"
    assert comparison.verdict_text(comparison.metric("layers")) == ""


def test_tallies(comparison: Comparison) -> None:
    """after vs before, line by line: better on every count but HIGH (31 > 25: the CPython of /usr/local)."""
    after_better = {
        "vulnerabilities", "severity.critical", "severity.unknown", "severity.medium", "severity.low",
        "severity.negligible", "unique_ids", "vulnerable_packages", "packages", "size.compressed",
        "size.uncompressed", "healthcheck",
    }  # fmt: skip
    after_worse = {"severity.high"}
    same = {"shell"}  # /bin/sh both
    # appuser vs nonroot:nonroot (non-root both), apt… vs apk (a package manager both): not the same
    equivalent = {"user", "package_managers"}
    tallies = {comparison.columns[t.image].label: t for t in comparison.tallies()}
    after = tallies["after"]
    assert (after.better, after.worse, after.same, after.equivalent) == (
        len(after_better),
        len(after_worse),
        len(same),
        len(equivalent),
    )
    assert {m.key for m in comparison.metrics if m.compare(1, 0) == -1} == after_better
    # java: better on the 12 counts and sizes; root (worse), no healthcheck (worse); the same shell, and a
    # package manager (apk against apt…): equivalent
    java = tallies["java"]
    assert (java.better, java.worse, java.same, java.equivalent) == (12, 2, 1, 1)


# ---------------------------------------------------------------------------------------------- CVE diff


def _advisory_package(tag: str) -> dict[tuple[str, str], str]:
    """(package name, type) -> the package advisories are keyed by, from the corpus' packages.tsv."""
    out = {}
    for row in read_tsv(expected_dir(tag) / "packages.tsv"):
        if "source_name" in row:
            out[(row["name"], "deb")] = row["source_name"] or row["name"]
        else:
            out[(row["name"], "apk")] = row["origin"] or row["name"]
    return out


def _expected_groups(tag: str, ids: set[str]) -> dict[tuple[str, str], set[str]]:
    source = _advisory_package(tag)
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in expected_findings(tag):
        if r["id"] not in ids:
            continue
        if r["type"] == "python":
            key = str(canonicalize_name(r["package"]))
        elif r["type"] == "binary":  # CPython in /usr/local: its CPE vendor:product
            key = "python:python"
        else:
            key = source[(r["package"], r["type"])]
        groups[(r["type"], key)].add(r["id"])
    return dict(groups)


def test_cve_diff_against_the_first_image(comparison: Comparison) -> None:
    debian_ids = {r["id"] for r in expected_findings("python-app:debian")}
    alpine_ids = {r["id"] for r in expected_findings("python-app:alpine")}
    assert len(comparison.diffs) == 2
    diff = comparison.diffs[0]
    assert (diff.image, diff.against) == (1, 0)
    assert diff.removed_ids == len(debian_ids - alpine_ids) == 81
    assert diff.added_ids == len(alpine_ids - debian_ids) == 43
    # CVE-2025-9230: Debian's and Alpine's openssl; CVE-2023-27043, CVE-2024-7592: Debian's python3.11 and CPython
    assert diff.unchanged == len(debian_ids & alpine_ids) == 3
    removed = {(g.type, g.package): {d.id for d in g.ids} for g in diff.removed}
    added = {(g.type, g.package): {d.id for d in g.ids} for g in diff.added}
    assert removed == _expected_groups("python-app:debian", debian_ids - alpine_ids)
    assert added == _expected_groups("python-app:alpine", alpine_ids - debian_ids)
    # e.g. glibc: libc6 and libc-bin (source glibc), both 2.36-9+deb12u14 in packages.tsv
    glibc = next(g for g in diff.removed if g.package == "glibc")
    packages = {r["name"]: r["version"] for r in read_tsv(expected_dir("python-app:debian") / "packages.tsv")}
    assert glibc.installed == (f"libc-bin {packages['libc-bin']}", f"libc6 {packages['libc6']}")
    # severities in a group: worst first
    for group in (*diff.removed, *diff.added):
        order = [SEVERITIES.index(d.severity) for d in group.ids]
        assert order == sorted(order)
    # the reference image: the same apk findings as python-app:alpine, without CPython
    java_ids = {r["id"] for r in expected_findings("alpine:3.20.3")}
    java = comparison.diffs[1]
    assert (java.image, java.removed_ids, java.added_ids, java.unchanged) == (2, 83, 26, 1)
    assert {(g.type, g.package): {d.id for d in g.ids} for g in java.removed} == _expected_groups(
        "python-app:debian", debian_ids - java_ids
    )
    assert {(g.type, g.package) for g in java.added} == {("apk", o) for o in ("busybox", "musl", "openssl")}


def test_ignore_file_policy_applies_to_every_column(scan_db: Path) -> None:
    """An ignore rule for CVE-2025-9230 (libssl3 and libcrypto3 in both Alpine images; Debian's openssl and
    libssl3) takes its rows out of every column, as ``scan --ignore-file`` would."""
    rows = {tag: [r for r in expected_findings(tag) if r["id"] == "CVE-2025-9230"] for tag in TAGS[:2]}
    assert all(rows.values())
    policy = Policy(ignore_rules=(IgnoreRule("CVE-2025-9230", "test"),))
    with Store.open(scan_db) as store:
        ignored = compare_images([oci_ref(t) for t in TAGS[:2]], store, policy)
    assert ignored.metric("vulnerabilities").values == tuple(
        len(expected_findings(t)) - len(rows[t]) for t in TAGS[:2]
    )
    assert [c.summary.suppressed for c in ignored.columns if c.summary] == [len(rows[t]) for t in TAGS[:2]]
    assert ignored.diffs[0].unchanged == 2  # CVE-2023-27043 and CVE-2024-7592 (python3.11 and CPython) remain
    assert ignored.labels == ("python-app:debian", "python-app:alpine")  # default labels: the names


# ---------------------------------------------------------------------------------------------- formats


def test_markdown_shape(comparison: Comparison) -> None:
    text = render_compare_markdown(comparison)
    lines = text.splitlines()
    assert lines[0] == "### alpinist compare: before · after · java"
    table = [ln for ln in lines if ln.startswith("|")]
    head, sep, *body = table[: 3 + len(comparison.metrics)]
    assert head == "|  | **before** | **after** | **java** | Better |"
    assert sep == "|---|---|---|---|---|"
    rows = {}
    for row in [head, *body]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert len(cells) == 5, row
        rows[cells[0]] = cells[1:]
    assert rows["Image"] == ["`python-app:debian`", "`python-app:alpine`", "`alpine:3.20.3`", ""]
    assert rows["**Vulnerabilities**"] == ["158", "75 (-83)", "56 (-102)", "java"]
    assert rows["Critical"] == ["6", "4 (-2)", "2 (-4)", "java"]
    assert rows["High"] == ["25", "31 (+6)", "22 (-3)", "java"]
    assert rows["Compressed size"] == ["144.1 MB", "14.6 MB (-90%)", "3.5 MB (-98%)", "java"]
    assert rows["User"] == ["appuser", "nonroot:nonroot", "root (default)", "before, after"]
    assert rows["Healthcheck"] == ["curl (shell form)", "python (shell form)", "none", "after"]
    assert rows["Shell"][-1] == "="
    # apt… vs apk vs apk: not the same, ranked alike
    assert "| Package manager | apt, apt-get, dpkg, pip, pip3 | apk | apk | ≈ |" in lines
    assert "after vs before: better on 12 lines, worse on 1, the same on 1, equivalent on 2 \\" in lines
    # one collapsible diff per image after the first, ids linked to their advisory
    assert text.count("<details><summary>CVE diff:") == 2
    assert "CVE diff: after vs before: removes 81 ids in 32 packages, adds 43 in 4, keeps 3" in text
    assert "CVE diff: java vs before: removes 83 ids in 33 packages, adds 26 in 3, keeps 1" in text
    assert "[CVE-2025-4802](https://nvd.nist.gov/vuln/detail/CVE-2025-4802) (CRITICAL)" in text
    assert len(text) < 65_536


def test_markdown_cuts_the_diff_before_the_comment_limit(comparison: Comparison) -> None:
    text = render_compare_markdown(comparison, max_chars=8000)
    assert len(text) <= 8000
    assert re.search(r"… \d+ package rows of the CVE diff not shown here", text)
    assert "| **Vulnerabilities** | 158 |" in text  # the table itself is never cut


TOP_KEYS = {"schema", "tool", "images", "metrics", "tallies", "diff", "errors", "warnings"}
IMAGE_KEYS = {
    "label", "reference", "error", "name", "manifest_digest", "config_digest", "platform", "os", "base",
    "vulnerabilities", "unique_ids", "by_severity", "vulnerable_packages", "packages", "suppressed", "filtered",
    "size", "layers", "user", "healthcheck", "shell", "package_managers", "warnings",
}  # fmt: skip
METRIC_KEYS = {"key", "label", "kind", "values", "texts", "verdict", "best", "tie", "equivalent", "rule"}
DIFF_KEYS = {"image", "against", "removed_ids", "added_ids", "unchanged_ids", "removed", "added"}
GROUP_KEYS = {"package", "type", "installed", "ids"}
HEALTH_KEYS = {"present", "command", "form", "programs", "tool", "extra_tool", "needs_shell"}


def test_json_fields(comparison: Comparison) -> None:
    text = render_compare_json(comparison)
    assert text == render_compare_json(comparison)  # no timestamp: the same comparison, the same bytes
    doc = json.loads(text)
    assert set(doc) == TOP_KEYS
    assert doc["schema"] == SCHEMA_ID == "alpinist-compare/1"
    assert [i["label"] for i in doc["images"]] == list(LABELS)
    for image, tag in zip(doc["images"], TAGS, strict=True):
        assert set(image) == IMAGE_KEYS
        assert image["error"] is None and image["reference"] == oci_ref(tag)
        assert list(image["by_severity"]) == list(SEVERITIES)
        assert set(image["healthcheck"]) == HEALTH_KEYS
        assert set(image["size"]) == {"compressed", "uncompressed"}
        assert set(image["user"]) == {"name", "root"}
        assert all(
            set(layer) == {"index", "digest", "diff_id", "compressed_size", "uncompressed_size", "created_by"}
            for layer in image["layers"]
        )
    before, after, java = doc["images"]
    assert before["vulnerabilities"] == 158 and before["by_severity"]["CRITICAL"] == 6
    assert before["size"] == {"compressed": 144050431, "uncompressed": 385679360}  # sizes.tsv
    assert before["user"] == {"name": "appuser", "root": False} and java["user"] == {"name": "", "root": True}
    assert before["healthcheck"]["tool"] == "curl" and before["healthcheck"]["extra_tool"] is True
    assert before["base"] == {
        "name": "debian:12-slim",
        "digest": expected_config("debian:12-slim")["manifest_digest"],
        "source": "layers",
        "shared_layers": 1,
    }
    assert after["os"]["id"] == "alpine" and after["os"]["version"] == "3.20.3"
    metrics = {m["key"]: m for m in doc["metrics"]}
    for m in doc["metrics"]:
        assert set(m) == METRIC_KEYS and len(m["values"]) == len(m["texts"]) == 3
    assert metrics["vulnerabilities"]["values"] == [158, 75, 56]
    assert metrics["vulnerabilities"]["best"] == ["java"] and metrics["vulnerabilities"]["verdict"]
    assert metrics["shell"]["tie"] is True and metrics["shell"]["best"] == []
    assert metrics["layers"]["verdict"] is False
    assert [set(d) for d in doc["diff"]] == [DIFF_KEYS, DIFF_KEYS]
    first = doc["diff"][0]
    assert (
        first["image"],
        first["against"],
        first["removed_ids"],
        first["added_ids"],
        first["unchanged_ids"],
    ) == (
        "after",
        "before",
        81,
        43,
        3,
    )
    assert all(set(g) == GROUP_KEYS for g in first["removed"] + first["added"])
    assert doc["errors"] == []
    assert doc["tallies"][0] == {
        "image": "after",
        "against": "before",
        "better": 12,
        "worse": 1,
        "same": 1,
        "equivalent": 2,
    }
    assert doc == comparison_to_dict(comparison)


# ---------------------------------------------------------------------------------------------- bad input


def broken_alpine_layout(dest: Path) -> tuple[str, str]:
    """A copy of alpine:3.20.3 alone in an OCI layout, with one byte of its layer changed: (reference, digest)."""
    (layer,) = read_tsv(expected_dir("alpine:3.20.3") / "layers.tsv")
    config = expected_config("alpine:3.20.3")
    manifest_digest = config["manifest_digest"]
    manifest = json.loads((OCI_LAYOUT / "blobs" / "sha256" / manifest_digest[7:]).read_bytes())
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for digest in (manifest_digest, manifest["config"]["digest"], layer["digest"]):
        shutil.copyfile(OCI_LAYOUT / "blobs" / "sha256" / digest[7:], blobs / digest[7:])
    shutil.copyfile(OCI_LAYOUT / "oci-layout", dest / "oci-layout")
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    index["manifests"] = [m for m in index["manifests"] if m["digest"] == manifest_digest]
    (dest / "index.json").write_text(json.dumps(index))
    blob = blobs / layer["digest"][7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    return f"oci:{dest}:alpine:3.20.3", layer["digest"]


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield broken_alpine_layout(tmp_path / "broken")


def test_an_unreadable_image_gets_its_error_and_the_others_still_compare(
    scan_db: Path, alone: dict[str, ScanResult], broken: tuple[str, str]
) -> None:
    bad_ref, bad_digest = broken
    refs = [oci_ref("python-app:debian"), bad_ref, oci_ref("python-app:alpine")]
    with Store.open(scan_db) as store:
        result = compare_images(refs, store, labels=["before", "bad", "after"], use_cache=False)
    before, bad, after = result.columns
    assert bad.result is None and bad.error is not None
    assert bad_digest in bad.error and "\n" not in bad.error
    assert result.failed and len(result.errors) == 1 and result.errors[0].startswith("bad: ")
    assert before.summary == alone["python-app:debian"].summary
    assert after.summary == alone["python-app:alpine"].summary
    vulns = result.metric("vulnerabilities")
    assert vulns.values == (158, None, 75) and vulns.best == (2,)
    assert [(d.image, d.against) for d in result.diffs] == [(2, 0)]
    assert [(t.image, t.better, t.worse, t.same, t.equivalent) for t in result.tallies()] == [
        (2, 12, 1, 1, 2)
    ]
    markdown = render_compare_markdown(result)
    (error_row,) = [ln for ln in markdown.splitlines() if ln.startswith("| Error |")]
    assert bad_digest in error_row
    assert "| **Vulnerabilities** | 158 | — | 75 (-83) | after |" in markdown
    doc = comparison_to_dict(result)
    assert set(doc["images"][1]) == {"label", "reference", "error"}
    assert doc["images"][1]["error"] == bad.error
    assert doc["metrics"][0]["values"][1] is None


def test_the_first_image_unreadable_means_no_diff(scan_db: Path) -> None:
    with Store.open(scan_db) as store:
        result = compare_images(["oci:/nonexistent/layout:x", oci_ref("alpine:3.20.3")], store)
    assert result.columns[0].error is not None and "/nonexistent/layout" in result.columns[0].error
    assert result.diffs == () and result.tallies() == ()
    assert result.labels == ("oci:/nonexistent/layout:x", "alpine:3.20.3")
    assert result.metric("vulnerabilities").best == ()  # one readable image: no verdict


def test_an_unreadable_base_image_is_an_error_too(scan_db: Path) -> None:
    with Store.open(scan_db) as store:
        result = compare_images(
            [oci_ref("alpine:3.20.3"), oci_ref("python-app:alpine")], store, bases=["oci:/nonexistent:base"]
        )
    assert all(c.ok for c in result.columns)
    assert result.failed and result.errors[0].startswith("--base oci:/nonexistent:base: ")
    # the compared alpine:3.20.3 is still found as python-app:alpine's base
    assert result.columns[1].base is not None and result.columns[1].base.name == "alpine:3.20.3"


# ---------------------------------------------------------------------------------------------- the docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "compare.md"


def _documented_fields(section: str) -> set[str]:
    """The backquoted names in the first column of the table under ``### {section}`` in docs/compare.md."""
    text = DOCS.read_text(encoding="utf-8")
    body = text.split(f"### {section}\n", 1)[1].split("\n#", 1)[0]
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def test_the_docs_describe_every_json_field(comparison: Comparison) -> None:
    doc = comparison_to_dict(comparison)
    assert _documented_fields("Top level") == set(doc)
    assert _documented_fields("`images[]`") == set(doc["images"][0])
    assert _documented_fields("`metrics[]`") == set(doc["metrics"][0])
    assert _documented_fields("`diff[]`") == set(doc["diff"][0])
    text = DOCS.read_text(encoding="utf-8")
    key_row = next(line for line in text.splitlines() if line.startswith("| `key` |"))
    listed = re.findall(r"`([a-z_.]+)`", key_row.split("|")[3])
    expanded = {k for k in listed if k != "severity.critical" and k != "severity.unknown"}
    expanded |= {f"severity.{s.lower()}" for s in SEVERITIES}
    assert expanded == {m.key for m in comparison.metrics}


# ---------------------------------------------------------------------------------------------- HTML and table

SVG_NS = "{http://www.w3.org/2000/svg}"


def test_a_layer_shared_between_compared_images_has_one_colour(comparison: Comparison) -> None:
    """alpine:3.20.3's only layer is python-app:alpine's bottom layer (layers.tsv: the same diff_id)."""
    shared_id = read_tsv(expected_dir("alpine:3.20.3") / "layers.tsv")[0]["diff_id"]
    root = ET.fromstring(layer_chart(comparison))
    rects = [r for r in root.iter(f"{SVG_NS}rect") if "layer" in (r.get("class") or "").split()]
    assert len(rects) == 6 + 5 + 1
    shared = [r for r in rects if "shared" in (r.get("class") or "").split()]
    assert [(r.get("data-image"), r.get("data-layer"), r.get("data-diff-id")) for r in shared] == [
        ("after", "0", shared_id),
        ("java", "0", shared_id),
    ]
    assert len({r.get("fill") for r in shared}) == 1
    others = {r.get("fill") for r in rects if r not in shared}
    assert (
        shared[0].get("fill") not in others or len(others) >= 10
    )  # the palette only repeats after 10 layers


def test_html_escapes_labels_and_marks_an_unreadable_image(comparison: Comparison) -> None:
    """Labels come from the command line and errors from the image: both are text in the page, never markup."""
    first = comparison.columns[0].result
    assert first is not None
    evil = '<script>alert("x")</script>'
    result = build_comparison(
        ["ref-a", "ref-b"],
        [first, f"blob sha256:00: {evil}"],
        labels=[f"a{evil}", "b"],
    )
    html = render_compare_html(result)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    bars = [
        g for g in ET.fromstring(cve_chart(result)).iter(f"{SVG_NS}g") if "cve-bar" in (g.get("class") or "")
    ]
    assert [(g.get("data-image"), g.get("class")) for g in bars] == [
        (f"a{evil}", "bar cve-bar"),
        ("b", "bar cve-bar error"),
    ]
    assert list(bars[1].iter(f"{SVG_NS}rect")) == []


def test_table_report(comparison: Comparison) -> None:
    buffer = io.StringIO()
    render_compare_table(comparison, Console(file=buffer, width=200, color_system=None))
    lines = buffer.getvalue().splitlines()
    assert lines[0].split() == ["before", "after", "java", "Better"]
    rows = {line.split("  ")[0].strip(): line for line in lines[2:] if line.strip()}
    assert rows["Vulnerabilities"].split()[1:] == ["158", "75", "(-83)", "56", "(-102)", "java"]
    assert rows["Healthcheck"].split()[1:] == [
        "curl",
        "(shell",
        "form)",
        "python",
        "(shell",
        "form)",
        "none",
        "after",
    ]
    assert "after vs before: better on 12 lines, worse on 1, the same on 1, equivalent on 2" in lines
    assert "Better: = all the same; ≈ different, but equally good by the line's rule" in lines
    assert "CVE diff: after vs before: removes 81 ids in 32 packages, adds 43 in 4, keeps 3" in lines
    assert any(line.startswith("    glibc (deb: libc-bin ") for line in lines)


def test_markdown_cells_cannot_break_the_table(comparison: Comparison) -> None:
    first = comparison.columns[0].result
    assert first is not None
    result = build_comparison(
        [oci_ref("python-app:debian"), "dir:/tmp/a|b`c"],
        [first, "bad | image\nsecond line <b>"],
        labels=["be|fore", "af*ter"],
    )
    table = [ln for ln in render_compare_markdown(result).splitlines() if ln.startswith("|")]
    for row in table[: 4 + len(result.metrics)]:
        assert len(re.split(r"(?<!\\)\|", row)) == 6, row  # the line, 2 images, Better, and the two borders
    text = "\n".join(table)
    assert "`dir:/tmp/a\\|bc`" in text and "**be\\|fore**" in text and "**af\\*ter**" in text
    assert "bad \\| image second line &lt;b&gt;" in text
