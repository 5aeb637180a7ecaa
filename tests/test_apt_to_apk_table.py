"""The apt → apk table (``data/apt_to_apk.tsv``): well-formed, evidence for every entry added from the
frequency list, the docs table and coverage figures generated from the data, unavailable packages reported."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from alpinist.dockerfile import apt_to_apk
from alpinist.dockerfile.apt_to_apk import APT_TO_APK, _load, coverage, lookup, map_packages, split_apt_pin
from alpinist.dockerfile.migrate import MigrationOptions, migrate_text

REPO = Path(__file__).resolve().parents[1]

#: The entries that predate the aports evidence column come first; those still without evidence may only be there.
PREDATING = 118

_APK_NAME = re.compile(r"^[a-z0-9][a-z0-9+._-]*$")
_COMMIT = r"[0-9a-f]{40}"
_EVIDENCE = re.compile(
    rf"^(?P<repo>main|community)/(?P<aport>[^/]+)/APKBUILD@{_COMMIT}"
    rf"(?:; subpackages= at {_COMMIT}: (?P<subs>.+))?$"
)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("apt_frequency", REPO / "bench" / "apt_frequency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_entry_is_well_formed() -> None:
    names = [m.apt for m in APT_TO_APK]
    assert len(names) == len(set(names))
    for m in APT_TO_APK:
        assert split_apt_pin(m.apt) == (m.apt, None), m.apt
        for pkg in (*m.build, *m.runtime):
            assert _APK_NAME.match(pkg), (m.apt, pkg)
        if not m.build and not m.runtime:
            assert m.note, f"{m.apt}: an entry that installs nothing must say why"
        assert not (m.unavailable and (m.build or m.runtime)), m.apt
        assert m.status in ("mapped", "dropped", "none")
        assert lookup(m.apt) is m


def _check_evidence(m: apt_to_apk.AptMapping) -> None:
    """One entry's evidence: a ``none`` entry names the aports paths looked up and not found, or the aport
    that was read and has no such package; any other entry the aport whose name or subpackages hold every
    package it installs."""
    if m.unavailable and m.evidence.startswith("not in aports: "):
        assert re.fullmatch(r"not in aports: ((main|community)/[^/,]+/APKBUILD(, )?)+", m.evidence), m.apt
        return
    found = _EVIDENCE.match(m.evidence)
    assert found, f"{m.apt}: evidence {m.evidence!r}"
    known = {found["aport"], *(found["subs"] or "").replace(";", " ").split()}
    for pkg in (*m.build, *m.runtime):
        assert pkg in known, f"{m.apt}: {pkg} is neither the aport nor one of its subpackages {known}"


def test_every_entry_with_evidence_names_the_aports_apkbuild_that_has_its_packages() -> None:
    """Every entry that carries evidence is checked against it, old or new; only the entries that predate
    the evidence column (the first PREDATING) and dropped ones may lack it, and no unavailable one."""
    assert len(APT_TO_APK) > PREDATING + 80
    for i, m in enumerate(APT_TO_APK):
        if not m.evidence:
            # a dropped entry installs nothing, so there is nothing to check (cron: BusyBox)
            assert i < PREDATING or m.dropped, (
                f"{m.apt}: an entry added after the evidence column needs evidence"
            )
            assert not m.unavailable, m.apt
            continue
        if m.dropped:
            assert m.evidence.startswith("not in aports: ") or _EVIDENCE.match(m.evidence), m.apt
            continue
        _check_evidence(m)


def test_an_unavailable_entry_cites_the_aport_that_lacks_its_package() -> None:
    """``python-dev`` is ``none`` because community/python2 (the last Python 2 aport) is gone from Alpine: its
    evidence names that aport; an entry whose aport the evidence names must not claim a package it lacks."""
    python_dev = lookup("python-dev")
    assert python_dev is not None and python_dev.unavailable
    assert python_dev.evidence.startswith("community/python2/APKBUILD@")
    gdal = lookup("python3-gdal")
    assert gdal is not None
    bad = apt_to_apk.AptMapping("x", runtime=("py2-gdal",), evidence=gdal.evidence)
    with pytest.raises(AssertionError, match="py2-gdal is neither the aport nor one of its subpackages"):
        _check_evidence(bad)


def test_a_malformed_data_row_is_refused_with_its_line() -> None:
    header = "apt\tbuilder\truntime\tstatus\tnote\tevidence\n"
    with pytest.raises(ValueError, match="row 2: 5 columns"):
        _load(header + "curl\t\tcurl\tmapped\t\n")
    with pytest.raises(ValueError, match="row 2: status 'dropped' does not fit curl"):
        _load(header + "curl\t\tcurl\tdropped\t\t\n")
    assert _load("# comment\n" + header + "cron\t\t\tdropped\tBusyBox\t\n")[0].dropped


def test_docs_table_and_coverage_are_generated_from_the_data() -> None:
    docs = (REPO / "docs" / "migrate.md").read_text(encoding="utf-8")
    assert _bench().docs_text(docs) == docs  # run `bench/apt_frequency.py --write-docs` after a table change
    assert apt_to_apk.markdown_table() in docs


def test_coverage_figure_in_the_docs_is_the_one_the_frequency_list_gives() -> None:
    counts, meta = _bench().read_frequency()
    assert meta == {"files": 151, "kept": 148, "with_apt": 88}
    assert len(counts) == 176  # fewer than 300 names: all of them
    cov = coverage(counts)
    docs = (REPO / "docs" / "migrate.md").read_text(encoding="utf-8")
    stated = re.search(
        r"so all are counted: (\d+) names: (\d+) mapped, (\d+) dropped .*?, (\d+) with no "
        r"Alpine package, (\d+) not in the table",
        docs,
    )
    assert stated is not None
    assert tuple(map(int, stated.groups())) == (
        cov.names,
        cov.mapped,
        cov.dropped,
        cov.unavailable,
        len(cov.absent),
    )
    assert cov.mapped + cov.dropped + cov.unavailable + len(cov.absent) == cov.names
    weighted = re.search(r"(\d+) of (\d+) installs mapped", docs)
    assert weighted is not None
    assert (int(weighted[1]), int(weighted[2])) == (cov.installs_mapped, cov.installs)
    # the names the docs list as having no Alpine package are exactly the table's
    assert {n for n in counts if (e := lookup(n)) is not None and e.unavailable} == {
        "libatlas-base-dev",
        "libgconf-2-4",
        "msodbcsql17",
        "python-dev",
        "python-gdal",
        "python3.10",
        "wait-for-it",
    }


def test_an_unavailable_package_is_reported_and_never_installed(tmp_path: Path) -> None:
    result = map_packages(["wait-for-it", "curl=7.88.1-10"])
    assert [m.apt for m in result.unavailable] == ["wait-for-it"]
    assert result.unmapped == () and result.runtime == ("curl",)

    text = (
        'FROM python:3.12-slim\nRUN apt-get update && apt-get install -y wait-for-it curl\nCMD ["python"]\n'
    )
    migration = migrate_text(text, str(tmp_path / "Dockerfile"), MigrationOptions(offline=True))
    assert [(n.message, n.line) for n in migration.report.unmapped] == [("wait-for-it", 2)]
    assert "wait-for-it" not in migration.text
    assert any(
        str(r).startswith("line 2: apt package wait-for-it has no Alpine package, not installed: ")
        for r in migration.report.risks
    )
