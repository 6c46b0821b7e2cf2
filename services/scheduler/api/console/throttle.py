"""Sign-in attempts per email: after 10 failures in 15 minutes, that email is refused (429 with Retry-After)
until the oldest failure is 15 minutes old, so a password cannot be guessed faster than 40 tries an hour.

Held in the process's memory, like the API keys' rate limits: each replica counts on its own.
"""

from __future__ import annotations

import math
from collections import deque

FAILURES, WINDOW_SECONDS, MOST_EMAILS = 10, 900.0, 100_000


class SignInThrottle:
    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}

    def wait_before(self, email: str, now: float) -> int:
        """Seconds until this email may try again; 0 when it may now."""
        failures = self._recent(email.strip().lower(), now)
        return math.ceil(failures[0] + WINDOW_SECONDS - now) if len(failures) >= FAILURES else 0

    def failed(self, email: str, now: float) -> None:
        if len(self._failures) >= MOST_EMAILS:  # a flood of made-up emails must not grow memory without bound
            self._failures.clear()
        self._recent(email.strip().lower(), now).append(now)

    def succeeded(self, email: str) -> None:
        self._failures.pop(email.strip().lower(), None)

    def _recent(self, email: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(email, deque())
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        return failures
