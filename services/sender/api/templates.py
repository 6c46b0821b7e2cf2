"""Template API: publish versions, read them, preview for a contact, send a test."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, EmailStr, Field

from services.sender.adapters.templates import StoredTemplate
from services.sender.domain.rendering.compile import validate_languages
from services.sender.domain.rendering.errors import RenderError, TemplateError
from services.sender.domain.rendering.locales import KnownLocale
from services.sender.domain.rendering.template import Category, Template, load_template
from services.sender.usecases.mail import Letter
from services.sender.usecases.template_checks import variable_problems
from services.sender.workers.runtime import SenderRuntime
from shared.api_auth import TemplatesRead, TemplatesWrite, require_also
from shared.rate_limit_store import PostgresBuckets
from shared.rate_limits import LeasedBuckets, RateLimit, retry_after
from shared.sending_identities import UnreadableKey
from shared.smtp_replies import classify_smtp_reply
from shared.workspaces import load_default_locale, load_test_recipients

router = APIRouter(prefix="/v1/templates", tags=["templates"])
# Test sends a workspace may make: 10 a minute, 5 at once. They go over the SMTP connections and rate
# every workspace's mail shares, so a tight loop of them must not crowd that mail out.
TEST_SENDS = RateLimit(per_second=10 / 60, burst=5)


def _runtime(request: Request) -> SenderRuntime:
    runtime: SenderRuntime = request.app.state.sender
    return runtime


RuntimeDep = Annotated[SenderRuntime, Depends(_runtime)]


def _test_sends(request: Request, runtime: SenderRuntime) -> LeasedBuckets:
    """Test sends per workspace, counted for every sender replica together."""
    buckets: LeasedBuckets | None = getattr(request.app.state, "test_sends", None)
    if buckets is None:
        buckets = request.app.state.test_sends = LeasedBuckets(PostgresBuckets(runtime.templates.pool))
    return buckets


class TemplateIn(BaseModel):
    source: str = Field(description="The template file's YAML text.")


class TemplateSummary(BaseModel):
    id: str
    version: int
    category: str
    subject: str
    created_at: datetime


class TemplatePublic(TemplateSummary):
    source: str


class Published(BaseModel):
    id: str
    version: int
    changed: bool = Field(description="False when the source equals the latest version (no new version).")


class PreviewIn(BaseModel):
    contact_id: str | None = Field(default=None, description="Render for this stored contact…")
    contact: dict[str, Any] | None = Field(default=None, description="…or for this inline contact data.")
    variables: dict[str, Any] = Field(default_factory=dict, description="What the flow would pass (order, cart…).")
    event: dict[str, Any] | None = Field(
        default=None,
        description="A sample of the event that starts the flow, as the template reads it (`event.cart_url`, "
        "`event.items`): its fields and properties side by side. Left out: data-built parts render empty.",
        examples=[{"type": "cart_abandoned", "cart_url": "https://shop.example/cart/77",
                   "items": [{"name": "Trail shoe", "quantity": 1, "price": "1299.00"}], "currency": "NOK"}],
    )  # fmt: skip
    locale: KnownLocale | None = Field(
        default=None,
        description="The language variant to render (e.g. nb-NO, found as a reader of that locale would find it); "
        "default: the contact's locale, then the workspace's default locale.",
    )
    context: dict[str, Any] | None = Field(
        default=None,
        description="A message request's frozen context, as `messages.requested` carries it (`event`, `events`, "
        "`flow`, `step`, `locale`): renders a message as it was sent. When given, `event` is not used.",
    )


class PreviewOut(BaseModel):
    subject: str
    html: str
    text: str
    headers: dict[str, str]


class TestSendIn(PreviewIn):
    to: EmailStr


class TestSendOut(BaseModel):
    message_id: str
    status: str
    detail: str


def _summary(stored: StoredTemplate, template: Template) -> dict[str, Any]:
    return {
        "id": stored.template_id,
        "version": stored.version,
        "category": template.category.value,
        "subject": template.subject,
        "created_at": stored.created_at,
    }


def _problems(error: TemplateError) -> HTTPException:
    return HTTPException(422, {"template": error.template, "problems": [str(p) for p in error.problems]})


@router.get("")
async def list_templates(workspace: TemplatesRead, runtime: RuntimeDep) -> list[TemplateSummary]:
    rows = await runtime.templates.all_latest(workspace)
    return [TemplateSummary(**_summary(stored, stored.load())) for _, stored in rows]


@router.post("", status_code=201)
async def publish(body: TemplateIn, workspace: TemplatesWrite, runtime: RuntimeDep, response: Response) -> Published:
    """A new version when the source changed; the same version (200) when it did not.

    Refused (422) when it does not compile, or when it uses a variable that a flow sending it cannot
    provide (or a contact field misspelt, whatever the flow): file, line and variable for each."""
    try:
        template = load_template(body.source)
        problems = validate_languages(template)
    except TemplateError as error:
        raise _problems(error) from error
    if problems:
        raise _problems(TemplateError(template.id, problems))
    unprovided = await variable_problems(runtime.templates.pool, workspace, template.id, body.source)
    if unprovided:
        raise HTTPException(422, {"template": template.id, "problems": unprovided})
    published = await runtime.templates.publish(workspace, body.source)
    if not published.changed:
        response.status_code = 200
    return Published(id=published.template.template_id, version=published.template.version, changed=published.changed)


async def _stored(runtime: SenderRuntime, workspace: str, template_id: str) -> StoredTemplate:
    stored = await runtime.templates.latest(workspace, template_id)
    if stored is None:
        raise HTTPException(404, f"no template {template_id!r}")
    return stored


@router.get("/{template_id}")
async def get_template(template_id: str, workspace: TemplatesRead, runtime: RuntimeDep) -> TemplatePublic:
    stored = await _stored(runtime, workspace, template_id)
    return TemplatePublic(**_summary(stored, stored.load()), source=stored.source)


async def _letter(
    request: Request, template: Template, workspace: str, body: PreviewIn, message_id: str, to: str | None = None
) -> Letter:
    runtime = _runtime(request)
    profile: dict[str, Any] = dict(body.contact or {})
    contact_id = body.contact_id or "preview"
    if body.contact_id is not None and body.contact is None:
        require_also(request, "contacts:read")  # the preview shows the stored contact's details
        stored_profile = await runtime.dispatcher.audience.profile(workspace, body.contact_id)
        if stored_profile is None:
            raise HTTPException(404, f"no contact {body.contact_id!r}")
        profile = stored_profile
    if to is not None:
        profile["email"] = to
    locale = body.locale or profile.get("locale")
    names = await runtime.dispatcher.audience.workspace_names([workspace])
    default_locale = await load_default_locale(runtime.templates.pool, workspace)
    try:
        identity = await runtime.dispatcher.lookup.identities.get(workspace)  # as the workspace's mail will look
    except UnreadableKey as error:
        raise HTTPException(409, f"{error}: set the sending domain again") from error
    try:
        return runtime.composer.render(
            template.in_locale(str(locale) if locale else None, default_locale),
            message_id=message_id,
            workspace_id=workspace,
            contact_id=contact_id,
            profile=profile,
            variables=body.variables,
            now=datetime.now(UTC),
            context=body.context if body.context is not None else None if body.event is None else {"event": body.event},
            workspace_name=names.get(workspace),
            identity=identity,
        )
    except RenderError as error:
        raise HTTPException(422, {"template": error.template, "problems": [f"{error.part}: {error.reason}"]}) from error


@router.post("/{template_id}/preview")
async def preview(
    request: Request, template_id: str, body: PreviewIn, workspace: TemplatesRead, runtime: RuntimeDep
) -> PreviewOut:
    """Rendering a stored contact (`contact_id`) needs contacts:read as well."""
    template = (await _stored(runtime, workspace, template_id)).load()
    letter = await _letter(request, template, workspace, body, message_id="preview")
    rendered = letter.rendered
    return PreviewOut(subject=rendered.subject, html=rendered.html, text=rendered.text, headers=dict(rendered.headers))


@router.post("/{template_id}/test-send")
async def test_send(
    request: Request, template_id: str, body: TestSendIn, workspace: TemplatesWrite, runtime: RuntimeDep
) -> TestSendOut:
    """Only to the workspace's test recipients (`PUT /v1/test-recipients`, 403 otherwise), never to a
    suppressed address (answered `suppressed`, nothing sent), at most `TEST_SENDS` per workspace (429).
    Straight to SMTP, outside the ledger: a test send is never retried or reported."""
    to = str(body.to).lower()
    template = (await _stored(runtime, workspace, template_id)).load()
    if to not in await load_test_recipients(runtime.templates.pool, workspace):
        raise HTTPException(403, f"{to} is not one of this workspace's test recipients (PUT /v1/test-recipients)")
    wait = await _test_sends(request, runtime).take(f"test-sends:{workspace}", TEST_SENDS, time.monotonic())
    if wait:
        raise HTTPException(429, "too many test sends from this workspace", {"Retry-After": retry_after(wait)})
    message_id = f"test-{secrets.token_hex(8)}"
    scopes = await runtime.dispatcher.audience.suppression_scopes([(workspace, "email", to)])
    found = scopes.get((workspace, "email", to), frozenset())
    if "all" in found or (template.category is Category.MARKETING and "marketing" in found):
        return TestSendOut(message_id=message_id, status="suppressed", detail=f"{to} is suppressed: nothing sent")
    letter = await _letter(request, template, workspace, body, message_id=message_id, to=to)
    data = runtime.composer.message_bytes(letter, message_id=message_id, now=datetime.now(UTC))
    reply = await runtime.dispatcher.channels.relay.send(runtime.composer.mail_from(letter), to, data)
    verdict = classify_smtp_reply(reply.code, reply.message)
    return TestSendOut(message_id=message_id, status=verdict.outcome.value, detail=verdict.reason)
