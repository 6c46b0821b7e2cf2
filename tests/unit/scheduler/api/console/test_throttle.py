"""Sign-in throttling: ten failures in fifteen minutes stop an email's tries until the oldest ages out."""

from __future__ import annotations

from services.scheduler.api.console.throttle import FAILURES, WINDOW_SECONDS, SignInThrottle


def test_ten_failures_stop_an_email_until_the_first_is_fifteen_minutes_old() -> None:
    throttle = SignInThrottle()
    for n in range(FAILURES):
        assert throttle.wait_before("Ana@Shop.example", 100.0 + n) == 0
        throttle.failed("ana@shop.example ", 100.0 + n)
    assert throttle.wait_before("ana@shop.example", 110.0) == WINDOW_SECONDS - 10
    assert throttle.wait_before("other@shop.example", 110.0) == 0
    assert throttle.wait_before("ana@shop.example", 100.0 + WINDOW_SECONDS) == 0


def test_a_success_forgets_the_failures() -> None:
    throttle = SignInThrottle()
    for n in range(FAILURES - 1):
        throttle.failed("ana@shop.example", float(n))
    throttle.succeeded("ANA@shop.example")
    throttle.failed("ana@shop.example", 20.0)
    assert throttle.wait_before("ana@shop.example", 21.0) == 0
