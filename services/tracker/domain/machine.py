"""Tell machine opens and clicks from people, so flows and reports count readers, not robots.

Privacy proxies (Apple Mail Privacy Protection, Google's image proxy) fetch every pixel;
security scanners follow every link, often at once and right after delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

__all__ = ["HUMAN", "ClickFacts", "OpenFacts", "Verdict", "judge_click", "judge_click_at", "judge_open"]

_PROXY_AGENTS = (
    ("googleimageproxy", "google image proxy"),
    ("ggpht.com", "google image proxy"),
    ("yahoomailproxy", "yahoo image proxy"),
)
_SCANNER_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "messagelabs",
    "trendmicro",
    "fortinet",
    "forcepoint",
    "sophos",
    "cisco",
    "ironport",
    "safelinks",
    "urldefense",
    "bitdefender",
    "kaspersky",
    "microsoft office existence discovery",
    "bingpreview",
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
    "headlesschrome",
    "phantomjs",
    "bot",
    "spider",
    "crawler",
    "scanner",
)
# Apple's proxy sends a bare Mozilla agent with no browser token, from Apple's network.
_APPLE_MPP_AGENT = "mozilla/5.0"


@dataclass(frozen=True, slots=True)
class Verdict:
    machine: bool
    reason: str | None = None


HUMAN = Verdict(False)
_HEAD = Verdict(True, "HEAD request")
_NO_AGENT = Verdict(True, "no user agent")
_APPLE_MPP = Verdict(True, "apple mail privacy protection")


@dataclass(frozen=True, slots=True)
class OpenFacts:
    """What the tracker knows about a pixel fetch; ``apple_proxy`` is set when the IP is Apple's."""

    user_agent: str
    apple_proxy: bool = False


@dataclass(frozen=True, slots=True)
class ClickFacts:
    """What the tracker knows about a click, and when the message was delivered."""

    user_agent: str
    method: str
    occurred_at: datetime
    delivered_at: datetime | None = None
    recent_clicks: Sequence[datetime] = ()  # earlier clicks on this message, any link


def judge_open(facts: OpenFacts) -> Verdict:
    if facts.apple_proxy:
        return _APPLE_MPP
    return _open_agent(facts.user_agent)


def judge_click(
    facts: ClickFacts,
    *,
    too_soon: timedelta = timedelta(seconds=10),
    burst_window: timedelta = timedelta(seconds=5),
    burst_size: int = 3,
) -> Verdict:
    """A scanner agent, a HEAD request, a click within ``too_soon`` of delivery, or
    ``burst_size`` clicks (counting this one) within ``burst_window`` mark a machine."""
    return judge_click_at(
        facts.user_agent,
        facts.method,
        facts.occurred_at.timestamp(),
        None if facts.delivered_at is None else facts.delivered_at.timestamp(),
        [t.timestamp() for t in facts.recent_clicks],
        too_soon_s=too_soon.total_seconds(),
        burst_window_s=burst_window.total_seconds(),
        burst_size=burst_size,
    )


def judge_click_at(
    user_agent: str,
    method: str,
    now: float,
    delivered_at: float | None,
    recent_clicks: Iterable[float],
    *,
    too_soon_s: float = 10.0,
    burst_window_s: float = 5.0,
    burst_size: int = 3,
) -> Verdict:
    """`judge_click` on epoch seconds: every click runs this, and datetimes cost more than the rules."""
    if method.upper() == "HEAD":
        return _HEAD
    verdict = _click_agent(user_agent)
    if verdict is not None:
        return verdict
    if delivered_at is not None and now - delivered_at < too_soon_s:
        return Verdict(True, f"clicked within {int(too_soon_s)}s of delivery")
    clicks = 1  # this one
    for earlier in recent_clicks:
        if 0 <= now - earlier <= burst_window_s:
            clicks += 1
    if clicks >= burst_size:
        return Verdict(True, f"{clicks} clicks within {int(burst_window_s)}s")
    return HUMAN


# Agents repeat (a few hundred mail clients, proxies and scanners), so each is read only once;
# the caches are bounded, so odd agents cost a lookup, never memory.
@lru_cache(maxsize=4096)
def _open_agent(user_agent: str) -> Verdict:
    agent = user_agent.strip().lower()
    for needle, reason in _PROXY_AGENTS:
        if needle in agent:
            return Verdict(True, reason)
    if agent == _APPLE_MPP_AGENT:
        return _APPLE_MPP
    if not agent:
        return _NO_AGENT
    return HUMAN


@lru_cache(maxsize=4096)
def _click_agent(user_agent: str) -> Verdict | None:
    agent = user_agent.strip().lower()
    if not agent:
        return _NO_AGENT
    for needle in _SCANNER_AGENTS:
        if needle in agent:
            return Verdict(True, f"scanner agent ({needle.strip('/')})")
    return None
