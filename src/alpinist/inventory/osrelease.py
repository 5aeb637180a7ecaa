"""Which distribution an image is: ``os-release(5)`` refined by the distro's own version file.

* ``/etc/os-release`` (or ``/usr/lib/os-release``, its usual target) gives ``ID``, ``VERSION_ID``,
  ``VERSION_CODENAME``, ``PRETTY_NAME``, ``ID_LIKE``.
* Alpine: ``/etc/alpine-release`` holds the full release (``3.20.3``); it is the version.
* Debian: ``/etc/debian_version`` holds the point release (``12.15``); it is the version when it is
  numeric. On testing/sid it says ``trixie/sid`` and ``VERSION_ID`` (if any) is kept.

Without an os-release file, the Alpine and Debian version files alone still identify the distro.
"""

from __future__ import annotations

import re

from alpinist.images.view import FileView, PathSelector
from alpinist.models import OSInfo

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
ALPINE_RELEASE = "/etc/alpine-release"
DEBIAN_VERSION = "/etc/debian_version"

OS_SELECTOR = PathSelector(exact=frozenset((*OS_RELEASE_PATHS, ALPINE_RELEASE, DEBIAN_VERSION)))

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMERIC_VERSION = re.compile(r"\d+(\.\d+)*")
_CODENAME_IN_VERSION = re.compile(r"\(([^)]*)\)")
MAX_VERSION_FILE_CHARS = 256  # a version file is one short line; anything longer is not one


def parse_os_release(text: str) -> dict[str, str]:
    """Parse ``KEY=value`` lines with the quoting rules of os-release(5).

    Comments, blank lines and lines that are not assignments are ignored; a later key wins.
    """
    result: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            continue
        result[key] = unquote(value.strip())
    return result


_DOUBLE_QUOTE_ESCAPES = frozenset('\\"$`')


def unquote(value: str) -> str:
    """One os-release value: double-quoted (a backslash escapes a backslash, a double quote, a dollar
    or a backtick), single-quoted (literal) or bare (a backslash quotes the next character).

    Hand-written because ``shlex`` in POSIX mode leaves the dollar and backtick escapes in place
    inside double quotes, unlike the shell rules os-release(5) refers to. After an unbalanced quote
    the rest of the value is kept as written.
    """
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if value[:1] == "'":
        return value[1:]
    if value[:1] == '"':
        body = (
            value[1:-1]
            if len(value) >= 2 and value[-1] == '"' and not _escaped_at(value, len(value) - 1)
            else value[1:]
        )
        out: list[str] = []
        i = 0
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body) and body[i + 1] in _DOUBLE_QUOTE_ESCAPES:
                out.append(body[i + 1])
                i += 2
                continue
            out.append(ch)
            i += 1
        return "".join(out)
    # bare: a backslash quotes the next character, as in the shell
    return re.sub(r"\\(.)", r"\1", value)


def _escaped_at(text: str, index: int) -> bool:
    """Whether the character at ``index`` is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def codename_from_version(version: str) -> str | None:
    """``12 (bookworm)`` -> ``bookworm``; ``22.04.3 LTS (Jammy Jellyfish)`` -> ``jammy``."""
    match = _CODENAME_IN_VERSION.search(version)
    if not match:
        return None
    words = match.group(1).split()
    return words[0].lower() if words else None


def _read_line(view: FileView, path: str) -> str | None:
    text = view.read_text(path)
    if text is None:
        return None
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not line or len(line) > MAX_VERSION_FILE_CHARS:
        return None
    return line


def detect_os(view: FileView) -> OSInfo | None:
    """The distribution of the final filesystem, or ``None`` when nothing identifies one."""
    fields: dict[str, str] | None = None
    for path in OS_RELEASE_PATHS:
        text = view.read_text(path)
        if text is not None:
            fields = parse_os_release(text)
            break
    alpine_release = _read_line(view, ALPINE_RELEASE)
    debian_version = _read_line(view, DEBIAN_VERSION)

    if fields is None or not fields.get("ID"):
        return _from_version_files(alpine_release, debian_version)

    os_id = fields["ID"].lower()
    version_id = fields.get("VERSION_ID", "")
    version = version_id
    codename = fields.get("VERSION_CODENAME") or None
    if codename is None and fields.get("VERSION"):
        codename = codename_from_version(fields["VERSION"])
    if os_id == "alpine" and alpine_release:
        version = alpine_release
    elif os_id == "debian" and debian_version and _NUMERIC_VERSION.fullmatch(debian_version):
        version = debian_version
        if not version_id:
            version_id = debian_version.split(".")[0]
    return OSInfo(
        id=os_id,
        version_id=version_id,
        version=version,
        codename=codename,
        pretty_name=fields.get("PRETTY_NAME") or None,
        id_like=tuple(fields.get("ID_LIKE", "").split()),
    )


def _from_version_files(alpine_release: str | None, debian_version: str | None) -> OSInfo | None:
    if alpine_release:
        return OSInfo(id="alpine", version_id=alpine_release, version=alpine_release)
    if debian_version and _NUMERIC_VERSION.fullmatch(debian_version):
        return OSInfo(id="debian", version_id=debian_version.split(".")[0], version=debian_version)
    return None
