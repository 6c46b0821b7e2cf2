"""Template API: publish versions, read them, preview for a contact, send a test."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, EmailStr, Field

from services.sender.adapters.templates import StoredTemplate
from services.sender.domain.compile import validate
from services.sender.domain.errors import RenderError, TemplateError
from services.sender.domain.smtp_outcome import classify_smtp_reply
from services.sender.domain.template import Template, load_template
from services.sender.mail import Letter
from services.sender.runtime import SenderRuntime
from shared.api_auth import WorkspaceDep

router = APIRouter(prefix="/v1/templates", tags=["templates"])


def _runtime(request: Request) -> SenderRuntime:
    runtime: SenderRuntime = request.app.state.sender
    return runtime


RuntimeDep = Annotated[SenderRuntime, Depends(_runtime)]


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
async def list_templates(workspace: WorkspaceDep, runtime: RuntimeDep) -> list[TemplateSummary]:
    rows = await runtime.templates.all_latest(workspace)
    return [TemplateSummary(**_summary(stored, stored.load())) for _, stored in rows]


@router.post("", status_code=201)
async def publish(body: TemplateIn, workspace: WorkspaceDep, runtime: RuntimeDep, response: Response) -> Published:
    """A new version when the source changed; the same version (200) when it did not."""
    try:
        problems = validate(load_template(body.source))
    except TemplateError as error:
        raise _problems(error) from error
    if problems:
        raise _problems(TemplateError(load_template(body.source).id, problems))
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
async def get_template(template_id: str, workspace: WorkspaceDep, runtime: RuntimeDep) -> TemplatePublic:
    stored = await _stored(runtime, workspace, template_id)
    return TemplatePublic(**_summary(stored, stored.load()), source=stored.source)


async def _letter(
    runtime: SenderRuntime, workspace: str, template_id: str, body: PreviewIn, message_id: str, to: str | None = None
) -> Letter:
    template = (await _stored(runtime, workspace, template_id)).load()
    profile: dict[str, Any] = dict(body.contact or {})
    contact_id = body.contact_id or "preview"
    if body.contact_id is not None and body.contact is None:
        stored_profile = await runtime.dispatcher.audience.profile(workspace, body.contact_id)
        if stored_profile is None:
            raise HTTPException(404, f"no contact {body.contact_id!r}")
        profile = stored_profile
    if to is not None:
        profile["email"] = to
    try:
        return runtime.composer.render(
            template,
            message_id=message_id,
            workspace_id=workspace,
            contact_id=contact_id,
            profile=profile,
            variables=body.variables,
            now=datetime.now(UTC),
        )
    except RenderError as error:
        raise HTTPException(422, {"template": error.template, "problems": [f"{error.part}: {error.reason}"]}) from error


@router.post("/{template_id}/preview")
async def preview(template_id: str, body: PreviewIn, workspace: WorkspaceDep, runtime: RuntimeDep) -> PreviewOut:
    letter = await _letter(runtime, workspace, template_id, body, message_id="preview")
    rendered = letter.rendered
    return PreviewOut(subject=rendered.subject, html=rendered.html, text=rendered.text, headers=dict(rendered.headers))


@router.post("/{template_id}/test-send")
async def test_send(template_id: str, body: TestSendIn, workspace: WorkspaceDep, runtime: RuntimeDep) -> TestSendOut:
    """Straight to SMTP, outside the ledger: a test send is never retried, suppressed or reported."""
    message_id = f"test-{secrets.token_hex(8)}"
    letter = await _letter(runtime, workspace, template_id, body, message_id=message_id, to=str(body.to))
    data = runtime.composer.message_bytes(letter, message_id=message_id, now=datetime.now(UTC))
    reply = await runtime.dispatcher.channels.relay.send(runtime.composer.from_address, str(body.to), data)
    verdict = classify_smtp_reply(reply.code, reply.message)
    return TestSendOut(message_id=message_id, status=verdict.outcome.value, detail=verdict.reason)
