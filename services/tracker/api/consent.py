"""Unsubscribe (`/u/…`), preferences (`/p/…`) and sign-up confirmation (`/f/…`) pages.

A GET or HEAD only shows a page: scanners and previews fetch every link, so only a POST (the
page's button, or a mailbox provider's RFC 8058 one-click request) changes anything.
Links that grant consent expire (`LinkLifetimes`); unsubscribe links never do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.tracker.adapters.consent import Proof
from services.tracker.api import pages
from services.tracker.api.links import invalid_link_body
from services.tracker.usecases.consent import Consent
from shared.consent.channels import CONSENT_CHANNELS, channel_scope, channels_by_status
from shared.settings import TrackerSettings
from shared.tokens import KeyRing, TokenClaims, TokenError, TokenExpired, TokenKind

__all__ = ["LinkLifetimes", "consent_router"]

_PRIVATE = {**pages.PAGE_HEADERS, "Cache-Control": "no-store, private"}
_REFUSED = {**pages.PAGE_HEADERS, "Cache-Control": "no-store"}
_EXPIRED = pages.link_expired()


@dataclass(frozen=True, slots=True)
class LinkLifetimes:
    """How old (seconds since the email was sent) a link may be to grant consent: confirm a sign-up,
    or subscribe again. Unsubscribing has no limit: a person can leave from any email they still have."""

    confirm_s: int
    resubscribe_s: int

    @classmethod
    def of(cls, settings: TrackerSettings) -> LinkLifetimes:
        return cls(
            round(settings.confirm_token_max_age_hours * 3600), round(settings.resubscribe_token_max_age_hours * 3600)
        )


def _consent(request: Request) -> Consent:
    consent: Consent = request.app.state.consent
    return consent


ConsentDep = Annotated[Consent, Depends(_consent)]


def _html(body: str) -> HTMLResponse:
    return HTMLResponse(body, headers=_PRIVATE)


def _proof(request: Request) -> Proof:
    return Proof(request.client.host if request.client else None, request.headers.get("user-agent"))


def invalid_link_response(error: TokenError) -> HTMLResponse:
    """The same 400 page the open and click paths answer with, or the one saying the link expired."""
    body = _EXPIRED if isinstance(error, TokenExpired) else invalid_link_body()
    return HTMLResponse(body, status_code=400, headers=_REFUSED)


def consent_router(keys: KeyRing, public_url: str, lifetimes: LinkLifetimes) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    base = public_url.rstrip("/")

    def preferences_url(claims: TokenClaims) -> str:
        """A preferences link minted here, so unsubscribe links need not carry a second token.

        It keeps the original link's time, so an old email cannot be turned into a fresh resubscribe link."""
        prefs = replace(claims, kind=TokenKind.PREFS, url=None)
        return f"{base}/p/{keys.sign(prefs)}"

    @router.api_route("/u/{token}", methods=["GET", "HEAD"])
    async def unsubscribe_page(token: str) -> Response:
        try:
            claims = keys.verify(token, TokenKind.UNSUB)
        except TokenError as error:
            return invalid_link_response(error)
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
        except TokenError as error:
            return invalid_link_response(error)
        source = "one-click" if one_click == "One-Click" else "unsubscribe-link"
        await consent.unsubscribe(claims, token, source=source, proof=_proof(request))
        return _html(pages.unsubscribed(preferences_url(claims)))

    @router.api_route("/p/{token}", methods=["GET", "HEAD", "POST"])
    async def preferences(consent: ConsentDep, request: Request, token: str) -> Response:
        try:
            claims = keys.verify(token, TokenKind.PREFS)
        except TokenError as error:
            return invalid_link_response(error)
        # Leaving and choosing topics work from any preferences link; subscribing again only from a recent one.
        fresh = int(time.time()) - claims.issued_at <= lifetimes.resubscribe_s
        note = ""
        if request.method == "POST":
            form = await request.form()
            action = form.get("action")
            if action == "unsubscribe":
                await consent.unsubscribe(claims, token, source="preferences", proof=_proof(request))
                note = "You are unsubscribed."
            elif action == "resubscribe":
                if not fresh:
                    return invalid_link_response(TokenExpired("too old to subscribe again"))
                await consent.resubscribe(claims, token, proof=_proof(request))
                note = "You are subscribed again."
            elif action == "topics":
                chosen = set(form.getlist("topic"))
                offered = await consent.store.topics(claims.workspace_id)
                wanted = {topic.topic: topic.topic in chosen for topic in offered}
                if form.get("channels") == "shown":  # a form without the channels changes none of them
                    ways = set(form.getlist("channel"))
                    wanted |= {channel_scope(channel): channel in ways for channel in CONSENT_CHANNELS}
                await consent.choose_topics(claims, token, wanted, proof=_proof(request))
                note = "Your choices are saved."
        return await _preferences_page(consent, claims, f"{base}/p/{token}", note, can_resubscribe=fresh)

    def confirm_claims(token: str) -> TokenClaims:
        return keys.verify(token, TokenKind.CONFIRM, now=int(time.time()), max_age_s=lifetimes.confirm_s)

    @router.api_route("/f/{token}", methods=["GET", "HEAD"])
    async def confirm_page(token: str) -> Response:
        try:
            confirm_claims(token)
        except TokenError as error:
            return invalid_link_response(error)
        return _html(pages.confirm_signup(f"{base}/f/{token}"))

    @router.post("/f/{token}")
    async def confirm(consent: ConsentDep, request: Request, token: str) -> Response:
        try:
            claims = confirm_claims(token)
        except TokenError as error:
            return invalid_link_response(error)
        outcome = await consent.confirm(claims, proof=_proof(request))
        return _html(pages.signup_confirmed(outcome, preferences_url(claims)))

    return router


async def _preferences_page(
    consent: Consent, claims: TokenClaims, action: str, note: str, *, can_resubscribe: bool
) -> Response:
    store = consent.store
    email = await store.email_of(claims.workspace_id, claims.contact_id)
    if email is None:
        return _html(pages.preferences(action, subscribed=False, reachable=False, topics=[], note=note))
    state = await store.suppressed(claims.workspace_id, email)
    topics = await store.topics(claims.workspace_id)
    subscriptions = await store.subscriptions(claims.workspace_id, claims.contact_id)
    chosen = {topic for topic, status in subscriptions.items() if status in ("subscribed", "pending")}
    channels = {c for c, status in channels_by_status(subscriptions).items() if status in ("subscribed", "pending")}
    return _html(
        pages.preferences(
            action,
            subscribed=not state.marketing,
            reachable=not state.everything,
            topics=topics,
            chosen=chosen,
            note=note,
            can_resubscribe=can_resubscribe,
            channels=channels,
            locale=await store.locale_of(claims.workspace_id, claims.contact_id),
        )
    )
