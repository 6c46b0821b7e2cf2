"""Opens and clicks: judge who made them (person or machine) and write the engagement record.

This sits on the hot path, so a record goes straight to the bytes the broker gets: no model
per hit. Every field comes from a verified token or from us, and the JSON is exactly what
the contract's own serializer writes for an `Engagement` (tests hold the two equal).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections import OrderedDict, deque
from functools import lru_cache

import orjson

from services.tracker.domain.machine import OpenFacts, Verdict, judge_click_at, judge_open
from shared.contract.internal import Engagement
from shared.contract.redaction import public_url
from shared.contract.topics import ENGAGEMENT
from shared.kafka.codec import Headers, headers_for
from shared.kafka.producer import OutgoingRecord
from shared.tokens import TokenClaims

__all__ = ["HitJudge", "engagement", "hit_event_id", "utc_stamp"]

_BURST_MEMORY_S = 30.0
_PROCESS_TAG = secrets.token_hex(3)
_SEQUENCE = itertools.count()
# Apple's Mail Privacy Protection relays fetch from Apple's own 17.0.0.0/8 network.
_APPLE_NETWORK_PREFIX = "17."
# The headers depend only on the kind, so each kind's list is made once, by the codec itself.
_HEADERS: dict[str, Headers] = {}


def hit_event_id(code: str, token: str, now: float) -> str:
    """Unique per hit (a process tag and a counter), yet readable: which link, and when.

    Retries of a flush resend the same record, so consumers still drop duplicates by id.
    """
    digest = hashlib.blake2b(token.encode(), digest_size=8).hexdigest()
    return f"{code}-{digest}-{int(now * 1000)}-{_PROCESS_TAG}{next(_SEQUENCE):x}"


def utc_stamp(now: float) -> str:
    """Epoch seconds as the contract's serializer writes a UTC time: `…T12:00:00.123456Z`, no zero fraction."""
    second, micros = divmod(round(now * 1_000_000), 1_000_000)
    if micros:
        return f"{_utc_second(second)}.{micros:06d}Z"
    return f"{_utc_second(second)}Z"


@lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    """Thousands of hits share each second, so its text is made once."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def engagement(claims: TokenClaims, kind: str, verdict: Verdict, *, event_id: str, now: float) -> OutgoingRecord:
    """The `Engagement` record of a hit, ready for the producer, keyed by contact like every record."""
    stamp = utc_stamp(now)
    value = orjson.dumps(
        {
            "event_id": event_id,
            "workspace_id": claims.workspace_id,
            "contact_id": claims.contact_id,
            "occurred_at": stamp,
            "received_at": stamp,
            "schema_version": 1,
            "flow_id": claims.flow_id,
            "flow_version": None,
            "step_id": claims.step_id,
            "broadcast_id": claims.broadcast_id,
            "message_id": claims.message_id,
            "kind": kind,
            "url": public_url(claims.url),  # the contract's rule: no query, fragment or user info
            "machine": verdict.machine,
            "machine_reason": verdict.reason,
        }
    )
    headers = _HEADERS.get(kind)
    if headers is None:
        headers = _HEADERS[kind] = headers_for(Engagement.model_construct(kind=kind, schema_version=1))
    return OutgoingRecord(ENGAGEMENT, claims.contact_id, value, headers)


class HitJudge:
    """The domain's heuristics plus the one thing they need remembered: recent clicks per message.

    The memory is per process and bounded, so with several replicas a burst split across
    them can go unseen; that only errs towards counting a person.
    """

    def __init__(self, max_messages: int = 100_000) -> None:
        self._clicks: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._max_messages = max_messages

    def judge_open(self, *, user_agent: str, method: str, client_host: str | None) -> Verdict:
        if method == "HEAD":
            return Verdict(True, "HEAD request")
        apple = client_host is not None and client_host.startswith(_APPLE_NETWORK_PREFIX)
        return judge_open(OpenFacts(user_agent, apple_proxy=apple))

    def judge_click(self, claims: TokenClaims, *, user_agent: str, method: str, now: float) -> Verdict:
        """`now` in epoch seconds, like the token's issue time."""
        key = (claims.workspace_id, claims.message_id)
        recent = self._clicks.get(key)
        if recent is None:
            recent = self._clicks[key] = deque(maxlen=16)
            if len(self._clicks) > self._max_messages:
                self._clicks.popitem(last=False)
        else:
            self._clicks.move_to_end(key)
            while recent and now - recent[0] > _BURST_MEMORY_S:
                recent.popleft()
        verdict = judge_click_at(user_agent, method, now, claims.issued_at, recent)
        recent.append(now)
        return verdict
