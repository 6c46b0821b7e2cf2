"""The pages people see allow nothing but their own stylesheet: its hash in the CSP matches every page."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from services.tracker.adapters.consent import SubscriptionTopic
from services.tracker.api import pages

PAGES = {
    "invalid": pages.invalid_link(),
    "expired": pages.link_expired(),
    "unsubscribe": pages.unsubscribe_confirm("https://t.example/u/x", "https://t.example/p/x"),
    "unsubscribed": pages.unsubscribed("https://t.example/p/x"),
    "confirm": pages.confirm_signup("https://t.example/f/x"),
    "confirmed": pages.signup_confirmed("confirmed", "https://t.example/p/x"),
    "preferences": pages.preferences(
        "https://t.example/p/x",
        subscribed=True,
        reachable=True,
        topics=[SubscriptionTopic("news", "News", "Weekly")],
        chosen={"news"},
    ),
    "left": pages.preferences("https://t.example/p/x", subscribed=False, reachable=True, topics=[]),
}


@pytest.mark.parametrize("name", PAGES)
def test_the_only_style_on_a_page_is_the_one_the_policy_allows(name: str) -> None:
    html = PAGES[name]
    [style] = re.findall(r"<style>(.*?)</style>", html)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = pages.PAGE_HEADERS["Content-Security-Policy"]
    assert f"style-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert " style=" not in html and "<script" not in html and "src=" not in html


def test_an_old_link_offers_no_way_to_subscribe_again() -> None:
    fresh = pages.preferences("https://t.example/p/x", subscribed=False, reachable=True, topics=[])
    old = pages.preferences("https://t.example/p/x", subscribed=False, reachable=True, topics=[], can_resubscribe=False)
    assert 'value="resubscribe"' in fresh
    assert 'value="resubscribe"' not in old and "sign up on the shop" in old
