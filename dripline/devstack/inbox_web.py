"""The inbox's web page (emails, text messages and webhooks; a message with its headers) and its JSON API
for tests and scripts (described in docs/delivery.md)."""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from dripline.devstack.inbox import Inbox, ReceivedWebhook

# Webhooks posted to /webhooks/<host>/<path> stand in for https://<host>/<path>.
WEBHOOK_PREFIX = "/webhooks/"

_STYLE = """
body{font:14px system-ui,sans-serif;margin:2rem;color:#1d2630}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e3e7ec;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}a{color:#0b63c5}iframe{width:100%;height:70vh;border:1px solid #ccd3da}
.muted{color:#687684}pre{white-space:pre-wrap;background:#f4f6f8;padding:1rem}.warn{color:#b3261e;font-weight:600}
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


def _hook_row(hook: ReceivedWebhook) -> str:
    data = hook.body.get("data") if isinstance(hook.body, dict) else hook.body
    shown = json.dumps(data, ensure_ascii=False)
    return (
        f"<tr><td>{hook.received_at:%H:%M:%S}</td><td><a href='/hooks/{hook.id}'>{html.escape(hook.url)}</a></td>"
        f"<td>{html.escape(hook.field('flow_id'))}, {html.escape(hook.field('step_id'))}</td>"
        f"<td>{html.escape(shown[:300])}</td></tr>"
    )


def create_inbox_app(inbox: Inbox) -> FastAPI:
    app = FastAPI(title="Dripline dev inbox", version="1")

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        rows = "".join(
            f"<tr><td>{m.received_at:%H:%M:%S}</td><td>{html.escape(', '.join(m.rcpt_tos))}</td>"
            f"<td><a href='/messages/{m.id}'>{html.escape(m.subject) or '(no subject)'}</a>"
            f"{' <span class=warn>⚠ ' + html.escape('; '.join(m.problems)) + '</span>' if m.problems else ''}</td></tr>"
            for m in reversed(inbox.mails)
        )
        texts = "".join(
            f"<tr><td>{t.received_at:%H:%M:%S}</td><td>{html.escape(t.to)}</td><td>{html.escape(t.body)}</td></tr>"
            for t in reversed(inbox.texts)
        )
        hooks = "".join(_hook_row(hook) for hook in reversed(inbox.hooks))
        return _page(
            "Dripline inbox",
            f"<h1>Inbox</h1><p class=muted>{len(inbox.mails)} emails, {len(inbox.texts)} text messages, "
            f"{len(inbox.hooks)} webhooks.</p>"
            f"<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>{rows}</table>"
            f"<h2>Text messages</h2><table><tr><th>Received</th><th>To</th><th>Text</th></tr>{texts}</table>"
            f"<h2>Webhooks</h2><table><tr><th>Received</th><th>To</th><th>Flow, step</th><th>Data</th></tr>"
            f"{hooks}</table>",
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
        warning = "".join(f"<p class=warn>⚠ {html.escape(problem)}</p>" for problem in mail.problems)
        return _page(
            mail.subject,
            f"<p><a href='/'>← Inbox</a> · <a href='/messages/{mail.id}/raw'>raw</a></p>"
            f"<h1>{html.escape(mail.subject)}</h1>{warning}{body}<h2>Plain text</h2><pre>{text}</pre>"
            f"<h2>Headers</h2><table>{headers}</table>",
        )

    @app.get("/messages/{mail_id}/raw")
    async def raw(mail_id: int) -> Response:
        mail = inbox.find(mail_id)
        if mail is None:
            raise HTTPException(404, "no such message")
        return Response(mail.raw, media_type="message/rfc822")

    @app.get("/hooks/{hook_id}", response_class=HTMLResponse)
    async def webhook(hook_id: int) -> HTMLResponse:
        hook = inbox.find_webhook(hook_id)
        if hook is None:
            raise HTTPException(404, "no such webhook")
        body = html.escape(json.dumps(hook.body, indent=2, ensure_ascii=False))
        return _page(
            f"Webhook to {hook.url}",
            f"<p><a href='/'>← Inbox</a></p><h1>POST {html.escape(hook.url)}</h1>"
            f"<p class=muted>{hook.received_at:%H:%M:%S} · signature {html.escape(hook.signature or 'none')}</p>"
            f"<pre>{body}</pre>",
        )

    @app.post(WEBHOOK_PREFIX + "{target:path}")
    async def receive_webhook(target: str, request: Request) -> dict[str, Any]:
        """The local stand-in for the receivers of `notify` steps: every POST is kept and answered 200."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        query = f"?{request.url.query}" if request.url.query else ""
        hook = inbox.add_webhook(f"https://{target}{query}", request.headers.get("x-dripline-signature"), body)
        return {"id": hook.id}

    @app.get("/api/webhooks")
    async def api_webhooks() -> list[dict[str, Any]]:
        return [hook.as_json() for hook in inbox.hooks]

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
