"""What the console asks of the sender (`shared/console_peer.py`): the workspace's templates, a template's
preview with the links it holds, and a test send to every test recipient.

Inside the cluster only, like the rest of the sender. A request carries the console's signed assertion
instead of an API key; it is given the scopes of the console user's role and then answered by the same
code as `/v1/templates` (the preview, the test recipients' check, the test sends' rate, suppressions).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel

from services.sender.adapters.link_results import results_of
from services.sender.adapters.templates import StoredTemplate
from services.sender.api import templates as api
from services.sender.usecases.link_check import destinations
from services.sender.workers.runtime import SenderRuntime
from shared.console_peer import HEADER, AssertionRefused, ConsoleAssertion, verify
from shared.console_users import ROLES, Role, allows
from shared.workspaces import KeyCheck, load_test_recipients

router = APIRouter(prefix="/internal/console/templates", include_in_schema=False)


def _runtime(request: Request) -> SenderRuntime:
    runtime: SenderRuntime = request.app.state.sender
    return runtime


async def _asserted(
    request: Request, assertion: Annotated[str, Header(alias=HEADER, max_length=2000)] = ""
) -> ConsoleAssertion:
    try:
        found = verify(_runtime(request).settings.link_signing_keys, assertion)
    except AssertionRefused as refused:
        raise HTTPException(401, str(refused)) from refused
    if found.role not in ROLES:
        raise HTTPException(401, f"the console assertion names no role Dripline knows ({found.role!r})")
    scopes = {"templates:read", "contacts:read"} | ({"templates:write"} if _may(found, "editor") else set())
    request.state.api_key = KeyCheck(found.workspace_id, False, f"console:{found.actor}", frozenset(scopes))
    return found


def _may(found: ConsoleAssertion, needed: Role) -> bool:
    return allows(cast(Role, found.role), needed)


Asserted = Annotated[ConsoleAssertion, Depends(_asserted)]


class TemplateCard(BaseModel):
    id: str
    version: int
    category: str
    subject: str
    locales: list[str]
    created_at: Any


class LinkSeen(BaseModel):
    url: str
    status: int | None = None
    problem: str | None = None
    checked_at: Any = None  # None: not checked yet (the daily check has not run since it was published)


class PreviewWithLinks(api.PreviewOut):
    card: TemplateCard
    links: list[LinkSeen]


class TestSends(BaseModel):
    sent: list[dict[str, str]]


def _card(stored: StoredTemplate) -> TemplateCard:
    template = stored.load()
    return TemplateCard(id=stored.template_id, version=stored.version, category=template.category.value,
                        subject=template.subject, locales=sorted(template.variants),
                        created_at=stored.created_at)  # fmt: skip


@router.get("")
async def cards(request: Request, asserted: Asserted) -> list[TemplateCard]:
    return [_card(stored) for _, stored in await _runtime(request).templates.all_latest(asserted.workspace_id)]


@router.post("/{template_id}/preview")
async def preview(request: Request, template_id: str, body: api.PreviewIn, asserted: Asserted) -> PreviewWithLinks:
    """The preview of `POST /v1/templates/{id}/preview`, and the links a reader could follow in it with the
    daily link check's last word on each."""
    runtime = _runtime(request)
    shown = await api.preview(request, template_id, body, asserted.workspace_id, runtime)
    stored = await runtime.templates.latest(asserted.workspace_id, template_id)
    assert stored is not None  # the preview found it
    checked = await results_of(runtime.templates.pool, asserted.workspace_id, template_id)
    links = [
        LinkSeen(url=url, **checked.get(url, {}))
        for url in destinations(runtime.composer, shown.html, runtime.composer.tracker_url)
    ]
    return PreviewWithLinks(**shown.model_dump(), card=_card(stored), links=links)


@router.post("/{template_id}/test-send")
async def test_send(request: Request, template_id: str, body: api.PreviewIn, asserted: Asserted) -> TestSends:
    """To every test recipient, each as `POST /v1/templates/{id}/test-send`; editors and admins only."""
    if not _may(asserted, "editor"):
        raise HTTPException(403, f"your role ({asserted.role}) may not send tests")
    runtime = _runtime(request)
    recipients = await load_test_recipients(runtime.templates.pool, asserted.workspace_id)
    if not recipients:
        raise HTTPException(409, "this workspace has no test recipients: an admin sets them on the policy page")
    if await runtime.templates.latest(asserted.workspace_id, template_id) is None:
        raise HTTPException(404, f"no template {template_id!r}")
    sent = []
    for to in recipients:  # each answered on its own: the sixth of a burst may be told to wait (429)
        one = api.TestSendIn(**body.model_dump(), to=to)
        try:
            answer = await api.test_send(request, template_id, one, asserted.workspace_id, runtime)
        except HTTPException as refused:
            if refused.status_code == 422:  # it does not render: the same for every recipient
                raise
            sent.append({"to": to, "status": "refused", "detail": str(refused.detail)})
            continue
        sent.append({"to": to, "status": answer.status, "detail": answer.detail})
    return TestSends(sent=sent)
