"""Unsubscribe (`/u/…`), preferences (`/p/…`) and sign-up confirmation (`/f/…`) pages.

A GET only shows a page: scanners and previews fetch every link, so only a POST (the
page's button, or a mailbox provider's RFC 8058 one-click request) changes anything.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.tracker import pages
from services.tracker.adapters.consent import Proof
from services.tracker.api.links import invalid_link_body
from services.tracker.consent import Consent
from shared.tokens import KeyRing, TokenClaims, TokenError, TokenKind

__all__ = ["consent_router"]

_PRIVATE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def _consent(request: Request) -> Consent:
    consent: Consent = request.app.state.consent
    return consent


ConsentDep = Annotated[Consent, Depends(_consent)]


def _html(body: str) -> HTMLResponse:
    return HTMLResponse(body, headers=_PRIVATE)


def _proof(request: Request) -> Proof:
    return Proof(request.client.host if request.client else None, request.headers.get("user-agent"))


def invalid_link_response() -> HTMLResponse:
    """The same 400 page the open and click paths answer with."""
    return HTMLResponse(invalid_link_body(), status_code=400, headers={"Cache-Control": "no-store"})


def consent_router(keys: KeyRing, public_url: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    base = public_url.rstrip("/")

    def preferences_url(claims: TokenClaims) -> str:
        """A preferences link minted here, so unsubscribe links need not carry a second token."""
        prefs = TokenClaims(
            TokenKind.PREFS,
            claims.message_id,
            claims.workspace_id,
            claims.contact_id,
            int(time.time()),
            claims.flow_id,
            claims.step_id,
        )
        return f"{base}/p/{keys.sign(prefs)}"

    @router.get("/u/{token}")
    async def unsubscribe_page(token: str) -> Response:
        try:
            claims = keys.verify(token, TokenKind.UNSUB)
        except TokenError:
            return invalid_link_response()
        return _html(pages.unsubscribe_confirm(f"{base}/u/{token}", preferences_url(claims)))

    @router.post("/u/{token}")
    async def unsubscribe(
        consent: ConsentDep,
        request: Request,
        token: str,
        one_click: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
    ) -> Response:
        try:
            claims = keys.verify(token, TokenKind.UNSUB)
        except TokenError:
            return invalid_link_response()
        source = "one-click" if one_click == "One-Click" else "unsubscribe-link"
        await consent.unsubscribe(claims, token, source=source, proof=_proof(request))
        return _html(pages.unsubscribed(preferences_url(claims)))

    @router.api_route("/p/{token}", methods=["GET", "POST"])
    async def preferences(consent: ConsentDep, request: Request, token: str) -> Response:
        try:
            claims = keys.verify(token, TokenKind.PREFS)
        except TokenError:
            return invalid_link_response()
        note = ""
        if request.method == "POST":
            form = await request.form()
            action = form.get("action")
            if action == "unsubscribe":
                await consent.unsubscribe(claims, token, source="preferences", proof=_proof(request))
                note = "You are unsubscribed."
            elif action == "resubscribe":
                await consent.resubscribe(claims, token, proof=_proof(request))
                note = "You are subscribed again."
            elif action == "topics":
                chosen = set(form.getlist("topic"))
                offered = await consent.store.topics(claims.workspace_id)
                wanted = {topic.topic: topic.topic in chosen for topic in offered}
                await consent.choose_topics(claims, token, wanted, proof=_proof(request))
                note = "Your choices are saved."
        return await _preferences_page(consent, claims, f"{base}/p/{token}", note)

    @router.get("/f/{token}")
    async def confirm_page(token: str) -> Response:
        try:
            keys.verify(token, TokenKind.CONFIRM)
        except TokenError:
            return invalid_link_response()
        return _html(pages.confirm_signup(f"{base}/f/{token}"))

    @router.post("/f/{token}")
    async def confirm(consent: ConsentDep, request: Request, token: str) -> Response:
        try:
            claims = keys.verify(token, TokenKind.CONFIRM)
        except TokenError:
            return invalid_link_response()
        outcome = await consent.confirm(claims, proof=_proof(request))
        return _html(pages.signup_confirmed(outcome, preferences_url(claims)))

    return router


async def _preferences_page(consent: Consent, claims: TokenClaims, action: str, note: str) -> Response:
    store = consent.store
    email = await store.email_of(claims.workspace_id, claims.contact_id)
    if email is None:
        return _html(pages.preferences(action, subscribed=False, reachable=False, topics=[], note=note))
    state = await store.suppressed(claims.workspace_id, email)
    topics = await store.topics(claims.workspace_id)
    subscriptions = await store.subscriptions(claims.workspace_id, claims.contact_id)
    chosen = {topic for topic, status in subscriptions.items() if status in ("subscribed", "pending")}
    return _html(
        pages.preferences(
            action,
            subscribed=not state.marketing,
            reachable=not state.everything,
            topics=topics,
            chosen=chosen,
            note=note,
        )
    )
