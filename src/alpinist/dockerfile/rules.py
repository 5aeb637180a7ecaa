"""Lint rules: each a small unit with an id, a one-line doc, a default severity, a fix, and a check.

A rule's check function yields :class:`Hit` (line, stage, message, optional severity/fix override);
:meth:`Rule.check` turns them into :class:`LintFinding`. ``RULES`` lists every rule in id order;
docs/lint-rules.md documents each (a test keeps the two in step).

Scope decisions (documented per rule in docs/lint-rules.md):

- user, healthcheck and shell judgments look at the **final stage** (and the stages it is built
  ``FROM``): builders may run as root;
- cache rules look at the final stage's lineage only: a builder's cache does not reach the image
  unless the builder is its base;
- base pinning, secrets, ``ADD``, TLS and pipe-to-shell look at every stage (supply chain and leaks).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from alpinist.dockerfile.healthcheck import instruction_programs, is_disabled, tool_kind
from alpinist.dockerfile.knowledge import BaseFacts, base_facts, distro_python, image_python
from alpinist.dockerfile.model import Dockerfile, ImageName, Instruction, Stage
from alpinist.dockerfile.parse import parse_image_name
from alpinist.dockerfile.shell import (
    ShellCommand,
    command_name,
    package_operations,
    split_commands,
    stage_package_operations,
    strip_wrappers,
)

__all__ = [
    "RULES",
    "SARIF_LEVEL",
    "SEVERITIES",
    "Hit",
    "LintFinding",
    "Rule",
    "Severity",
    "get_rule",
    "severity_rank",
    "stage_python",
]

Severity = Literal["error", "warning", "info"]
#: ascending
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")
#: SARIF ``level`` of each severity
SARIF_LEVEL: dict[Severity, str] = {"error": "error", "warning": "warning", "info": "note"}


def severity_rank(sev: Severity) -> int:
    return SEVERITIES.index(sev)


@dataclass(frozen=True)
class LintFinding:
    """One problem found: rule id, severity, 1-based line (and end line), stage label, message, fix."""

    rule: str
    severity: Severity
    line: int
    stage: str | None
    message: str
    fix: str
    end_line: int | None = None


@dataclass(frozen=True)
class Hit:
    """What a check function yields; :class:`Rule` fills in the rule id and defaults."""

    line: int
    stage: str | None
    message: str
    severity: Severity | None = None
    fix: str | None = None
    end_line: int | None = None


CheckFn = Callable[[Dockerfile], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    doc: str
    severity: Severity
    fix: str
    fn: CheckFn

    def check(self, dockerfile: Dockerfile) -> Iterator[LintFinding]:
        for hit in self.fn(dockerfile):
            yield LintFinding(
                rule=self.id,
                severity=hit.severity or self.severity,
                line=hit.line,
                stage=hit.stage,
                message=hit.message,
                fix=hit.fix or self.fix,
                end_line=hit.end_line,
            )


_REGISTRY: list[Rule] = []


def _rule(rule_id: str, name: str, severity: Severity, doc: str, fix: str) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        _REGISTRY.append(Rule(rule_id, name, doc, severity, fix, fn))
        return fn

    return register


def _hit(ins: Instruction, stage: Stage | None, message: str, **kw: object) -> Hit:
    return Hit(ins.line, stage.label if stage else None, message, end_line=ins.end_line, **kw)  # type: ignore[arg-type]


def _final_lineage(df: Dockerfile) -> tuple[Stage, ...]:
    return df.lineage(df.final_stage)


def _commands(ins: Instruction) -> tuple[ShellCommand, ...]:
    """Simple commands of a RUN (or of a shell-form CMD/ENTRYPOINT/HEALTHCHECK)."""
    script = ins.shell_script
    if script is not None:
        return split_commands(script)
    if isinstance(ins.args, tuple) and ins.args:
        return (ShellCommand(ins.args),)
    return ()


def _has_cache_mount(ins: Instruction, *targets: str) -> bool:
    for mount in ins.flag_values("mount"):
        fields = dict(part.partition("=")[::2] for part in mount.split(","))
        if fields.get("type") != "cache":
            continue
        target = fields.get("target") or fields.get("dst") or fields.get("destination") or ""
        if any(
            target.rstrip("/") == t or target.startswith(t + "/") or t.startswith(target.rstrip("/") + "/")
            for t in targets
        ):
            return True
    return False


def _removes(ins: Instruction, fragment: str) -> bool:
    """A ``rm`` in this RUN whose operand contains ``fragment`` (``/var/lib/apt/lists``)."""
    return any(
        command_name(c.words) == "rm" and any(fragment in w for w in c.words[1:]) for c in _commands(ins)
    )


# ------------------------------------------------------------------------------------------ ALP001

_ROOT_RE = re.compile(r"^(root|0)(:.*)?$")


@_rule(
    "ALP001",
    "final-user-root",
    "error",
    "The final stage runs as root (last USER is root or 0, or no USER at all).",
    "Create an unprivileged user and end with it: `RUN adduser -D -u 65532 nonroot` (Alpine) or "
    "`useradd -u 65532 nonroot` (Debian), then `USER 65532:65532`.",
)
def check_final_user(df: Dockerfile) -> Iterator[Hit]:
    final = df.final_stage
    user, ins = df.effective_user(final)
    if ins is not None and not ins.words:  # an empty USER (ALP024): docker build refuses it
        yield _hit(
            ins,
            df.stages[_stage_of(df, ins)],
            f"the last USER (line {ins.line}) names no user: the final image would run as root",
        )
        return
    if ins is not None and user is not None:
        if "$" in (ins.words[0] if ins.words else "") and not user:
            return  # an unset variable: judged at build time
        if _ROOT_RE.match(user.strip()):
            owner = df.stages[_stage_of(df, ins)]
            yield _hit(ins, owner, f"the final image runs as {user!r}: USER {ins.value} is the last USER")
        return
    base = df.root_base(final)
    if base_facts(base).default_nonroot:
        return
    yield Hit(
        final.start_line,
        final.label,
        f"the final stage (FROM {base}) sets no USER, so it runs as the base image's user (root)",
        severity="warning",
    )


def _stage_of(df: Dockerfile, ins: Instruction) -> int:
    for st in df.stages:
        if any(i is ins for i in st.instructions):
            return st.index
    return df.final_stage.index


# ------------------------------------------------------------------------------------------ ALP002


def _pip_cache_disabled(df: Dockerfile, stage: Stage) -> bool:
    return any(st.env.get("PIP_NO_CACHE_DIR", "") not in ("", "0") for st in df.lineage(stage))


def _uv_cache_disabled(df: Dockerfile, stage: Stage) -> bool:
    return any(st.env.get("UV_NO_CACHE", "") not in ("", "0", "false") for st in df.lineage(stage))


#: the pip actions that leave a cache, and what they leave
_PIP_CACHING = {
    "install": "leaves downloaded wheels in ~/.cache/pip",
    "wheel": "leaves downloaded and built wheels in ~/.cache/pip",
    "download": "leaves downloaded files in ~/.cache/pip",
}


@_rule(
    "ALP002",
    "package-cache-left",
    "warning",
    "A package manager leaves its cache or index in the image (apt lists, apk cache, pip cache, dnf/yum).",
    "apt: end the same RUN with `&& rm -rf /var/lib/apt/lists/*`; apk: `apk add --no-cache`; "
    "pip: `pip install --no-cache-dir` (`pip wheel`/`pip download` too; or `ENV PIP_NO_CACHE_DIR=1`); "
    "dnf/yum: `&& dnf clean all`; "
    "or use a `RUN --mount=type=cache,...` for the cache directory.",
)
def check_package_cache(df: Dockerfile) -> Iterator[Hit]:
    for stage in _final_lineage(df):
        for ins in stage.runs:
            ops = package_operations(ins)
            # an index update alone is ALP022's finding
            apt = [o for o in ops if o.manager == "apt" and o.action in ("install", "upgrade")]
            if (
                apt
                and not _removes(ins, "/var/lib/apt/lists")
                and not _has_cache_mount(ins, "/var/lib/apt", "/var/lib/apt/lists")
            ):
                verb = "install" if any(o.action == "install" for o in apt) else apt[0].action
                yield _hit(
                    ins,
                    stage,
                    f"apt-get {verb} leaves /var/lib/apt/lists in this layer (no `rm -rf /var/lib/apt/lists/*` in the same RUN)",
                )
            apk = [o for o in ops if o.manager == "apk" and o.action in ("install", "upgrade")]
            apk_bad = [o for o in apk if not o.has_option("--no-cache")]
            if (
                apk_bad
                and not _removes(ins, "/var/cache/apk")
                and not _has_cache_mount(ins, "/var/cache/apk", "/etc/apk/cache")
            ):
                what = (
                    "apk add"
                    if apk_bad[0].action == "install"
                    else f"apk {apk_bad[0].command[1] if len(apk_bad[0].command) > 1 else ''}".strip()
                )
                yield _hit(
                    ins, stage, f"{what} without --no-cache leaves the package index in /var/cache/apk"
                )
            for op in ops:
                # pip wheel and pip download fetch through the same HTTP cache (pip wheel also keeps
                # the wheels it builds there), so they leave ~/.cache/pip as pip install does
                if op.manager != "pip" or op.action not in _PIP_CACHING:
                    continue
                is_uv = bool(op.command) and command_name(op.command[:1]) == "uv"
                if is_uv:
                    if op.action != "install":
                        continue
                    ok = (
                        op.has_option("--no-cache", "-n")
                        or _uv_cache_disabled(df, stage)
                        or _has_cache_mount(ins, "/root/.cache/uv", "/root/.cache")
                    )
                    if not ok and not _removes(ins, ".cache/uv") and not _removes(ins, "/root/.cache"):
                        yield _hit(
                            ins,
                            stage,
                            "uv pip install without --no-cache leaves its cache in /root/.cache/uv",
                        )
                    continue
                ok = (
                    op.has_option("--no-cache-dir")
                    or _pip_cache_disabled(df, stage)
                    or _has_cache_mount(ins, "/root/.cache/pip", "/root/.cache")
                    or _removes(ins, ".cache/pip")
                    or _removes(ins, "/root/.cache")
                )
                if not ok:
                    yield _hit(
                        ins, stage, f"pip {op.action} without --no-cache-dir {_PIP_CACHING[op.action]}"
                    )
                    break
            for mgr in ("dnf", "yum", "microdnf", "tdnf"):
                if any(o.manager == mgr and o.action == "install" for o in ops):
                    cleaned = any(
                        command_name(c.words) == mgr and "clean" in c.words for c in _commands(ins)
                    ) or _removes(ins, f"/var/cache/{'dnf' if mgr != 'yum' else 'yum'}")
                    if not cleaned:
                        yield _hit(
                            ins,
                            stage,
                            f"{mgr} install without `{mgr} clean all` leaves its cache in the layer",
                        )


# ------------------------------------------------------------------------------------------ ALP003

_TOOL_PACKAGES: dict[str, tuple[str, ...]] = {
    "curl": ("curl",),
    "wget": ("wget", "busybox"),
    "nc": ("netcat-openbsd", "netcat-traditional", "netcat", "busybox-extras", "nmap-ncat"),
}


def _installed_names(df: Dockerfile, stage: Stage) -> set[str]:
    names: set[str] = set()
    for st in df.lineage(stage):
        for op in stage_package_operations(st, action="install"):
            if op.manager != "pip":
                names.update(op.names)
    return names


def _installs_python(names: Iterable[str]) -> str | None:
    """The python3 package name among OS packages installed (``python3``, ``py3-pip`` pulls it), or None."""
    for n in names:
        if (
            n == "python3"
            or re.fullmatch(r"python3\.\d+", n)
            or n.startswith(("python3-", "py3-"))
            or n == "python3-minimal"
        ):
            return n
    return None


def _tool_present(df: Dockerfile, stage: Stage, facts: BaseFacts, tool: str) -> bool | None:
    """True/False when known; None when the base is unknown and nothing installs it."""
    names = _installed_names(df, stage)
    if tool.startswith("python"):
        if _installs_python(names) or facts.python:
            return True
    elif any(p in names for p in _TOOL_PACKAGES.get(tool, (tool,))):
        return True
    if tool.startswith("python") and any(st.env.get("PYTHON_VERSION") for st in df.lineage(stage)):
        return True  # the official python images' convention, also kept by hand-built CPython copies
    unknown = False
    for st in df.lineage(stage):
        for ins in st.of("COPY", "ADD"):
            if any(w.rstrip("/").endswith("/" + tool) for w in ins.words):
                return True
            dest = ins.words[-1].rstrip("/") if ins.words else ""
            if dest in _BIN_DESTS or dest.endswith("/bin"):
                unknown = True  # a tree copied over the PATH directories may carry the tool
    if unknown:
        return None
    if facts.tools is None:
        return None
    return tool in facts.tools or (tool.startswith("python") and bool(facts.python))


_HC_TOOLS = ("curl", "wget", "nc")
_BIN_DESTS = frozenset({"", "/usr", "/usr/local", "/opt", "/bin", "/usr/bin", "/usr/local/bin"})


def _healthcheck_tools(ins: Instruction) -> list[str]:
    return [p for p in instruction_programs(ins) if p in _HC_TOOLS or tool_kind(p) == "python"]


@_rule(
    "ALP003",
    "healthcheck-tool-missing",
    "error",
    "HEALTHCHECK runs a tool (curl, wget, nc, python) that the final image does not have.",
    "Use what the image has, in exec form: "
    '`HEALTHCHECK CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:8080/health\')"]`, '
    "or install the tool in the final stage.",
)
def check_healthcheck_tool(df: Dockerfile) -> Iterator[Hit]:
    final = df.final_stage
    hc = df.healthcheck(final)
    if hc is None or is_disabled(hc):
        return
    base = df.root_base(final)
    facts = base_facts(base)
    owner = df.stages[_stage_of(df, hc)]
    for tool in dict.fromkeys(_healthcheck_tools(hc)):
        if _tool_present(df, final, facts, tool) is False:
            yield _hit(
                hc,
                owner,
                f"HEALTHCHECK runs {tool}, which the final image (FROM {base}) does not have and no stage installs",
            )


# ------------------------------------------------------------------------------------------ ALP004


@_rule(
    "ALP004",
    "base-not-pinned",
    "warning",
    "A base image is not pinned: tag `latest` or none (warning); a tag without a digest (info).",
    "Pin tag and digest: `FROM alpine:3.22.2@sha256:<digest>` (`skopeo inspect docker://alpine:3.22.2` "
    "prints the digest); let Renovate/Dependabot update it.",
)
def check_base_pinned(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        if stage.parent is not None:
            continue
        base = stage.base_resolved
        if base.is_scratch or base.has_variables:
            continue
        if base.digest:
            continue
        ins = stage.from_instruction
        if not base.tag or base.tag == "latest":
            shown = f"{base.repository}:latest" if not base.tag else str(base)
            yield _hit(
                ins,
                stage,
                f"FROM {base} {'has no tag, so it pulls' if not base.tag else 'is'} {shown}: "
                "the build changes whenever upstream pushes",
                fix=f"Pin a version and its digest: `FROM {base.repository}:<version>@sha256:<digest>`.",
            )
        else:
            yield _hit(
                ins,
                stage,
                f"FROM {base} is pinned by tag only; a tag can be moved",
                severity="info",
                fix=f"Add the digest: `FROM {_without_digest(base)}@sha256:<digest>` "
                f"(`skopeo inspect docker://{_without_digest(base)}`).",
            )


def _without_digest(image: ImageName) -> str:
    return image.raw.split("@", 1)[0]


# ------------------------------------------------------------------------------------------ ALP005

_PY_PATH_RE = re.compile(r"python(\d+\.\d+)")
_PAYLOAD_RE = re.compile(r"(site-packages|dist-packages|(^|/)\.?venv(/|$)|/\.local(/|$)|/lib/python\d)")


@dataclass(frozen=True)
class StagePython:
    version: str
    evidence: str


def stage_python(df: Dockerfile, stage: Stage) -> StagePython | None:
    """The Python ``X.Y`` a stage runs, from its base tag (``python:3.11-alpine3.22``) or, when it
    installs the distribution's ``python3`` (apk/apt), from :mod:`knowledge`. None when unknown."""
    for st in df.lineage(stage):
        if st.parent is not None:
            continue
        base = st.base_resolved
        py = image_python(base)
        if py:
            return StagePython(py, f"{_role(df, stage)} {base} has Python {py}")
    for st in df.lineage(stage):
        declared = re.match(r"(\d+\.\d+)", st.env.get("PYTHON_VERSION", ""))
        if declared:
            return StagePython(
                declared.group(1),
                f"{_role(df, stage)} {df.root_base(stage)} has Python {declared.group(1)} (ENV PYTHON_VERSION)",
            )
    names: set[str] = set()
    for st in df.lineage(stage):
        for op in stage_package_operations(st, action="install"):
            if op.manager in ("apk", "apt"):
                names.update(op.names)
    pkg = _installs_python(names)
    if pkg is None:
        return None
    m = re.fullmatch(r"python(3\.\d+)", pkg)
    base = df.root_base(stage)
    if m:
        return StagePython(m.group(1), f"{_role(df, stage)} {base} installs {pkg}")
    facts = base_facts(base)
    if facts.distro is None or facts.release is None:
        return None
    known = distro_python(facts.distro, facts.release)
    if known is None:
        return None
    return StagePython(known.python, f"{_role(df, stage)} {base} installs python3 = {known.python}")


