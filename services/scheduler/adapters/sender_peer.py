"""The sender, asked by the console for what only it can do: the workspace's templates as it reads them,
a template's preview and its links, and test sends (`services/sender/api/console_peer.py`). Each request
carries the console user's signed assertion (`shared/console_peer.py`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from shared.console_peer import HEADER, sign

TIMEOUT_SECONDS = 15.0  # a test send waits for the SMTP server's answer


class SenderRefused(Exception):
    """The sender's answer was not a success: its status and what it said, for the page to show."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def reason(self) -> str:
        if isinstance(self.detail, dict) and "problems" in self.detail:
            return "; ".join(str(problem) for problem in self.detail["problems"])
        if isinstance(self.detail, list):  # a validation error: each field and why
            return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg')}" for e in self.detail)
        return str(self.detail)


class SenderPeer:
    def __init__(self, base_url: str, keys: SecretStr) -> None:
        self._base_url = base_url.rstrip("/")
        self._keys = keys

    async def _ask(self, method: str, path: str, workspace_id: str, actor: str, role: str,
                   body: dict[str, Any] | None = None) -> Any:  # fmt: skip
        headers = {HEADER: sign(self._keys, workspace_id, actor, role)}
        url = f"{self._base_url}/internal/console/templates{path}"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                answer = await client.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise SenderRefused(503, f"the sender cannot be reached at {self._base_url} ({error})") from error
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            raise SenderRefused(answer.status_code, detail)
        return answer.json()

    async def templates(self, workspace_id: str, actor: str, role: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._ask("GET", "", workspace_id, actor, role)
        return found

    async def preview(self, workspace_id: str, actor: str, role: str, template_id: str,
                      sample: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        found: dict[str, Any] = await self._ask(
            "POST", f"/{quote(template_id, safe='')}/preview", workspace_id, actor, role, sample
        )
        return found

    async def test_send(self, workspace_id: str, actor: str, role: str, template_id: str,
                        sample: dict[str, Any]) -> list[dict[str, str]]:  # fmt: skip
        found = await self._ask("POST", f"/{quote(template_id, safe='')}/test-send", workspace_id, actor, role, sample)
        sent: list[dict[str, str]] = found["sent"]
        return sent
