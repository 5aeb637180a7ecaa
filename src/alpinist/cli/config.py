"""Options from the environment and from config files, with one precedence for every verb:

    flag on the command line > environment > project file > user file > the option's default

- Environment: ``ALPINIST_<VERB>_<OPTION>`` for one verb, then ``ALPINIST_<OPTION>`` for every verb that
  has the option (``ALPINIST_SCAN_FORMAT=json``, ``ALPINIST_FORMAT=json``, ``ALPINIST_DB_UPDATE_MIRROR``);
  an option that already names its own variable (``--db``: ``ALPINIST_DB``; ``--nvd-api-key``:
  ``NVD_API_KEY``) keeps it. Option names are upper-cased with ``-`` as ``_``. A list option takes its
  values separated by spaces; a flag takes 1/0, true/false, yes/no.
- Project file: ``.alpinist.yaml`` (or ``.alpinist.yml``) in the working directory or the nearest
  parent that has one, stopping at the repository root (a directory with ``.git``);
  ``alpinist --config FILE`` or ``ALPINIST_CONFIG=FILE`` names another.
- User file: ``config.yaml`` in the user config directory (``~/.config/alpinist/`` on Linux,
  ``$XDG_CONFIG_HOME/alpinist/``).

A file is a YAML mapping: option names (the long flag without ``--``) at the top apply to every verb
that has the option, a verb's name holds options for that verb only (and a group's name its
sub-verbs: ``db: {update: {mirror: …}}``)::

    format: json          # every verb that has --format
    scan:
      fail-on: high
      ignore-file: [.alpinist-ignore.yaml]
    db:
      update:
        timeout: 60s

A key that no verb knows, or a value of the wrong kind, is a usage error (exit 64) naming the file;
the value is then checked by the option itself, as if it had been typed.

Click does the precedence itself (command line, then ``envvar``, then ``default_map``, then the
default); this module only fills ``envvar`` and ``default_map`` from the files and the names above.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click

CONFIG_ENV = "ALPINIST_CONFIG"
PROJECT_NAMES = (".alpinist.yaml", ".alpinist.yml")
MAX_CONFIG_BYTES = 1 << 20
FILES_META = "alpinist.config_files"


class ConfigError(click.UsageError):
    """A config file that cannot be read or names an unknown option: exit 64, with the file's path."""


def user_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("alpinist")) / "config.yaml"


def project_config_path(start: Path | None = None) -> Path | None:
    """The nearest ``.alpinist.yaml`` from ``start`` (the working directory) up to the repository root."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in PROJECT_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        if (folder / ".git").exists():
            return None
    return None


def env_name(*parts: str) -> str:
    return "_".join(["ALPINIST", *(p.upper().replace("-", "_") for p in parts)])


def option_key(param: click.Parameter) -> str | None:
    """The name an option goes by in a file and in the environment: its first long flag, without ``--``."""
    if not isinstance(param, click.Option):
        return None
    for opt in param.opts:
        if opt.startswith("--"):
            return opt[2:]
    return None


def option_keys(param: click.Parameter) -> set[str]:
    """Every name a file may use for the option: each long flag (aliases too), with ``-`` or ``_``."""
    if not isinstance(param, click.Option):
        return set()
    names = {opt[2:] for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")}
    return names | {n.replace("-", "_") for n in names}


def add_envvars(command: click.Command, path: tuple[str, ...]) -> None:
    """Give every option of ``command`` (and of its sub-verbs) its ``ALPINIST_…`` variables."""
    for param in command.params:
        key = option_key(param)
        if key is None or param.envvar is not None or key in ("help", "version"):
            continue
        param.envvar = [env_name(*path, key), env_name(key)] if path else [env_name(key)]


def read_config(path: Path) -> dict[str, Any]:
    """One file, parsed: a mapping (an empty file is an empty mapping)."""
    import yaml

    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        root = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    if root is None:
        return {}
    if not isinstance(root, dict) or not all(isinstance(k, str) for k in root):
        raise ConfigError(f"config file {path}: expected a mapping of option names to values")
    return root


def _merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _value(param: click.Parameter, value: Any, path: Path, where: str, ctx: click.Context) -> Any:
    """A file's value in the shape click expects for ``param`` (a list for a list option, a bool for a
    flag, strings for the rest), checked by the option's own type as if it had been typed, so that a
    bad value names the file and the key."""
    shaped = _shape(param, value, path, where)
    try:
        param.type_cast_value(ctx, shaped)
    except click.BadParameter as exc:
        raise ConfigError(f"config file {path}: {where}: {exc.message}") from exc
    return shaped


def _shape(param: click.Parameter, value: Any, path: Path, where: str) -> Any:
    if isinstance(value, Mapping):
        raise ConfigError(f"config file {path}: {where}: expected a value, not a mapping")
    if param.multiple or (param.nargs != 1):
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, Mapping | list) for v in items):
            raise ConfigError(f"config file {path}: {where}: expected a list of values")
        return [_scalar(v) for v in items]
    if isinstance(value, list):
        raise ConfigError(f"config file {path}: {where}: expected one value, not a list")
    if isinstance(param, click.Option) and param.is_flag and not isinstance(value, bool):
        raise ConfigError(f"config file {path}: {where}: expected true or false")
    return _scalar(value)


def _scalar(value: Any) -> Any:
    """A flag's bool as it is, anything else as the text it would be on the command line."""
    return value if isinstance(value, bool) else str(value)


