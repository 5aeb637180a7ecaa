"""Fleet views and runs written by hand for the tests of the fleet formatters (``reports/fleet/``): several
images (one that could not be read, one unchanged, trends of 1 and of 5 points, new findings, base advice, a
reference with ``<`` and ``&`` in it), a long fleet, an empty store, and what ``fleet scan`` invocations did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alpinist.advisories.model import Severity
from alpinist.fleet.model import (
    FleetRun,
    FleetView,
    ImageReport,
    NewFindings,
    RunInfo,
    RunKind,
    Status,
    StoredScan,
    TrendPoint,
)
from alpinist.scan.model import FindingRef

STORE = "sqlite:////var/lib/alpinist/fleet.db"
DB_OLD = "20240504T0600Z-3f2a9c1e07b5"
DB_NEW = "20240505T0600Z-9b1d0e44a2c7"
DAY0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ODD = "registry.test/odd/<b>&amp;:1"  # not a valid reference: proves every format escapes what it is given


def when(run_id: int, minutes: int = 0) -> datetime:
    return DAY0 + timedelta(days=run_id - 1, minutes=minutes)


def finding(
    vuln: str, severity: Severity, package: str, version: str, fixed: str | None = None, kind: str = "deb"
) -> FindingRef:
    return FindingRef(vuln, kind, package, version, severity, fixed, "fixed" if fixed else "open")


def counts(
    critical: int = 0, high: int = 0, medium: int = 0, low: int = 0, negligible: int = 0, unknown: int = 0
) -> tuple[tuple[Severity, int], ...]:
    return (
        ("CRITICAL", critical),
        ("HIGH", high),
        ("MEDIUM", medium),
        ("LOW", low),
        ("NEGLIGIBLE", negligible),
        ("UNKNOWN", unknown),
    )


def findings_for(by_severity: tuple[tuple[Severity, int], ...], prefix: str) -> tuple[FindingRef, ...]:
    """``by_severity`` as that many made-up findings (CVE-2024-<prefix><n>), worst first."""
    out = []
    for severity, n in by_severity:
        for k in range(n):
            out.append(
                finding(
                    f"CVE-2024-{prefix}{severity[0]}{k:03d}", severity, f"pkg-{severity.lower()}-{k}", "1.0-1"
                )
            )
    return tuple(out)


def run_info(
    run_id: int,
    kind: RunKind = "scan",
    *,
    db: str = DB_NEW,
    images: int = 6,
    done: bool = True,
    by_status: tuple[tuple[Status, int], ...] = (),
) -> RunInfo:
    return RunInfo(
        id=run_id,
        kind=kind,
        started_at=when(run_id),
        finished_at=when(run_id, 4) if done else None,
        db_version=db,
        engine="local(2)",
        images=images,
        counts=by_status,
    )


def image(
    reference: str,
    status: Status,
    trend: list[tuple[tuple[Severity, int], ...]],
    *,
    digest: str | None = "sha256:" + "ab12" * 16,
    os: str | None = "debian 12",
    new: tuple[FindingRef, ...] = (),
    error: str | None = None,
    advice: str | None = None,
) -> ImageReport:
    """An image whose trend ends in run 5 and whose latest result (recorded in run 5) has the counts of the
    trend's last point: the ``new`` findings and made-up ones for the rest."""
    first_run = 6 - len(trend)
    points = tuple(TrendPoint(first_run + k, when(first_run + k, 1), c) for k, c in enumerate(trend))
    latest_counts = trend[-1] if trend else counts()
    rest = tuple((sev, n - sum(1 for f in new if f.severity == sev)) for sev, n in latest_counts)
    assert all(n >= 0 for _, n in rest), f"{reference}: more new findings than the last point counts"
    found = (*new, *findings_for(rest, reference[-3:].upper()))
    return ImageReport(
        reference=reference,
        latest=StoredScan(
            run_id=5,
            reference=reference,
            status=status,
            digest=digest,
            db_version=DB_NEW,
            recorded_at=when(5, 1),
            findings=() if status == "error" else found,
            error=error,
            os=os,
            packages=0 if status == "error" else 120,
        ),
        new=new,
        trend=points,
        base_advice=advice,
    )


