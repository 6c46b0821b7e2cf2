"""Text messages through an HTTP provider: POST JSON {to, body, from}, the shape most providers take."""

from __future__ import annotations

import httpx

from services.sender.domain.smtp_outcome import Outcome
from services.sender.outcome import Attempt


class SmsProvider:
    def __init__(self, client: httpx.AsyncClient, url: str, *, sender: str, api_key: str | None = None) -> None:
        self._client, self._url, self._sender = client, url, sender
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def send(self, to: str, body: str) -> Attempt:
        try:
            response = await self._client.post(
                self._url, json={"to": to, "body": body, "from": self._sender}, headers=self._headers
            )
        except httpx.HTTPError as error:
            return Attempt(Outcome.DEFERRED, f"SMS provider unreachable: {error!r}")
        return Attempt.from_http(response.status_code, response.text[:200], what="SMS provider")
