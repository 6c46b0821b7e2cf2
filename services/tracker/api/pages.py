"""The few pages people see: small, self-contained HTML (no external assets), every value escaped."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence, Set
from html import escape

from services.tracker.adapters.consent import SubscriptionTopic
from shared.consent.channels import CONSENT_CHANNELS, LABELS, ConsentChannel
from shared.consent.promise import promise_in

__all__ = [
    "PAGE_HEADERS",
    "confirm_signup",
    "invalid_link",
    "link_expired",
    "preferences",
    "signup_confirmed",
    "unsubscribe_confirm",
    "unsubscribed",
]

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "h1{font-size:1.4rem}button{font:inherit;padding:.5rem 1rem;border:1px solid #444;border-radius:4px;"
    "background:#222;color:#fff;cursor:pointer}button.quiet{background:#fff;color:#222}"
    "form{margin:1rem 0}a{color:#0645ad}ul{padding-left:1.2rem}label{display:block;margin:.4rem 0}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

# Sent with every page: no scripts, images or fonts, only the one stylesheet above (by its hash), forms
# that post back to the tracker, never inside a frame (clickjacking the unsubscribe or confirm button).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _button(action: str, label: str, *, name: str, value: str, quiet: bool = False) -> str:
    css = ' class="quiet"' if quiet else ""
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<button type="submit" name="{escape(name)}" value="{escape(value)}"{css}>{escape(label)}</button></form>'
    )


def invalid_link() -> str:
    return _page(
        "This link is not valid",
        "<p>The link may have been cut off or changed. Please use the link from the email as it arrived.</p>",
    )


def link_expired() -> str:
    return _page(
        "This link has expired",
        "<p>The link is too old to use, so nothing was changed. "
        "Please sign up again on the shop's website, or use the link in a recent email.</p>",
    )


def unsubscribe_confirm(action: str, preferences_url: str) -> str:
    """A GET shows this and changes nothing: link scanners fetch every URL in a message."""
    return _page(
        "Unsubscribe",
        "<p>Stop receiving marketing emails from this shop?</p>"
        + _button(action, "Unsubscribe", name="confirm", value="yes")
        + f'<p>Or <a href="{escape(preferences_url)}">manage your email preferences</a>.</p>',
    )


def unsubscribed(preferences_url: str) -> str:
    return _page(
        "You are unsubscribed",
        "<p>You will no longer receive marketing emails from this shop. "
        "Messages about your orders still reach you.</p>"
        f'<p>Changed your mind? <a href="{escape(preferences_url)}">Manage your email preferences</a>.</p>',
    )


def confirm_signup(action: str) -> str:
    """A GET shows this and confirms nothing: link scanners fetch every URL in a message."""
    return _page(
        "Confirm your sign-up",
        "<p>Please confirm that you want to receive emails from this shop.</p>"
        + _button(action, "Yes, confirm my address", name="confirm", value="yes"),
    )


def signup_confirmed(outcome: str, preferences_url: str) -> str:
    if outcome == "expired":
        return _page(
            "This link has expired",
            "<p>The confirmation link is too old, so nothing was changed. Please sign up again.</p>",
        )
    return _page(
        "Thank you, you are confirmed",
        "<p>Your address is confirmed. You can change what you receive at any time: "
        f'<a href="{escape(preferences_url)}">email preferences</a>.</p>',
    )


def _topic_form(
    action: str,
    topics: Sequence[SubscriptionTopic],
    chosen: Set[str],
    channels: Set[ConsentChannel] = frozenset(),
    locale: str | None = None,
) -> str:
    """A checkbox per topic (with how often it writes, in the reader's language) and per channel."""
    boxes = "".join(
        f'<label><input type="checkbox" name="topic" value="{escape(topic.topic)}"'
        + (" checked" if topic.topic in chosen else "")
        + f"> {escape(topic.name)}"
        + (f" – {escape(topic.description)}" if topic.description else "")
        + (f' <small class="promise">({escape(text)})</small>' if (text := _promise(topic, locale)) else "")
        + "</label>"
        for topic in topics
    )
    ways = "".join(
        f'<label><input type="checkbox" name="channel" value="{channel}"'
        + (" checked" if channel in channels else "")
        + f"> {escape(LABELS[channel][0].upper() + LABELS[channel][1:])}</label>"
        for channel in CONSENT_CHANNELS
    )
    topic_set = f"<fieldset><legend>What you receive</legend>{boxes}</fieldset>" if topics else ""
    return (
        f'<form method="post" action="{escape(action)}">{topic_set}'
        f'<fieldset><legend>How we may reach you</legend><input type="hidden" name="channels" value="shown">{ways}'
        "</fieldset>"
        '<p><button type="submit" name="action" value="topics">Save my choices</button></p></form>'
    )


def _promise(topic: SubscriptionTopic, locale: str | None) -> str | None:
    return promise_in(topic.promise, locale) if topic.promise else None


def preferences(
    action: str,
    *,
    subscribed: bool,
    reachable: bool,
    topics: Sequence[SubscriptionTopic],
    chosen: Set[str] = frozenset(),
    note: str = "",
    can_resubscribe: bool = True,
    channels: Set[ConsentChannel] = frozenset(),
    locale: str | None = None,
) -> str:
    """A checkbox per topic the shop offers and per channel (email, SMS, post, web tracking), or leave
    everything at once; subscribe again after leaving,
    while the link is fresh enough (`can_resubscribe`): a forwarded old email must not re-grant consent."""
    parts = [f'<p role="status"><strong>{escape(note)}</strong></p>'] if note else []
    if not reachable:
        parts.append(
            "<p>We cannot send email to your address (it was removed or mail to it bounced), "
            "so you receive no email from this shop.</p>"
        )
    elif subscribed:
        parts.append("<p>You receive marketing from this shop.</p>")
        parts.append(_topic_form(action, topics, chosen, channels, locale))
        parts.append(_button(action, "Unsubscribe from everything", name="action", value="unsubscribe", quiet=True))
    else:
        parts.append("<p>You are unsubscribed from marketing emails from this shop.</p>")
        if can_resubscribe:
            parts.append(_button(action, "Subscribe again", name="action", value="resubscribe", quiet=True))
        else:
            parts.append("<p>To subscribe again, please sign up on the shop's website.</p>")
    return _page("Email preferences", "".join(parts))
