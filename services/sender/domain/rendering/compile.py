"""Compile a template once per version: every Liquid part parsed, MJML and CSS done up front.

The body is compiled with its Liquid tags hidden (see ``protect``), so MJML, css-inline
and text extraction run once per version instead of once per message. When that is not
provably safe for a body, it is compiled for the slow path instead: Liquid first, then
MJML and css-inline for every message.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import mjml
from liquid import BoundTemplate
from liquid.exceptions import LiquidError

from services.sender.domain.rendering.body import html_to_text, inline_styles, start_tags
from services.sender.domain.rendering.errors import Problem, TemplateError
from services.sender.domain.rendering.liquid_env import environment
from services.sender.domain.rendering.paired import PairedTemplate, Stretches, pair_parts
from services.sender.domain.rendering.protect import (
    between_blocks,
    comments_to_words,
    protect,
    restore_comments,
    restore_words,
    segments,
)
from services.sender.domain.rendering.template import Template

__all__ = [
    "PART_SEPARATOR",
    "CompiledTemplate",
    "TemplateCache",
    "compile_template",
    "liquid_reason",
    "validate",
    "validate_languages",
]


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """Everything needed to render a message from one template version, with no parsing left.

    ``body_is_final`` False means ``body`` is Liquid over the raw HTML/MJML, which must be
    finished per message; ``text`` None means text is extracted from each rendered HTML.
    ``plain_parts`` is subject, preheader and text joined by ``PART_SEPARATOR``: one render
    instead of three, since each Liquid render has a fixed cost.
    """

    template: Template
    strict: bool
    subject: BoundTemplate
    preheader: BoundTemplate
    body: BoundTemplate
    body_is_final: bool
    text: BoundTemplate | None
    plain_parts: BoundTemplate | None = None
    paired: PairedTemplate | None = None  # subject, preheader, HTML and derived text in one pass


PART_SEPARATOR = "\x00\x01\x00"


def liquid_reason(err: Exception) -> str:
    """First line of a Liquid error plus its line:column, without the echoed source."""
    lines = str(err).splitlines() or [type(err).__name__]
    located = len(lines) > 1 and lines[1].lstrip().startswith("->")
    return lines[0] + (f" (at {lines[1].rsplit(' ', 1)[-1]})" if located else "")


def _parse(
    source: str, part: str, problems: list[Problem], *, html: bool, strict: bool, lenient: bool = False
) -> BoundTemplate | None:
    env = environment(autoescape=html, strict=strict, lenient=lenient)
    try:
        bound = env.from_string(source)
    except LiquidError as err:
        problems.append(Problem(part, liquid_reason(err)))
        return None
    # Unknown filters only fail at render time; catch the typo before the first send.
    unknown = sorted(set(bound.analyze().filters) - set(env.filters))
    if unknown:
        problems.append(Problem(part, f"unknown filter {', '.join(map(repr, unknown))}"))
        return None
    return bound


def _shapes_kept(before: str, after: str) -> bool:
    """True when inlining moved no element across a Liquid tag (e.g. out of a table)."""
    split_before, split_after = segments(before), segments(after)
    if len(split_before) != len(split_after):
        return False
    return all(start_tags(a) == start_tags(b) for a, b in zip(split_before, split_after, strict=True))


def _precompile_body(template: Template) -> tuple[str | None, str | None, Stretches | None]:
    """Final HTML and plain text as Liquid sources; None where the fast path is unsafe. With the text
    derived from the HTML, their stretches between block tags too, for rendering both in one pass.

    Raises ``ValueError`` when the MJML itself does not compile.
    """
    hidden = protect(template.body)
    if template.mjml is not None:
        before = mjml.mjml2html(hidden.text)
        after = inline_styles(before, hidden.text)
    else:
        before = hidden.text
        after = inline_styles(before)
    html_source = restore_comments(after, hidden.tags) if _shapes_kept(before, after) else None
    text_source, stretches = None, None
    if template.text is None and html_source is not None:
        words = html_to_text(comments_to_words(after))
        text_source = restore_words(words, hidden.tags)
        if text_source is not None:
            blocks = [tag for tag in hidden.tags if not tag.startswith("{{")]
            html_stretches = between_blocks(after, hidden.tags, words=False)
            stretches = (html_stretches, between_blocks(words, hidden.tags, words=True), blocks)
    return html_source, text_source, stretches


def _check_mjml_as_is(template: Template, problems: list[Problem]) -> None:
    try:
        mjml.mjml2html(template.body)
    except ValueError as err:
        problems.append(Problem("mjml", f"MJML does not compile: {err}"))


def compile_template(template: Template, *, strict: bool = False, lenient: bool = False) -> CompiledTemplate:
    """Compile every part; raise ``TemplateError`` naming each broken part and why.

    ``strict`` and ``lenient`` choose what an undefined value does (see ``liquid_env.environment``)."""
    problems: list[Problem] = []
    modes = {"strict": strict, "lenient": lenient}
    subject = _parse(template.subject, "subject", problems, html=False, **modes)
    preheader = _parse(template.preheader, "preheader", problems, html=False, **modes)
    written_text = None
    if template.text is not None:
        written_text = _parse(template.text, "text", problems, html=False, **modes)
    raw_body = _parse(template.body, template.body_part, problems, html=True, **modes)
    html_source: str | None = None
    text_source: str | None = None
    stretches: Stretches | None = None
    if raw_body is not None:
        try:
            html_source, text_source, stretches = _precompile_body(template)
        except ValueError:
            # Hidden tags may be what upsets MJML; judge the body as the author wrote it.
            _check_mjml_as_is(template, problems)
    if problems:
        raise TemplateError(template.id, problems)
    assert subject is not None and preheader is not None and raw_body is not None
    env_html = environment(autoescape=True, **modes)
    env_text = environment(autoescape=False, **modes)
    body, final = raw_body, False
    if html_source is not None:
        try:
            body, final = env_html.from_string(html_source), True
        except LiquidError:
            body, final = raw_body, False
    text, text_liquid = written_text, template.text
    if text is None and final and text_source is not None:
        try:
            text, text_liquid = env_text.from_string(text_source), text_source
        except LiquidError:
            text, text_liquid = None, None
    joined = PART_SEPARATOR.join((template.subject, template.preheader, text_liquid or ""))
    try:
        plain_parts: BoundTemplate | None = env_text.from_string(joined)
    except LiquidError:
        plain_parts = None
    paired = None
    if stretches is not None and final and text is not None and template.text is None:
        sources = (template.subject, template.preheader)
        paired = pair_parts(sources, (subject, preheader, body, text), stretches, **modes)
    return CompiledTemplate(template, strict, subject, preheader, body, final, text, plain_parts, paired)


def validate(template: Template) -> list[Problem]:
    """Every problem that would stop this template from compiling; empty when it is sound."""
    try:
        compile_template(template)
    except TemplateError as err:
        return err.problems
    return []


def validate_languages(template: Template) -> list[Problem]:
    """`validate` for the template's own fields and each variant, a variant's problems named after it
    (`variants.sv.html: unknown filter 'nope'`)."""
    return validate(template) + [
        Problem(f"variants.{key}.{problem.where}", problem.reason)
        for key in template.variants
        for problem in validate(template.in_locale(key))
    ]


class TemplateCache:
    """Compiled templates keyed by id, content version and strictness, least recently used out."""

    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[tuple[str, str, bool, bool], CompiledTemplate] = OrderedDict()
        # The content hash costs a twentieth of a render, and the sender hands over the same template
        # object for every message of a version: its hash is remembered by the object's identity (the
        # object is held while remembered, so its id cannot pass to another).
        self._versions: OrderedDict[int, tuple[Template, str]] = OrderedDict()

    def get(self, template: Template, *, strict: bool = False, lenient: bool = False) -> CompiledTemplate:
        key = (template.id, self._version(template), strict, lenient)
        compiled = self._items.get(key)
        if compiled is None:
            compiled = compile_template(template, strict=strict, lenient=lenient)
            self._items[key] = compiled
            if len(self._items) > self._maxsize:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return compiled

    def _version(self, template: Template) -> str:
        known = self._versions.get(id(template))
        if known is not None and known[0] is template:
            self._versions.move_to_end(id(template))
            return known[1]
        version = template.version
        self._versions[id(template)] = (template, version)
        if len(self._versions) > self._maxsize:
            self._versions.popitem(last=False)
        return version

    def __len__(self) -> int:
        return len(self._items)
