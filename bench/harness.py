"""What every stage shares: figures, percentiles, targets, peak memory and the progress bar."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bench.stack import DATABASE_PREFIX

Role = Literal["dripline", "baseline"]
MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of unsorted values (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Milliseconds."""

    p50: float
    p95: float
    p99: float

    @classmethod
    def of_seconds(cls, values: Sequence[float]) -> Latency | None:
        if not values:
            return None
        ordered = sorted(values)
        pick = [ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] * 1000 for q in (50, 95, 99)]
        return cls(*pick)


@dataclass
class Figure:
    """One measured line: Dripline or its baseline, `count` things in `seconds`."""

    name: str
    role: Role
    count: int
    seconds: float
    unit: str
    latency: Latency | None = None
    errors: int = 0
    peak_rss_mib: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rate"] = round(self.rate, 1)
        return data


@dataclass(frozen=True)
class Target:
    """A goal from the issue, printed next to the figure it judges."""

    label: str
    value: float | None
    goal: float
    higher_is_better: bool = True
    unit: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or math.isnan(self.value):
            return None
        return self.value >= self.goal if self.higher_is_better else self.value < self.goal

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass
class StageResult:
    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    headline: tuple[str, str] | None = None  # (dripline figure, baseline figure) whose rate ratio leads
    notes: list[str] = field(default_factory=list)
    not_measured: str | None = None
    missing: str | None = None  # why the Dripline side is absent while its baseline was measured
    extra: dict[str, float] = field(default_factory=dict)

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)

    def ratio(self, dripline: str, baseline: str) -> float | None:
        ours, theirs = self.figure(dripline), self.figure(baseline)
        if not ours or not theirs or theirs.rate == 0:
            return None
        return ours.rate / theirs.rate

    @property
    def headline_ratio(self) -> float | None:
        return self.ratio(*self.headline) if self.headline else None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": "not measured" if self.not_measured else "measured",
            "not_measured": self.not_measured,
            "missing": self.missing,
            "headline": list(self.headline) if self.headline else None,
            "ratio": None if self.headline_ratio is None else round(self.headline_ratio, 3),
            "figures": [f.as_json() for f in self.figures],
            "targets": [t.as_json() for t in self.targets],
            "notes": self.notes,
            "extra": self.extra,
        }


class PeakMemory:
    """Samples a process's resident memory (with its children) in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_bytes = 0

    def start(self) -> PeakMemory:
        self._thread.start()
        return self

    def stop(self) -> float:
        """The peak, in MiB."""
        self._stop.set()
        self._thread.join(1)
        return self.peak_bytes / MIB

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self._process.memory_info().rss
                rss += sum(child.memory_info().rss for child in self._process.children(recursive=True))
            except psutil.Error:
                return
            self.peak_bytes = max(self.peak_bytes, rss)
            self._stop.wait(self._interval)


class BenchProgress:
    """One bar for the whole run; a stage moves it through its named steps."""

    def __init__(self, total_steps: int, console: Console | None = None, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self._task = self._progress.add_task("starting", total=total_steps)
        self._stage = ""

    @contextmanager
    def running(self) -> Iterator[BenchProgress]:
        with self._progress:
            yield self

    def stage(self, title: str) -> None:
        self._stage = title
        self._progress.update(self._task, description=title)

    def step(self, what: str) -> None:
        """A stage starts measuring `what`."""
        self._progress.update(self._task, description=f"{self._stage}: {what}")

    def done(self, steps: int = 1) -> None:
        self._progress.advance(self._task, steps)

    def log(self, text: str) -> None:
        self._progress.console.log(text)


def _who(process: psutil.Process) -> str:
    """A readable name: the module a Python process runs (services.sender, bench.inbox…), else the program."""
    command: list[str] = process.cmdline()
    title = command[0].split() if command else []
    # A PostgreSQL backend's title is "postgres: USER DATABASE CLIENT STATE": the backends of other
    # Dripline databases (a test run beside the bench) are not the bench's PostgreSQL work.
    if len(title) > 2 and title[0] == "postgres:" and title[2].startswith("dripline_"):
        return "postgres" if title[2].startswith(DATABASE_PREFIX) else "postgres (other databases)"
    if "-m" in command[:-1]:
        return command[command.index("-m") + 1]
    return str(process.name())


class CpuShare:
    """CPU each program used between `start` and `stop`, in cores (1.0 = one core busy all the time)."""

    def __init__(self) -> None:
        self._before: dict[int, tuple[str, float]] = {}
        self._started = 0.0
        self.seconds = 0.0  # how long it measured, once stopped
        self.cpu_seconds: dict[str, float] = {}  # CPU seconds per program, once stopped

    @staticmethod
    def _snapshot() -> dict[int, tuple[str, float]]:
        found = {}
        for process in psutil.process_iter():
            try:
                times = process.cpu_times()
                found[process.pid] = (_who(process), times.user + times.system)
            except psutil.Error:
                continue
        return found

    def start(self) -> CpuShare:
        self._before, self._started = self._snapshot(), time.monotonic()
        return self

    def stop(self, top: int = 6) -> dict[str, float]:
        """The busiest programs (processes of the same name added up), busiest first."""
        seconds = self.seconds = max(time.monotonic() - self._started, 1e-9)
        used: dict[str, float] = {}
        for pid, (name, cpu) in self._snapshot().items():
            before = self._before.get(pid, (name, 0.0))[1]
            used[name] = used.get(name, 0.0) + cpu - before
        self.cpu_seconds = used
        busiest = sorted(used.items(), key=lambda item: -item[1])[:top]
        return {name: round(cpu / seconds, 2) for name, cpu in busiest}

    def per_item_ms(self, count: int, programs: Iterable[str]) -> dict[str, float]:
        """CPU milliseconds each of `programs` spent per item, over the measured span (after `stop`)."""
        return {name: round(1000 * self.cpu_seconds.get(name, 0.0) / max(count, 1), 2) for name in programs}
