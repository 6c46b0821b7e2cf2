"""Opens and clicks: judge who made them (person or machine) and shape the engagement record.

This sits on the hot path, so records are built without validation (every field comes
from a verified token or from us) and kept as models; bytes are made at flush time.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta

from services.tracker.domain.machine import ClickFacts, OpenFacts, Verdict, judge_click, judge_open
from shared.contract.internal import Engagement
from shared.tokens import TokenClaims

__all__ = ["HitJudge", "engagement", "hit_event_id"]

_BURST_MEMORY = timedelta(seconds=30)
_PROCESS_TAG = secrets.token_hex(3)
_SEQUENCE = itertools.count()
# Apple's Mail Privacy Protection relays fetch from Apple's own 17.0.0.0/8 network.
_APPLE_NETWORK_PREFIX = "17."


def hit_event_id(code: str, token: str, now: datetime) -> str:
    """Unique per hit (a process tag and a counter), yet readable: which link, and when.

    Retries of a flush resend the same record, so consumers still drop duplicates by id.
    """
    digest = hashlib.blake2b(token.encode(), digest_size=8).hexdigest()
    return f"{code}-{digest}-{int(now.timestamp() * 1000)}-{_PROCESS_TAG}{next(_SEQUENCE):x}"


def engagement(
    claims: TokenClaims,
    kind: str,
    verdict: Verdict,
    *,
    event_id: str,
    now: datetime,
) -> Engagement:
    return Engagement.model_construct(
        event_id=event_id,
        workspace_id=claims.workspace_id,
        contact_id=claims.contact_id,
        occurred_at=now,
        received_at=now,
        schema_version=1,
        flow_id=claims.flow_id,
        flow_version=None,
        step_id=claims.step_id,
        message_id=claims.message_id,
        kind=kind,
        url=claims.url,
        machine=verdict.machine,
        machine_reason=verdict.reason,
    )


class HitJudge:
    """The domain's heuristics plus the one thing they need remembered: recent clicks per message.

    The memory is per process and bounded, so with several replicas a burst split across
    them can go unseen; that only errs towards counting a person.
    """

    def __init__(self, max_messages: int = 100_000) -> None:
        self._clicks: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._max_messages = max_messages

    def judge_open(self, *, user_agent: str, method: str, client_host: str | None) -> Verdict:
        if method == "HEAD":
            return Verdict(True, "HEAD request")
        apple = client_host is not None and client_host.startswith(_APPLE_NETWORK_PREFIX)
        return judge_open(OpenFacts(user_agent, apple_proxy=apple))

    def judge_click(self, claims: TokenClaims, *, user_agent: str, method: str, now: datetime) -> Verdict:
        key = f"{claims.workspace_id}\x1f{claims.message_id}"
        recent = self._clicks.get(key)
        if recent is None:
            recent = self._clicks[key] = deque(maxlen=16)
            if len(self._clicks) > self._max_messages:
                self._clicks.popitem(last=False)
        else:
            self._clicks.move_to_end(key)
            while recent and now - recent[0] > _BURST_MEMORY:
                recent.popleft()
        facts = ClickFacts(
            user_agent=user_agent,
            method=method,
            occurred_at=now,
            delivered_at=datetime.fromtimestamp(claims.issued_at, UTC),
            recent_clicks=tuple(recent),
        )
        recent.append(now)
        return judge_click(facts)
