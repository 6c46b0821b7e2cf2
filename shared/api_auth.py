"""Per-workspace API keys, sent as `Authorization: Bearer KEY` or `X-Api-Key: KEY`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.workspaces import ApiKeys

_bearer = HTTPBearer(auto_error=False, description="A workspace API key (`dripline keys create`).")
_header = APIKeyHeader(name="X-Api-Key", auto_error=False)


async def workspace_of(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> str:
    key = bearer.credentials if bearer else header
    if not key:
        raise HTTPException(401, "missing API key", headers={"WWW-Authenticate": "Bearer"})
    keys: ApiKeys | None = getattr(request.app.state, "api_keys", None)
    if keys is None:
        keys = request.app.state.api_keys = ApiKeys(request.app.state.resources.pool)
    check = await keys.check(key)
    if check.workspace_id is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    if check.revoked:
        raise HTTPException(403, "this API key was revoked")
    return check.workspace_id


WorkspaceDep = Annotated[str, Depends(workspace_of)]
