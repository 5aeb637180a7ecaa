"""A distro alpinist has never heard of, added from this file alone: one profile, registered, end to end.

"toylinux" is defined here and nowhere else: its feed (one JSON file, served by the loopback feed
server ``tests/feed_server.py`` in its overlay beside the corpus feeds), its ``Source``, its namespace
rule (``toylinux:<major>`` from an os-release with ``ID=toylinux``), its package type (``apk``: it uses
apk's database) compared by *its own* scheme (``deb``: its versions are dpkg-style, ``1.2.0-1``, which
apk's grammar rejects), its severity (the vendor's) and its advisory pages. ``registry.registered``
adds it for one test; the default registry stays the four real feeds.

Everything else is real: ``alpinist db update --mirror`` (the real update code and SQLite store, the
four real feeds from the corpus plus the toy), ``alpinist scan dir:ROOT`` (the real inventory of a root
filesystem directory, matching, policy) and the JSON, SARIF and CycloneDX reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpinist.advisories import registry
from alpinist.advisories.download import Fetcher
from alpinist.advisories.feed import FeedBatch, SourceBase
from alpinist.advisories.model import Affected, Severity, Vulnerability
from alpinist.advisories.profile import PackageRule, Profile, SourceOptions, package_name
from alpinist.advisories.sources import SOURCE_NAMES, all_sources
from alpinist.advisories.store import Store
from alpinist.cli.app import main
from alpinist.errors import FeedError
from alpinist.models import OSInfo
from tests.feed_server import FeedServer

# ---------------------------------------------------------------------------------------------- the toy

TOY_HOST = "security.toylinux.example"
TOY_URL = f"https://{TOY_HOST}/feed/toylinux-1.json"
TOY_PAGE = f"https://{TOY_HOST}/advisory/{{id}}"

TOY_FEED = {
    "release": "1",
    "advisories": [
        # affects the installed toybox 1.2.0-1: fixed in 1.2.0-3 (dpkg order; not a valid apk version)
        {
            "id": "TOY-2024-0001",
            "package": "toybox",
            "fixed": "1.2.0-3",
            "urgency": "high",
            "summary": "toy overflow",
        },
        # toylinux says its toybox was never affected (an OS feed: fixed "0")
        {"id": "TOY-2024-0002", "package": "toybox", "fixed": "0", "urgency": "low", "summary": "not ours"},
        # fixed before the installed version
        {
            "id": "TOY-2023-0009",
            "package": "toybox",
            "fixed": "1.1.0-1",
            "urgency": "medium",
            "summary": "old",
        },
        # a package the image does not have
        {"id": "TOY-2024-0003", "package": "toyd", "fixed": "2.0-1", "urgency": "high", "summary": "daemon"},
    ],
}
_URGENCY: dict[str, Severity] = {"low": "LOW", "medium": "MEDIUM", "high": "HIGH"}


class ToySource(SourceBase):
    """The toy feed: one JSON file per release; every advisory names one package and its first fix."""

    name = "toylinux"

    def fetch(self, fetcher: Fetcher, workdir: Path, since: str | None) -> list[Path]:
        return [fetcher.get_to_file(TOY_URL, workdir / "toylinux-1.json", max_bytes=1 << 20)]

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        for path in files:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("advisories"), list):
                raise FeedError(str(path), "not a toylinux feed")
            namespace = f"toylinux:{doc['release']}"
            affected, vulns = [], []
            for item in doc["advisories"]:
                fixed = item["fixed"]
                status = "not-affected" if fixed == "0" else "fixed"
                severity = _URGENCY[item["urgency"]]
                affected.append(
                    Affected(
                        item["id"], self.name, namespace, item["package"], status, fixed, severity=severity
                    )
                )
                vulns.append(Vulnerability(item["id"], summary=item["summary"]))
            yield FeedBatch(tuple(affected), tuple(vulns))


def toylinux_namespace(os: OSInfo | None) -> str | None:
    """``toylinux:1`` for toylinux 1.x (from os-release), else None."""
    if os is None or os.id != "toylinux" or not os.version_id:
        return None
    return f"toylinux:{os.version_id.split('.')[0]}"


def _toy_source(options: SourceOptions) -> ToySource:
    return ToySource()


TOY = Profile(
    name="toylinux",
    title="Toylinux security tracker",
    make_source=_toy_source,
    rules=(PackageRule("apk", toylinux_namespace, "deb", names=package_name, missing="Toylinux release"),),
    vendor_severity=True,
    os_feed=True,
    advisory_urls=(("TOY-", TOY_PAGE),),
    source_url=TOY_PAGE,
)

# ---------------------------------------------------------------------------------------------- fixtures


def _rootfs(root: Path, version_id: str) -> Path:
    """A toylinux root filesystem: os-release and apk's installed database (toybox 1.2.0-1)."""
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(
        f'NAME="Toy Linux"\nID=toylinux\nVERSION_ID={version_id}\nPRETTY_NAME="Toy Linux {version_id}"\n',
        encoding="utf-8",
    )
    db = root / "lib" / "apk" / "db"
    db.mkdir(parents=True)
    db.joinpath("installed").write_text(
        "C:Q1toyboxchecksum0000000000000000=\nP:toybox\nV:1.2.0-1\nA:x86_64\nS:1000\nI:2000\n"
        "T:the toy toolbox\nL:MIT\no:toybox\n\n",
        encoding="utf-8",
    )
    return root


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    out = capsys.readouterr()
    code = stopped.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


