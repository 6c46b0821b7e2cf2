"""Webhook deliveries: signed JSON POSTs, retried briefly with backoff, never to our own network.

Receivers check `X-Dripline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
with the shared secret, and refuse old timestamps so a captured call cannot be replayed.
A reply is kept as its status code and the standard reason phrase only: its body is never read,
so nothing a receiver says reaches the contact's timeline.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.sender.adapters.http_status import failure_reason, reason_phrase, status_of
from services.sender.adapters.targets import RefusedTarget, TargetGuard
from services.sender.domain.outcome import Attempt
from shared.smtp_replies import Outcome

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
    """Posts through a client of its own whose connections go only to checked public addresses
    (`targets.TargetGuard`); `client` lends its timeouts."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        secret: bytes,
        *,
        attempts: int,
        allow_private: bool,
        backoff_seconds: float = 0.2,
        guard: TargetGuard | None = None,
    ) -> None:
        self._guard = guard or TargetGuard(allow_private=allow_private)
        self._client = self._guard.client(timeout=client.timeout)
        self._secret, self._attempts = secret, attempts
        self._backoff = backoff_seconds

    async def send(self, url: str, payload: dict[str, object]) -> Attempt:
        try:
            self._guard.check_url(url)
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
        request = self._client.build_request("POST", url, content=body, headers=headers)
        try:
            status = (await status_of(self._client, request)).status_code
        except RefusedTarget as refused:
            return Attempt(Outcome.FAILED, f"webhook refused: {refused}")
        except (httpx.HTTPError, TimeoutError) as error:
            raise _Retry(Attempt(Outcome.DEFERRED, f"webhook unreachable: {failure_reason(error)}")) from error
        result = Attempt.from_http(status, reason_phrase(status), what="webhook")
        if result.outcome is Outcome.DEFERRED:
            raise _Retry(result)
        return result
