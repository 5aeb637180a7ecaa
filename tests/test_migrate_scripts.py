"""``alpinist migrate`` reads the scripts the image runs from the build context, and the programs it copies.

Each test builds a real build context in a temporary directory (script texts as services write them,
ELF files built byte by byte with :mod:`struct`, a C program compiled with the machine's gcc), migrates
its Dockerfile with ``--context`` and asserts the runtime stage's exact ``apk add`` line and the exact
report lines a user reads.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from alpinist.cli.app import main
from alpinist.dockerfile.migrate import Migration, MigrationOptions, migrate_text
from alpinist.dockerfile.migrate.ashcompat import bashisms
from alpinist.dockerfile.migrate.elf import ElfLink, read_elf, read_elf_bytes
from alpinist.dockerfile.migrate.scripts import shebang_program


def make_context(root: Path, files: dict[str, str | bytes]) -> Path:
    """A build context: ``files`` by context path (scripts get mode 755, as they are committed)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if rel.endswith(".sh") or isinstance(content, bytes):
            path.chmod(0o755)
    return root


def migrate_context(context: Path) -> Migration:
    """Migrate ``context/Dockerfile`` with ``--context context`` (offline: no index is asked)."""
    dockerfile = context / "Dockerfile"
    return migrate_text(
        dockerfile.read_text(encoding="utf-8"),
        str(dockerfile),
        MigrationOptions(context=context, offline=True),
    )


def runtime_apk_line(result: Migration) -> str | None:
    """The first line of the final stage's first instruction when it is the ``apk add``."""
    lines = result.text.splitlines()
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    nxt = lines[last_from + 1]
    return nxt if nxt.startswith("RUN apk add") else None


def changes(result: Migration) -> list[str]:
    return [str(n) for n in result.report.changes]


def risks(result: Migration) -> list[str]:
    return [str(n) for n in result.report.risks]


def notes(result: Migration) -> list[str]:
    return [str(n) for n in result.report.notes]


def about(lines: list[str], *names: str) -> list[str]:
    """The report lines that name one of the context files ``names``."""
    return [line for line in lines if any(f" {name}" in line or line.startswith(name) for name in names)]


PIP = "RUN pip install --no-cache-dir flask==3.0.3\n"

BASH_ENTRYPOINT = """#!/bin/bash
set -euo pipefail

if [[ $1 == gunicorn* ]]; then
    python manage.py migrate --noinput
fi
exec "$@"
"""

POSIX_ENTRYPOINT = """#!/bin/sh
set -eu
# ash accepts all of these (see ashcompat's evidence): none may be flagged
set -o pipefail
. /app/env.sh
source /app/env.sh
name="${APP_NAME:-app}"
short="${name:0:3}"
slug="${name//_/-}"
greet() {
    echo "starting $slug ($short)" &> /dev/null
}
function banner {
    printf '%s\\n' "$1"
}
if [[ "$1" == "web" && -n "$name" ]]; then
    banner "web"
fi
echo 'an array a=(1 2) in single quotes is text'
cat <<EOF
heredoc text is data: x=(1 2) ${y[@]} [[ $z ]]
EOF
exec "$@"
"""

SH_WITH_ARRAY = """#!/bin/sh
set -e
hosts=(db cache)
for h in "${hosts[@]}"; do
    echo "waiting for $h"
done
exec "$@"
"""


# ------------------------------------------------------------------------------------------- shells


