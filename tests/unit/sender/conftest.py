"""Shared fixtures: a shop that sends, its key ring, and a typical order template."""

from __future__ import annotations

from datetime import date

import pytest

from services.sender.domain.rendering.compile import CompiledTemplate, compile_template
from services.sender.domain.rendering.compliance import Consent, Sender
from services.sender.domain.rendering.render import Outgoing
from services.sender.domain.rendering.template import load_template
from shared.tokens import KeyRing

SENDER = Sender(
    name="Nordic Shop",
    address="hello@shop.example",
    postal_address="Storgata 1, 0155 Oslo, Norway",
    sending_domain="shop.example",
    tracker_url="https://t.shop.example",
    list_id="news.shop.example",
    list_name="Nordic Shop news",
)
KEYS = KeyRing([("k1", b"test-secret-0123456789abcdef")])


def make_template(body: str, *, category: str = "marketing", kind: str = "html", extra: str = "") -> str:
    indented = "\n".join("  " + line for line in body.splitlines())
    return (
        f"id: t1\ncategory: {category}\n"
        "subject: \"Hi {{ contact.first_name | default: 'there' }}\"\n"
        "preheader: \"Order {{ order.id | default: 'new' }}\"\n"
        f"{extra}{kind}: |\n{indented}\n"
    )


def compiled_from(body: str, **kwargs: str) -> CompiledTemplate:
    return compile_template(load_template(make_template(body, **kwargs)))


def outgoing(**variables: object) -> Outgoing:
    return Outgoing(
        message_id="msg-1",
        workspace_id="ws-1",
        contact_id="contact-1",
        to="reader@example.com",
        issued_at=1_700_000_000,
        variables=variables or {"contact": {"first_name": "Åse"}, "order": {"id": "1001"}},
        locale="en",
        flow_id="flow-1",
        step_id="step-1",
        consent=Consent(date(2024, 1, 5), "the checkout"),
    )


@pytest.fixture
def order_html() -> str:
    return (
        "<html><body><p>Hi {{ contact.first_name }}</p>"
        '<a href="https://shop.example/p/1?a=1&amp;b=2">Product</a>'
        '<a href="mailto:help@shop.example">Mail</a>'
        '<a href="https://shop.example/raw" data-notrack>Raw</a>'
        "</body></html>"
    )
