"""What an SMTP reply means for a message and its address: sent, retry later, bounced, failed.

Shared because the sender reads replies while it sends and the tracker reads them later in bounce reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Outcome", "SmtpVerdict", "classify_smtp_reply"]

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Enhanced codes (RFC 3463) saying the address itself is dead: suppress it.
_HARD = frozenset({"5.1.0", "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1"})
# Mailbox full or over quota: the address is alive, so retry later.
_SOFT = frozenset({"5.2.2", "4.2.2"})
_UNKNOWN_USER = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|invalid (recipient|mailbox)"
    r"|recipient (address )?rejected|mailbox (unavailable|not found|disabled)|account (has been )?disabled",
    re.I,
)
_FULL = re.compile(r"mailbox (is )?full|over ?quota|quota exceeded|insufficient storage", re.I)


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # transient: retry on the schedule
    BOUNCED_HARD = "bounced_hard"  # permanent and the address is dead: suppress it
    FAILED = "failed"  # permanent for this message, but the address stays (e.g. policy block)


@dataclass(frozen=True, slots=True)
class SmtpVerdict:
    outcome: Outcome
    code: int
    enhanced: str | None
    reason: str

    @property
    def suppress(self) -> bool:
        return self.outcome is Outcome.BOUNCED_HARD


def _enhanced(enhanced: str | None, message: str) -> str | None:
    if enhanced:
        return enhanced.strip()
    match = _ENHANCED.search(message)
    return ".".join(match.groups()) if match else None


def classify_smtp_reply(code: int, message: str = "", enhanced: str | None = None) -> SmtpVerdict:
    """Sent, deferred, hard bounce or failed, from the reply code, enhanced code and text.

    The basic code decides permanent vs transient (receivers disagree less on it);
    the enhanced code or, failing that, the wording decides whether the address is dead.
    """
    status = _enhanced(enhanced, message)
    text = " ".join(message.split())[:300]

    shown = " ".join(
        part for part in (str(code), status, text) if part and not (part == status and text.startswith(part))
    )

    def verdict(outcome: Outcome, why: str) -> SmtpVerdict:
        return SmtpVerdict(outcome, code, status, f"{why}: {shown}")

    if 200 <= code < 300:
        return verdict(Outcome.SENT, "accepted")
    if not 500 <= code < 600:
        return verdict(Outcome.DEFERRED, "transient")
    if status in _SOFT or code == 552 or _FULL.search(text):
        return verdict(Outcome.DEFERRED, "mailbox full")
    if status is not None and status.startswith("5.7."):
        return verdict(Outcome.FAILED, "refused by policy")
    if status in _HARD:
        return verdict(Outcome.BOUNCED_HARD, "address does not exist")
    if status is None and (code in (551, 553) or (code == 550 and _UNKNOWN_USER.search(text))):
        return verdict(Outcome.BOUNCED_HARD, "address does not exist")
    return verdict(Outcome.FAILED, "permanent failure")