def _role(df: Dockerfile, stage: Stage) -> str:
    """How the mismatch message names a stage: ``runtime`` (final), its alias (``builder``), or ``stage N``."""
    if stage is df.final_stage:
        return "runtime"
    return stage.name if stage.name else f"stage {stage.index}"


def _python_dirs(stage: Stage) -> set[str]:
    """Directories a stage fills with Python packages: venvs it creates, pip --target/--prefix/--root."""
    dirs: set[str] = set()
    for ins in stage.runs:
        for cmd in _commands(ins):
            words = strip_wrappers(cmd.words)
            name = command_name(words)
            if (
                re.fullmatch(r"python[\d.]*", name)
                and len(words) >= 4
                and words[1] == "-m"
                and words[2] in ("venv", "virtualenv")
            ):
                dirs.update(w for w in words[3:] if not w.startswith("-"))
            elif name == "virtualenv" or (name == "uv" and len(words) > 1 and words[1] == "venv"):
                rest = words[2:] if name == "uv" else words[1:]
                dirs.update(w for w in rest if not w.startswith("-"))
        for op in package_operations(ins):
            if op.manager != "pip":
                continue
            for opt in op.options:
                for flag in ("--target", "-t ", "--prefix", "--root"):
                    if opt.startswith(flag):
                        dirs.add(opt[len(flag) :].lstrip("= "))
            if op.has_option("--user"):
                dirs.add("/root/.local")
    return {d.rstrip("/") for d in dirs if d}


