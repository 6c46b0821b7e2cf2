"""A cart flow and its reminder template, renamed per test: what the publish-time variable checks are tried on."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "examples" / "templates"

CART_FLOW = """
id: cart-{tag}
name: Cart
triggers: [{{type: event, event: cart_abandoned}}]
steps:
  - {{id: remind, type: send, template: cart-reminder-{tag}}}
  - id: tell
    type: notify
    url: https://crm.example/hooks/carts
    payload:
      value: "{{{{ event.value | money }}}}"
      owner: "{{{{ contact.sales_owner }}}}"
"""


def cart_template(tag: str, link: str = "event.cart_url") -> str:
    """The example cart reminder as `cart-reminder-<tag>`, its cart link read from `link`."""
    text = (TEMPLATES / "cart-reminder.yaml").read_text().replace("id: cart-reminder", f"id: cart-reminder-{tag}")
    return text.replace("{{ event.cart_url }}", "{{ " + link + " }}")
