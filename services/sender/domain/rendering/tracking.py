"""Open pixel, click redirects and the preheader, spliced into rendered HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from html import escape

from services.sender.domain.rendering.links import is_web_url, rewrite_anchors
from shared.tokens import safe_click_url

__all__ = ["PIXEL_MIN_HTML", "add_open_pixel", "add_preheader", "append_to_body", "carries_open_pixel", "track_clicks"]

# The preheader is the first line the reader sees, small but readable: hidden text (display:none, a 1px font,
# filler characters) is what spam filters score as invisible (SpamAssassin's FONT_INVIS_*), so none is used.
_PREHEADER_STYLE = "font-size:13px;line-height:1.4;color:#555555;margin:0 0 12px 0"
# An HTML part of up to this many characters holding an image reads as "image only" to filters
# (SpamAssassin's HTML_IMAGE_ONLY_* count up to 3,200): a short message carries no open pixel.
PIXEL_MIN_HTML = 3200
_IMAGE = re.compile(r"<img\b", re.I)


def track_clicks(html: str, click_url: Callable[[str], str], keep: Container[str]) -> str:
    """Point every http(s) anchor at its signed tracker URL, except those in ``keep``.

    A link the tracker would never redirect to (a space in it, no host: data made it so) stays as it is
    rather than failing the message; the link check reports it."""

    def replace(url: str) -> str | None:
        if not is_web_url(url) or url in keep or not safe_click_url(url):
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


def carries_open_pixel(html: str) -> bool:
    """Whether a pixel leaves the filters' verdict as it is: the HTML is long, or already shows pictures."""
    return len(html) > PIXEL_MIN_HTML or _IMAGE.search(html) is not None


def add_open_pixel(html: str, pixel_url: str) -> str:
    pixel = f'<img src="{escape(pixel_url)}" width="1" height="1" alt="">'
    return _before_body_end(html, pixel)


def add_preheader(html: str, preheader: str) -> str:
    """The preview line inboxes show beside the subject, as the message's first visible line."""
    if not preheader:
        return html
    line = f'<p class="dripline-preheader" style="{_PREHEADER_STYLE}">{escape(preheader)}</p>'
    body = _BODY_START.search(html)
    return line + html if body is None else html[: body.end()] + line + html[body.end() :]
