"""Lock files and project manifests of Python services: the exact versions an install command installs.

One reader per format, each returning :class:`~alpinist.dockerfile.wheels.Requirements` (the
:class:`~alpinist.dockerfile.wheels.Pin` and :class:`~alpinist.dockerfile.wheels.RequirementsProblem`
values the wheel check takes):

- :func:`read_poetry_lock`: ``poetry.lock`` (TOML ``[[package]]`` ``name``/``version``; which packages a
  group needs from ``groups`` (lock 2.1), ``category`` (lock 1.x), or, for lock 2.0 which records
  neither, by following ``[package.dependencies]`` from the groups of ``pyproject.toml``);
- :func:`read_pipfile_lock`: ``Pipfile.lock`` (JSON ``default``/``develop``, ``==`` versions, markers);
- :func:`read_uv_lock`: ``uv.lock`` (TOML ``[[package]]``, followed from the project's own entry through
  ``dependencies``/``optional-dependencies``/``dev-dependencies``; ``source`` registry vs path/git/
  editable);
- :func:`read_pdm_lock`: ``pdm.lock`` (TOML ``[[package]]`` with ``groups`` and ``marker``);
- :func:`read_project`: ``pyproject.toml``: PEP 621 ``[project]`` dependencies and the
  optional-dependencies groups asked for, or Poetry's ``[tool.poetry.dependencies]`` (a caret or tilde
  range is not a pin: the sibling ``poetry.lock`` is read instead when there is one).

Environment markers are evaluated on the target (CPython X.Y, Linux, the target CPU; musl is not a
marker variable). Packages not installed from the index (git, a path, an editable, a URL) are listed as
skipped with the reason, never dropped. A file that cannot be parsed is one problem naming the file and
the line (TOML, JSON) or the key. :func:`lock_install` reads an install command (``poetry install
--only main``, ``pipenv install --deploy``, ``uv sync --frozen --no-dev``, ``pdm install --prod``) into
the lock file it reads and the :class:`Selection` of groups and extras it asks for.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from alpinist.dockerfile.wheels import (
    Pin,
    Requirements,
    RequirementsProblem,
    Target,
    display_path,
    marker_holds,
    pin_from_requirement,
    read_bounded,
    read_requirements,
)

__all__ = [
    "LOCK_FILES",
    "LockInstall",
    "Selection",
    "lock_install",
    "read_lock",
    "read_pdm_lock",
    "read_pipfile_lock",
    "read_poetry_lock",
    "read_project",
    "read_uv_lock",
]

#: The lock file each tool reads.
LOCK_FILES = {"poetry": "poetry.lock", "pipenv": "Pipfile.lock", "uv": "uv.lock", "pdm": "pdm.lock"}


@dataclass(frozen=True)
class Selection:
    """The groups and extras an install command asks for; each reader applies its tool's rules.

    ``extras``/``all_extras``: optional-dependencies (``pip install .[prod]``, ``poetry install -E``,
    ``uv sync --extra``). ``groups``: added groups (``poetry --with``, ``uv --group``, ``pdm -G``,
    ``pipenv --dev`` → ``develop``); ``only``: nothing but these (``poetry --only``, ``uv --only-group``/
    ``--only-dev``, ``pipenv --categories``); ``without``: left out (``poetry --without``, ``uv
    --no-group``, ``pdm --without``); ``no_dev``: the tool's default dev groups left out (``uv --no-dev``,
    ``pdm --prod``, Poetry 1's ``--no-dev``); ``all_groups``: ``uv --all-groups``, ``pdm -G :all``.
    """

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    no_dev: bool = False
    all_groups: bool = False


_DEFAULTS = Selection()  # the tool's defaults: no flags given

# ------------------------------------------------------------------------------------------ helpers


def _where_lines(text: str, header: str) -> list[int]:
    """Line numbers of each ``[[header]]`` array-of-tables header, in order."""
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(header)}\s*\]\]\s*(#.*)?$")
    return [n for n, line in enumerate(text.splitlines(), start=1) if pattern.match(line)]


def _load_toml(path: Path, root: Path) -> tuple[dict[str, Any] | None, str, RequirementsProblem | None]:
    """(data, text, problem): a file that cannot be read or parsed is one problem naming file and line."""
    label = display_path(path, root)
    try:
        text = read_bounded(path)
        return tomllib.loads(text), text, None
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        return None, "", RequirementsProblem(label, f"not valid TOML: {exc}")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, "", RequirementsProblem(label, f"cannot read: {reason}")


def _marker_skip(marker: str | None, target: Target | None, where: str) -> str | RequirementsProblem:
    """'' when the marker holds on the target (or there is none), else the skip reason."""
    if not marker or target is None:
        return ""
    try:
        parsed = Marker(marker)
    except InvalidMarker as exc:
        return RequirementsProblem(where, f"not a marker: {marker!r} ({str(exc).splitlines()[0]})")
    if marker_holds(parsed, target):
        return ""
    return f"marker {parsed} is false on {target.describe()}"


@dataclass
class _Collect:
    """Pins and problems of one reader, in file order."""

    label: str
    pins: list[Pin] = field(default_factory=list)
    problems: list[RequirementsProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def pinned(
        self, name: str, version: str, where: str, marker: str | None, target: Target | None, source: str = ""
    ) -> None:
        text = f"{name}=={version}"
        skip = _marker_skip(marker, target, where)
        if isinstance(skip, RequirementsProblem):
            self.problems.append(skip)
        elif skip:
            self.pins.append(Pin(name, text, where, skip=skip))
        elif source:
            self.pins.append(Pin(name, f"{name} ({source})", where, skip=f"{source}, not from the index"))
        else:
            self.pins.append(Pin(name, text, where, version=version))

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(RequirementsProblem(where, reason))

    def done(self) -> Requirements:
        return Requirements(tuple(self.pins), tuple(self.problems), tuple(dict.fromkeys(self.files)))


def _packages(
    data: dict[str, Any], text: str, label: str, c: _Collect
) -> list[tuple[dict[str, Any], str, str, str]]:
    """The ``[[package]]`` tables that have a string ``name`` and ``version``: (table, name, version, where)."""
    raw = data.get("package", [])
    if not isinstance(raw, list):
        c.problem(label, "package is not an array of tables: nothing read")
        return []
    lines = _where_lines(text, "package")
    out: list[tuple[dict[str, Any], str, str, str]] = []
    for n, table in enumerate(raw):
        where = f"{label}:{lines[n]}" if len(lines) == len(raw) else f"{label} [[package]] #{n + 1}"
        if not isinstance(table, dict):
            c.problem(where, "[[package]] is not a table")
            continue
        name, version = table.get("name"), table.get("version")
        if not isinstance(name, str) or not name:
            c.problem(where, "[[package]] without a name")
            continue
        if not isinstance(version, str) or not version:
            if isinstance(table.get("source"), dict) and version is None:
                version = ""  # uv: a path/git/editable project may have no version
            else:
                c.problem(where, f"[[package]] {name!r} has no version")
                continue
        out.append((table, canonicalize_name(name), version, where))
    return out


def _names(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# --------------------------------------------------------------------------------------------- poetry


def _poetry_source(table: Mapping[str, Any]) -> str:
    source = table.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    url = source.get("url", "") if isinstance(source, dict) else ""
    if kind in ("git", "directory", "file", "url"):
        what = {"git": "a git repository", "directory": "a directory", "file": "a file", "url": "a URL"}[kind]
        editable = " (editable)" if table.get("develop") else ""
        return f"installed from {what} {url}{editable}".replace("  ", " ").strip()
    return ""


def _poetry_project(pyproject: Path | None) -> dict[str, Any] | None:
    if pyproject is None or not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(read_bounded(pyproject))
    except (OSError, ValueError):
        return None
    tool = data.get("tool", {})
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    return poetry if isinstance(poetry, dict) else None


def _poetry_groups(poetry: Mapping[str, Any] | None) -> dict[str, tuple[dict[str, Any], bool]]:
    """group → (dependencies, optional) from ``[tool.poetry]`` (``main``; ``dev`` of Poetry 1.1)."""
    if poetry is None:
        return {}
    out: dict[str, tuple[dict[str, Any], bool]] = {}
    main = poetry.get("dependencies", {})
    out["main"] = (main if isinstance(main, dict) else {}, False)
    dev = poetry.get("dev-dependencies")
    if isinstance(dev, dict):
        out["dev"] = (dev, False)
    groups = poetry.get("group", {})
    for name, table in groups.items() if isinstance(groups, dict) else ():
        if isinstance(table, dict):
            deps = table.get("dependencies", {})
            out[name] = (deps if isinstance(deps, dict) else {}, bool(table.get("optional", False)))
    return out


def _poetry_wanted(selection: Selection, known: Iterable[str], optional: set[str]) -> set[str]:
    if selection.only:
        return set(selection.only)
    defaults = () if selection.no_dev else (g for g in known if g not in optional)
    wanted = {"main", *defaults}
    return (wanted | set(selection.groups)) - set(selection.without)


def read_poetry_lock(
    path: Path,
    *,
    root: Path,
    target: Target | None = None,
    selection: Selection = _DEFAULTS,
    pyproject: Path | None = None,
) -> Requirements:
    """The packages ``poetry install`` installs from ``poetry.lock`` for ``selection``.

    Poetry installs the ``main`` group and every non-optional group unless told ``--only``/``--without``
    (``--with`` adds optional ones); which groups are optional, and for lock format 2.0 (Poetry 1.2-1.8:
    no groups recorded per package) which packages each group needs, come from ``pyproject`` (default:
    ``pyproject.toml`` beside the lock).
    """
    label = display_path(path, root)
    c = _Collect(label)
    data, text, problem = _load_toml(path, root)
    if data is None:
        return Requirements(problems=(problem,) if problem else ())
    c.files.append(label)
    pyproject = pyproject if pyproject is not None else path.parent / "pyproject.toml"
    poetry = _poetry_project(pyproject)
    declared = _poetry_groups(poetry)
    optional = {g for g, (_deps, opt) in declared.items() if opt}
    packages = _packages(data, text, label, c)
    lock_groups = {g for table, *_ in packages for g in _names(table.get("groups"))}
    lock_groups |= {str(table["category"]) for table, *_ in packages if "category" in table}
    wanted = _poetry_wanted(selection, set(declared) | lock_groups, optional)
    with_groups = any("groups" in t for t, *_ in packages)
    with_category = any("category" in t for t, *_ in packages)
    if with_groups or with_category or not packages:
        for table, name, version, where in packages:
            if with_groups:
                groups = set(_names(table.get("groups"))) or {"main"}
                markers = table.get("markers")
                chosen = groups & wanted
                if not chosen:
                    continue
                if isinstance(markers, dict):
                    texts = [m for g, m in markers.items() if g in chosen and isinstance(m, str)]
                    marker = None if len(texts) < len(chosen) else " or ".join(f"({m})" for m in texts)
                else:
                    marker = markers if isinstance(markers, str) else None
            else:
                category = table.get("category", "main")
                if not (category in wanted or (category == "dev" and wanted - {"main"})):
                    continue
                marker = None
            c.pinned(name, version, where, marker, target, _poetry_source(table))
        return c.done()
    # lock format 2.0: follow the dependencies from the groups' roots
    if poetry is None:
        c.problem(label, "records no groups and pyproject.toml was not found: every package is checked")
        for table, name, version, where in packages:
            c.pinned(name, version, where, None, target, _poetry_source(table))
        return c.done()
    by_name: dict[str, list[tuple[dict[str, Any], str, str]]] = {}
    for table, name, version, where in packages:
        by_name.setdefault(name, []).append((table, version, where))
    root_extras = set(selection.extras)
    extras_table = poetry.get("extras", {})
    allowed_optional = {
        canonicalize_name(n)
        for extra, members in (extras_table.items() if isinstance(extras_table, dict) else ())
        if selection.all_extras or extra in root_extras
        for n in _names(members)
    }
    queue: list[tuple[str, frozenset[str]]] = []
    for group in sorted(wanted):
        deps, _opt = declared.get(group, ({}, False))
        for dep_name, spec in deps.items():
            if dep_name.lower() == "python":
                continue
            for one in spec if isinstance(spec, list) else [spec]:
                if isinstance(one, dict):
                    if one.get("optional") and canonicalize_name(dep_name) not in allowed_optional:
                        continue
                    if _marker_skip(one.get("markers"), target, label):
                        continue
                    queue.append((canonicalize_name(dep_name), frozenset(_names(one.get("extras")))))
                else:
                    queue.append((canonicalize_name(dep_name), frozenset()))
    seen: set[tuple[str, frozenset[str]]] = set()
    chosen_names: set[str] = set()
    dropped: dict[str, str] = {}  # needed only under a marker false on the target
    while queue:
        item = queue.pop()
        if item in seen:
            continue
        seen.add(item)
        name, extras = item
        chosen_names.add(name)
        for table, _version, _where in by_name.get(name, []):
            extra_members = table.get("extras", {})
            wanted_optional = {
                canonicalize_name(re.split(r"[\s(\[;<>=!~]", member, maxsplit=1)[0])
                for extra, members in (extra_members.items() if isinstance(extra_members, dict) else ())
                if extra in extras
                for member in _names(members)
            }
            deps = table.get("dependencies", {})
            for dep_name, spec in deps.items() if isinstance(deps, dict) else ():
                dep = canonicalize_name(dep_name)
                for one in spec if isinstance(spec, list) else [spec]:
                    if isinstance(one, dict):
                        if one.get("optional") and dep not in wanted_optional:
                            continue
                        if _marker_skip(one.get("markers"), target, label):
                            dropped.setdefault(dep, str(one.get("markers")))
                            continue
                        queue.append((dep, frozenset(_names(one.get("extras")))))
                    else:
                        queue.append((dep, frozenset()))
    for table, name, version, where in packages:
        if name in chosen_names:
            c.pinned(name, version, where, None, target, _poetry_source(table))
        elif name in dropped:
            c.pinned(name, version, where, dropped[name], target)
    return c.done()


# --------------------------------------------------------------------------------------------- pipenv


def _json_key_lines(text: str, section: str) -> dict[str, int]:
    """Line of each key of a top-level JSON object ``section`` (Pipfile.lock is written indented)."""
    lines = text.splitlines()
    out: dict[str, int] = {}
    start = next((n for n, ln in enumerate(lines) if re.match(rf'^\s*"{re.escape(section)}"\s*:', ln)), None)
    if start is None:
        return out
    indent: int | None = None
    for n in range(start + 1, len(lines)):
        m = re.match(r'^(\s*)"([^"]+)"\s*:', lines[n])
        if m is None:
            if (
                re.match(r"^\s*}", lines[n])
                and indent is not None
                and len(lines[n]) - len(lines[n].lstrip()) < indent
            ):
                break
            continue
        if indent is None:
            indent = len(m.group(1))
        if len(m.group(1)) == indent:
            out.setdefault(m.group(2), n + 1)
        elif len(m.group(1)) < indent:
            break
    return out


def read_pipfile_lock(
    path: Path, *, root: Path, target: Target | None = None, selection: Selection = _DEFAULTS
) -> Requirements:
    """The packages ``pipenv install --deploy``/``sync`` installs from ``Pipfile.lock``: ``default``, and
    ``develop`` with ``--dev`` (``selection.groups``); ``--categories`` names the sections (``only``)."""
    label = display_path(path, root)
    c = _Collect(label)
    try:
        text = read_bounded(path)
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Requirements(problems=(RequirementsProblem(label, f"not valid JSON: {exc}"),))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Requirements(problems=(RequirementsProblem(label, f"cannot read: {reason}"),))
    if not isinstance(data, dict):
        return Requirements(problems=(RequirementsProblem(label, "not a JSON object: nothing read"),))
    c.files.append(label)
    sections = list(selection.only) or ["default", *(g for g in selection.groups if g != "default")]
    for section in sections:
        entries = data.get(section)
        if entries is None:
            if section != "default":
                c.problem(label, f"no {section!r} section")
            continue
        if not isinstance(entries, dict):
            c.problem(f"{label} {section}", "is not an object: not read")
            continue
        lines = _json_key_lines(text, section)
        for key, entry in entries.items():
            where = f"{label}:{lines[key]}" if key in lines else f"{label} {section}.{key}"
            name = canonicalize_name(key)
            if not isinstance(entry, dict):
                c.problem(where, f"{section}.{key} is not an object")
                continue
            for kind, what in (("git", "a git repository"), ("path", "a path"), ("file", "a file or URL")):
                value = entry.get(kind)
                if isinstance(value, str):
                    editable = " (editable)" if entry.get("editable") else ""
                    c.pins.append(
                        Pin(
                            name,
                            f"{key} ({kind}: {value})",
                            where,
                            skip=f"installed from {what} {value}{editable}, not from the index",
                        )
                    )
                    break
            else:
                version = entry.get("version")
                if not isinstance(version, str) or not version.startswith("=="):
                    c.pins.append(
                        Pin(name, key, where, skip=f"no == version in {label} ({version!r}): not pinned")
                    )
                    continue
                marker = entry.get("markers")
                c.pinned(
                    name, version[2:].strip(), where, marker if isinstance(marker, str) else None, target
                )
    return c.done()


# ------------------------------------------------------------------------------------------------- uv

_UV_PROJECT_SOURCES = ("editable", "virtual")


def _uv_source(table: Mapping[str, Any]) -> str:
    source = table.get("source")
    if not isinstance(source, dict):
        return ""
    for kind, what in (
        ("editable", "an editable directory"),
        ("virtual", "a virtual project"),
        ("git", "a git repository"),
        ("path", "a path"),
        ("directory", "a directory"),
        ("url", "a URL"),
    ):
        if isinstance(source.get(kind), str):
            return f"installed from {what} {source[kind]}"
    return ""


def read_uv_lock(
    path: Path, *, root: Path, target: Target | None = None, selection: Selection = _DEFAULTS
) -> Requirements:
    """The packages ``uv sync`` installs from ``uv.lock``: followed from the project's own entry (source
    ``editable``/``virtual`` ``.``) through ``dependencies``, the ``optional-dependencies`` of the extras
    asked for, and the ``dev-dependencies`` groups (``dev`` by default, as uv does; ``--no-dev``,
    ``--group``, ``--only-group``, ``--no-group``, ``--all-groups``); edge markers on the target."""
    label = display_path(path, root)
    c = _Collect(label)
    data, text, problem = _load_toml(path, root)
    if data is None:
        return Requirements(problems=(problem,) if problem else ())
    c.files.append(label)
    packages = _packages(data, text, label, c)
    by_name: dict[str, list[tuple[dict[str, Any], str, str]]] = {}
    for table, name, version, where in packages:
        by_name.setdefault(name, []).append((table, version, where))
    project = [
        (table, name)
        for table, name, _v, _w in packages
        if isinstance(table.get("source"), dict)
        and any(table["source"].get(k) == "." for k in _UV_PROJECT_SOURCES)
    ]
    if not project:
        c.problem(label, "no project entry (source editable or virtual '.'): every package is checked")
        for table, name, version, where in packages:
            c.pinned(name, version, where, None, target, _uv_source(table))
        return c.done()
    project_table, project_name = project[0]
    edges: list[Any] = []
    if not selection.only:
        edges += (
            project_table.get("dependencies", [])
            if isinstance(project_table.get("dependencies"), list)
            else []
        )
        optional = project_table.get("optional-dependencies", {})
        if isinstance(optional, dict):
            for extra, deps in optional.items():
                if (selection.all_extras or extra in selection.extras) and isinstance(deps, list):
                    edges += deps
            for extra in selection.extras:
                if extra not in optional:
                    c.problem(label, f"the project has no extra {extra!r}")
    groups = project_table.get("dev-dependencies", {})
    groups = groups if isinstance(groups, dict) else {}
    if selection.only:
        wanted = set(selection.only)
    elif selection.all_groups:
        wanted = set(groups)
    else:
        wanted = ({"dev"} if not selection.no_dev else set()) | set(selection.groups)
    for group in sorted(wanted - set(selection.without)):
        deps = groups.get(group)
        if isinstance(deps, list):
            edges += deps
        elif group != "dev" or selection.only or selection.groups:
            c.problem(label, f"the project has no dependency group {group!r}")
    chosen: set[tuple[str, str]] = set()
    dropped: dict[str, str] = {}  # needed only under a marker false on the target
    queue: list[Any] = list(edges)
    seen_edges: set[tuple[str, str, tuple[str, ...]]] = set()
    while queue:
        edge = queue.pop()
        if not isinstance(edge, dict) or not isinstance(edge.get("name"), str):
            continue
        name = canonicalize_name(edge["name"])
        marker = edge.get("marker")
        if _marker_skip(marker if isinstance(marker, str) else None, target, label):
            dropped.setdefault(name, str(marker))
            continue
        candidates = by_name.get(name, [])
        pinned = edge.get("version")
        if isinstance(pinned, str):
            candidates = [cand for cand in candidates if cand[1] == pinned]
        extras = tuple(_names(edge.get("extra")))
        for table, cand_version, _where in candidates:
            key = (name, cand_version, extras)
            if key in seen_edges:
                continue
            seen_edges.add(key)
            chosen.add((name, cand_version))
            deps = table.get("dependencies", [])
            queue += deps if isinstance(deps, list) else []
            optional = table.get("optional-dependencies", {})
            for extra in extras:
                more = optional.get(extra) if isinstance(optional, dict) else None
                queue += more if isinstance(more, list) else []
    for table, name, version, where in packages:
        if name == project_name and table is project_table:
            if isinstance(project_table["source"].get("editable"), str) and not selection.only:
                c.pins.append(
                    Pin(
                        name,
                        f"{name} (the project)",
                        where,
                        skip="the project itself, installed editable from .",
                    )
                )
            continue
        if (name, version) in chosen:
            c.pinned(name, version, where, None, target, _uv_source(table))
        elif name in dropped and not any(n == name for n, _v in chosen):
            c.pinned(name, version, where, dropped[name], target)
    return c.done()


# ------------------------------------------------------------------------------------------------ pdm


def _pdm_source(table: Mapping[str, Any]) -> str:
    for kind, what in (("git", "a git repository"), ("path", "a path"), ("url", "a URL")):
        if isinstance(table.get(kind), str):
            editable = " (editable)" if table.get("editable") else ""
            return f"installed from {what} {table[kind]}{editable}"
    return ""


def _pdm_optional_groups(pyproject: Path | None) -> set[str] | None:
    """Names of ``[project.optional-dependencies]`` (not installed by default); None without pyproject."""
    if pyproject is None or not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(read_bounded(pyproject))
    except (OSError, ValueError):
        return None
    project = data.get("project", {})
    optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    return set(optional) if isinstance(optional, dict) else set()


def read_pdm_lock(
    path: Path,
    *,
    root: Path,
    target: Target | None = None,
    selection: Selection = _DEFAULTS,
    pyproject: Path | None = None,
) -> Requirements:
    """The packages ``pdm install``/``pdm sync`` installs from ``pdm.lock``: the ``default`` group and the
    dev groups (not with ``--prod``), plus ``-G`` groups, minus ``--without``; a package's ``groups`` says
    which it belongs to and its ``marker`` is evaluated on the target. Optional-dependencies groups (from
    ``pyproject``, default: beside the lock) are installed only when named."""
    label = display_path(path, root)
    c = _Collect(label)
    data, text, problem = _load_toml(path, root)
    if data is None:
        return Requirements(problems=(problem,) if problem else ())
    c.files.append(label)
    packages = _packages(data, text, label, c)
    metadata = data.get("metadata", {})
    all_groups = set(_names(metadata.get("groups"))) if isinstance(metadata, dict) else set()
    all_groups |= {g for table, *_ in packages for g in _names(table.get("groups"))}
    optional = _pdm_optional_groups(pyproject if pyproject is not None else path.parent / "pyproject.toml")
    dev_groups = all_groups - {"default"} - (optional or set())
    if selection.only:
        wanted = set(selection.only)
    elif selection.all_groups:
        wanted = set(all_groups)
    else:
        wanted = {"default"} | (set() if selection.no_dev else dev_groups) | set(selection.groups)
    wanted -= set(selection.without)
    if any("groups" not in table for table, *_ in packages):
        c.problem(label, "lists no groups for some packages: those are checked whatever the groups")
    for table, name, version, where in packages:
        groups = set(_names(table.get("groups"))) if "groups" in table else wanted
        if not groups & wanted:
            continue
        marker = table.get("marker")
        c.pinned(
            name, version, where, marker if isinstance(marker, str) else None, target, _pdm_source(table)
        )
    return c.done()


# -------------------------------------------------------------------------------------- pyproject.toml


def _poetry_constraint_pin(
    name: str, spec: Any, where: str, target: Target | None, c: _Collect, why_range: str
) -> None:
    """One ``[tool.poetry.dependencies]`` entry: ``"1.2.3"``/``"==1.2.3"`` is a pin; a range is not."""
    table = spec if isinstance(spec, dict) else {"version": spec}
    for kind in ("git", "path", "url", "file"):
        if isinstance(table.get(kind), str):
            c.pins.append(
                Pin(
                    name,
                    f"{name} ({kind}: {table[kind]})",
                    where,
                    skip=f"installed from {kind} {table[kind]}, not from the index",
                )
            )
            return
    marker = table.get("markers")
    skip = _marker_skip(marker if isinstance(marker, str) else None, target, where)
    constraint = str(table.get("version", "*")).strip()
    text = f"{name} {constraint}"
    if isinstance(skip, RequirementsProblem):
        c.problems.append(skip)
    elif skip:
        c.pins.append(Pin(name, text, where, skip=skip))
    elif re.fullmatch(r"(==)?\s*\d[\w.!+-]*", constraint) and "*" not in constraint:
        version = constraint.removeprefix("==").strip()
        c.pins.append(Pin(name, f"{name}=={version}", where, version=version))
    else:
        c.pins.append(Pin(name, text, where, skip=f"not pinned: {constraint} is a range ({why_range})"))


def read_project(
    path: Path,
    *,
    root: Path,
    target: Target | None = None,
    selection: Selection = _DEFAULTS,
    lock: bool = True,
) -> Requirements:
    """What installing the project of ``pyproject.toml`` installs.

    PEP 621 ``[project].dependencies`` plus the ``optional-dependencies`` groups in ``selection.extras``
    (``pip install .[prod]``); else Poetry's ``[tool.poetry.dependencies]`` and the groups
    ``selection`` asks for, read from the sibling ``poetry.lock`` when there is one (a caret or tilde
    range says nothing of the version installed). ``lock=False``: the installer does not read
    ``poetry.lock`` (``pip install .`` resolves the ranges itself).
    """
    label = display_path(path, root)
    data, _text, problem = _load_toml(path, root)
    if data is None:
        return Requirements(problems=(problem,) if problem else ())
    c = _Collect(label, files=[label])
    project = data.get("project")
    tool = data.get("tool", {})
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(project, dict) and ("dependencies" in project or not isinstance(poetry, dict)):
        deps = project.get("dependencies", [])
        if "dependencies" in _names(project.get("dynamic")):
            c.problem(label, "[project].dependencies is dynamic: not checked")
        groups: list[tuple[str, Any]] = [("[project].dependencies", deps)]
        optional = project.get("optional-dependencies", {})
        optional = optional if isinstance(optional, dict) else {}
        for extra in sorted(optional) if selection.all_extras else selection.extras:
            if extra in optional:
                groups.append((f"[project.optional-dependencies].{extra}", optional[extra]))
            else:
                c.problem(label, f"no [project.optional-dependencies] group {extra!r}")
        for key, items in groups:
            if not isinstance(items, list) or not all(isinstance(d, str) for d in items):
                c.problem(label, f"{key} is not a list of strings")
                continue
            for dep in items:
                found = pin_from_requirement(dep, f"{label} {key}", target)
                (c.pins if isinstance(found, Pin) else c.problems).append(found)  # type: ignore[arg-type]
        return c.done()
    if isinstance(poetry, dict):
        lock_file = path.parent / "poetry.lock"
        if lock and lock_file.is_file():
            locked = read_poetry_lock(
                lock_file, root=root, target=target, selection=selection, pyproject=path
            )
            return Requirements(locked.pins, locked.problems, (label, *locked.files))
        why_range = (
            "pip resolves it (it does not read poetry.lock)"
            if lock_file.is_file()
            else "no poetry.lock to say which version"
        )
        declared = _poetry_groups(poetry)
        optional_groups = {g for g, (_d, opt) in declared.items() if opt}
        for group in sorted(_poetry_wanted(selection, set(declared), optional_groups)):
            key = (
                "dependencies"
                if group == "main"
                else (
                    "dev-dependencies"
                    if group == "dev" and group not in poetry.get("group", {})
                    else f"group.{group}.dependencies"
                )
            )
            deps, _opt = declared.get(group, ({}, False))
            for name, spec in deps.items():
                if name.lower() == "python":
                    continue
                if isinstance(spec, dict) and spec.get("optional") and not selection.all_extras:
                    extras = poetry.get("extras", {})
                    members = {
                        n
                        for e in selection.extras
                        for n in _names(extras.get(e) if isinstance(extras, dict) else [])
                    }
                    if name not in members:
                        continue
                for one in spec if isinstance(spec, list) else [spec]:
                    _poetry_constraint_pin(
                        canonicalize_name(name), one, f"{label} [tool.poetry.{key}]", target, c, why_range
                    )
        return c.done()
    c.problem(label, "no [project] or [tool.poetry] dependencies: nothing checked")
    return c.done()


# ---------------------------------------------------------------------------------- install commands


@dataclass(frozen=True)
class LockInstall:
    """What an install command reads: ``tool``; ``lock`` the file it installs from (``poetry.lock``… or
    the requirements file of ``uv pip sync``), relative to ``project`` (``-C``/``--directory``/
    ``--project``, default the working directory); the :class:`Selection` asked for."""

    tool: str
    lock: str
    selection: Selection = _DEFAULTS
    project: str = "."
    command: str = ""
    output: str | None = None  # ``export -o FILE``: the requirements file it writes


def _split_values(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v for value in values for v in re.split(r"[,\s]+", value) if v)


def _options(words: Sequence[str], with_value: frozenset[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(option → values, positional words): ``--with a``, ``--with=a``, ``-Ea`` all give ``--with: [a]``."""
    opts: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("--") and "=" in w:
            key, _, value = w.partition("=")
            opts.setdefault(key, []).append(value)
        elif w in with_value and i + 1 < len(words):
            opts.setdefault(w, []).append(words[i + 1])
            i += 1
        elif w.startswith("-") and not w.startswith("--") and len(w) > 2 and w[:2] in with_value:
            opts.setdefault(w[:2], []).append(w[2:])
        elif w.startswith("-"):
            opts.setdefault(w, [])
        else:
            positional.append(w)
        i += 1
    return opts, positional


