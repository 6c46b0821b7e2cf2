"""Tell machine opens and clicks from people, so flows and reports count readers, not robots.

Privacy proxies (Apple Mail Privacy Protection, Google's image proxy) fetch every pixel;
security scanners follow every link, often at once and right after delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["ClickFacts", "OpenFacts", "Verdict", "judge_click", "judge_open"]

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
    agent = facts.user_agent.strip().lower()
    if facts.apple_proxy:
        return Verdict(True, "apple mail privacy protection")
    for needle, reason in _PROXY_AGENTS:
        if needle in agent:
            return Verdict(True, reason)
    if agent == _APPLE_MPP_AGENT:
        return Verdict(True, "apple mail privacy protection")
    if not agent:
        return Verdict(True, "no user agent")
    return HUMAN


def judge_click(
    facts: ClickFacts,
    *,
    too_soon: timedelta = timedelta(seconds=10),
    burst_window: timedelta = timedelta(seconds=5),
    burst_size: int = 3,
) -> Verdict:
    """A scanner agent, a HEAD request, a click within ``too_soon`` of delivery, or
    ``burst_size`` clicks (counting this one) within ``burst_window`` mark a machine."""
    agent = facts.user_agent.strip().lower()
    if facts.method.upper() == "HEAD":
        return Verdict(True, "HEAD request")
    if not agent:
        return Verdict(True, "no user agent")
    for needle in _SCANNER_AGENTS:
        if needle in agent:
            return Verdict(True, f"scanner agent ({needle.strip('/')})")
    if facts.delivered_at is not None and facts.occurred_at - facts.delivered_at < too_soon:
        return Verdict(True, f"clicked within {int(too_soon.total_seconds())}s of delivery")
    burst = [t for t in facts.recent_clicks if timedelta(0) <= facts.occurred_at - t <= burst_window]
    if len(burst) + 1 >= burst_size:
        return Verdict(True, f"{len(burst) + 1} clicks within {int(burst_window.total_seconds())}s")
    return HUMAN
