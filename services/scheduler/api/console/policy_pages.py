"""The workspace's sending policy (caps, quiet hours, grace after sign-up, time zone) and its test
recipients: every role reads them; editors and admins change the policy, admins the test recipients
(as through the API, where they need an admin key). Each change is written to the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from services.scheduler.adapters.policy import load_policy, save_policy
from services.scheduler.api.console.access import PREFIX, FormSession, Session, may, pool_of, require
from services.scheduler.api.console.pages import ConsoleRoute, render
from services.scheduler.api.console.policy_form import (
    CHANNELS,
    cap_text,
    changes,
    form_values,
    policy_from_form,
    posted_values,
)
from shared.audit import record_change
from shared.workspaces import load_test_recipients, save_test_recipients

router = APIRouter(prefix=f"{PREFIX}/policy", route_class=ConsoleRoute, include_in_schema=False)
MOST_RECIPIENTS = 50  # as PUT /v1/test-recipients
_ADDRESS: TypeAdapter[str] = TypeAdapter(EmailStr)


async def _page(request: Request, session: Session, status: int = 200, **shown: object) -> HTMLResponse:
    pool = pool_of(request)
    policy = await load_policy(pool, session.workspace_id)
    recipients = await load_test_recipients(pool, session.workspace_id)
    context: dict[str, object] = {
        "policy": policy, "caps": [cap_text(cap) for cap in policy.caps], "recipients": recipients,
        "form": form_values(policy), "recipients_text": "\n".join(recipients), "errors": {}, "done": None,
        "channels": CHANNELS, "can_edit": may(session, "editor"), "can_set_recipients": may(session, "admin"),
    }  # fmt: skip
    return render(request, "policy.html", status, **{**context, **shown})


@router.get("", response_class=HTMLResponse)
async def policy_page(request: Request, session: Session, done: str | None = None) -> HTMLResponse:
    return await _page(request, session, done=done)


@router.post("", response_model=None)
async def change_policy(request: Request, session: FormSession) -> Response:
    """422 with the form as typed and an error beside each wrong field; else saved and audited together."""
    require(session, "editor", "change the sending policy")
    form = await request.form()
    fields = {name: [str(value) for value in form.getlist(name)] for name in form}
    pool = pool_of(request)
    before = await load_policy(pool, session.workspace_id)
    after, errors = policy_from_form(fields, before)
    if after is None:
        return await _page(request, session, 422, form=posted_values(fields), errors=errors)
    changed = changes(before, after)
    async with pool.acquire() as connection, connection.transaction():
        await save_policy(connection, session.workspace_id, after)
        if changed:
            await record_change(connection, session.workspace_id, actor=session.actor, via="console",
                                action="policy.changed", target="flow_policy", detail=changed)  # fmt: skip
    return RedirectResponse(f"{PREFIX}/policy?done=policy", status_code=303)


@router.post("/test-recipients", response_model=None)
async def change_recipients(
    request: Request, session: FormSession, addresses: Annotated[str, Form(max_length=20_000)] = ""
) -> Response:
    """One address a line; the whole list is replaced."""
    require(session, "admin", "change the test recipients")
    wanted = [line.strip() for line in addresses.splitlines() if line.strip()]
    error = None
    if len(wanted) > MOST_RECIPIENTS:
        error = f"at most {MOST_RECIPIENTS} test recipients; {len(wanted)} given"
    for address in wanted if error is None else []:
        try:
            _ADDRESS.validate_python(address)
        except ValidationError:
            error = f"'{address}' is not an email address"
            break
    if error is not None:
        return await _page(request, session, 422, recipients_text=addresses, errors={"addresses": error})
    async with pool_of(request).acquire() as connection, connection.transaction():
        kept = await save_test_recipients(connection, session.workspace_id, wanted)
        await record_change(
            connection, session.workspace_id, actor=session.actor, via="console",
            action="test_recipients.changed", target="test_recipients", detail={"count": len(kept)},
        )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/policy?done=recipients", status_code=303)
