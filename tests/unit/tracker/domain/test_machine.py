"""Privacy proxies and link scanners are flagged as machines, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tracker.domain.machine import ClickFacts, OpenFacts, judge_click, judge_click_at, judge_open

DELIVERED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


def click(agent: str = IPHONE, method: str = "GET", after: float = 600, recent: tuple[float, ...] = ()) -> ClickFacts:
    at = DELIVERED + timedelta(seconds=after)
    return ClickFacts(agent, method, at, DELIVERED, tuple(at - timedelta(seconds=s) for s in recent))


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (
            OpenFacts("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"),
            "google image proxy",
        ),
        (OpenFacts("Mozilla/5.0"), "apple mail privacy protection"),
        (OpenFacts(IPHONE, apple_proxy=True), "apple mail privacy protection"),
        (OpenFacts(""), "no user agent"),
    ],
)
def test_proxy_opens_are_machine_opens(facts: OpenFacts, reason: str) -> None:
    verdict = judge_open(facts)
    assert verdict.machine and verdict.reason == reason


def test_real_mail_client_open_is_human() -> None:
    assert not judge_open(OpenFacts(IPHONE)).machine


@pytest.mark.parametrize(
    ("facts", "reason_part"),
    [
        (click(method="HEAD"), "HEAD"),
        (click(agent="Mozilla/5.0 (compatible; Barracuda Sentinel)"), "barracuda"),
        (click(agent="python-requests/2.31"), "python-requests"),
        (click(after=3), "within 10s of delivery"),
        (click(recent=(1, 2)), "3 clicks within 5s"),
    ],
)
def test_scanner_like_clicks_are_machine_clicks(facts: ClickFacts, reason_part: str) -> None:
    verdict = judge_click(facts)
    assert verdict.machine and reason_part in (verdict.reason or "")


def test_a_person_clicking_later_is_human() -> None:
    assert not judge_click(click(recent=(60,))).machine


@pytest.mark.parametrize(
    ("agent", "method", "after", "recent", "reason"),
    [
        (IPHONE, "head", 600, (), "HEAD request"),
        ("", "GET", 600, (), "no user agent"),
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", "GET", 600, (), "scanner agent (barracuda)"),
        (IPHONE, "GET", 9.5, (), "clicked within 10s of delivery"),
        (IPHONE, "GET", 600, (0.5, 1, 4.9, 30), "4 clicks within 5s"),
        (IPHONE, "GET", 600, (1, 60), None),
    ],
)
def test_the_hot_path_on_epoch_seconds_judges_as_the_facts_do(
    agent: str, method: str, after: float, recent: tuple[float, ...], reason: str | None
) -> None:
    facts = click(agent, method, after, recent)
    seconds = judge_click_at(
        agent,
        method,
        facts.occurred_at.timestamp(),
        DELIVERED.timestamp(),
        [t.timestamp() for t in facts.recent_clicks],
    )

    assert seconds == judge_click(facts)
    assert seconds.reason == reason and seconds.machine is (reason is not None)


def test_an_agent_seen_before_is_judged_the_same_again() -> None:
    first = [judge_open(OpenFacts(agent)) for agent in ("Mozilla/5.0", IPHONE, "")]
    again = [judge_open(OpenFacts(agent)) for agent in ("Mozilla/5.0", IPHONE, "")]

    assert first == again
    assert [v.machine for v in again] == [True, False, True]
