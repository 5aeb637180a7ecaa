"""Run the ``alpinist`` CLI in the test's process and collect what a user sees: exit code, stdout, stderr."""

from __future__ import annotations

import pytest

from alpinist.cli.app import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``alpinist ARGS…`` through ``main`` (its own exit handling included); (code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err