API_NEW = (
    finding("CVE-2024-0003", "MEDIUM", "libxml2", "2.9.14+dfsg-1.3"),
    finding("CVE-2024-0002", "HIGH", "openssl", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1"),
    finding("CVE-2024-0001", "CRITICAL", "glibc", "2.36-9+deb12u3", "2.36-9+deb12u4"),
    finding("GHSA-xxxx-yyyy-zzzz", "HIGH", "urllib3", "1.26.5", None, kind="python"),
)


def fleet_view() -> FleetView:
    """Six images, worst first: two with findings and new ones, one unchanged (the odd reference, one
    point of trend), one clean alpine, one that could not be read, one with base advice."""
    images = (
        image(
            "registry.test/app/api:1.4",
            "scanned",
            [
                counts(1, 3, 9, 4),
                counts(1, 4, 10, 4),
                counts(2, 5, 11, 4, 1),
                counts(1, 4, 8, 3, 1),
                counts(2, 5, 9, 3, 1, 2),
            ],
            new=API_NEW,
            advice="debian:11 → debian:12-slim: 14 fewer high or critical findings; run `alpinist recommend registry.test/app/api:1.4`",
        ),
        image(
            "registry.test/app/worker:2",
            "matched",
            [
                counts(0, 2, 5, 1),
                counts(0, 2, 5, 1),
                counts(0, 2, 5, 1),
                counts(1, 2, 5, 1),
                counts(1, 3, 4, 1),
            ],
            digest="sha256:" + "cd34" * 16,
            new=(finding("CVE-2024-0009", "HIGH", "zlib", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-2"),),
        ),
        image(ODD, "unchanged", [counts(0, 1, 2)], digest="sha256:" + "ef56" * 16),
        image(
            "registry.test/base/python:3.12",
            "scanned",
            [counts(0, 0, 3), counts(0, 0, 1)],
            digest="sha256:" + "0789" * 16,
            advice="python:3.12-slim-bookworm → python:3.12-alpine: 1 fewer medium finding\nsmaller by 38 MB",
        ),
        image(
            "registry.test/tools/alpine:3.20",
            "scanned",
            [counts(), counts(), counts()],
            os="alpine 3.20.3",
            digest="sha256:" + "1111" * 16,
        ),
        image(
            "registry.test/app/gone:latest",
            "error",
            [],
            digest=None,
            os=None,
            error="manifest unknown (HTTP 404)",
        ),
    )
    return FleetView(
        store=STORE,
        run=run_info(5, by_status=(("scanned", 3), ("matched", 1), ("unchanged", 1), ("error", 1))),
        previous=run_info(4, "rescan", db=DB_OLD, images=5, by_status=(("matched", 5),)),
        images=images,
    )


def long_view(size: int = 60) -> FleetView:
    """``size`` images, worst first (image-000 the worst), each with a trend of 3 points."""
    images = tuple(
        image(
            f"registry.test/many/image-{k:03d}:1",
            "scanned",
            [counts(0, size - k, 2), counts(0, size - k, 1), counts(1, size - k, 1)],
            digest=f"sha256:{k:064x}",
        )
        for k in range(size)
    )
    return FleetView(STORE, run_info(5, images=size, by_status=(("scanned", size),)), None, images)


def empty_view() -> FleetView:
    return FleetView(STORE, None, None, ())


def fresh_run() -> FleetRun:
    """A new run that went well: nothing new, no error."""
    return FleetRun(
        run=run_info(5, by_status=(("scanned", 4), ("unchanged", 2))),
        store=STORE,
        resumed=False,
        already=0,
        counts=(("scanned", 4), ("unchanged", 2)),
        errors=(),
        new=(),
        seconds=12.345,
    )


def resumed_run() -> FleetRun:
    """A resumed run: 2 images done before it was killed, errors and new findings recorded out of order."""
    return FleetRun(
        run=run_info(5, images=8, by_status=(("error", 2), ("matched", 1), ("scanned", 4), ("unchanged", 1))),
        store=STORE,
        resumed=True,
        already=2,
        counts=(("error", 2), ("matched", 1), ("scanned", 2), ("unchanged", 1)),
        errors=(
            ("registry.test/app/gone:latest", "manifest unknown (HTTP 404)"),
            (
                "registry.test/app/big:7",
                "layer sha256:9f3c… is 2.1 GB: over the 2 GB limit of one layer (--max-layer-size)",
            ),
        ),
        new=(
            NewFindings("registry.test/app/worker:2", "sha256:" + "cd34" * 16, (API_NEW[1],)),
            NewFindings(ODD, None, (API_NEW[1], API_NEW[2], API_NEW[3])),
        ),
        seconds=3723.5,
    )
