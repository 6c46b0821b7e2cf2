"""Which loops a scheduler process runs, from its three switches."""

from __future__ import annotations

import pytest

from services.scheduler.workers.duties import Duties
from shared.settings import SchedulerSettings


def duties(*, intake: bool = True, timers: bool = True, analytics: bool | None = None) -> Duties:
    settings = SchedulerSettings(scheduler_intake=intake, scheduler_timers=timers, scheduler_analytics=analytics)
    return Duties.of(settings)


def test_one_process_runs_everything_by_default() -> None:
    defaults = SchedulerSettings.model_fields
    assert (defaults["scheduler_intake"].default, defaults["scheduler_timers"].default) == (True, True)
    assert defaults["scheduler_analytics"].default is None
    assert duties() == Duties(intake=True, timers=True, relay=True, analytics=True)


@pytest.mark.parametrize("intake", [True, False])
def test_unset_analytics_follows_intake(intake: bool) -> None:
    assert duties(intake=intake).analytics is intake


@pytest.mark.parametrize("intake", [True, False])
@pytest.mark.parametrize("analytics", [True, False])
def test_set_analytics_wins_over_intake(intake: bool, analytics: bool) -> None:
    assert duties(intake=intake, analytics=analytics).analytics is analytics


def test_a_timer_worker_keeps_timers_and_relay_but_not_the_fold() -> None:
    assert duties(intake=False) == Duties(intake=False, timers=True, relay=True, analytics=False)


def test_a_fold_only_process_runs_the_fold_and_nothing_else() -> None:
    assert duties(intake=False, timers=False, analytics=True) == Duties(
        intake=False, timers=False, relay=False, analytics=True
    )


def test_an_intake_process_without_timers_still_relays_what_intake_writes() -> None:
    assert duties(timers=False) == Duties(intake=True, timers=False, relay=True, analytics=True)


def test_the_main_replicas_beside_a_fold_process_leave_the_fold_out() -> None:
    assert duties(analytics=False) == Duties(intake=True, timers=True, relay=True, analytics=False)


def test_the_switches_read_their_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIPLINE_SCHEDULER_INTAKE", "false")
    monkeypatch.setenv("DRIPLINE_SCHEDULER_TIMERS", "false")
    monkeypatch.setenv("DRIPLINE_SCHEDULER_ANALYTICS", "true")
    assert Duties.of(SchedulerSettings()) == Duties(intake=False, timers=False, relay=False, analytics=True)