def test_bash_entrypoint_found_through_path_gets_bash_and_the_report_says_so(tmp_path: Path) -> None:
    """The story's bug: ENTRYPOINT ["docker-entrypoint.sh"] (found in PATH after COPY … /usr/local/bin/)
    is #!/bin/bash with [[: the runtime installs bash and the report names the script."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n"
            "WORKDIR /app\n" + PIP + "COPY docker-entrypoint.sh /usr/local/bin/\n"
            "COPY . /app\n"
            'ENTRYPOINT ["docker-entrypoint.sh"]\n'
            'CMD ["gunicorn", "app.wsgi"]\n',
            "docker-entrypoint.sh": BASH_ENTRYPOINT,
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache bash \\"
    assert about(changes(result), "docker-entrypoint.sh") == [
        "line 6: docker-entrypoint.sh: #!/bin/bash: bash added to the runtime"
    ]
    assert about(risks(result) + notes(result), "docker-entrypoint.sh") == []
    assert "bash" in result.report.runtime_packages


def test_posix_sh_entrypoint_needs_no_bash_and_what_ash_accepts_is_not_flagged(tmp_path: Path) -> None:
    """A #!/bin/sh script using only what BusyBox ash accepts (source, ${v:0:3}, ${v//x/y}, &>, pipefail,
    function f {, [[ with quoted operands; quoted text and heredoc bodies) gets nothing and no line."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + "COPY entrypoint.sh env.sh /app/\n"
            'ENTRYPOINT ["/app/entrypoint.sh"]\n',
            "entrypoint.sh": POSIX_ENTRYPOINT,
            "env.sh": "export APP_NAME=shop\n",
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) is None  # nothing to install at all
    assert about(changes(result) + risks(result) + notes(result), "entrypoint.sh", "env.sh") == []
    assert "bash" not in result.report.runtime_packages


def test_sh_script_with_an_array_is_flagged_and_gets_bash_for_the_new_shebang(tmp_path: Path) -> None:
    """COPY . /src, then CMD runs /src/scripts/start.sh: #!/bin/sh with an array is refused by ash; the
    report names the rules and their lines; bash is installed for the #!/bin/bash it is told to use."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + 'COPY . /src\nCMD ["/src/scripts/start.sh"]\n',
            "scripts/start.sh": SH_WITH_ARRAY,
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache bash \\"
    assert about(changes(result), "scripts/start.sh") == [
        "line 4: scripts/start.sh: #!/bin/sh with bash-only syntax: bash added to the runtime"
    ]
    assert about(risks(result), "scripts/start.sh") == [
        "line 4: scripts/start.sh: #!/bin/sh is BusyBox ash on Alpine, which refuses an array assignment "
        "(line 3), an array expansion ${name[…]} (line 4): change its shebang to #!/bin/bash"
    ]


def test_bash_script_without_bash_syntax_gets_bash_and_a_note(tmp_path: Path) -> None:
    """The one behaviour for #!/bin/bash: bash is installed (the script runs as written); when it holds
    nothing ash refuses, a note says #!/bin/sh would do. WORKDIR makes the relative path resolve."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n"
            "WORKDIR /srv\n" + PIP + "COPY run.sh ./bin/\n"
            'CMD ["./bin/run.sh"]\n',
            "run.sh": '#!/usr/bin/env bash\nset -e\nexec gunicorn app:app --bind "0.0.0.0:${PORT:-8000}"\n',
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache bash \\"
    assert about(changes(result), "run.sh") == [
        "line 5: run.sh: #!/usr/bin/env bash: bash added to the runtime"
    ]
    assert about(notes(result), "run.sh") == [
        "line 5: run.sh: #!/usr/bin/env bash but no bash-only syntax that BusyBox ash refuses was found: "
        "with #!/bin/sh it would run without bash"
    ]


def test_zsh_script_gets_zsh(tmp_path: Path) -> None:
    """#!/bin/zsh: zsh, not bash, is what the runtime needs."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + 'COPY start.sh /\nENTRYPOINT ["/start.sh"]\n',
            "start.sh": "#!/bin/zsh\nsetopt errexit\nexec python -m app\n",
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache zsh \\"
    assert about(changes(result), "start.sh") == ["line 4: start.sh: #!/bin/zsh: zsh added to the runtime"]


def test_supervisord_program_running_a_bash_script(tmp_path: Path) -> None:
    """A supervisord configuration copied from the context: its [program:x] command= runs a bash script
    of the context; the lines point at the COPY of the configuration."""
    conf = (
        "[supervisord]\nnodaemon=true\n\n"
        "[program:web]\ncommand=gunicorn app:app ; the web process\n\n"
        "[program:worker]\ncommand=/app/bin/worker.sh --queue default\ndirectory=/app\n"
    )
    worker = '#!/bin/bash\nqueues=(default mail)\nexec celery -A app worker -Q "${queues[*]}"\n'
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n"
            + PIP
            + "COPY deploy/supervisord.conf /etc/supervisor/conf.d/app.conf\n"
            "COPY . /app\n"
            'CMD ["supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]\n',
            "deploy/supervisord.conf": conf,
            "bin/worker.sh": worker,
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache bash \\"
    assert about(changes(result), "bin/worker.sh") == [
        "line 4: bin/worker.sh: #!/bin/bash: bash added to the runtime"
    ]


def test_a_script_outside_the_context_is_named_and_never_read(tmp_path: Path) -> None:
    """COPY ../shared/start.sh: the file exists next to the context (a bash script) but is not read:
    the report says so and no bash is installed on its account."""
    make_context(tmp_path / "shared", {"start.sh": BASH_ENTRYPOINT})
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + "COPY ../shared/start.sh /start.sh\n"
            'ENTRYPOINT ["/start.sh"]\n'
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) is None
    assert about(notes(result), "/start.sh") == [
        "line 4: ENTRYPOINT runs /start.sh: not read (../shared/start.sh is outside the build context)"
    ]


def test_a_symlink_leaving_the_context_is_named_and_never_read(tmp_path: Path) -> None:
    """ctx/entrypoint.sh → ../elsewhere/entrypoint.sh: not followed out of the context, whether copied by
    name or with the whole directory."""
    outside = make_context(tmp_path / "elsewhere", {"entrypoint.sh": BASH_ENTRYPOINT})
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + "COPY entrypoint.sh /usr/local/bin/\n"
            'ENTRYPOINT ["entrypoint.sh"]\n'
        },
    )
    os.symlink(outside / "entrypoint.sh", ctx / "entrypoint.sh")
    result = migrate_context(ctx)
    assert runtime_apk_line(result) is None
    assert about(notes(result), "/usr/local/bin/entrypoint.sh") == [
        "line 4: ENTRYPOINT runs /usr/local/bin/entrypoint.sh: not read "
        "(entrypoint.sh is a symlink leaving the build context)"
    ]
    (ctx / "Dockerfile").write_text(
        "FROM python:3.11-slim\n" + PIP + 'COPY . /app\nENTRYPOINT ["/app/entrypoint.sh"]\n', encoding="utf-8"
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) is None
    assert about(notes(result), "/app/entrypoint.sh") == [
        "line 4: ENTRYPOINT runs /app/entrypoint.sh: not read (entrypoint.sh is a symlink leaving the build context)"
    ]


def test_a_missing_script_is_named(tmp_path: Path) -> None:
    """ENTRYPOINT names a file the COPY . /app would bring, but the context has none."""
    ctx = make_context(
        tmp_path / "ctx",
        {"Dockerfile": "FROM python:3.11-slim\n" + PIP + 'COPY . /app\nENTRYPOINT ["/app/start.sh"]\n'},
    )
    assert about(notes(migrate_context(ctx)), "/app/start.sh") == [
        "line 4: ENTRYPOINT runs /app/start.sh: not read (start.sh is not in the build context)"
    ]


def test_a_script_that_execs_and_sources_others(tmp_path: Path) -> None:
    """The entrypoint (POSIX sh, run through tini) sources ./env.sh (declare: not in ash) and execs
    /app/start-worker.sh (#!/bin/bash): each is read, and each line names the ENTRYPOINT's line."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends tini\n"
            "WORKDIR /app\n" + PIP + "COPY . .\n"
            'ENTRYPOINT ["tini", "--", "/app/entrypoint.sh"]\n',
            "entrypoint.sh": '#!/bin/sh\nset -e\n. ./env.sh\nexec /app/start-worker.sh "$@"\n',
            "env.sh": "declare -x APP_ENV=production\n",
            "start-worker.sh": "#!/bin/bash\nexec celery -A app worker\n",
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache bash tini \\"
    assert about(changes(result), "entrypoint.sh", "env.sh", "start-worker.sh") == [
        "line 6: env.sh: run with sh with bash-only syntax: bash added to the runtime",
        "line 6: start-worker.sh: #!/bin/bash: bash is already in the runtime",
    ]
    assert about(risks(result), "env.sh") == [
        "line 6: env.sh: run with sh is BusyBox ash on Alpine, which refuses declare (not an ash builtin) "
        "(line 1): run it with bash"
    ]


def test_run_scripts_and_multistage_put_the_shell_in_their_stage(tmp_path: Path) -> None:
    """RUN ./scripts/build.sh in a builder stage of a multi-stage input: bash goes to that stage, not to
    the final one; the final stage's entrypoint (COPY --from the builder) is read through the builder."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim AS build\n"
            "WORKDIR /src\n"
            "COPY . .\n"
            "RUN ./scripts/build.sh\n"
            "RUN pip wheel -w /wheels flask==3.0.3\n"
            "FROM python:3.11-slim\n"
            "COPY --from=build /src/scripts/entrypoint.sh /entrypoint.sh\n"
            "COPY --from=build /wheels /wheels\n"
            "RUN pip install --no-index --find-links /wheels flask\n"
            'ENTRYPOINT ["/entrypoint.sh"]\n',
            "scripts/build.sh": "#!/bin/bash\nshopt -s globstar\npython -m compileall -q .\n",
            "scripts/entrypoint.sh": '#!/bin/sh\nexec "$@"\n',
        },
    )
    result = migrate_context(ctx)
    lines = result.text.splitlines()
    build_from = lines.index("FROM python:3.11-alpine3.22 AS build")
    assert lines[build_from + 1] == "RUN apk add --no-cache bash build-base"
    assert runtime_apk_line(result) is None
    assert about(changes(result), "scripts/build.sh", "scripts/entrypoint.sh") == [
        "line 4: scripts/build.sh: #!/bin/bash: bash added to stage build"
    ]


TOOLS_ENTRYPOINT = """#!/bin/sh
set -e
until pg_isready -h "$DB_HOST"; do sleep 1; done
curl -fsS "http://$CONFIG_HOST/config" -o /tmp/config.json
wget -q -O /tmp/ca.pem "http://$CONFIG_HOST/ca.pem"
exec gosu app "$@"
"""


def test_tools_a_script_runs_that_alpine_lacks_are_reported(tmp_path: Path) -> None:
    """curl (mapped: add curl), pg_isready (postgresql-client), wget (BusyBox has a smaller one), gosu
    (mapped: add gosu): one line each; not installed by alpinist."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + "COPY docker-entrypoint.sh /\n"
            'ENTRYPOINT ["/docker-entrypoint.sh"]\n',
            "docker-entrypoint.sh": TOOLS_ENTRYPOINT,
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) is None
    assert about(risks(result), "docker-entrypoint.sh") == [
        "line 4: docker-entrypoint.sh runs curl: not in the Alpine image; add curl to the runtime's apk add",
        "line 4: docker-entrypoint.sh runs gosu: not in the Alpine image; add gosu to the runtime's apk add",
        "line 4: docker-entrypoint.sh runs pg_isready: not in the Alpine image; add postgresql-client to the "
        "runtime's apk add",
        "line 4: docker-entrypoint.sh runs wget: Alpine has BusyBox's wget (fewer options); add wget to the "
        "runtime's apk add for the full one",
    ]


def test_curl_a_script_runs_survives_the_healthcheck_rewrite(tmp_path: Path) -> None:
    """The input installs curl and probes with it; the healthcheck becomes Python, but the entrypoint
    script still runs curl: curl stays in the runtime and no line says it was removed."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n"
            "RUN apt-get update && apt-get install -y curl\n" + PIP + "COPY entrypoint.sh /\n"
            "HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1\n"
            'ENTRYPOINT ["/entrypoint.sh"]\n',
            "entrypoint.sh": '#!/bin/sh\ncurl -fsS "$CONFIG_URL" -o /tmp/config.json\nexec "$@"\n',
        },
    )
    result = migrate_context(ctx)
    assert runtime_apk_line(result) == "RUN apk add --no-cache curl \\"
    assert not [
        line
        for line in changes(result) + risks(result)
        if "curl removed" in line or "curl not installed" in line
    ]


# ------------------------------------------------------------------------------------------- glibc


def elf64(
    interp: bytes | None, needed: tuple[bytes, ...] = (), *, e_type: int = 2, phoff: int | None = None
) -> bytes:
    """A small real 64-bit little-endian x86-64 ELF: a PT_LOAD over the file, PT_INTERP naming ``interp``,
    PT_DYNAMIC with DT_NEEDED ``needed`` (strings in a DT_STRTAB reached through the PT_LOAD)."""
    vaddr = 0x400000
    nph = 1 + (interp is not None) + bool(needed)
    at = 64 + 56 * nph
    blobs = b""
    interp_off = at
    if interp is not None:
        blobs += interp + b"\0"
    strtab_off = at + len(blobs)
    strtab = b"\0"
    name_offs = []
    for name in needed:
        name_offs.append(len(strtab))
        strtab += name + b"\0"
    if needed:
        blobs += strtab
    pad = (-(at + len(blobs))) % 8
    blobs += b"\0" * pad
    dyn_off = at + len(blobs)
    dyn = b"".join(struct.pack("<qQ", 1, off) for off in name_offs)
    dyn += struct.pack("<qQ", 5, vaddr + strtab_off) + struct.pack("<qQ", 0, 0)
    if needed:
        blobs += dyn
    total = at + len(blobs)
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, vaddr, vaddr, total, total, 0x1000)
    if interp is not None:
        phdrs += struct.pack(
            "<IIQQQQQQ", 3, 4, interp_off, vaddr + interp_off, 0, len(interp) + 1, len(interp) + 1, 1
        )
    if needed:
        phdrs += struct.pack("<IIQQQQQQ", 2, 6, dyn_off, vaddr + dyn_off, 0, len(dyn), len(dyn), 8)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header = struct.pack(
        "<16sHHIQQQIHHHHHH",
        ident,
        e_type,
        62,
        1,
        vaddr,
        phoff if phoff is not None else 64,
        0,
        0,
        64,
        56,
        nph,
        64,
        0,
        0,
    )
    return header + phdrs + blobs


GLIBC_LOADER = b"/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = b"/lib/ld-musl-x86_64.so.1"


def test_elf_reader_on_built_files() -> None:
    """glibc loader → glibc; musl loader → not; a shared object needing libc.so.6 → glibc; static → not;
    a truncated file, a program-header offset past the end, an interpreter past the end → not ELF."""
    glibc = read_elf_bytes(elf64(GLIBC_LOADER, (b"libc.so.6",)))
    assert glibc == ElfLink("/lib64/ld-linux-x86-64.so.2", ("libc.so.6",))
    assert glibc.glibc and glibc.why == "interpreter /lib64/ld-linux-x86-64.so.2"
    musl = read_elf_bytes(elf64(MUSL_LOADER, (b"libc.musl-x86_64.so.1",)))
    assert musl == ElfLink("/lib/ld-musl-x86_64.so.1", ("libc.musl-x86_64.so.1",)) and not musl.glibc
    shared = read_elf_bytes(elf64(None, (b"libm.so.6", b"libc.so.6"), e_type=3))
    assert shared is not None and shared.glibc and shared.why == "needs libc.so.6"
    static = read_elf_bytes(elf64(None))
    assert static == ElfLink(None, ()) and not static.glibc
    whole = elf64(GLIBC_LOADER)
    assert read_elf_bytes(whole[:40]) is None  # truncated header
    assert read_elf_bytes(whole[:100]) is None  # program headers cut off
    assert read_elf_bytes(elf64(GLIBC_LOADER, phoff=10**9)) is None  # lying e_phoff
    lying_interp = bytearray(whole)
    struct.pack_into("<Q", lying_interp, 64 + 56 + 8, 10**9)  # PT_INTERP's p_offset
    assert read_elf_bytes(bytes(lying_interp)) is None
    assert read_elf_bytes(b"#!/bin/sh\necho not elf\n") is None
    assert read_elf_bytes(b"\x7fELF" + b"\xff" * 60) is None  # bad class and data bytes


def test_glibc_program_copied_from_the_context_is_reported(tmp_path: Path) -> None:
    """bin/agent (glibc loader) and lib/libfast.so (needs libc.so.6) are reported under "May break" with
    their image paths; bin/agent-musl and the static bin/tool are not; a .dockerignore'd one is not."""
    ctx = make_context(
        tmp_path / "ctx",
        {
            "Dockerfile": "FROM python:3.11-slim\n" + PIP + "COPY bin/agent /usr/local/bin/agent\n"
            "COPY . /app\n"
            'CMD ["python", "-m", "app"]\n',
            "bin/agent": elf64(GLIBC_LOADER, (b"libc.so.6",)),
            "bin/agent-musl": elf64(MUSL_LOADER, (b"libc.musl-x86_64.so.1",)),
            "bin/tool": elf64(None),
            "lib/libfast.so": elf64(None, (b"libc.so.6",), e_type=3),
            "build/old-agent": elf64(GLIBC_LOADER),
            ".dockerignore": "build\n",
        },
    )
    result = migrate_context(ctx)
    assert [r for r in risks(result) if "ELF" in r] == [
        "line 3: bin/agent (/usr/local/bin/agent): an ELF program linked against glibc (interpreter "
        "/lib64/ld-linux-x86-64.so.2); it does not run on Alpine's musl: rebuild it on Alpine or link it "
        "statically",
        "line 4: bin/agent (/app/bin/agent): an ELF program linked against glibc (interpreter "
        "/lib64/ld-linux-x86-64.so.2); it does not run on Alpine's musl: rebuild it on Alpine or link it "
        "statically",
        "line 4: lib/libfast.so (/app/lib/libfast.so): an ELF program linked against glibc (needs libc.so.6); "
        "it does not run on Alpine's musl: rebuild it on Alpine or link it statically",
    ]


def _compile(tmp_path: Path, *flags: str) -> Path | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n', encoding="utf-8")
    out = tmp_path / ("hello" + "".join(flags).replace("-", "_"))
    done = subprocess.run([gcc, *flags, "-o", str(out), str(src)], capture_output=True, check=False)
    return out if done.returncode == 0 else None


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc on this machine")
def test_a_program_gcc_builds_here_is_glibc_and_flagged(tmp_path: Path) -> None:
    """A real dynamically linked program from the machine's gcc (glibc) is read as glibc; migrating a
    context that copies it reports it."""
    binary = _compile(tmp_path)
    assert binary is not None
    link = read_elf(binary)
    assert link is not None and link.glibc and "libc.so.6" in link.needed
    ctx = make_context(
        tmp_path / "ctx",
        {"Dockerfile": "FROM python:3.11-slim\n" + PIP + 'COPY hello /usr/local/bin/hello\nCMD ["hello"]\n'},
    )
    shutil.copy(binary, ctx / "hello")
    assert [r for r in risks(migrate_context(ctx)) if "ELF" in r] == [
        f"line 3: hello (/usr/local/bin/hello): an ELF program linked against glibc ({link.why}); it does not "
        "run on Alpine's musl: rebuild it on Alpine or link it statically"
    ]


@pytest.mark.skipif(
    shutil.which("gcc") is None or not Path("/usr/lib/x86_64-linux-gnu/libc.a").exists(),
    reason="no gcc with a static glibc on this machine",
)
def test_a_static_program_gcc_builds_here_is_not_flagged(tmp_path: Path) -> None:
    """gcc -static: no interpreter, no libc.so.6: it runs on Alpine and is not reported."""
    binary = _compile(tmp_path, "-static")
    assert binary is not None
    link = read_elf(binary)
    assert link is not None and not link.glibc


# ------------------------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("a=(1 2)", "an array assignment"),
        ('echo "${a[@]}"', "an array expansion ${name[…]}"),
        ("a[0]=x", "an array element assignment"),
        ("echo ${v^^}", "a case-changing expansion ${name^^}/${name,,}"),
        ("echo ${!name}", "an indirect expansion ${!name}"),
        ("echo ${v@Q}", "a ${name@…} transformation"),
        ('grep x <<< "$v"', "a here-string <<<"),
        ("make |& tee log", "|& (pipe with stderr)"),
        ("run &>> log", "&>> (append stdout and stderr)"),
        ("s+=x", "an append assignment name+="),
        ("(( i++ ))", "an arithmetic command (( … ))"),
        ("for ((i=0; i<3; i++)); do :; done", "a C-style for (( … ))"),
        ("for i in {1..3}; do :; done", "a brace expansion {a,b}/{1..3}"),
        ("cp app.conf{,.bak}", "a brace expansion {a,b}/{1..3}"),
        ("[[ -n $x ]] && echo y", "[[ … ]] with an unquoted $expansion"),
        ('[[ "$x" =~ ^(a|b)$ ]]', "[[ … ]] with an unquoted ( ) < or >"),
        ("declare -a xs", "declare (not an ash builtin)"),
        ("typeset -i n=1", "typeset (not an ash builtin)"),
        ("shopt -s nullglob", "shopt (not an ash builtin)"),
        ("set -o posix", "set -o posix (not an ash option)"),
    ],
)
def test_bash_only_syntax_ash_refuses(line: str, rule: str) -> None:
    """Each rule fires on its construct (evidence in ashcompat's comments)."""
    assert [b.rule for b in bashisms(f"#!/bin/sh\n{line}\n")] == [rule]


