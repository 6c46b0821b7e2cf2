"""The inbox's web page (list, message with headers) and its JSON API for tests and scripts."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from dripline.devstack.inbox import Inbox

_STYLE = """
body{font:14px system-ui,sans-serif;margin:2rem;color:#1d2630}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e3e7ec;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}a{color:#0b63c5}iframe{width:100%;height:70vh;border:1px solid #ccd3da}
.muted{color:#687684}pre{white-space:pre-wrap;background:#f4f6f8;padding:1rem}
"""


class SmsIn(BaseModel):
    to: str = Field(description="E.164 number")
    body: str
    sender: str | None = Field(default=None, alias="from")


class RepliesIn(BaseModel):
    replies: list[str] = Field(description='SMTP replies for the next deliveries, e.g. "421 4.3.0 Try later".')


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def create_inbox_app(inbox: Inbox) -> FastAPI:
    app = FastAPI(title="Dripline dev inbox", version="1")

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        rows = "".join(
            f"<tr><td>{m.received_at:%H:%M:%S}</td><td>{html.escape(', '.join(m.rcpt_tos))}</td>"
            f"<td><a href='/messages/{m.id}'>{html.escape(m.subject) or '(no subject)'}</a></td></tr>"
            for m in reversed(inbox.mails)
        )
        texts = "".join(
            f"<tr><td>{t.received_at:%H:%M:%S}</td><td>{html.escape(t.to)}</td><td>{html.escape(t.body)}</td></tr>"
            for t in reversed(inbox.texts)
        )
        return _page(
            "Dripline inbox",
            f"<h1>Inbox</h1><p class=muted>{len(inbox.mails)} emails, {len(inbox.texts)} text messages.</p>"
            f"<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>{rows}</table>"
            f"<h2>Text messages</h2><table><tr><th>Received</th><th>To</th><th>Text</th></tr>{texts}</table>",
        )

    @app.get("/messages/{mail_id}", response_class=HTMLResponse)
    async def message(mail_id: int) -> HTMLResponse:
        mail = inbox.find(mail_id)
        if mail is None:
            raise HTTPException(404, "no such message")
        headers = "".join(
            f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
            for name, value in mail.message.items()
        )
        rendered = mail.part("html")
        body = (
            f"<iframe sandbox srcdoc='{html.escape(rendered, quote=True)}'></iframe>"
            if rendered
            else f"<pre>{html.escape(mail.part('plain') or '')}</pre>"
        )
        text = html.escape(mail.part("plain") or "")
        return _page(
            mail.subject,
            f"<p><a href='/'>← Inbox</a> · <a href='/messages/{mail.id}/raw'>raw</a></p>"
            f"<h1>{html.escape(mail.subject)}</h1>{body}<h2>Plain text</h2><pre>{text}</pre>"
            f"<h2>Headers</h2><table>{headers}</table>",
        )

    @app.get("/messages/{mail_id}/raw")
    async def raw(mail_id: int) -> Response:
        mail = inbox.find(mail_id)
        if mail is None:
            raise HTTPException(404, "no such message")
        return Response(mail.raw, media_type="message/rfc822")

    @app.get("/api/messages")
    async def api_messages() -> list[dict[str, Any]]:
        return [mail.as_json() for mail in inbox.mails]

    @app.get("/api/sms")
    async def api_sms() -> list[dict[str, Any]]:
        return [text.as_json() for text in inbox.texts]

    @app.post("/api/sms", status_code=201)
    async def receive_sms(sms: SmsIn) -> dict[str, Any]:
        """The local stand-in for an SMS provider."""
        return inbox.add_sms(sms.to, sms.body, sms.sender).as_json()

    @app.post("/api/replies", status_code=204)
    async def script_replies(replies: RepliesIn) -> None:
        inbox.replies.extend(replies.replies)

    @app.delete("/api/messages", status_code=204)
    async def clear() -> None:
        inbox.clear()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "inbox"}

    return app
