"""Webhook deliveries: signed JSON POSTs, retried briefly with backoff, never to our own network.

Receivers check `X-Dripline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
with the shared secret, and refuse old timestamps so a captured call cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.sender.adapters.targets import RefusedTarget, check_target
from services.sender.domain.smtp_outcome import Outcome
from services.sender.outcome import Attempt

SIGNATURE_HEADER = "X-Dripline-Signature"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: bytes, header: str, body: bytes) -> bool:
    """What a receiver does (here for tests and for Dripline's own receivers)."""
    fields = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if not fields.get("t", "").isdigit():
        return False
    return hmac.compare_digest(signature(secret, int(fields["t"]), body), f"t={fields['t']},v1={fields.get('v1')}")


class _Retry(Exception):
    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.detail)
        self.attempt = attempt


class WebhookSender:
    def __init__(
        self,
        client: httpx.AsyncClient,
        secret: bytes,
        *,
        attempts: int,
        allow_private: bool,
        backoff_seconds: float = 0.2,
    ) -> None:
        self._client, self._secret = client, secret
        self._attempts, self._allow_private = attempts, allow_private
        self._backoff = backoff_seconds

    async def send(self, url: str, payload: dict[str, object]) -> Attempt:
        try:
            await check_target(url, allow_private=self._allow_private)
        except RefusedTarget as refused:
            return Attempt(Outcome.FAILED, f"webhook refused: {refused}")
        body = orjson.dumps(payload)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=5),
            retry=retry_if_exception_type(_Retry),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._post_once(url, body)
        except _Retry as gave_up:
            return gave_up.attempt
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _post_once(self, url: str, body: bytes) -> Attempt:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self._secret, int(time.time()), body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers, follow_redirects=False)
        except httpx.HTTPError as error:
            raise _Retry(Attempt(Outcome.DEFERRED, f"webhook unreachable: {error!r}")) from error
        result = Attempt.from_http(response.status_code, response.text[:200], what="webhook")
        if result.outcome is Outcome.DEFERRED:
            raise _Retry(result)
        return result
