"""Turn a body (HTML or MJML) into final email HTML, and HTML into plain text."""

from __future__ import annotations

import re

import css_inline
import mjml
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

__all__ = ["finish_body", "html_to_text", "inline_styles", "start_tags", "tidy_text"]

_INLINE_MJ_STYLE = re.compile(r"<mj-style\b[^>]*\binline=[\"']inline[\"'][^>]*>(.*?)</mj-style>", re.S | re.I)
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_IMPLIED = frozenset({"html", "head", "body", "tbody"})
_BLANKS = re.compile(r"\n{3,}")
_TEXT_CONFIG = ParserConfig(display_links=True)


def _inliner(extra_css: str | None, inline_style_tags: bool) -> css_inline.CSSInliner:
    # Never fetch remote stylesheets: the domain does no I/O, and a send must not hang on a CDN.
    return css_inline.CSSInliner(
        inline_style_tags=inline_style_tags,
        keep_style_tags=True,
        keep_link_tags=True,
        load_remote_stylesheets=False,
        extra_css=extra_css,
    )


def inline_styles(html: str, mjml_source: str | None = None) -> str:
    """Inline CSS into ``html``; for MJML only the ``<mj-style inline="inline">`` rules.

    Style blocks are kept beside the inlined styles because media queries cannot be inlined.
    """
    if mjml_source is not None:
        inline_css = "\n".join(_INLINE_MJ_STYLE.findall(mjml_source))
        return _inliner(inline_css, inline_style_tags=False).inline(html) if inline_css.strip() else html
    if "<style" in html.lower():
        return _inliner(None, inline_style_tags=True).inline(html)
    return html


def finish_body(part: str, source: str) -> str:
    """HTML ready to send from an ``html`` or ``mjml`` body; ``ValueError`` if MJML is invalid."""
    if part == "mjml":
        return inline_styles(mjml.mjml2html(source), source)
    return inline_styles(source)


def start_tags(html: str) -> list[str]:
    """Start-tag names, minus the wrappers an HTML parser adds on its own."""
    return [name for name in (t.lower() for t in _START_TAG.findall(html)) if name not in _IMPLIED]


def tidy_text(text: str) -> str:
    """Drop the indentation and blank runs that table layouts leave in extracted text."""
    lines = "\n".join(line.strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", lines).strip() + "\n"


def html_to_text(html: str) -> str:
    """Readable plain text for the text/plain part, links shown as ``[label](url)``."""
    return tidy_text(get_text(html, _TEXT_CONFIG))
