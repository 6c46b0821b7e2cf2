"""The bench harness runs every stage once at a tiny size and writes its reports.

Benchmarks are not tests: nothing here judges a figure, only that each stage either
measured something or said why it could not.
"""

from __future__ import annotations

import gc
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.harness import Figure, Latency, StageResult, Target, _who, percentile
from bench.report import BEGIN, END, _target, markdown, scale_out_table, write_reports
from bench.runner import STAGE_NAMES, machine, run_stages
from bench.scaleout import SENDER, TIMERS, cpu_key
from bench.sizes import TINY


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert math.isnan(percentile([], 50))
    latency = Latency.of_seconds([n / 1000 for n in range(1, 101)])
    assert latency is not None and latency.p95 == pytest.approx(95.0)


def test_a_target_knows_which_way_is_better() -> None:
    assert Target("ratio", 0.8, 0.75).met is True
    assert Target("p99", 25.0, 20.0, higher_is_better=False).met is False
    assert Target("ratio", None, 0.75).met is None


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (Target("delivery / raw SMTP", 0.6966, 0.7), "❌ delivery / raw SMTP ≥ 0.7: 0.697"),
        (Target("delivery / raw SMTP", 0.6999, 0.7), "❌ delivery / raw SMTP ≥ 0.7: 0.6999"),
        (Target("ratio", 0.704, 0.7), "✅ ratio ≥ 0.7: 0.70"),
        (Target("p99", 9.996, 10.0, higher_is_better=False, unit="ms"), "✅ p99 < 10 ms: 9.996"),
        (Target("p99", 19.9, 10.0, higher_is_better=False, unit="ms"), "❌ p99 < 10 ms: 19.90"),
        (Target("rate", 19_999.7, 20_000, unit="fires/s"), "❌ rate ≥ 20,000 fires/s: 19,999.700"),
        (Target("rate", None, 20_000), "– rate ≥ 20,000: n/a"),
    ],
)
def test_a_missed_target_is_never_rounded_up_to_its_goal(target: Target, shown: str) -> None:
    assert _target(target.as_json()) == shown


def test_reports_keep_stages_not_run_and_regenerate_the_readme_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Shop\n\n## Performance\n\n{BEGIN}\nold\n{END}\n")
    about = {"machine": machine(), "sizes": "tiny", "started_at": datetime.now(UTC).isoformat()}
    first = StageResult("tracker", "Tracker", [Figure("dripline-open", "dripline", 10, 1.0, "hits/s")])
    write_reports([first], about, tmp_path, readme, STAGE_NAMES)
    later = StageResult("e2e", "End to end", not_measured="no sender yet")
    data = write_reports([later], about, tmp_path, readme, STAGE_NAMES)

    assert [stage["name"] for stage in data["stages"]] == ["tracker", "e2e"]
    text = readme.read_text()
    assert "old" not in text and "not measured: no sender yet" in text and text.startswith("# Shop")
    assert json.loads((tmp_path / "results.json").read_text()) == data