def _is_python_payload(path: str, source_dirs: set[str]) -> bool:
    p = path.rstrip("/")
    if _PAYLOAD_RE.search(p):
        return True
    return any(p == d or p.startswith(d + "/") or d.startswith(p + "/") for d in source_dirs)


@_rule(
    "ALP005",
    "python-version-mismatch",
    "error",
    "Python packages or a venv are copied from a stage whose Python X.Y differs from the receiving stage's.",
    "Build with the Python the runtime runs: both stages on `python:X.Y-alpineA.B`, or a builder on "
    "`alpine:A.B` installing the same `python3` package as the runtime.",
)
def check_python_mismatch(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        runtime_py: StagePython | None = None
        runtime_known = False
        for ins, ref in stage.copies_from:
            source = df.stage(ref)
            paths = ins.words[:-1] if len(ins.words) > 1 else ()
            if source is not None:
                src_dirs = _python_dirs(source)
                src_py = stage_python(df, source)
                label = f"{_role(df, source)} {df.root_base(source)}"
            else:
                image = parse_image_name(ref)
                src_dirs = set()
                py = image_python(image)
                src_py = StagePython(py, f"image {image} has Python {py}") if py else None
                label = f"image {image}"
            payload = [p for p in paths if _is_python_payload(p, src_dirs)]
            if not payload:
                continue
            if not runtime_known:
                runtime_py, runtime_known = stage_python(df, stage), True
            if runtime_py is None:
                continue
            for path in payload:
                m = _PY_PATH_RE.search(path)
                built = m.group(1) if m else (src_py.version if src_py else None)
                if built is None or built == runtime_py.version:
                    continue
                evidence = (
                    src_py.evidence
                    if src_py and src_py.version == built
                    else f"{label} built for Python {built}"
                )
                what = "a virtualenv" if re.search(r"venv", path) else "packages"
                yield _hit(
                    ins,
                    stage,
                    f"{evidence}; {runtime_py.evidence}: {what} copied from {path} will not import",
                )
                break


# ------------------------------------------------------------------------------------------ ALP006

_URL_RE = re.compile(r"^(https?|ftp)://|^git@|\.git(#.*)?$", re.IGNORECASE)


@_rule(
    "ALP006",
    "add-remote-url",
    "warning",
    "ADD downloads a remote URL without a checksum: the content can change under the same URL.",
    "Use `ADD --checksum=sha256:<digest> <url> <dest>`, or download with curl and verify the "
    "sha256 in the same RUN.",
)
def check_add_remote(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.of("ADD"):
            if ins.flag("checksum"):
                continue
            for src in ins.words[:-1]:
                if _URL_RE.search(src):
                    yield _hit(ins, stage, f"ADD fetches {src} with no --checksum")
                    break


# ------------------------------------------------------------------------------------------ ALP007

_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH_?KEY|"
    r"CLIENT_?SECRET|DB_?PASS|^PWD_|_PWD$)",
    re.IGNORECASE,
)
_NOT_SECRET_SUFFIX = re.compile(
    r"_(FILE|PATH|DIR|URL|URI|ENDPOINT|HOST|NAME|TYPE|LENGTH|TTL|EXPIRY|HEADER)$", re.IGNORECASE
)
_SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{20,}|"
    r"xox[baprs]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|glpat-[A-Za-z0-9_-]{20,})"
)


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_SUFFIX.search(name)


