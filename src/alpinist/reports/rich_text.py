"""Strings from an image, a feed or a Dockerfile, made safe for a rich console.

Every table formatter prints such strings through ``safe_text``: non-printable characters (ESC, CR, …)
are shown as escapes and the result is a ``rich.text.Text``, so neither rich markup nor terminal escapes
inside an image can change what is shown.
"""

from __future__ import annotations

from rich.text import Text


def printable(text: str) -> str:
    """Printable text only: control characters (ESC, CR, ...) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def safe_text(text: str | None, style: str = "") -> Text:
    """``text`` (None reads as empty) as a rich ``Text`` in ``style``, escaped by ``printable``."""
    return Text(printable(text or ""), style=style)