def _get(opts: Mapping[str, list[str]], *names: str) -> tuple[str, ...]:
    return _split_values(v for n in names for v in opts.get(n, []))


def _has(opts: Mapping[str, list[str]], *names: str) -> bool:
    return any(n in opts for n in names)


_POETRY_VALUE = frozenset(
    {
        "--with",
        "--without",
        "--only",
        "-E",
        "--extras",
        "-C",
        "--directory",
        "-o",
        "--output",
        "-f",
        "--format",
        "-P",
        "--project",
    }
)
_PIPENV_VALUE = frozenset({"--categories", "--python", "--pypi-mirror"})
_UV_VALUE = frozenset(
    {
        "--extra",
        "--group",
        "--only-group",
        "--no-group",
        "--project",
        "--directory",
        "--package",
        "--python",
        "-p",
        "-o",
        "--output-file",
        "--index-url",
        "--extra-index-url",
        "--no-extra",
        "--format",
    }
)
_PDM_VALUE = frozenset(
    {"-G", "--group", "--without", "-p", "--project", "-L", "--lockfile", "-o", "--output"}
)


def lock_install(words: Sequence[str]) -> LockInstall | None:
    """The lock install a command runs (words after wrappers, quotes removed), or None.

    ``poetry install|sync|export``, ``pipenv install|sync|requirements`` (``pipenv install PKG`` adds a
    package: None), ``uv sync|export``, ``uv pip sync FILE``, ``pdm install|sync|export``; also run as
    ``python -m TOOL``.
    """
    ws = list(words)
    if len(ws) >= 3 and re.fullmatch(r"python[\d.]*", ws[0].rsplit("/", 1)[-1]) and ws[1] == "-m":
        ws = ws[2:]
    if len(ws) < 2:
        return None
    tool, sub, rest = ws[0].rsplit("/", 1)[-1], ws[1], ws[2:]
    command = " ".join(ws)
    if tool == "poetry" and sub in ("install", "sync", "export"):
        opts, _pos = _options(rest, _POETRY_VALUE)
        if _has(opts, "--only-root"):
            return None
        selection = Selection(
            extras=_get(opts, "-E", "--extras"),
            all_extras=_has(opts, "--all-extras"),
            groups=_get(opts, "--with"),
            only=_get(opts, "--only"),
            without=_get(opts, "--without"),
            no_dev=_has(opts, "--no-dev"),
        )
        project = (_get(opts, "-C", "--directory", "-P", "--project") or (".",))[0]
        output = (_get(opts, "-o", "--output") or (None,))[0] if sub == "export" else None
        return LockInstall("poetry", "poetry.lock", selection, project, command, output)
    if tool == "pipenv" and sub in ("install", "sync", "requirements"):
        opts, pos = _options(rest, _PIPENV_VALUE)
        if sub == "install" and pos:
            return None
        dev_only = _has(opts, "--dev-only")
        selection = Selection(
            groups=("develop",) if _has(opts, "--dev", "-d") else (),
            only=_get(opts, "--categories") or (("develop",) if dev_only else ()),
        )
        return LockInstall("pipenv", "Pipfile.lock", selection, ".", command)
    if tool == "uv" and sub == "pip" and rest[:1] == ["sync"]:
        _opts, pos = _options(rest[1:], _UV_VALUE)
        return LockInstall("pip", pos[0], Selection(), ".", command) if pos else None
    if tool == "uv" and sub in ("sync", "export"):
        opts, _pos = _options(rest, _UV_VALUE)
        only = _get(opts, "--only-group") + (("dev",) if _has(opts, "--only-dev") else ())
        selection = Selection(
            extras=_get(opts, "--extra"),
            all_extras=_has(opts, "--all-extras"),
            groups=_get(opts, "--group"),
            only=only,
            without=_get(opts, "--no-group"),
            no_dev=_has(opts, "--no-dev", "--no-default-groups"),
            all_groups=_has(opts, "--all-groups"),
        )
        project = (_get(opts, "--project", "--directory") or (".",))[0]
        output = (_get(opts, "-o", "--output-file") or (None,))[0] if sub == "export" else None
        return LockInstall("uv", "uv.lock", selection, project, command, output)
    if tool == "pdm" and sub in ("install", "sync", "export"):
        opts, _pos = _options(rest, _PDM_VALUE)
        groups = _get(opts, "-G", "--group")
        selection = Selection(
            groups=tuple(g for g in groups if g != ":all"),
            without=_get(opts, "--without"),
            no_dev=_has(opts, "--prod", "--production"),
            all_groups=":all" in groups,
        )
        project = (_get(opts, "-p", "--project") or (".",))[0]
        lock = (_get(opts, "-L", "--lockfile") or ("pdm.lock",))[0]
        output = (_get(opts, "-o", "--output") or (None,))[0] if sub == "export" else None
        return LockInstall("pdm", lock, selection, project, command, output)
    return None


def read_lock(
    install: LockInstall, path: Path, *, root: Path, target: Target | None, pyproject: Path | None = None
) -> Requirements:
    """Read ``path`` (the context file behind ``install.lock``) with the reader of ``install.tool``."""
    if install.tool == "poetry":
        return read_poetry_lock(
            path, root=root, target=target, selection=install.selection, pyproject=pyproject
        )
    if install.tool == "pipenv":
        return read_pipfile_lock(path, root=root, target=target, selection=install.selection)
    if install.tool == "uv":
        return read_uv_lock(path, root=root, target=target, selection=install.selection)
    if install.tool == "pdm":
        return read_pdm_lock(path, root=root, target=target, selection=install.selection, pyproject=pyproject)
    pins, problems, files = read_requirements(path, root=root, target=target)
    return Requirements(pins, problems, files)
