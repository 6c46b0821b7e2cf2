"""The dev inbox flags what a reader must never see, in its page and its JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx

from dripline.devstack.inbox import Inbox, ReceivedMail
from dripline.devstack.inbox_web import create_inbox_app


def _mail(html: str, text: str) -> ReceivedMail:
    message = EmailMessage()
    message["Subject"] = "Your cart"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return ReceivedMail(1, datetime.now(UTC), "shop@example.com", ["kari@example.com"], message.as_bytes(), parsed)


def test_an_empty_link_or_unrendered_liquid_is_a_problem() -> None:
    broken = _mail("<p><a href=\"\">Back to your cart</a><img src=''></p>", "Back to your cart: {{ links.cart }}")
    assert broken.problems == ["HTML: empty href", "HTML: empty src", "text: unrendered {{"]
    fine = _mail('<p><a href="https://shop.example/cart/1">Back to your cart</a></p>', "Back: https://shop.example")
    assert fine.problems == []


async def test_the_inbox_shows_the_problems() -> None:
    inbox = Inbox()
    inbox.mails.append(_mail('<a href="">Back to your cart</a>', "Back to your cart:"))
    app = create_inbox_app(inbox)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox") as client:
        page = (await client.get("/")).text
        shown = (await client.get("/messages/1")).text
        listed = (await client.get("/api/messages")).json()
    assert "⚠ HTML: empty href" in page and "⚠ HTML: empty href" in shown
    assert listed[0]["problems"] == ["HTML: empty href"]


async def test_a_webhook_is_kept_and_shown_beside_emails_and_texts() -> None:
    inbox = Inbox()
    app = create_inbox_app(inbox)
    task = {"flow_id": "web-conversion", "step_id": "tell-sales", "data": {"payload": {"owner": "lars@example.com"}}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox") as client:
        answer = await client.post(
            "/webhooks/crm.example.com/hooks/call-list", json=task, headers={"X-Dripline-Signature": "t=1,v1=ab"}
        )
        page = (await client.get("/")).text
        shown = (await client.get(f"/hooks/{answer.json()['id']}")).text
        listed = (await client.get("/api/webhooks")).json()
        await client.delete("/api/messages")
        emptied = (await client.get("/api/webhooks")).json()
    assert answer.status_code == 200
    [hook] = listed
    assert (hook["url"], hook["signature"], hook["body"]) == (
        "https://crm.example.com/hooks/call-list",
        "t=1,v1=ab",
        task,
    )
    assert "1 webhooks" in page and "web-conversion, tell-sales" in page and "lars@example.com" in page
    assert "POST https://crm.example.com/hooks/call-list" in shown and "&quot;owner&quot;" in shown
    assert emptied == []
