"""Find links in rendered HTML: for link checks before a send, and for click tracking."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

__all__ = ["extract_links", "is_web_url", "rewrite_anchors"]

_ANCHOR = re.compile(r"<a\b[^>]*>", re.I)
_HREF = re.compile(r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_URL_ATTR = re.compile(r"""\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_NOTRACK = re.compile(r"\sdata-notrack\b", re.I)


def is_web_url(url: str) -> bool:
    lowered = url[:8].lower()
    return lowered.startswith("http://") or lowered.startswith("https://")


def extract_links(html: str) -> list[str]:
    """Every distinct http(s) URL in an ``href`` or ``src``, in document order, entities decoded."""
    seen: dict[str, None] = {}
    for match in _URL_ATTR.finditer(html):
        url = unescape((match.group(1) or match.group(2) or match.group(3) or "").strip())
        if is_web_url(url):
            seen.setdefault(url, None)
    return list(seen)


def rewrite_anchors(html: str, replace: Callable[[str], str | None]) -> str:
    """Swap each ``<a href>`` for ``replace(url)``; None keeps it; ``data-notrack`` anchors are left alone."""

    def on_anchor(anchor: re.Match[str]) -> str:
        tag = anchor.group(0)
        if _NOTRACK.search(tag):
            return tag
        href = _HREF.search(tag)
        if href is None:
            return tag
        url = (href.group(2) or href.group(3) or href.group(4) or "").strip()
        new = replace(unescape(url) if "&" in url else url)
        if new is None:
            return tag
        return f'{tag[: href.start()]}{href.group(1)}"{new}"{tag[href.end() :]}'

    return _ANCHOR.sub(on_anchor, html)
