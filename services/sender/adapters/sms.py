"""Text messages through an HTTP provider: POST JSON {to, body, from}, the shape most providers take.

The provider is the operator's (its URL is a setting), so it is not held to public addresses; its
replies are kept like a webhook's: the status code and the standard phrase, the body unread.
"""

from __future__ import annotations

import httpx

from services.sender.adapters.http_status import failure_reason, reason_phrase, status_of
from services.sender.domain.outcome import Attempt
from shared.smtp_replies import Outcome


class SmsProvider:
    def __init__(self, client: httpx.AsyncClient, url: str, *, sender: str, api_key: str | None = None) -> None:
        self._client, self._url, self._sender = client, url, sender
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def send(self, to: str, body: str) -> Attempt:
        request = self._client.build_request(
            "POST", self._url, json={"to": to, "body": body, "from": self._sender}, headers=self._headers
        )
        try:
            status = (await status_of(self._client, request)).status_code
        except (httpx.HTTPError, TimeoutError) as error:
            return Attempt(Outcome.DEFERRED, f"SMS provider unreachable: {failure_reason(error)}")
        return Attempt.from_http(status, reason_phrase(status), what="SMS provider")
