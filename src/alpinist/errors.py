"""Error types of every pipeline stage and the stable exit codes they map to.

Exit codes (documented in the README, stable):

====  =================================================================
0     success
1     error: the image, a blob, a feed or the database could not be
      read or was rejected (one line on stderr names what and why)
2     policy: findings at or above ``--fail-on`` remain (scan, gate)
64    usage: bad command-line arguments (EX_USAGE from sysexits.h;
      not 2, so that a typo can never look like a policy failure)
====  =================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_POLICY = 2
EXIT_USAGE = 64


class AlpinistError(Exception):
    """Base of every error alpinist reports to the user as one line."""

    exit_code: int = EXIT_ERROR


class BadReference(AlpinistError):
    """An image reference that cannot be parsed."""


class ImageError(AlpinistError):
    """An image (or one of its blobs) that cannot be read."""


class BlobError(ImageError):
    """A specific blob is bad; the message names the blob and the reason."""

    def __init__(self, digest: str, reason: str) -> None:
        self.digest = digest
        self.reason = reason
        super().__init__(f"blob {digest}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:  # picklable: a layer read in a worker process raises it
        return (type(self), (self.digest, self.reason))


class DigestMismatch(BlobError):
    """The bytes of a blob do not hash to the digest that names them."""


class UnsafeLayer(BlobError):
    """A layer that tries something hostile: path escape, bomb, oversize member..."""


class CorruptLayer(BlobError):
    """A layer whose compression or tar stream is truncated or corrupt."""


class ManifestError(ImageError):
    """A manifest, index or config that is not valid JSON of the expected shape."""


class RegistryError(ImageError):
    """The registry refused or failed a request."""


class AuthError(RegistryError):
    """Credentials were missing or rejected."""


class NotFound(ImageError):
    """The image, tag or blob does not exist."""


class InventoryError(AlpinistError):
    """A package database inside the image that cannot be parsed."""


class SbomError(InventoryError):
    """A stored SBOM (``scan sbom:FILE``, ``rescan``) that cannot be read: not JSON, or in no format
    alpinist accepts (the message lists them), or of the right format but the wrong shape."""


class DatabaseError(AlpinistError):
    """The advisory database is missing, not SQLite, of another schema version, damaged or locked."""


class FeedError(AlpinistError):
    """An advisory feed that could not be downloaded or parsed.

    ``where`` is the URL (or the downloaded file, or ``file:member`` inside an archive) and ``reason``
    says what went wrong; ``status`` is the HTTP status when a server answered with an error.
    """

    def __init__(self, where: str, reason: str, *, status: int | None = None) -> None:
        self.where = where
        self.reason = reason
        self.status = status
        super().__init__(f"feed {where}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:  # picklable across processes despite the keyword argument
        return (_rebuild_feed_error, (self.where, self.reason, self.status))


def _rebuild_feed_error(where: str, reason: str, status: int | None) -> FeedError:
    return FeedError(where, reason, status=status)


class CIOptionError(AlpinistError):
    """An option of ``alpinist ci init`` that cannot go into a workflow (unsafe or malformed)."""

    exit_code = EXIT_USAGE

    def __init__(self, option: str, reason: str) -> None:
        self.option = option
        self.reason = reason
        super().__init__(f"{option}: {reason}")


class BaselineError(AlpinistError):
    """A baseline file that is missing, not JSON, of another schema, hand-edited into an invalid shape,
    or recorded for another image; the message names the file and the line or field that fails."""


class HistoryError(AlpinistError):
    """A history store (``--history FILE``) that is missing where it must exist, not SQLite, another
    program's database, of another schema version, damaged, or could not be written."""


class FleetStoreError(AlpinistError):
    """A fleet store (``--store URL``) that cannot be used: a URL of another scheme, a database that is not
    a fleet store or was made by a newer alpinist, a server that cannot be reached, or a failed write; the
    message names the store (its password replaced by ``***``) and the reason."""


class EngineError(AlpinistError):
    """The fleet engine cannot start (``distributed`` missing, a local cluster that fails), its Dask scheduler
    cannot be reached, or it was lost during a run."""