@pytest.fixture(scope="module")
def toy_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``alpinist db update --mirror`` with the toy registered: the four real feeds and toylinux."""
    base = tmp_path_factory.mktemp("toy-db")
    server = FeedServer(overlay=base / "overlay").start()
    server.put(f"{TOY_HOST}/feed/toylinux-1.json", json.dumps(TOY_FEED))
    db = base / "advisories.db"
    try:
        with registry.registered(TOY), pytest.raises(SystemExit) as stopped:
            main(["db", "update", "--db", str(db), "--mirror", server.url])
        assert stopped.value.code in (0, None)
    finally:
        server.stop()
    yield db


@pytest.fixture
def toy() -> Iterator[Profile]:
    with registry.registered(TOY) as profile:
        yield profile


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALPINIST_MIRROR", raising=False)
    monkeypatch.delenv("ALPINIST_DB", raising=False)


# ---------------------------------------------------------------------------------------------- tests


def test_the_default_registry_is_the_four_real_feeds() -> None:
    assert SOURCE_NAMES == ("alpine", "debian", "osv", "nvd")
    assert registry.source_names() == SOURCE_NAMES
    assert list(all_sources()) == list(SOURCE_NAMES)
    assert registry.feed_preference() == ("osv", "nvd", "debian", "alpine")
    assert registry.vendor_feeds() == {"alpine", "debian"}
    assert registry.advisory_url("TOY-2024-0001") is None


def test_registering_adds_the_toy_after_the_real_feeds_and_removes_it_again() -> None:
    with registry.registered(TOY):
        assert registry.source_names() == (*SOURCE_NAMES, "toylinux")
        assert list(all_sources()) == [*SOURCE_NAMES, "toylinux"]
        assert registry.feed_preference()[-1] == "toylinux"
        assert "toylinux" in registry.vendor_feeds() and "toylinux" in registry.os_feeds()
        assert registry.advisory_url("TOY-2024-0001") == f"https://{TOY_HOST}/advisory/TOY-2024-0001"
        with pytest.raises(ValueError, match="already registered"):
            registry.register(TOY)
    assert registry.source_names() == SOURCE_NAMES


def test_db_update_stores_the_toy_feed_beside_the_real_ones(toy_db: Path) -> None:
    with Store.open(toy_db) as store:
        status = {s.name: s for s in store.status()}
        assert set(status) == {*SOURCE_NAMES, "toylinux"}
        assert status["toylinux"].records == 4
        assert status["toylinux"].feed_urls[0].endswith(f"/{TOY_HOST}/feed/toylinux-1.json")
        assert "toylinux:1" in store.namespaces()
        rows = {a.vuln_id: a for a in store.affected("toylinux:1", "toybox")}
        assert set(rows) == {"TOY-2024-0001", "TOY-2024-0002", "TOY-2023-0009"}
        assert rows["TOY-2024-0001"].fixed_version == "1.2.0-3"
        assert store.affected("alpine:3.20", "openssl")  # the real feeds are there too


def test_scan_finds_the_toy_advisory_in_json_sarif_and_cyclonedx(
    toy: Profile, toy_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"dir:{_rootfs(tmp_path / 'root', '1.4')}"

    code, out, err = _run(capsys, "scan", image, "--db", str(toy_db), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    found = [(f["id"], f["package"]["name"], f["fixed_version"]) for f in doc["findings"]]
    # TOY-2024-0002 (never affected), TOY-2023-0009 (fixed below 1.2.0-1) and toyd do not match
    assert found == [("TOY-2024-0001", "toybox", "1.2.0-3")]
    (finding,) = doc["findings"]
    assert finding["feed"] == "toylinux"
    assert finding["namespace"] == "toylinux:1"
    assert finding["severity"] == "HIGH"
    assert finding["severity_source"] == "toylinux"  # the vendor's own rating, as the profile says
    assert finding["description"] == "toy overflow"
    assert finding["advisory_package"] == "toybox"
    assert finding["matched_version"] == "1.2.0-1"  # compared by dpkg's order, as the profile says
    assert not any("not matched" in w for w in doc.get("warnings", []))

    code, out, err = _run(capsys, "scan", image, "--db", str(toy_db), "-f", "sarif")
    assert code == 0, err
    run = json.loads(out)["runs"][0]
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["id"] == "TOY-2024-0001"
    assert rule["helpUri"] == f"https://{TOY_HOST}/advisory/TOY-2024-0001"
    assert [r["ruleId"] for r in run["results"]] == ["TOY-2024-0001"]

    code, out, err = _run(capsys, "scan", image, "--db", str(toy_db), "-f", "cyclonedx")
    assert code == 0, err
    (vuln,) = json.loads(out)["vulnerabilities"]
    assert vuln["id"] == "TOY-2024-0001"
    assert vuln["source"] == {
        "name": "Toylinux security tracker",
        "url": f"https://{TOY_HOST}/advisory/TOY-2024-0001",
    }
    assert vuln["ratings"][0]["severity"] == "high"


def test_a_release_missing_from_the_database_is_a_warning_in_the_toys_words(
    toy: Profile, toy_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"dir:{_rootfs(tmp_path / 'root', '2.0')}"
    code, out, err = _run(capsys, "scan", image, "--db", str(toy_db), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["findings"] == []
    assert any("no Toylinux release 'toylinux:2'" in w for w in doc["warnings"])


def test_without_the_toy_registered_its_packages_are_not_matched(
    toy_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"dir:{_rootfs(tmp_path / 'root', '1.4')}"
    code, out, err = _run(capsys, "scan", image, "--db", str(toy_db), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["findings"] == []
    assert any("1 apk package(s) not matched" in w and "toylinux 1.4" in w for w in doc["warnings"])


@settings(max_examples=300, deadline=None)
@given(
    prefixes=st.lists(
        st.sampled_from(["CVE-", "GHSA-", "GHSA-X", "G", "CV", "TEMP-", "A-B-", "-", ""]), max_size=6
    ),
    vuln_id=st.sampled_from(
        ["CVE-2024-1", "GHSA-xxxx", "GHSA-X1", "GO-2024-1", "TEMP-0001", "A-B-C", "-1", "X", ""]
    ),
)
def test_an_id_is_claimed_by_the_first_prefix_that_starts_it(prefixes: list[str], vuln_id: str) -> None:
    # the lookup by the id's head answers as the plain loop over every (prefix, url) in order would
    urls = tuple((prefix, f"url{i}") for i, prefix in enumerate(prefixes))
    upper = vuln_id.upper()
    expected = next((url for prefix, url in urls if upper.startswith(prefix)), None)
    by_head = registry._urls_by_head(urls)
    without = tuple((p, u) for p, u in urls if "-" not in p)
    assert registry._first_claim(by_head, without, upper) == expected
