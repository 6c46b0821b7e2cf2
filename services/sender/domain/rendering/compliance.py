"""What marketing law and mailbox providers require of each message: headers and footers.

Marketing mail gets one-click unsubscribe headers (RFC 8058), a List-Id, a visible
unsubscribe and preferences link, why the reader gets it, and the postal address.
Transactional mail is marked as such and gets a plain footer without unsubscribe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from services.sender.domain.rendering.filters import format_day, locale_of
from services.sender.domain.rendering.footer_text import footer_text, how_signed_up
from services.sender.domain.rendering.template import Category

__all__ = ["Consent", "Footer", "Sender", "compliance_headers", "marketing_footer", "transactional_footer"]

CATEGORY_HEADER = "X-Dripline-Category"


@dataclass(frozen=True, slots=True)
class Sender:
    """The shop that sends, as configured for its workspace."""

    name: str
    address: str
    postal_address: str
    sending_domain: str
    tracker_url: str
    list_id: str
    list_name: str = ""
    unsubscribe_mailbox: str = ""

    @property
    def unsubscribe_address(self) -> str:
        return self.unsubscribe_mailbox or f"unsubscribe@{self.sending_domain}"


@dataclass(frozen=True, slots=True)
class Consent:
    """When and where the reader opted in, shown so they know why they hear from the shop."""

    signed_up_on: date
    source: str


@dataclass(frozen=True, slots=True)
class Footer:
    html: str
    text: str


def compliance_headers(category: Category, sender: Sender, unsubscribe_url: str, token: str) -> dict[str, str]:
    """Headers for one message; ``unsubscribe_url`` and ``token`` are ignored for transactional."""
    headers = {CATEGORY_HEADER: category.value}
    if category is Category.MARKETING:
        mailto = f"mailto:{sender.unsubscribe_address}?subject=unsubscribe-{token}"
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        name = sender.list_name.replace('"', "'")
        headers["List-Id"] = f'"{name}" <{sender.list_id}>' if name else f"<{sender.list_id}>"
    return headers


_STYLE = "font-size:12px;line-height:1.5;color:#666666;text-align:center;padding:16px"


def _reason(locale: str, sender: Sender, consent: Consent | None) -> str:
    words = footer_text(locale)
    if consent is None:
        return words.reason_subscribed.format(sender=sender.name)
    when = format_day(consent.signed_up_on, "long", locale_of(locale))
    return words.reason_signed_up.format(date=when, how=how_signed_up(locale, consent.source))


def marketing_footer(
    locale: str,
    sender: Sender,
    unsubscribe_url: str,
    preferences_url: str,
    consent: Consent | None,
    promise: str | None = None,
) -> Footer:
    """Visible unsubscribe and preferences links, why the reader gets this (and, when the topic promises
    it, how often), and the postal address."""
    words = footer_text(locale)
    reason = _reason(locale, sender, consent)
    if promise:
        reason = f"{reason} {words.how_often.format(promise=promise.rstrip('.'))}"
    html = (
        f'<div class="dripline-footer" style="{_STYLE}">'
        f"<p>{escape(reason)}</p>"
        f'<p><a href="{escape(unsubscribe_url)}" data-notrack>{escape(words.unsubscribe)}</a>'
        f' &middot; <a href="{escape(preferences_url)}" data-notrack>{escape(words.preferences)}</a></p>'
        f"<p>{escape(sender.name)}, {escape(sender.postal_address)}</p></div>"
    )
    text = (
        f"\n--\n{reason}\n{words.unsubscribe}: {unsubscribe_url}\n{words.preferences}: {preferences_url}\n"
        f"{sender.name}, {sender.postal_address}\n"
    )
    return Footer(html, text)


def transactional_footer(locale: str, sender: Sender) -> Footer:
    """Who sent it and why, with no unsubscribe: the reader needs these messages."""
    line = footer_text(locale).transactional.format(sender=sender.name)
    html = (
        f'<div class="dripline-footer" style="{_STYLE}"><p>{escape(line)}</p>'
        f"<p>{escape(sender.name)}, {escape(sender.postal_address)}</p></div>"
    )
    return Footer(html, f"\n--\n{line}\n{sender.name}, {sender.postal_address}\n")
