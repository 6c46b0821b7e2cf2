"""One delivery attempt's outcome, whatever the channel, in the domain's terms."""

from __future__ import annotations

from dataclasses import dataclass

from shared.smtp_replies import Outcome

# Worth trying again later: the receiver is busy, rate limiting or briefly broken.
RETRYABLE_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    detail: str

    @classmethod
    def from_http(cls, status: int, body: str, *, what: str) -> Attempt:
        detail = f"{what} answered {status} {' '.join(body.split())}".strip()
        if 200 <= status < 300:
            return cls(Outcome.SENT, detail)
        if status >= 500 or status in RETRYABLE_HTTP:
            return cls(Outcome.DEFERRED, detail)
        return cls(Outcome.FAILED, detail)
