"""``HEALTHCHECK`` probes of one URL with ``curl``/``wget``, rewritten to Python's ``urllib`` (or BusyBox
``wget`` in an image without Python) in exec form. What a healthcheck runs is read by
:mod:`alpinist.dockerfile.healthcheck`, as lint and compare read it."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit, urlunsplit

from alpinist.dockerfile.expand import expand_word
from alpinist.dockerfile.healthcheck import instruction_programs, instruction_script
from alpinist.dockerfile.migrate.report import Collector
from alpinist.dockerfile.model import Instruction
from alpinist.dockerfile.shell import command_name, split_commands, strip_wrappers

# Options of curl/wget that a urllib probe of the same URL honours (or that only change output, retries,
# timeouts); anything else (headers, credentials, -k, methods, data) keeps the healthcheck as written.
_PROBE_OPTIONS = {
    "curl": (
        frozenset("fsSLqI"),  # short flags, also combined: -fsSL
        frozenset({"--fail", "--silent", "--show-error", "--location", "--head", "--fail-with-body"}),
        frozenset(
            {"-o", "--output", "-m", "--max-time", "--connect-timeout", "--retry", "-w", "--write-out"}
        ),
    ),
    "wget": (
        frozenset("qS"),
        frozenset({"--quiet", "--spider", "--no-verbose", "-nv", "--server-response", "-O-", "-qO-"}),
        frozenset({"-O", "--output-document", "-T", "--timeout", "-t", "--tries"}),
    ),
}


def _probe_option_ok(tool: str, arg: str) -> bool | None:
    """True: a flag (or an option with its value attached); False: an option that takes the next word;
    None: not expressible with urllib."""
    short, long, valued = _PROBE_OPTIONS[tool]
    key = arg.split("=", 1)[0]
    if key in valued:
        return "=" in arg
    if arg in long:
        return True
    if arg.startswith("--"):
        return None
    short_valued = {v[1] for v in valued if len(v) == 2}  # -o, -m, -O, -T…
    for i, ch in enumerate(arg[1:], start=1):
        if ch in short:
            continue
        if ch in short_valued:
            return i < len(arg) - 1  # -qO- carries its value; -qO takes the next word
        return None
    return True


def healthcheck_url(hc: Instruction, env: dict[str, str]) -> tuple[str | None, str]:
    """The URL a curl/wget healthcheck probes, or (None, why not)."""
    commands = split_commands(instruction_script(hc))
    if not commands:
        return None, "empty healthcheck"
    first = strip_wrappers(commands[0].words)
    tool = command_name(first)
    if tool not in ("curl", "wget"):
        return None, f"runs {tool or 'nothing'}, not curl or wget"
    for extra in commands[1:]:
        if strip_wrappers(extra.words) not in (("exit", "1"), ("false",)):
            return None, f"does more than one probe ({' '.join(extra.words)})"
    urls: list[str] = []
    args = list(first[1:])
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1:
            ok = _probe_option_ok(tool, a)
            if ok is None:
                return None, f"{tool} option {a} cannot be expressed with urllib"
            if ok is False:
                i += 1  # skip the option's value
        else:
            urls.append(a)
        i += 1
    if len(urls) != 1:
        return None, f"{tool} probes {len(urls)} URLs"
    # the word is already unquoted: escape what expand_word would read as quoting, keep $VAR expansion
    url = expand_word(re.sub(r"([\\'\"])", r"\\\1", urls[0]), env)
    if url.missing:
        return None, f"its URL uses ${url.missing[0]}, which is not set in the Dockerfile"
    parts = urlsplit(url.value if "://" in url.value else "http://" + url.value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, f"{urls[0]} is not an http(s) URL"
    host = "127.0.0.1" if parts.hostname in ("localhost", "0.0.0.0") else parts.hostname
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    safe_url = urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path or "/", safe="/%:@!$&()*+,;=-._~"),
            quote(parts.query, safe="=&%/+:,-._~"),
            "",
        )
    )
    return safe_url, ""


def _probed_localhost(hc: Instruction) -> bool:
    """The probe's URL names ``localhost`` or ``0.0.0.0``, which the rewrite replaces by 127.0.0.1."""
    return re.search(r"(?:^|[/@\s'\"])(?:localhost|0\.0\.0\.0)(?:[:/\s'\"]|$)", hc.original) is not None


def healthcheck_wget(hc: Instruction, url: str) -> str:
    """The probe for an image without Python: BusyBox ``wget --spider`` (in every Alpine image)."""
    flags = " ".join(f"--{k}={v}" if v else f"--{k}" for k, v in hc.flags)
    argv = ", ".join(json.dumps(a) for a in ("wget", "-q", "--spider", "-T", "3", url))
    return f"HEALTHCHECK {flags + ' ' if flags else ''}CMD [{argv}]"


def healthcheck_exec(hc: Instruction, url: str) -> str:
    code = (
        "import urllib.request,sys; "
        f"sys.exit(0 if urllib.request.urlopen('{url}', timeout=3).status < 400 else 1)"
    )
    flags = " ".join(f"--{k}={v}" if v else f"--{k}" for k, v in hc.flags)
    argv = ", ".join(json.dumps(a) for a in ("python3", "-c", code))
    return f"HEALTHCHECK {flags + ' ' if flags else ''}CMD [{argv}]"


def rewrite_healthcheck(
    hc: Instruction, env: dict[str, str], has_python: bool, c: Collector, *, busybox_fallback: bool
) -> str | None:
    """The new ``HEALTHCHECK`` of a curl/wget probe of one URL (None: kept as written, reported).

    With Python in the image, a ``urllib`` probe; without, BusyBox ``wget`` when ``busybox_fallback``
    (the single-stage rewrite, whose report also names the old tool), else the check is kept.
    """
    url, why = healthcheck_url(hc, env)
    if url is not None and (has_python or busybox_fallback) and _probed_localhost(hc):
        c.risk(
            "HEALTHCHECK now probes 127.0.0.1 instead of localhost: an app that checks the Host header "
            "(Django without 127.0.0.1 in ALLOWED_HOSTS) answers 400 and the container turns unhealthy",
            hc.line,
        )
    if url is not None and has_python:
        was = f"from {instruction_programs(hc)[0]} " if busybox_fallback else ""
        c.change(f"HEALTHCHECK rewritten {was}to Python urllib in exec form (probes {url})", hc.line)
        return healthcheck_exec(hc, url)
    if url is not None and busybox_fallback:
        tool = instruction_programs(hc)[0]
        c.change(f"HEALTHCHECK rewritten from {tool} to BusyBox wget in exec form (probes {url})", hc.line)
        return healthcheck_wget(hc, url)
    c.risk(f"HEALTHCHECK kept as written: it {why or 'needs Python, which this stage lacks'}", hc.line)
    return None