@_rule(
    "ALP007",
    "secret-in-env-or-arg",
    "error",
    "A secret-looking ENV (error) or ARG (warning) name or value: it stays in the image config or history.",
    "Pass secrets at build time with `RUN --mount=type=secret,id=NAME` and at run time from the "
    "orchestrator (Kubernetes Secret, env file); never bake them into ENV or ARG.",
)
def check_secrets(df: Dockerfile) -> Iterator[Hit]:
    for stage, ins in df.instructions():
        if ins.cmd == "RUN":
            cmds = _commands(ins)
            if any(command_name(c.words) == "chpasswd" for c in cmds):
                yield _hit(
                    ins,
                    stage,
                    "chpasswd sets a password in a RUN: it stays in the layer and the image history",
                )
        elif ins.cmd == "ENV":
            pairs = [(ins.words[i], ins.words[i + 1]) for i in range(0, len(ins.words) - 1, 2)]
            for name, value in pairs:
                if _secret_name(name) and value.strip("\"'"):
                    yield _hit(
                        ins, stage, f"ENV {name} looks like a secret and is stored in the image config"
                    )
                elif _SECRET_VALUE.search(value):
                    yield _hit(ins, stage, f"ENV {name} holds a value shaped like a credential")
        elif ins.cmd == "ARG":
            for word in ins.words:
                name, _, value = word.partition("=")
                if _secret_name(name):
                    yield _hit(
                        ins,
                        stage,
                        f"ARG {name} looks like a secret; build arguments are recorded in the image history",
                        severity="warning",
                    )
                elif _SECRET_VALUE.search(value):
                    yield _hit(ins, stage, f"ARG {name} has a default shaped like a credential")


