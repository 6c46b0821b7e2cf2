"""Render one message from a compiled template: all of it, or a ``RenderError`` and nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from liquid import BoundTemplate
from liquid.exceptions import LiquidError

from services.sender.domain.rendering.body import finish_body, html_to_text, tidy_text
from services.sender.domain.rendering.compile import PART_SEPARATOR, CompiledTemplate, liquid_reason
from services.sender.domain.rendering.compliance import (
    Consent,
    Sender,
    compliance_headers,
    marketing_footer,
    transactional_footer,
)
from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.rendering.filters import RESERVED
from services.sender.domain.rendering.liquid_env import MissingValueError, check_plain
from services.sender.domain.rendering.template import Category
from services.sender.domain.rendering.tracking import (
    add_open_pixel,
    add_preheader,
    append_to_body,
    carries_open_pixel,
    track_clicks,
)
from shared.tokens import KeyRing, MessageTokens, TokenKind

__all__ = ["Outgoing", "RenderedMessage", "render_message"]

_RENDER_FAILURES = (LiquidError, ValueError, TypeError, ArithmeticError, LookupError, RecursionError)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one contact: who, which flow step, and the data the template may use.

    ``variables`` holds only plain data (dicts, lists, str, numbers, bools, None, dates);
    ``issued_at`` is the caller's clock in Unix seconds, stamped into every token.
    """

    message_id: str
    workspace_id: str
    contact_id: str
    to: str
    issued_at: int
    variables: Mapping[str, object] = field(default_factory=dict)
    locale: str | None = None
    time_zone: str = "UTC"
    flow_id: str | None = None
    step_id: str | None = None
    consent: Consent | None = None
    broadcast_id: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A fully rendered message, ready for MIME assembly. ``opens_tracked`` is False when it carries no open
    pixel (tracking off, or HTML too short to carry one): whether it was opened is then unknown."""

    template_id: str
    category: Category
    subject: str
    html: str
    text: str
    headers: Mapping[str, str]
    opens_tracked: bool = False


class _Tokens:
    """Signs this message's tokens; every kind shares the message's ids."""

    def __init__(self, keys: KeyRing, out: Outgoing, tracker_url: str) -> None:
        self._keys, self._out, self._base = keys, out, tracker_url.rstrip("/")
        self._signer: MessageTokens | None = None  # made at the first token: a message may have none

    def token(self, kind: TokenKind, url: str | None = None) -> str:
        if self._signer is None:
            out = self._out
            self._signer = self._keys.for_message(
                out.message_id,
                out.workspace_id,
                out.contact_id,
                out.issued_at,
                out.flow_id,
                out.step_id,
                out.broadcast_id,
            )
        return self._signer.sign(kind, url)

    def url(self, path: str, token: str) -> str:
        return f"{self._base}/{path}/{token}"

    def click(self, url: str) -> str:
        return self.url("c", self.token(TokenKind.CLICK, url))


def _render(compiled: CompiledTemplate, part: str, bound: BoundTemplate, scope: Mapping[str, object]) -> str:
    try:
        return bound.render(**scope)
    except MissingValueError as err:
        raise MissingData(compiled.template.id, part, err.variable) from err
    except _RENDER_FAILURES as err:
        reason = liquid_reason(err) if isinstance(err, LiquidError) else f"{type(err).__name__}: {err}"
        raise RenderError(compiled.template.id, part, reason) from err


def _plain_parts(compiled: CompiledTemplate, scope: Mapping[str, object]) -> tuple[str, str, str | None]:
    """Subject, preheader and text (None when it must come from the HTML), in one render if possible."""
    if compiled.plain_parts is not None:
        try:
            parts = compiled.plain_parts.render(**scope).split(PART_SEPARATOR)
        except _RENDER_FAILURES:
            parts = []  # render part by part below, so the error names its part
        if len(parts) == 3:
            return parts[0], parts[1], parts[2] if compiled.text is not None else None
    subject = _render(compiled, "subject", compiled.subject, scope)
    preheader = _render(compiled, "preheader", compiled.preheader, scope)
    # Text derived from the body is the author's body: name that part in errors.
    text_part = "text" if compiled.template.text is not None else compiled.template.body_part
    text = _render(compiled, text_part, compiled.text, scope) if compiled.text is not None else None
    return subject, preheader, text


def _body_html(compiled: CompiledTemplate, scope: Mapping[str, object]) -> str:
    template = compiled.template
    rendered = _render(compiled, template.body_part, compiled.body, scope)
    if compiled.body_is_final:
        return rendered
    try:
        return finish_body(template.body_part, rendered)
    except ValueError as err:
        raise RenderError(template.id, template.body_part, f"MJML does not compile: {err}") from err


def _parts(compiled: CompiledTemplate, scope: Mapping[str, object]) -> tuple[str, str, str, str | None]:
    """HTML, subject, preheader and text (None when it must come from the HTML): in one pass when the
    template pairs them, else part by part. A paired render that fails is done again part by part, so the
    error is the one the parts alone give."""
    if compiled.paired is not None:
        try:
            paired = compiled.paired.render_parts(scope)
        except _RENDER_FAILURES:
            pass
        else:
            return paired.html, paired.subject, paired.preheader, paired.text
    html = _body_html(compiled, scope)
    return html, *_plain_parts(compiled, scope)


def render_message(compiled: CompiledTemplate, out: Outgoing, sender: Sender, keys: KeyRing) -> RenderedMessage:
    """Subject, HTML and text with personalization, tracking and the compliance footer."""
    template = compiled.template
    bad = check_plain(dict(out.variables))
    if bad is not None:
        raise RenderError(template.id, "context", f"{bad} is not plain data (dict, list, str, number)")
    locale = out.locale or template.locale or "en"
    tokens = _Tokens(keys, out, sender.tracker_url)
    marketing = template.category is Category.MARKETING
    unsub_token = tokens.token(TokenKind.UNSUB) if marketing else ""
    unsubscribe_url = tokens.url("u", unsub_token) if marketing else ""
    preferences_url = tokens.url("p", tokens.token(TokenKind.PREFS)) if marketing else ""
    reserved = {
        "locale": locale,
        "time_zone": out.time_zone,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }
    scope = {
        **out.variables,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
        RESERVED: reserved,
    }

    html, raw_subject, raw_preheader, raw_text = _parts(compiled, scope)
    subject, preheader = " ".join(raw_subject.split()), " ".join(raw_preheader.split())
    text = tidy_text(raw_text) if raw_text is not None else html_to_text(html)
    if preheader:  # the HTML shows it as its first line; the text part says the same
        text = f"{preheader}\n\n{text}"

    if template.tracking.clicks:
        html = track_clicks(html, tokens.click, keep=(unsubscribe_url, preferences_url))
    if marketing:
        promise = out.variables.get("promise")  # the topic's promise of how often (`with_promise`)
        footer = marketing_footer(
            locale, sender, unsubscribe_url, preferences_url, out.consent, promise if isinstance(promise, str) else None
        )
    else:
        footer = transactional_footer(locale, sender)
    html = append_to_body(add_preheader(html, preheader), footer.html)
    opens_tracked = template.tracking.opens and carries_open_pixel(html)
    if opens_tracked:
        html = add_open_pixel(html, tokens.url("o", tokens.token(TokenKind.OPEN)))
    headers = compliance_headers(template.category, sender, unsubscribe_url, unsub_token)
    return RenderedMessage(template.id, template.category, subject, html, text + footer.text, headers, opens_tracked)
