"""Templates: the gallery, and a template's page with its previews at desktop and phone widths (sandboxed
frames of a preview route with a strict policy of its own), its subject and text part, the links in it,
a sample to render it with (a real contact found by email through the identifier hashes, or a sample
cart), the language variant, and a test send to the workspace's test recipients for editors.

Rendering and sending are the sender's: asked through `adapters/sender_peer.py` with the user's role."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.scheduler.adapters.sender_peer import SenderPeer, SenderRefused
from services.scheduler.api.console.access import PREFIX, FormSession, Session, may, pool_of, require
from services.scheduler.api.console.pages import HEADERS, ConsoleRoute, render
from services.scheduler.api.console.reads import find_contact
from shared.audit import record_change

router = APIRouter(prefix=f"{PREFIX}/templates", route_class=ConsoleRoute, include_in_schema=False)
Sample = Literal["none", "cart", "contact"]
SAMPLES = {"none": "no data", "cart": "a sample cart", "contact": "a contact, by email"}
# What a cart event carries (`event.items`, `event.cart_url`): enough for a cart template's every part.
SAMPLE_CART: dict[str, Any] = {
    "type": "cart_abandoned", "cart_url": "https://shop.example/cart/77", "currency": "NOK", "total": 1598.0,
    "items": [
        {"product_id": "trail-shoe", "name": "Trail shoe", "quantity": 1, "price": "1299.00",
         "url": "https://shop.example/products/trail-shoe", "image_url": "https://shop.example/img/trail-shoe.jpg"},
        {"product_id": "wool-socks", "name": "Wool socks", "quantity": 2, "price": "149.50",
         "url": "https://shop.example/products/wool-socks", "image_url": "https://shop.example/img/wool-socks.jpg"},
    ],
}  # fmt: skip
# The preview is the message as sent: its own inline styles and remote pictures, nothing else; no script
# runs (the frame is sandboxed too), no link navigates the console, and only the console may frame it.
PREVIEW_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox",
    "X-Frame-Options": "SAMEORIGIN",
}
Email = Annotated[str, Query(max_length=320)]
Locale = Annotated[str, Query(max_length=35, pattern=r"^[A-Za-z0-9_-]*$")]


def peer_of(request: Request) -> SenderPeer:
    peer: SenderPeer | None = getattr(request.app.state, "sender_peer", None)
    if peer is None:
        settings = request.app.state.settings
        peer = request.app.state.sender_peer = SenderPeer(settings.console_sender_url, settings.link_signing_keys)
    return peer


def refusal(refused: SenderRefused) -> HTTPException:
    status = refused.status if refused.status in (403, 404, 409, 422, 429) else 502
    return HTTPException(status, f"the sender answered: {refused.reason}")


async def _sample(request: Request, session: Session, sample: str, email: str, locale: str) -> dict[str, Any]:
    """The preview request's body; 422 naming the field when the sample cannot be found."""
    body: dict[str, Any] = {"locale": locale or None}
    if sample == "cart":
        body["event"] = SAMPLE_CART
    elif sample == "contact":
        if "@" not in email:
            raise HTTPException(422, f"email: '{email}' is not an email address; write the contact's address")
        contact_id = await find_contact(pool_of(request), session.workspace_id, email)
        if contact_id is None:
            raise HTTPException(422, f"email: this workspace has no contact with the address '{email}'")
        body["contact_id"] = contact_id
    return body


@router.get("", response_class=HTMLResponse)
async def gallery(request: Request, session: Session) -> HTMLResponse:
    try:
        cards = await peer_of(request).templates(session.workspace_id, session.actor, session.role)
    except SenderRefused as refused:
        raise refusal(refused) from refused
    return render(request, "templates.html", cards=sorted(cards, key=lambda card: card["id"]))


async def _page(request: Request, session: Session, template_id: str, sample: Sample, email: str, locale: str,
                sent: list[dict[str, str]] | None = None) -> HTMLResponse:  # fmt: skip
    body = await _sample(request, session, sample, email, locale)
    try:
        shown = await peer_of(request).preview(session.workspace_id, session.actor, session.role, template_id, body)
    except SenderRefused as refused:
        if refused.status != 422:
            raise refusal(refused) from refused
        # It does not render with this sample (a cart template with no cart): the page says why, to pick another.
        cards = await peer_of(request).templates(session.workspace_id, session.actor, session.role)
        card = next((card for card in cards if card["id"] == template_id), None)
        shown = {"subject": "", "text": "", "links": [], "problem": refused.reason, "card": card}
    card = shown["card"]
    if locale and locale not in card["locales"]:
        raise HTTPException(422, f"locale: {template_id} has no variant {locale!r} ({', '.join(card['locales'])})")
    query = urlencode({"sample": sample, "email": email, "locale": locale})
    return render(request, "template.html", card=card, shown=shown, sample=sample, email=email, locale=locale,
                  samples=SAMPLES, query=query, sent=sent, can_send=may(session, "editor"))  # fmt: skip


@router.get("/{template_id}", response_class=HTMLResponse)
async def template_page(
    request: Request, session: Session, template_id: str, sample: Sample = "none", email: Email = "",
    locale: Locale = "",
) -> HTMLResponse:  # fmt: skip
    return await _page(request, session, template_id, sample, email.strip(), locale)


@router.get("/{template_id}/preview.html")
async def preview_frame(
    request: Request, session: Session, template_id: str, sample: Sample = "none", email: Email = "",
    locale: Locale = "",
) -> Response:  # fmt: skip
    """The rendered HTML alone, for the page's sandboxed frames."""
    body = await _sample(request, session, sample, email.strip(), locale)
    try:
        shown = await peer_of(request).preview(session.workspace_id, session.actor, session.role, template_id, body)
    except SenderRefused as refused:
        raise refusal(refused) from refused
    return HTMLResponse(shown["html"], headers=PREVIEW_HEADERS)


@router.post("/{template_id}/test-send", response_class=HTMLResponse)
async def test_send(
    request: Request, session: FormSession, template_id: str, sample: Annotated[Sample, Form()] = "none",
    email: Annotated[str, Form(max_length=320)] = "", locale: Annotated[str, Form(max_length=35)] = "",
) -> HTMLResponse:  # fmt: skip
    """The rendered sample to every test recipient, written to the audit log (how many, never who)."""
    require(session, "editor", "send tests")
    body = await _sample(request, session, sample, email.strip(), locale)
    try:
        sent = await peer_of(request).test_send(session.workspace_id, session.actor, session.role, template_id, body)
    except SenderRefused as refused:
        raise refusal(refused) from refused
    detail = {"recipients": len(sent), "sample": sample, "locale": locale or "default"}
    async with pool_of(request).acquire() as connection:
        await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                            action="template.test_sent", target=template_id, detail=detail)  # fmt: skip
    return await _page(request, session, template_id, sample, email.strip(), locale, sent=sent)
