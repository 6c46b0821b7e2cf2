"""Micro-benchmark of rendering, for the benchmark harness; not used when sending.

It reads a monotonic timer, which the rest of the domain never does: measuring speed is
its whole purpose.
"""

from __future__ import annotations

import time
from datetime import date

from services.sender.domain.rendering.compile import TemplateCache
from services.sender.domain.rendering.compliance import Consent, Sender
from services.sender.domain.rendering.render import Outgoing, render_message
from services.sender.domain.rendering.template import load_template
from shared.tokens import KeyRing, TokenClaims, TokenKind

__all__ = ["EXAMPLE_TEMPLATE", "render_rate", "verify_rate"]

EXAMPLE_TEMPLATE = """\
id: order-thanks
category: marketing
subject: "Thanks for your order, {{ contact.first_name | default: 'there' }}!"
preheader: "Your order of {{ order.total | money: order.currency }} is on its way"
mjml: |
  <mjml>
    <mj-head><mj-style inline="inline">.lead { color: #333333; }</mj-style></mj-head>
    <mj-body>
      <mj-section><mj-column>
        <mj-image src="https://shop.example/logo.png" alt="Nordic Shop" width="120px" />
        <mj-text css-class="lead">Hi {{ contact.first_name | default: "there" }},</mj-text>
        <mj-text>We got your order on {{ event.occurred_at | local_date }}.
          Total: {{ order.total | money: order.currency }}.</mj-text>
      </mj-column></mj-section>
      {% for item in order.items %}
      <mj-section><mj-column>
        <mj-text>{{ item.name }}</mj-text>
        <mj-button href="{{ item.url }}">View {{ item.name }}</mj-button>
      </mj-column></mj-section>
      {% endfor %}
      <mj-section><mj-column>
        <mj-text><a href="https://shop.example/help">Help</a></mj-text>
      </mj-column></mj-section>
    </mj-body>
  </mjml>
"""

_SENDER = Sender(
    name="Nordic Shop",
    address="hello@shop.example",
    postal_address="Storgata 1, 0155 Oslo, Norway",
    sending_domain="shop.example",
    tracker_url="https://t.shop.example",
    list_id="news.shop.example",
    list_name="Nordic Shop news",
)
_KEYS = KeyRing([("k1", b"bench-secret-0123456789abcdef")])


def _example_outgoing(n: int) -> Outgoing:
    items = [{"name": f"Item {i}", "url": f"https://shop.example/p/{i}"} for i in range(2)]
    return Outgoing(
        message_id=f"msg-{n}",
        workspace_id="ws-1",
        contact_id=f"contact-{n}",
        to=f"reader{n}@example.com",
        issued_at=1_700_000_000,
        variables={
            "contact": {"first_name": "Åse"},
            "order": {"total": "1234.50", "currency": "NOK", "items": items},
            "event": {"occurred_at": "2024-03-01T23:30:00Z"},
        },
        locale="nb",
        time_zone="Europe/Oslo",
        flow_id="flow-1",
        step_id="step-1",
        consent=Consent(date(2024, 1, 5), "the checkout"),
    )


def render_rate(seconds: float = 1.0) -> float:
    """Messages rendered per second on one core, each taking its compiled template from the cache as
    the sender does (the compile itself is excluded: it happens once per version)."""
    template, cache = load_template(EXAMPLE_TEMPLATE), TemplateCache()
    cache.get(template)
    outgoing = [_example_outgoing(n) for n in range(100)]
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for out in outgoing:
            render_message(cache.get(template), out, _SENDER, _KEYS)
        done += len(outgoing)
    return done / elapsed


def verify_rate(seconds: float = 1.0) -> float:
    """Click tokens verified per second, the tracker's hot path."""
    claims = TokenClaims(
        TokenKind.CLICK, "msg-1", "ws-1", "contact-1", 1_700_000_000, "f", "s", "https://shop.example/p/1"
    )
    token = _KEYS.sign(claims)
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(1000):
            _KEYS.verify(token, TokenKind.CLICK)
        done += 1000
    return done / elapsed
