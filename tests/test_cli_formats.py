"""The per-verb format registries (``alpinist.cli.formats``): what ``-f/--format`` offers is what the verb
can write, every entry names a real formatter, and the registry imports no formatter until one is written."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest

import alpinist
from alpinist.cli.app import app
from alpinist.cli.formats import (
    COMPARE_FORMATS,
    GATE_FORMATS,
    HISTORY_FORMATS,
    LINT_FORMATS,
    RESCAN_FORMATS,
    SBOM_FORMATS,
    SCAN_FORMATS,
    Format,
    Formats,
)

REGISTRIES = {
    "sbom": SBOM_FORMATS,
    "scan": SCAN_FORMATS,
    "compare": COMPARE_FORMATS,
    "lint": LINT_FORMATS,
    "gate": GATE_FORMATS,
    "rescan": RESCAN_FORMATS,
    "history": HISTORY_FORMATS,
}


@pytest.mark.parametrize("verb", sorted(REGISTRIES))
def test_the_format_option_is_the_registry(verb: str) -> None:
    command = app.get_command(click.Context(app), verb)
    assert command is not None
    (fmt,) = (p for p in command.params if p.name == "fmt")
    assert isinstance(fmt.type, click.Choice)
    assert tuple(fmt.type.choices) == REGISTRIES[verb].names
    assert fmt.default == REGISTRIES[verb].default == "table"
    assert fmt.opts == ["-f", "--format"]


@pytest.mark.parametrize(
    "entry", [f for formats in REGISTRIES.values() for f in formats.values()], ids=lambda f: f.renderer
)
def test_every_entry_names_a_formatter_of_its_kind(entry: Format) -> None:
    render = entry.load()
    assert render.__module__.startswith("alpinist.reports.")
    names = list(inspect.signature(render).parameters)
    if entry.kind == "console":
        assert names[1] == "console"
    assert set(entry.options) <= set(names)


def test_tables_are_the_console_formats() -> None:
    for formats in REGISTRIES.values():
        assert [f.name for f in formats.values() if f.kind == "console"] == ["table"]
    assert COMPARE_FORMATS["table"].width == 200  # the comparison's columns need it
    assert {SBOM_FORMATS["table"].width, SCAN_FORMATS["table"].width, LINT_FORMATS["table"].width} == {160}


_CALLS: list[tuple[object, dict[str, object]]] = []


def _record(result: object, **options: object) -> str:
    """A text formatter for the test below: records what it was given."""
    _CALLS.append((result, options))
    return str(result)


def test_options_reach_only_the_formats_that_take_them(tmp_path: Path) -> None:
    formats = Formats(
        Format("table", f"{__name__}:_record", options=("wide",)), Format("json", f"{__name__}:_record")
    )
    _CALLS.clear()
    formats.write("table", "R", tmp_path / "a", wide=True, other=1)
    formats.write("json", "R", tmp_path / "b", wide=True, other=1)
    assert _CALLS == [("R", {"wide": True}), ("R", {})]
    assert (tmp_path / "a").read_text() == "R\n"


def test_a_registry_refuses_a_repeated_name_or_an_unknown_default() -> None:
    with pytest.raises(ValueError):
        Formats(Format("table", "m:f"), Format("table", "m:g"))
    with pytest.raises(ValueError):
        Formats(Format("json", "m:f"))


def test_the_registry_imports_no_formatter() -> None:
    script = (
        "import sys\n"
        "import alpinist.cli.formats\n"
        "print(' '.join(m for m in sys.modules if m.startswith(('alpinist.reports', 'rich'))))\n"
    )
    src = str(Path(alpinist.__file__).parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"PYTHONPATH": src}, check=True
    )
    assert proc.stdout.split() == []
