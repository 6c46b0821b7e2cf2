"""Open pixel, click redirects and the hidden preheader, spliced into rendered HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from html import escape

from services.sender.domain.links import is_web_url, rewrite_anchors

__all__ = ["add_open_pixel", "add_preheader", "append_to_body", "track_clicks"]

# Filler after the preheader keeps clients from pulling body text into the inbox preview.
_PREHEADER_FILLER = "&#847;&zwnj;&nbsp;" * 40
_PREHEADER_STYLE = (
    "display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all"
)


def track_clicks(html: str, click_url: Callable[[str], str], keep: Container[str]) -> str:
    """Point every http(s) anchor at its signed tracker URL, except those in ``keep``."""

    def replace(url: str) -> str | None:
        if not is_web_url(url) or url in keep:
            return None
        return escape(click_url(url))

    return rewrite_anchors(html, replace)


_BODY_START = re.compile(r"<body\b[^>]*>", re.I)
_BODY_END = re.compile(r"</body\s*>", re.I)


def _before_body_end(html: str, insert: str) -> str:
    at = html.rfind("</body>")
    if at < 0:
        # Rare mixed-case markup: pay for a scan only then.
        ends = list(_BODY_END.finditer(html))
        at = ends[-1].start() if ends else -1
    return html + insert if at < 0 else html[:at] + insert + html[at:]


def append_to_body(html: str, fragment: str) -> str:
    """Put ``fragment`` at the end of the body (or of the document, if it has no body tag)."""
    return _before_body_end(html, fragment)


def add_open_pixel(html: str, pixel_url: str) -> str:
    pixel = f'<img src="{escape(pixel_url)}" width="1" height="1" alt="">'
    return _before_body_end(html, pixel)


def add_preheader(html: str, preheader: str) -> str:
    """The preview line inboxes show beside the subject, hidden in the opened message."""
    if not preheader:
        return html
    span = f'<span style="{_PREHEADER_STYLE}">{escape(preheader)}{_PREHEADER_FILLER}</span>'
    body = _BODY_START.search(html)
    return span + html if body is None else html[: body.end()] + span + html[body.end() :]
