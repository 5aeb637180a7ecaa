"""``pip`` commands: what they install, whether they can compile anything, and their rewrite for the
virtual environment (``--no-cache-dir``, no ``--user``/``--break-system-packages``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from alpinist.dockerfile.shell import PackageOperation

_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip")


def path_or_url(requirement: str) -> bool:
    """A ``pip install`` argument that names a file, a directory or a URL rather than a requirement."""
    return requirement.startswith((".", "$", "~")) or "/" in requirement or requirement.endswith(_ARCHIVES)


def _option_value(op: PackageOperation, *names: str) -> str | None:
    """The value of a pip option (``--find-links=DIR``, ``-f DIR``, ``--only-binary :all:``), or None."""
    for option in op.options:
        key, sep, value = option.partition("=")
        if not sep:
            key, _, value = option.partition(" ")
        if key in names:
            return value
    return None


def builds_nothing(op: PackageOperation) -> str | None:
    """Why this pip command cannot compile anything, or None when it may.

    Local wheel files (``pip install /wheels/*.whl``), ``--only-binary :all:``, and ``--no-index
    --find-links DIR``: the usual way to install what a builder stage's ``pip wheel -w DIR`` made (a
    directory of sdists there would be compiled: alpinist assumes wheels, as that pattern means).
    """
    if op.action not in ("install", "wheel"):
        return f"pip {op.action} builds nothing"
    if (
        op.action == "install"
        and op.packages
        and not op.requirement_files
        and all(p.endswith(".whl") for p in op.packages)
    ):
        return "it installs only local wheel files"
    if _option_value(op, "--only-binary") == ":all:":
        return "it installs wheels only (--only-binary :all:)"
    links = _option_value(op, "--find-links", "-f")
    if op.has_option("--no-index") and links:
        return f"it installs with --no-index from the wheels in {links}"
    return None


@dataclass(frozen=True)
class PipContext:
    """How RUNs are translated: is pip's cache already off (``ENV PIP_NO_CACHE_DIR``), does pip run in
    the venv alpinist creates (then ``--user``/``--break-system-packages`` are dropped)."""

    no_cache_env: bool
    venv: bool


def rewrite_pip(text: str, op: PackageOperation, ctx: PipContext) -> tuple[str, list[str]]:
    """``pip install`` as written, with the interpreter normalized to the venv's and cache/user flags fixed."""
    notes: list[str] = []
    new = (
        text
        if not ctx.venv
        else re.sub(
            r"^((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)(?:/usr(?:/local)?/bin/)?(?:pip3?(?:\.\d+)?|python3?(?:\.\d+)?\s+-m\s*pip)(?=\s|$)",
            lambda m: m.group(1) + ("python -m pip" if "-m" in m.group(0) else "pip"),
            text,
            count=1,
        )
    )
    if new != text and not text.lstrip().startswith(("pip ", "python -m pip ")):
        notes.append("runs the virtual environment's pip")
    if op.action == "install" and ctx.venv:
        for flag in ("--user", "--break-system-packages"):
            if re.search(rf"\s{flag}(?=\s|$)", new):
                new = re.sub(rf"\s{flag}(?=\s|$)", "", new)
                notes.append(f"{flag} dropped (installs into the virtual environment)")
    if op.action == "install" and not op.has_option("--no-cache-dir") and not ctx.no_cache_env:
        new = re.sub(r"(\binstall)(?=\s|$)", r"\1 --no-cache-dir", new, count=1)
        notes.append("--no-cache-dir added")
    return new, notes
