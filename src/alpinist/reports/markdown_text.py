"""Strings from an image or a feed, made safe for one cell (or line) of a Markdown document."""

from __future__ import annotations


def markdown_cell(text: str | None) -> str:
    """``text`` with Markdown and HTML metacharacters escaped and whitespace runs (newlines too) folded to
    one space, so that it stays inside its table cell; None and empty read as empty."""
    if not text:
        return ""
    out = text.replace("\\", "\\\\").replace("|", "\\|")
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = (
        out.replace("`", "\\`")
        .replace("*", "\\*")
        .replace("_", "\\_")
        .replace("[", "\\[")
        .replace("]", "\\]")
    )
    return " ".join(out.split())