@pytest.mark.parametrize(
    "line",
    [
        "source ./env.sh",
        'echo "${v:0:3} ${v//a/b} ${v/a/b} ${v%.*} ${#v}"',
        "run &> /dev/null",
        "set -euo pipefail",
        "function f { echo hi; }",
        "f() { local x=1; let x=x+1; }",
        '[[ "$a" == "b" && -n "$c" ]] || exit 1',
        "printf $'a\\tb'",
        "echo '${a[@]} a=(1) [[ $x ]] {1..3}'",
        'echo "{a,b} x=(1)"',
        "x=$((i+=1))",
        "find . -name '*.pyc' -exec rm {} +",
        "echo ok # a=(1 2) in a comment",
    ],
)
def test_what_ash_accepts_is_not_flagged(line: str) -> None:
    """Constructs BusyBox ash accepts, and text that is quoted or a comment: nothing."""
    assert bashisms(f"#!/bin/sh\n{line}\n") == []


def test_shebangs_name_their_program() -> None:
    assert [
        shebang_program(s)
        for s in (
            "#!/bin/bash",
            "#!/usr/bin/env bash",
            "#!/bin/zsh",
            "#!/bin/sh -e",
            "#!/usr/bin/env -S python3 -u",
            None,
        )
    ] == ["bash", "bash", "zsh", "sh", "python3", None]


def test_cli_reads_the_scripts_of_the_context_it_is_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``alpinist migrate DOCKERFILE --context DIR``: the Dockerfile lives elsewhere, the scripts are read
    from DIR; the text report shows the line, the Dockerfile the package."""
    ctx = make_context(tmp_path / "ctx", {"docker-entrypoint.sh": BASH_ENTRYPOINT})
    dockerfile = tmp_path / "deploy" / "Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text(
        "FROM python:3.11-slim\n" + PIP + "COPY docker-entrypoint.sh /usr/local/bin/\n"
        'ENTRYPOINT ["docker-entrypoint.sh"]\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["migrate", str(dockerfile), "--context", str(ctx), "--offline"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0
    assert "RUN apk add --no-cache bash \\\n" in out
    assert "  - line 4: docker-entrypoint.sh: #!/bin/bash: bash added to the runtime\n" in err
