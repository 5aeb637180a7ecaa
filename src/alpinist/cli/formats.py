"""The output formats of each verb: one registry per verb, read by both ``-f/--format`` (its choices and
default, through ``options.output_options``) and the verb's dispatch (``FORMATS.write(fmt, …)``).

A ``Format`` names its formatter, a pure function in ``alpinist.reports``, as ``module:function``: it is
imported only when that format is written, so a verb imports one formatter and ``sbom`` none of the
advisory code (start-up is most of a warm run). Two kinds of formatter:

``text``
    ``render(result, **options) -> str``: JSON, SARIF, CycloneDX, SPDX, Markdown, HTML. Written as
    UTF-8 to stdout or ``-o FILE``, with a final newline (``common.emit``).
``console``
    ``render(result, console, **options)`` prints onto a rich ``Console``: the tables. On a terminal
    the console is the terminal's width, on a pipe it is ``COLUMNS`` when set, else ``width`` columns,
    and in ``-o FILE`` it is ``width`` (``common.emit_rich``). Every table is designed for 80 and 100
    columns (``tests/test_tables_width.py``): essential columns first, nothing cut.

``options`` names the keyword arguments a formatter takes from the verb's other options (``sbom
--files`` → ``render_json(inv, include_files=…)``); the verb passes all of them to ``write`` and each
format picks its own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alpinist.cli.common import emit, emit_rich


@dataclass(frozen=True)
class Format:
    """One ``--format`` value of one verb (see the module docstring)."""

    name: str
    renderer: str  # "module:function" in alpinist.reports, imported on first use
    kind: Literal["text", "console"] = "text"
    width: int = 160  # console: the width in a file, and on a pipe without COLUMNS
    options: tuple[str, ...] = ()  # keyword arguments taken from the verb's options

    def load(self) -> Callable[..., Any]:
        """The formatter function (imports its module)."""
        module, _, attr = self.renderer.partition(":")
        render: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return render

    def write(self, result: object, output: Path | None, **options: object) -> None:
        """Render ``result`` to stdout, or to ``output`` when given."""
        render = self.load()
        kwargs = {name: options[name] for name in self.options}
        if self.kind == "console":
            emit_rich(lambda console: render(result, console, **kwargs), output, self.width)
        else:
            emit(render(result, **kwargs), output)


class Formats(Mapping[str, Format]):
    """A verb's formats by name, in the order ``--help`` lists them, and the default one."""

    def __init__(self, *formats: Format, default: str = "table") -> None:
        self._by_name = {f.name: f for f in formats}
        if len(self._by_name) != len(formats):
            raise ValueError("two formats of one name")
        if default not in self._by_name:
            raise ValueError(f"default format {default!r} is not one of {self.names}")
        self.default = default

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def __getitem__(self, name: str) -> Format:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def write(self, name: str, result: object, output: Path | None, **options: object) -> None:
        """Write ``result`` in the format ``name`` (a value of ``--format``)."""
        self[name].write(result, output, **options)


SBOM_FORMATS = Formats(
    Format("table", "alpinist.reports.sbom.table:render_table", kind="console", width=160),
    Format("json", "alpinist.reports.sbom.json:render_json", options=("include_files",)),
    Format("cyclonedx", "alpinist.reports.sbom.cyclonedx:render_cyclonedx"),
    Format("spdx", "alpinist.reports.sbom.spdx:render_spdx"),
)

SCAN_FORMATS = Formats(
    Format(
        "table", "alpinist.reports.scan.table:render_scan_table", kind="console", width=160, options=("wide",)
    ),
    Format("json", "alpinist.reports.scan.json:render_scan_json"),
    Format("sarif", "alpinist.reports.scan.sarif:render_sarif"),
    Format("cyclonedx", "alpinist.reports.scan.cyclonedx:render_scan_cyclonedx"),
    Format("markdown", "alpinist.reports.scan.markdown:render_scan_markdown"),
)

COMPARE_FORMATS = Formats(
    Format("table", "alpinist.reports.compare.table:render_compare_table", kind="console", width=200),
    Format("markdown", "alpinist.reports.compare.markdown:render_compare_markdown"),
    Format("json", "alpinist.reports.compare.json:render_compare_json"),
    Format("html", "alpinist.reports.compare.html:render_compare_html", options=("history",)),
)

RESCAN_FORMATS = Formats(
    Format("table", "alpinist.reports.rescan.table:render_rescan_table", kind="console", width=160),
    Format("json", "alpinist.reports.rescan.json:render_rescan_json"),
)

FLEET_RUN_FORMATS = Formats(
    Format("table", "alpinist.reports.fleet.run_table:render_fleet_run_table", kind="console", width=160),
    Format("json", "alpinist.reports.fleet.run_json:render_fleet_run_json"),
)

FLEET_REPORT_FORMATS = Formats(
    Format("html", "alpinist.reports.fleet.dashboard_html:render_fleet_html"),
    Format("markdown", "alpinist.reports.fleet.dashboard_markdown:render_fleet_markdown"),
    Format("json", "alpinist.reports.fleet.dashboard_json:render_fleet_json"),
    default="html",
)

HISTORY_FORMATS = Formats(
    Format("table", "alpinist.reports.history.table:render_history_table", kind="console", width=160),
    Format("json", "alpinist.reports.history.json:render_history_json"),
    Format("html", "alpinist.reports.history.html:render_history_html"),
)

LINT_FORMATS = Formats(
    Format("table", "alpinist.reports.lint.table:render_lint_table", kind="console", width=160),
    Format("json", "alpinist.reports.lint.json:render_lint_json"),
    Format("sarif", "alpinist.reports.lint.sarif:render_lint_sarif"),
)

GATE_FORMATS = Formats(
    Format("table", "alpinist.reports.gate.table:render_gate_table", kind="console", width=160),
    Format("markdown", "alpinist.reports.gate.markdown:render_gate_markdown"),
    Format("json", "alpinist.reports.gate.json:render_gate_json"),
    Format("sarif", "alpinist.reports.gate.sarif:render_gate_sarif"),
)

RECOMMEND_FORMATS = Formats(
    Format("table", "alpinist.reports.recommend.table:render_recommend_table", kind="console", width=100),
    Format("markdown", "alpinist.reports.recommend.markdown:render_recommend_markdown"),
    Format("json", "alpinist.reports.recommend.json:render_recommend_json"),
)
