"""``alpinist migrate``: rewrite a Debian/Ubuntu-based Dockerfile for Alpine, and say what may break.

The result of :func:`migrate_dockerfile` is the new Dockerfile text and a :class:`MigrationReport`. For a
single-stage input (the common case, and the story's) the output has two stages:

- **builder**: the build dependencies (``build-base``, the apt packages mapped by
  :mod:`~alpinist.dockerfile.apt_to_apk`, and what :mod:`~alpinist.dockerfile.wheels` says the source
  builds need), a virtual environment (``/opt/venv``, or the one the input creates), the files and
  ``pip install`` commands of the input, with ``--no-cache-dir``;
- **runtime**: the runtime packages only, the venv copied with ``COPY --from=builder``, the input's
  ``ENV``/``WORKDIR``/``COPY``/``EXPOSE``/``CMD``/``ENTRYPOINT``…, a non-root user ``nonroot`` (uid and
  gid 65532, ``USER 65532:65532``: numeric, so Kubernetes' ``runAsNonRoot`` can verify it), and the
  ``HEALTHCHECK`` rewritten from ``curl``/``wget`` to Python's ``urllib`` in exec form.

**The builder's Python equals the runtime's**: an input on ``python:X.Y…`` keeps ``X.Y`` and both stages
use ``python:X.Y-alpineA.B``; an input that installs its distribution's ``python3`` gets ``alpine:A.B``
in both stages with Alpine's ``python3`` (its ``X.Y`` from :mod:`~alpinist.dockerfile.knowledge`), and
the report says when that changes the Python version. A multi-stage input is translated stage by stage
(bases, packages, pip, users, healthcheck) without restructuring; build packages go to the stages that
are discarded, and to the final image only where its own pip commands compile.

Input already on Alpine, distroless, scratch, Wolfi or BusyBox is returned unchanged unless ``force``.
The output is a pure function of the input, the options and the index's answers: same input, same bytes.

The package, one module per job: :mod:`.options` (``--to`` and the options), :mod:`.plan` (bases and the
Python of each stage), :mod:`.runs` (a ``RUN`` split and classified), :mod:`.pip`, :mod:`.users`,
:mod:`.healthcheck`, :mod:`.packages` (apt → apk, build vs runtime), :mod:`.wheelcheck` (the musllinux wheel
check), :mod:`.scripts` (the context's scripts the image runs, with :mod:`.ashcompat`, and its glibc programs,
with :mod:`.elf`), :mod:`.text` (emitting instructions), :mod:`.single` and :mod:`.stages` (the two translations, made of
those steps), :mod:`.report` (the frozen report) and :mod:`.render` (its text and JSON).
"""

from __future__ import annotations

import httpx

from alpinist.dockerfile.knowledge import image_distro
from alpinist.dockerfile.migrate.options import (
    ALPINE_RELEASES,
    DEFAULT_ALPINE,
    NONROOT_UID,
    AlpineRelease,
    AlpineTarget,
    MigrationOptions,
    MigrationTargetError,
    parse_target,
)
from alpinist.dockerfile.migrate.plan import target_risks
from alpinist.dockerfile.migrate.report import Collector, Migration, MigrationReport, Note
from alpinist.dockerfile.migrate.single import migrate_single
from alpinist.dockerfile.migrate.stages import migrate_stages
from alpinist.dockerfile.model import Dockerfile
from alpinist.dockerfile.parse import parse_dockerfile

__all__ = [
    "ALPINE_RELEASES",
    "DEFAULT_ALPINE",
    "NONROOT_UID",
    "AlpineRelease",
    "AlpineTarget",
    "Migration",
    "MigrationOptions",
    "MigrationReport",
    "MigrationTargetError",
    "Note",
    "migrate_dockerfile",
    "migrate_text",
    "parse_target",
]

_MUSL_NOTE = (
    "musl is not glibc: its DNS resolver, the absence of glibc locales and its smaller default thread "
    "stack (128 KiB) can change the service's behaviour; run its tests in the new image"
)


_ALREADY_MINIMAL = {"alpine", "distroless", "scratch", "wolfi", "busybox"}


def migrate_text(
    text: str,
    path: str | None = None,
    options: MigrationOptions | None = None,
    *,
    client: httpx.Client | None = None,
) -> Migration:
    """Parse ``text`` (``path`` names it and locates the build context) and migrate it."""
    return migrate_dockerfile(
        parse_dockerfile(text, path), text, options or MigrationOptions(), client=client
    )


def migrate_dockerfile(
    df: Dockerfile, text: str, options: MigrationOptions, *, client: httpx.Client | None = None
) -> Migration:
    """Migrate a parsed Dockerfile (``text`` is its source, for formatting and comments)."""
    source = df.path or "Dockerfile"
    target = options.to
    final = df.final_stage
    root = df.root_base(final)
    distro = image_distro(root)
    if distro is not None and distro[0] in _ALREADY_MINIMAL and not options.force:
        kind = {
            "alpine": "Alpine",
            "distroless": "distroless",
            "scratch": "scratch",
            "wolfi": "Wolfi",
            "busybox": "BusyBox",
        }[distro[0]]
        reason = (
            f"the final stage is already on {kind} (FROM {root}); nothing changed (--force migrates anyway)"
        )
        return Migration(text, MigrationReport(source, str(target), False, reason, input_base=str(root)))
    c = Collector()
    c.note(_MUSL_NOTE)
    target_risks(target, c)
    if len(df.stages) == 1:
        return migrate_single(df, text, options, c, client)
    return migrate_stages(df, text, options, c, client)
