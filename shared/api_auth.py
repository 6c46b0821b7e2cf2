"""Per-workspace API keys, sent as `Authorization: Bearer KEY` or `X-Api-Key: KEY`, with scopes and rate limits.

Every route names the scope it needs with one of the aliases below (`workspace_id: FlowsWrite`);
the OpenAPI document lists that scope on the route's security requirement. A key without the
scope gets 403 naming it, a key over its rate 429 with `Retry-After`. The event fast path of
ingest calls `grant` itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from shared.rate_limits import retry_after
from shared.workspaces import ApiKeys, KeyCheck, checked_scopes

_bearer = HTTPBearer(auto_error=False, description="A workspace API key (`dripline keys create`).")
_header = APIKeyHeader(name="X-Api-Key", auto_error=False)


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a request's key does not get it through: the status, a reason that names what to fix."""

    status: int
    reason: str
    retry_after: str | None = None

    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": "Bearer"}
        return {"Retry-After": self.retry_after} if self.retry_after else {}


MISSING = Refused(401, "missing API key")
UNKNOWN = Refused(401, "unknown API key")
REVOKED = Refused(403, "this API key was revoked")


def api_keys(request: Request) -> ApiKeys:
    keys: ApiKeys | None = getattr(request.app.state, "api_keys", None)
    if keys is None:
        keys = request.app.state.api_keys = ApiKeys(request.app.state.resources.pool)
    return keys


async def grant(keys: ApiKeys, key: str | None, scope: str) -> KeyCheck | Refused:
    """The key, when it may do `scope` now (its workspace is set); else why not. O(1) once the key is cached."""
    if not key:
        return MISSING
    check = await keys.check(key)
    if check.workspace_id is None:
        return UNKNOWN
    if check.revoked:
        return REVOKED
    if check.limit is not None:
        wait = await keys.wait_before(check, time.monotonic())
        if wait:
            return Refused(429, "too many requests with this API key", retry_after(wait))
    return check if check.allows(scope) else lacking(scope)


def lacking(scope: str) -> Refused:
    return Refused(403, f"this API key lacks the scope {scope}")


async def authorise(request: Request, key: str | None, scope: str) -> str:
    """`grant` for a route: the workspace id, or the refusal as an HTTPException."""
    granted = await grant(api_keys(request), key, scope)
    if isinstance(granted, Refused):
        raise HTTPException(granted.status, granted.reason, headers=granted.headers())
    request.state.api_key = granted
    assert granted.workspace_id is not None
    return granted.workspace_id


def require_also(request: Request, scope: str) -> None:
    """For a route that does more with some inputs (a preview of a stored contact): 403 without `scope` too."""
    check: KeyCheck | None = getattr(request.state, "api_key", None)
    if check is None or not check.allows(scope):
        refused = lacking(scope)
        raise HTTPException(refused.status, refused.reason)


def key_of(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    """`Authorization: Bearer KEY` wins over `X-Api-Key: KEY`."""
    return bearer.credentials if bearer else header


async def _scoped_workspace(
    request: Request,
    security_scopes: SecurityScopes,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> str:
    [scope] = security_scopes.scopes
    return await authorise(request, key_of(bearer, header), scope)


def _scoped(scope: str) -> Any:
    checked_scopes([scope])  # a misspelt scope fails at import, not at the first request
    return Security(_scoped_workspace, scopes=[scope])


# The workspace id of a key that holds the scope (or `admin`).
EventsWrite = Annotated[str, _scoped("events:write")]
ContactsRead = Annotated[str, _scoped("contacts:read")]
ContactsWrite = Annotated[str, _scoped("contacts:write")]
ContactsErase = Annotated[str, _scoped("contacts:erase")]
FlowsRead = Annotated[str, _scoped("flows:read")]
FlowsWrite = Annotated[str, _scoped("flows:write")]
TemplatesRead = Annotated[str, _scoped("templates:read")]
TemplatesWrite = Annotated[str, _scoped("templates:write")]
ReportsRead = Annotated[str, _scoped("reports:read")]
Admin = Annotated[str, _scoped("admin")]