# ------------------------------------------------------------------------------------------ ALP008


@_rule(
    "ALP008",
    "sudo",
    "warning",
    "RUN uses sudo: builds already run as the USER in effect; sudo in an image is an escalation path.",
    "Drop sudo; switch with `USER root` for the privileged steps and back to the unprivileged USER after.",
)
def check_sudo(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.runs:
            for cmd in _commands(ins):
                words = cmd.words
                i = 0
                while i < len(words) and "=" in words[i] and not words[i].startswith("-"):
                    i += 1
                if i < len(words) and words[i].rsplit("/", 1)[-1] == "sudo":
                    yield _hit(ins, stage, "RUN calls sudo")
                    break


# ------------------------------------------------------------------------------------------ ALP009

_FETCHERS = frozenset({"curl", "wget"})
_INTERPRETERS = re.compile(r"^(sh|bash|ash|dash|zsh|ksh|python[\d.]*|perl|ruby|node|php)$")
_SUBST_FETCH = re.compile(r"(\$\(|`|<\()\s*(curl|wget)\b")


@_rule(
    "ALP009",
    "pipe-to-shell",
    "warning",
    "A script downloaded with curl/wget is piped straight into a shell or interpreter, unverified.",
    "Download to a file, check its sha256 (`echo '<sum>  file' | sha256sum -c`), then run it; "
    "or install the tool from the distribution's packages.",
)
def check_pipe_to_shell(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.runs:
            cmds = _commands(ins)
            found = False
            for a, b in itertools.pairwise(cmds):
                if (
                    a.op == "|"
                    and command_name(a.words) in _FETCHERS
                    and _INTERPRETERS.match(command_name(b.words))
                ):
                    yield _hit(
                        ins, stage, f"{command_name(a.words)} output is piped into {command_name(b.words)}"
                    )
                    found = True
                    break
            if not found:
                for cmd in cmds:
                    if _INTERPRETERS.match(command_name(cmd.words)) and any(
                        _SUBST_FETCH.search(w) for w in cmd.words
                    ):
                        yield _hit(
                            ins,
                            stage,
                            f"{command_name(cmd.words)} runs a script fetched by command substitution",
                        )
                        break


# ------------------------------------------------------------------------------------------ ALP010

_TLS_OFF_ENV: dict[str, tuple[str, ...] | None] = {
    "PYTHONHTTPSVERIFY": ("0",),
    "NODE_TLS_REJECT_UNAUTHORIZED": ("0",),
    "GIT_SSL_NO_VERIFY": None,  # any non-empty value
    "PIP_TRUSTED_HOST": None,
    "NPM_CONFIG_STRICT_SSL": ("false", "0"),
}


def _tls_off(cmd: ShellCommand) -> str | None:
    words = strip_wrappers(cmd.words)
    name = command_name(words)
    args = words[1:]
    if name == "curl" and any(
        w in ("-k", "--insecure") or (re.fullmatch(r"-[a-zA-Z]*k[a-zA-Z]*", w) is not None) for w in args
    ):
        return "curl -k/--insecure"
    if name == "wget" and "--no-check-certificate" in args:
        return "wget --no-check-certificate"
    if name == "git" and any(w.lower().startswith("http.sslverify=false") for w in args):
        return "git -c http.sslVerify=false"
    if name == "apk" and "--allow-untrusted" in args:
        return "apk --allow-untrusted"
    if name in ("apt-get", "apt") and any(
        w in ("--allow-unauthenticated", "--allow-insecure-repositories", "--force-yes")
        or "AllowUnauthenticated=true" in w
        for w in args
    ):
        return f"{name} --allow-unauthenticated"
    if (name.startswith("pip") or name.startswith("python")) and any(
        w.startswith("--trusted-host") for w in args
    ):
        return "pip --trusted-host"
    if name in ("npm", "yarn") and "strict-ssl" in " ".join(args) and "false" in args:
        return f"{name} strict-ssl false"
    if name in ("yum", "dnf", "microdnf", "tdnf") and any(
        w == "--nogpgcheck"
        or w.replace(" ", "").lower() in ("--setopt=sslverify=false", "--setopt=sslverify=0")
        for w in args
    ):
        return f"{name} --nogpgcheck/sslverify=false"
    if name == "rpm" and any(w in ("--nosignature", "--nodigest") for w in args):
        return "rpm --nosignature"
    return None


@_rule(
    "ALP010",
    "tls-verification-disabled",
    "error",
    "TLS certificate or package signature verification is turned off (curl -k, wget --no-check-certificate, "
    "pip --trusted-host, apk --allow-untrusted, PYTHONHTTPSVERIFY=0…).",
    "Keep verification on; add the CA you need (`COPY ca.crt /usr/local/share/ca-certificates/` and "
    "`update-ca-certificates`) or sign the repository.",
)
def check_tls(df: Dockerfile) -> Iterator[Hit]:
    for stage, ins in df.instructions():
        if ins.cmd == "RUN":
            for cmd in _commands(ins):
                what = _tls_off(cmd)
                if what:
                    yield _hit(ins, stage, f"{what} turns verification off")
                    break
                env_words = [w for w in cmd.words if "=" in w and not w.startswith("-")]
                for w in env_words:
                    key, _, val = w.partition("=")
                    if _env_disables_tls(key, val):
                        yield _hit(ins, stage, f"{key}={val} turns verification off")
                        break
        elif ins.cmd in ("ENV", "ARG"):
            pairs = (
                [(ins.words[i], ins.words[i + 1]) for i in range(0, len(ins.words) - 1, 2)]
                if ins.cmd == "ENV"
                else [tuple(w.partition("=")[::2]) for w in ins.words]
            )
            for key, val in pairs:
                if _env_disables_tls(key, val.strip("\"'")):
                    yield _hit(ins, stage, f"{ins.cmd} {key}={val} turns verification off")


def _env_disables_tls(key: str, val: str) -> bool:
    if key not in _TLS_OFF_ENV:
        return False
    bad = _TLS_OFF_ENV[key]
    if bad is None:
        return bool(val) and val.lower() not in ("0", "false", "no")
    return val.lower() in bad


# ------------------------------------------------------------------------------------------ ALP011


@_rule(
    "ALP011",
    "shell-form-without-shell",
    "error",
    "A shell-form CMD, ENTRYPOINT or HEALTHCHECK in a final image that has no /bin/sh (distroless, scratch).",
    'Use exec form: `CMD ["python3", "/app/app.py"]`, `HEALTHCHECK CMD ["python3", "-c", "…"]`.',
)
def check_shell_form_without_shell(df: Dockerfile) -> Iterator[Hit]:
    final = df.final_stage
    facts = base_facts(df.root_base(final))
    if facts.has_shell is not False:
        return
    names = _installed_names(df, final)
    if "busybox" in names:
        return
    for st in df.lineage(final):
        for ins in st.of("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            if ins.cmd == "HEALTHCHECK" and ins.words and ins.words[0].upper() == "NONE":
                continue
            if isinstance(ins.args, str) and ins.args:
                yield _hit(
                    ins,
                    st,
                    f"shell-form {ins.cmd} needs /bin/sh, which FROM {df.root_base(final)} does not have",
                )


# ------------------------------------------------------------------------------------------ ALP012


@_rule(
    "ALP012",
    "package-upgrade",
    "info",
    "apt-get upgrade / dist-upgrade / apk upgrade in a build: the result depends on the day of the build.",
    "Rebuild on a newer, digest-pinned base instead; upgrade single packages by pinning their versions.",
)
def check_upgrade(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.runs:
            for op in package_operations(ins):
                if op.action == "upgrade" and op.manager in ("apt", "apk") and not op.packages:
                    yield _hit(ins, stage, f"{' '.join(op.command[:2])} upgrades every package at build time")
                    break


# ------------------------------------------------------------------------------------------ ALP013


@_rule(
    "ALP013",
    "apt-install-recommends",
    "info",
    "apt-get install without --no-install-recommends pulls in recommended packages the image does not need.",
    '`apt-get install -y --no-install-recommends …` (or `APT::Install-Recommends "false";` in /etc/apt/apt.conf.d).',
)
def check_no_install_recommends(df: Dockerfile) -> Iterator[Hit]:
    for stage in _final_lineage(df):
        for ins in stage.runs:
            for op in package_operations(ins):
                if (
                    op.manager == "apt"
                    and op.action == "install"
                    and command_name(op.command[:1]) == "apt-get"
                    and not op.has_option("--no-install-recommends")
                    and not any(
                        "Install-Recommends=false" in o or "Install-Recommends=0" in o for o in op.options
                    )
                ):
                    yield _hit(ins, stage, "apt-get install without --no-install-recommends")
                    break


# ------------------------------------------------------------------------------------------ ALP014


@_rule(
    "ALP014",
    "apt-install-no-yes",
    "warning",
    "apt-get install without -y: the build stops at the confirmation prompt.",
    "`apt-get install -y …`.",
)
def check_apt_yes(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.runs:
            for op in package_operations(ins):
                if op.manager != "apt" or op.action != "install" or command_name(op.command[:1]) != "apt-get":
                    continue
                yes = op.has_option("-y", "--yes", "--assume-yes", "-qq", "--quiet=2", "-q=2") or any(
                    re.fullmatch(r"-[a-zA-Z]*y[a-zA-Z]*", o) for o in op.options
                )
                if not yes:
                    yield _hit(ins, stage, "apt-get install without -y waits for a confirmation")
                    break


# ------------------------------------------------------------------------------------------ ALP015


@_rule(
    "ALP015",
    "workdir-relative",
    "warning",
    "WORKDIR with a relative path: it depends on the WORKDIR the base image left.",
    "Use an absolute path: `WORKDIR /app`.",
)
def check_workdir(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.of("WORKDIR"):
            path = ins.words[0] if ins.words else ""
            if path and not path.startswith(("/", "$")) and not re.match(r"^[A-Za-z]:[\\/]", path):
                yield _hit(ins, stage, f"WORKDIR {path} is relative")


# ------------------------------------------------------------------------------------------ ALP016

_ARCHIVE_RE = re.compile(r"\.(tar|tar\.(gz|bz2|xz|zst)|tgz|tbz2?|txz)$", re.IGNORECASE)


@_rule(
    "ALP016",
    "add-instead-of-copy",
    "info",
    "ADD of local files that are not archives: COPY says what happens; ADD also unpacks and fetches.",
    "Use `COPY` for files and directories; keep `ADD` for local tar archives it should unpack.",
)
def check_add_local(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.of("ADD"):
            if ins.heredocs:
                continue
            srcs = ins.words[:-1]
            if srcs and not any(_URL_RE.search(s) or _ARCHIVE_RE.search(s) for s in srcs):
                yield _hit(ins, stage, f"ADD {' '.join(srcs)}: use COPY for local files")


# ------------------------------------------------------------------------------------------ ALP017


@_rule(
    "ALP017",
    "healthcheck-missing",
    "info",
    "The final image has no HEALTHCHECK (orchestrators without their own probes cannot tell it is stuck).",
    'Add `HEALTHCHECK CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:8080/health\')"]`, '
    "or rely on Kubernetes probes and say so with `# alpinist ignore=ALP017`.",
)
def check_healthcheck_missing(df: Dockerfile) -> Iterator[Hit]:
    final = df.final_stage
    if df.healthcheck(final) is None:
        yield Hit(
            final.start_line, final.label, f"the final stage (FROM {df.root_base(final)}) has no HEALTHCHECK"
        )


# ------------------------------------------------------------------------------------------ ALP018


@_rule(
    "ALP018",
    "expose-ssh",
    "warning",
    "EXPOSE 22: an SSH server in an application container is an attack surface; use `kubectl exec`.",
    "Remove `EXPOSE 22` and the SSH server.",
)
def check_expose_ssh(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.of("EXPOSE"):
            for port in ins.words:
                if port.split("/", 1)[0] == "22":
                    yield _hit(ins, stage, "EXPOSE 22 (SSH)")


# ------------------------------------------------------------------------------------------ ALP019


@_rule(
    "ALP019",
    "duplicate-stage-name",
    "error",
    "Two stages share an alias: `COPY --from` and `FROM` then refer to the wrong one.",
    "Give each stage a unique `AS` name.",
)
def check_duplicate_stage(df: Dockerfile) -> Iterator[Hit]:
    seen: dict[str, Stage] = {}
    for stage in df.stages:
        if stage.name is None:
            continue
        key = stage.name.lower()
        if key in seen:
            yield _hit(
                stage.from_instruction,
                stage,
                f"stage name {stage.name!r} is already used by the stage at line {seen[key].start_line}",
            )
        else:
            seen[key] = stage


# ------------------------------------------------------------------------------------------ ALP020


@_rule(
    "ALP020",
    "multiple-cmd-entrypoint",
    "info",
    "More than one CMD or ENTRYPOINT in the final stage: only the last takes effect.",
    "Keep one CMD and at most one ENTRYPOINT per stage.",
)
def check_multiple_cmd(df: Dockerfile) -> Iterator[Hit]:
    final = df.final_stage
    for cmd in ("CMD", "ENTRYPOINT"):
        found = final.of(cmd)
        for ins in found[:-1]:
            yield _hit(
                ins, final, f"{cmd} at line {ins.line} is overridden by the {cmd} at line {found[-1].line}"
            )


# ------------------------------------------------------------------------------------------ ALP021


@_rule(
    "ALP021",
    "user-not-numeric",
    "info",
    "The final USER is a name, not a uid: Kubernetes `runAsNonRoot` cannot verify a name and refuses to start the pod.",
    "Use the numeric ids: `USER 65532:65532` (after creating the user with that uid).",
)
def check_user_numeric(df: Dockerfile) -> Iterator[Hit]:
    user, ins = df.effective_user(df.final_stage)
    if ins is None or not user:
        return
    name = user.split(":", 1)[0]
    if name.isdigit() or _ROOT_RE.match(user.strip()):
        return
    owner = df.stages[_stage_of(df, ins)]
    yield _hit(ins, owner, f"USER {user} is not numeric; `runAsNonRoot: true` needs a uid to check")


# ------------------------------------------------------------------------------------------ ALP022


@_rule(
    "ALP022",
    "package-index-update-alone",
    "warning",
    "`apt-get update` (or `apk update`, `dnf makecache`) in a RUN without an install: a cached layer keeps stale lists for later installs.",
    "Update and install in the same RUN: `apt-get update && apt-get install -y … && rm -rf /var/lib/apt/lists/*`.",
)
def check_update_alone(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.runs:
            ops = package_operations(ins)
            for op in ops:
                if op.action != "update":
                    continue
                if not any(o.manager == op.manager and o.action in ("install", "upgrade") for o in ops):
                    yield _hit(ins, stage, f"{' '.join(op.command[:2])} without an install in the same RUN")
                    break


# ------------------------------------------------------------------------------------------ ALP023


@_rule(
    "ALP023",
    "shell-form-entrypoint",
    "warning",
    "CMD or ENTRYPOINT in shell form: /bin/sh is PID 1, so SIGTERM from `docker stop`/Kubernetes does not reach the app.",
    'Use exec form: `CMD ["python3", "-m", "app"]` (or `exec` the app from an entrypoint script).',
)
def check_shell_form_entrypoint(df: Dockerfile) -> Iterator[Hit]:
    final = df.final_stage
    if base_facts(df.root_base(final)).has_shell is False:
        return  # ALP011 reports these as errors
    for kind in ("ENTRYPOINT", "CMD"):
        for st in df.lineage(final):
            found = st.of(kind)
            if found:
                last = found[-1]
                if isinstance(last.args, str) and last.args and not last.args.lstrip().startswith("exec "):
                    yield _hit(
                        last, st, f"shell-form {kind}: the app runs as a child of /bin/sh and misses SIGTERM"
                    )
                break


# ------------------------------------------------------------------------------------------ ALP024


@_rule(
    "ALP024",
    "instruction-missing-argument",
    "error",
    "`USER`, `ENV` or `HEALTHCHECK [CMD]` without its argument: `docker build` refuses the Dockerfile.",
    "Give the argument (`USER 65532:65532`, `ENV NAME=value`, `HEALTHCHECK CMD [...]`) or delete the line.",
)
def check_missing_argument(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        for ins in stage.instructions:
            if ins.cmd == "USER" and len(ins.words) != 1:
                got = "no argument" if not ins.words else f"{len(ins.words)} arguments"
                yield _hit(ins, stage, f"USER takes exactly one argument (user[:group]), got {got}")
            elif ins.cmd == "ENV" and not ins.words:
                yield _hit(ins, stage, "ENV without a NAME=value")
            elif ins.cmd == "HEALTHCHECK" and not ins.words:
                yield _hit(ins, stage, "HEALTHCHECK without CMD or NONE")
            elif ins.cmd == "HEALTHCHECK" and ins.words[0].upper() == "CMD" and not ins.args:
                yield _hit(ins, stage, "HEALTHCHECK CMD without a command")


RULES: tuple[Rule, ...] = tuple(sorted(_REGISTRY, key=lambda r: r.id))
_BY_ID = {r.id: r for r in RULES}


def get_rule(rule_id: str) -> Rule | None:
    return _BY_ID.get(rule_id.upper())
