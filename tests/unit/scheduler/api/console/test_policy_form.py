"""The policy form read into a workspace policy, each mistake named by its field."""

from __future__ import annotations

from datetime import time, timedelta

from services.scheduler.api.console.policy_form import changes, form_values, policy_from_form, posted_values
from services.scheduler.domain import FrequencyCap, QuietHours, WorkspacePolicy

CURRENT = WorkspacePolicy(
    grace_after_signup=timedelta(minutes=10),
    caps=(FrequencyCap(channel="email", max_messages=3, window=timedelta(days=1)),),
    audience_hours={10: 5},
)


def _form(**fields: str | list[str]) -> dict[str, list[str]]:
    return {name.replace("_", "-") if name.startswith("cap") else name: value if isinstance(value, list) else [value]
            for name, value in fields.items()}  # fmt: skip


def test_a_filled_form_becomes_the_policy_and_keeps_what_it_does_not_show() -> None:
    form = _form(grace="30m", quiet_start="21:00", quiet_end="08:00", quiet_channels=["email"], time_zone="Europe/Oslo",
                 cap_0_channel="email", cap_0_max="2", cap_0_window="1d",
                 cap_1_channel="sms", cap_1_max="1", cap_1_window="7d", cap_1_since="1",
                 cap_2_channel="email", cap_2_max="", cap_2_window="")  # fmt: skip
    policy, errors = policy_from_form(form, CURRENT)
    assert errors == {}
    assert policy == WorkspacePolicy(
        time_zone="Europe/Oslo",
        grace_after_signup=timedelta(minutes=30),
        quiet_hours=QuietHours(start=time(21), end=time(8), channels=("email",)),
        caps=(
            FrequencyCap(channel="email", max_messages=2, window=timedelta(days=1)),
            FrequencyCap(channel="sms", max_messages=1, window=timedelta(days=7), since_signup=True),
        ),
        audience_hours={10: 5},
    )
    assert changes(CURRENT, policy) == {
        "time_zone": "Europe/Oslo",
        "grace": "30m",
        "quiet_hours": "21:00-08:00 email",
        "caps": "2 email per 1d; 1 sms in the first 7d",
    }


def test_each_mistake_is_named_by_its_field_and_nothing_is_returned() -> None:
    form = _form(grace="ten minutes", quiet_start="25:00", quiet_end="", quiet_channels=[], time_zone="Mars/Olympus",
                 cap_0_channel="pigeon", cap_0_max="0", cap_0_window="1d", cap_1_channel="email", cap_1_max="3",
                 cap_1_window="0s")  # fmt: skip
    policy, errors = policy_from_form(form, CURRENT)
    assert policy is None
    assert set(errors) == {"grace", "quiet_start", "quiet_end", "quiet_channels", "time_zone", "cap-0-channel",
                           "cap-0-max", "cap-1-window"}  # fmt: skip
    assert "'ten minutes' is not a duration" in errors["grace"]
    assert "'25:00' is not a time of day" in errors["quiet_start"]
    assert "not a time zone" in errors["time_zone"] and "longer than nothing" in errors["cap-1-window"]


def test_an_empty_form_means_no_grace_no_quiet_hours_and_no_caps() -> None:
    policy, errors = policy_from_form(_form(grace="", quiet_start="", quiet_end=""), CURRENT)
    assert errors == {} and policy is not None
    assert (policy.grace_after_signup, policy.quiet_hours, policy.caps, policy.time_zone) == (
        timedelta(0),
        None,
        (),
        "UTC",
    )


def test_the_form_shows_the_policy_and_after_a_refusal_what_was_typed() -> None:
    shown = form_values(CURRENT)
    assert shown["grace"] == "10m" and shown["caps"][0] == {
        "channel": "email",
        "max": "3",
        "window": "1d",
        "since": False,
    }
    assert shown["caps"][-1]["max"] == ""  # a blank row to add a cap
    again = posted_values(_form(grace="soon", cap_0_channel="sms", cap_0_max="x", cap_0_window="1d"))
    assert again["grace"] == "soon" and again["caps"] == [
        {"channel": "sms", "max": "x", "window": "1d", "since": False}
    ]
