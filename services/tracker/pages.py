"""The few pages people see: small, self-contained HTML (no external assets), every value escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from services.tracker.adapters.consent import SubscriptionTopic

__all__ = ["invalid_link", "preferences", "unsubscribe_confirm", "unsubscribed"]

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "h1{font-size:1.4rem}button{font:inherit;padding:.5rem 1rem;border:1px solid #444;border-radius:4px;"
    "background:#222;color:#fff;cursor:pointer}button.quiet{background:#fff;color:#222}"
    "form{margin:1rem 0}a{color:#0645ad}ul{padding-left:1.2rem}"
)


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


def preferences(
    action: str, *, subscribed: bool, reachable: bool, topics: Sequence[SubscriptionTopic], note: str = ""
) -> str:
    """Subscribe or unsubscribe as a whole; topics, when the shop has them, are listed for context."""
    parts = [f'<p role="status"><strong>{escape(note)}</strong></p>'] if note else []
    if not reachable:
        parts.append(
            "<p>We cannot send email to your address (it was removed or mail to it bounced), "
            "so you receive no email from this shop.</p>"
        )
    elif subscribed:
        parts.append("<p>You receive marketing emails from this shop.</p>")
        if topics:
            items = "".join(
                f"<li>{escape(topic.name)}" + (f" – {escape(topic.description)}" if topic.description else "") + "</li>"
                for topic in topics
            )
            parts.append(f"<p>They cover:</p><ul>{items}</ul>")
        parts.append(_button(action, "Unsubscribe from everything", name="action", value="unsubscribe"))
    else:
        parts.append("<p>You are unsubscribed from marketing emails from this shop.</p>")
        parts.append(_button(action, "Subscribe again", name="action", value="resubscribe", quiet=True))
    return _page("Email preferences", "".join(parts))