def defaults_for(
    command: click.Command,
    settings: Mapping[str, Any],
    shared: Mapping[str, Any],
    path: Path,
    where: str,
    ctx: click.Context,
) -> dict[str, Any]:
    """The ``default_map`` of ``command`` from its own mapping ``settings`` and the top-level ``shared``
    options (those it has); sub-verbs of a group get theirs from their own keys."""
    keys: dict[str, click.Parameter] = {}
    for param in command.params:
        for key in option_keys(param):
            keys[key] = param
    out: dict[str, Any] = {}
    for key, value in shared.items():
        if key in keys and keys[key].name is not None:
            out[keys[key].name] = _value(keys[key], value, path, key, ctx)
    subcommands = command.list_commands(ctx) if isinstance(command, click.Group) else []
    for key, value in settings.items():
        here = f"{where}.{key}" if where else key
        if key in keys and keys[key].name is not None:
            out[keys[key].name] = _value(keys[key], value, path, here, ctx)
        elif key in subcommands:
            if not isinstance(value, Mapping):
                raise ConfigError(f"config file {path}: {here}: expected a mapping of {key}'s options")
        else:
            known = sorted({k for p in command.params if (k := option_key(p)) and k != "help"}) + subcommands
            raise ConfigError(
                f"config file {path}: {here}: {where or 'alpinist'} has no option {key!r}"
                f" (known: {', '.join(str(k) for k in known)})"
            )
    if isinstance(command, click.Group):
        for name in subcommands:
            sub = command.get_command(ctx, name)
            if sub is not None:
                here = f"{where}.{name}" if where else name
                sub_defaults = defaults_for(sub, settings.get(name, {}), shared, path, here, ctx)
                if sub_defaults:
                    out[name] = sub_defaults
    return out


def verb_defaults(
    group: click.Group, ctx: click.Context, verb: str, command: click.Command, files: Iterable[Path]
) -> dict[str, Any]:
    """The default map for one verb from the files, the later file winning (user, then project)."""
    merged: dict[str, Any] = {}
    for path in files:
        config = read_config(path)
        verbs = set(group.list_commands(ctx))
        shared = {k: v for k, v in config.items() if k not in verbs}
        _check_shared(group, ctx, shared, path)
        settings = config.get(verb, {})
        if not isinstance(settings, Mapping):
            raise ConfigError(f"config file {path}: {verb}: expected a mapping of {verb}'s options")
        merged = _merge(merged, defaults_for(command, settings, shared, path, verb, ctx))
    return merged


def _check_shared(group: click.Group, ctx: click.Context, shared: Mapping[str, Any], path: Path) -> None:
    """A top-level key must be an option of some verb (a typo would otherwise be ignored quietly)."""
    if not shared:
        return
    known: set[str] = set()
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        for cmd, _ in _walk_paths(command, ctx, (name,)) if command is not None else ():
            for param in cmd.params:
                known |= option_keys(param)
    for key in shared:
        if key not in known:
            raise ConfigError(f"config file {path}: no verb has an option {key!r}")


def config_files(explicit: str | None) -> list[Path]:
    """The files that apply, lowest precedence first: the user file, then the project file."""
    files = []
    user = user_config_path()
    if user.is_file():
        files.append(user)
    chosen = explicit or os.environ.get(CONFIG_ENV) or None
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"config file {path}: no such file")
        files.append(path)
    else:
        project = project_config_path()
        if project is not None:
            files.append(project)
    return files


def prepare(group: click.Group, ctx: click.Context, verb: str, explicit: str | None) -> None:
    """Before ``verb`` parses its arguments: its options' variables, and the files' values as defaults."""
    command = group.get_command(ctx, verb)
    if command is None:
        return
    for cmd, path in _walk_paths(command, ctx, (verb,)):
        add_envvars(cmd, path)
    files = config_files(explicit)
    ctx.meta[FILES_META] = files
    if files:
        defaults = verb_defaults(group, ctx, verb, command, files)
        if defaults:
            ctx.default_map = {**(ctx.default_map or {}), verb: defaults}


def _walk_paths(
    command: click.Command, ctx: click.Context, path: tuple[str, ...]
) -> Iterable[tuple[click.Command, tuple[str, ...]]]:
    yield command, path
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from _walk_paths(sub, ctx, (*path, name))


def name_the_file(exc: click.BadParameter) -> click.BadParameter:
    """A bad value that came from a config file (a check the option makes in its callback, after the
    file was read): the same error, saying so, instead of click's hint at the command line or the
    environment. Any other error is returned as it is."""
    from click.core import ParameterSource

    ctx, param = exc.ctx, exc.param
    if ctx is None or param is None or param.name is None:
        return exc
    if ctx.get_parameter_source(param.name) is not ParameterSource.DEFAULT_MAP:
        return exc
    files = ctx.meta.get(FILES_META) or []
    flag = option_key(param)
    return click.BadParameter(
        f"{exc.message} (set in {' or '.join(str(f) for f in files)})",
        ctx=ctx,
        param_hint=f"'--{flag}'" if flag else None,
    )