def test_a_large_run_is_kept_beside_the_default_one_and_replaces_only_the_earlier_large_run(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\n{END}\n")
    started = datetime.now(UTC).isoformat()

    def timers(rate: float) -> StageResult:
        return StageResult(
            "scheduler-timers", "Scheduler, timers", [Figure("dripline", "dripline", 10, rate, "fires/s")]
        )

    write_reports(
        [timers(1.0)], {"machine": machine(), "sizes": "default", "started_at": started}, tmp_path, readme, STAGE_NAMES
    )
    large = {"machine": machine(), "sizes": "large", "started_at": started}
    write_reports([timers(2.0)], large, tmp_path, readme, STAGE_NAMES)
    data = write_reports([timers(4.0)], large, tmp_path, readme, STAGE_NAMES)

    by_name = {stage["name"]: stage for stage in data["stages"]}
    assert list(by_name) == ["scheduler-timers", "scheduler-timers@large"]
    assert by_name["scheduler-timers"]["figures"][0]["seconds"] == 1.0
    assert by_name["scheduler-timers@large"]["figures"][0]["seconds"] == 4.0
    assert "## Scheduler, timers, preset large" in (tmp_path / "RESULTS.md").read_text()


def test_the_readme_shows_the_end_to_end_latency_with_nothing_queued(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\n{END}\n")
    about = {"machine": machine(), "sizes": "tiny", "started_at": datetime.now(UTC).isoformat()}
    light = Figure("dripline-50", "dripline", 3, 1.0, "emails/s", Latency.of_seconds([0.02, 0.03, 0.09]), note="50/s")
    write_reports([StageResult("e2e", "End to end", [light])], about, tmp_path, readme, STAGE_NAMES)

    assert "End to end with nothing queued (50/s): p50 30.0 / p99 90.0 ms." in readme.read_text()
    assert "End to end with nothing queued (50/s)" in (tmp_path / "RESULTS.md").read_text()


def test_the_readme_shows_timer_lateness_when_one_process_keeps_up(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\n{END}\n")
    about = {"machine": machine(), "sizes": "tiny", "started_at": datetime.now(UTC).isoformat()}
    lateness = Latency.of_seconds([0.002, 0.003, 0.018])
    figures = [
        Figure("dripline-steady", "dripline", 3, 1.0, "fires/s", Latency.of_seconds([1.0, 2.0, 3.0]), note="10k/s"),
        Figure("dripline-steady-2000", "dripline", 3, 1.0, "fires/s", lateness, note="2,000 due/s"),
    ]
    write_reports([StageResult("scheduler-timers", "Scheduler, timers", figures)], about, tmp_path, readme, STAGE_NAMES)

    assert "Timers when one process keeps up (2,000 due/s): p50 3.0 / p99 18.0 ms." in readme.read_text()
    assert "End to end with nothing queued" not in readme.read_text()


class _Titled:
    """What CpuShare reads of a process: its name and its command line (a PostgreSQL backend's title)."""

    def __init__(self, name: str, *command: str) -> None:
        self._name, self._command = name, list(command)

    def name(self) -> str:
        return self._name

    def cmdline(self) -> list[str]:
        return self._command


def test_cpu_counters_keep_other_databases_backends_apart_from_the_benchs() -> None:
    def who(name: str, *command: str) -> str:
        return _who(_Titled(name, *command))  # type: ignore[arg-type]

    assert who("postgres", "postgres: postgres dripline_bench_1a2b [local] idle") == "postgres"
    assert who("postgres", "postgres: postgres dripline_test_9f [local] idle") == "postgres (other databases)"
    assert who("postgres", "postgres: checkpointer ", "", "") == "postgres"
    assert who("python", "/usr/bin/python", "-m", "services.sender") == "services.sender"


def _scaled(name: str, title: str, unit: str, rates: dict[str, float], extra: dict[str, float]) -> dict[str, object]:
    figures = [Figure(figure, "dripline", int(rate), 1.0, unit) for figure, rate in rates.items()]
    return StageResult(name, title, figures, extra=extra).as_json()


def test_the_scale_out_table_gives_each_process_count_its_rate_factor_and_cpu_per_unit() -> None:
    timers = _scaled(
        "scheduler-timers",
        "Scheduler, timers",
        "fires/s",
        {"dripline": 4000, "dripline-2-processes": 6000, "dripline-4-processes": 7000, "dripline-steady": 9},
        {cpu_key(TIMERS, 1, "services.scheduler"): 0.19, cpu_key(TIMERS, 1, "postgres"): 0.1},
    )
    sender = _scaled("sender", "Sender", "messages/s", {"dripline": 500, "dripline-2-processes": 750}, {})
    data = {"machine": machine(), "sizes": "quick", "started_at": "now", "stages": [timers, sender]}

    rows = scale_out_table(data).splitlines()[2:]

    assert rows == [
        "| 1 | 4,000 | 1.00 | 0.19 + 0.10 | 500 | 1.00 |  |",
        "| 2 | 6,000 | 1.50 |  | 750 | 1.50 |  |",
        "| 4 | 7,000 | 1.75 |  |  |  |  |",
    ]
    assert "## Scale-out" in markdown(data)


def test_the_scale_out_table_is_left_out_when_only_one_process_ran() -> None:
    sender = _scaled("sender", "Sender", "messages/s", {"dripline": 500}, {cpu_key(SENDER, 1, "postgres"): 0.6})
    broken = StageResult("scheduler-timers", "Scheduler, timers", not_measured="failed").as_json()
    data = {"machine": machine(), "sizes": "tiny", "started_at": "now", "stages": [sender, broken]}

    assert scale_out_table(data) == ""
    assert "Scale-out" not in markdown(data)


@pytest.mark.stack
@pytest.mark.timeout(240)
async def test_every_stage_runs_once_at_a_tiny_size() -> None:
    collector = gc.get_threshold(), gc.get_freeze_count()
    results = await run_stages(STAGE_NAMES, TINY, show_progress=False)

    assert [result.name for result in results] == STAGE_NAMES
    # The broadcast stage runs the use case with the scheduler's collector settings: undone for the suite.
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector
    for result in results:
        assert not (result.not_measured or "").startswith("failed"), result.not_measured
        assert result.figures or result.not_measured, result.name
        for figure in result.figures:
            assert figure.seconds >= 0 and figure.unit, (result.name, figure)
    e2e = next(result for result in results if result.name == "e2e")
    hops = [figure for figure in e2e.figures if figure.name.startswith("hop-")]
    assert [figure.name for figure in hops] == ["hop-ingest-10", "hop-scheduler-10", "hop-sender-10"]
    assert all(figure.count > 0 for figure in hops), hops
