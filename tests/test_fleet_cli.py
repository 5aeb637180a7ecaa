"""``alpinist fleet``'s usage errors and one-line failures: exit 64 before anything runs, exit 1 naming the store
or the scheduler (docs/fleet.md, "What a run does")."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cli_run import run_cli as invoke
from tests.conftest import oci_ref
from tests.scan_fixtures import scan_db  # noqa: F401 - fixture


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give one of --images FILE and --catalog REGISTRY[/PREFIX]"),
        (["--images", "LIST", "--catalog", "127.0.0.1:5000"], "give one of --images FILE and --catalog"),
        (["--images", "LIST", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler is for --engine dask"),
        (["--catalog", "127.0.0.1:5000", "--offline"], "--offline: --catalog asks the registry"),
        (["--images", "REGISTRY_LIST", "--offline"], "is a registry reference"),
        (["--images", "BAD_LIST"], "BAD_LIST:2:"),
    ],
)
def test_usage_errors_exit_64_before_anything_runs(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lists = {
        "LIST": f"{oci_ref('alpine:3.20.3')}\n",
        "REGISTRY_LIST": "127.0.0.1:5000/team/app:1\n",
        "BAD_LIST": f"{oci_ref('alpine:3.20.3')}\nnot a reference!\n",
    }
    for name, text in lists.items():
        (tmp_path / name).write_text(text)
    args = [str(tmp_path / a) if a in lists else a for a in args]
    store = f"sqlite://{tmp_path / 'fleet.db'}"
    code, _, err = invoke(capsys, "fleet", "scan", *args, "--store", store, "--db", str(tmp_path / "none.db"))
    assert code == 64, err
    assert message.replace("BAD_LIST", str(tmp_path / "BAD_LIST")) in err
    assert not (tmp_path / "fleet.db").exists()  # nothing was opened


def test_a_store_url_of_another_scheme_is_one_line(
    tmp_path: Path,
    scan_db: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text(f"{oci_ref('alpine:3.20.3')}\n")
    code, _, err = invoke(
        capsys,
        "fleet",
        "scan",
        "--images",
        str(listing),
        "--store",
        "mysql://u:secret@h/db",
        "--db",
        str(scan_db),
    )
    assert code == 1
    assert (
        err.strip().splitlines()[-1].startswith("alpinist: error: mysql://u:***@h/db: unsupported store URL")
    )
    assert "secret" not in err


def test_an_unreachable_scheduler_is_one_line(
    tmp_path: Path,
    scan_db: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    listing = tmp_path / "images.txt"
    listing.write_text(f"{oci_ref('alpine:3.20.3')}\n")
    address = f"tcp://127.0.0.1:{closed_port()}"
    code, _, err = invoke(
        capsys, "fleet", "scan", "--images", str(listing), "--store", f"sqlite://{tmp_path / 'f.db'}",
        "--db", str(scan_db), "--engine", "dask", "--scheduler", address,
    )  # fmt: skip
    assert code == 1
    assert f"cannot reach the Dask scheduler at {address}" in err


def test_the_report_of_a_store_that_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped --store path is one line (exit 1), and no empty store file is left behind."""
    missing = tmp_path / "typo.db"
    code, out, err = invoke(
        capsys, "fleet", "report", "--store", f"sqlite://{missing}", "--format", "markdown"
    )
    assert code == 1 and out == ""
    assert err.strip() == (
        f"alpinist: error: sqlite://{missing}: no fleet store there "
        f"(`alpinist fleet scan --store sqlite://{missing}` makes one)"
    )
    assert not missing.exists()


def test_the_report_of_a_store_without_a_run_says_so(
    tmp_path: Path,
    scan_db: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A store that exists but holds no run yet (a fleet scan of an empty list never starts): the page says so."""
    from alpinist.fleet.store import open_store

    url = f"sqlite://{tmp_path / 'f.db'}"
    open_store(url).close()  # made by a writer, as fleet scan does
    code, out, err = invoke(capsys, "fleet", "report", "--store", url, "--format", "markdown")
    assert code == 0, err
    assert "no run" in out.lower()
