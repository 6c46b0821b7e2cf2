"""Service processes under test and the load generator process."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from bench.harness import Figure, Latency, PeakMemory, Role
from bench.loadgen import LoadSpec
from bench.stack import python
from dripline.devstack.broker import free_port


def _py_spy() -> str:
    beside = Path(python()).with_name("py-spy")
    return str(beside) if beside.exists() else "py-spy"


class Profiler:
    """py-spy recording every service process the bench starts, as flame graphs (`python -m bench.profile`)."""

    directory: Path | None = None
    label = ""
    format = "flamegraph"  # or "raw": collapsed stacks, for `bench.profile --top`

    @classmethod
    def attach(cls, name: str, pid: int, *, subprocesses: bool = True) -> subprocess.Popen[bytes] | None:
        """Record `pid` (and, with `subprocesses`, its children) until `detach`."""
        if cls.directory is None:
            return None
        stem = f"{cls.label}-{name}" if cls.label else name
        suffix = ".svg" if cls.format == "flamegraph" else ".txt"
        out = cls.directory / f"{stem}{suffix}"
        n = 2
        while out.exists():
            out, n = cls.directory / f"{stem}-{n}{suffix}", n + 1
        command = [_py_spy(), "record", "--pid", str(pid), "--rate", "50", "--nonblocking"]
        command += ["--subprocesses"] if subprocesses else []
        command += ["--format", cls.format]
        return subprocess.Popen([*command, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def detach(spy: subprocess.Popen[bytes] | None) -> None:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()


@dataclass
class ServiceProcess:
    """A uvicorn-served app in its own process; its peak memory is sampled while it runs."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    health_path: str | None = "/healthz"
    process: subprocess.Popen[bytes] | None = None
    memory: PeakMemory | None = None
    spy: subprocess.Popen[bytes] | None = None
    peak_rss_mib: float = 0.0
    _log: IO[bytes] | None = None

    @classmethod
    def module(cls, name: str, module: str, env: dict[str, str], *args: str, **options: Any) -> ServiceProcess:
        return cls(name, [python(), "-m", module, *args], env, **options)

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        self.port = free_port()  # chosen as late as possible: other programs pick free ports too
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the error message
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        env = {name: value.replace("{port}", str(self.port)) for name, value in self.env.items()}
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log, start_new_session=True)
        self.memory = PeakMemory(self.process.pid).start()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"{self.name} did not start: {output[-2000:]}")
            time.sleep(0.05)
        self.spy = Profiler.attach(self.name, self.process.pid)
        return self

    def _ready(self) -> bool:
        if not self._listening():
            return False
        if self.health_path is None:
            return True
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{self.health_path}", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _listening(self) -> bool:
        """Our own process listens on the port (not another program that took it meanwhile)."""
        assert self.process is not None
        try:
            owner = psutil.Process(self.process.pid)
            processes = [owner, *owner.children(recursive=True)]
            return any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
                for p in processes
                for c in p.net_connections(kind="tcp")
            )
        except psutil.Error:
            return False

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> float:
        """Stop the process (SIGTERM, then kill); returns its peak memory in MiB."""
        if self.memory:
            self.peak_rss_mib = self.memory.stop()
        Profiler.detach(self.spy)
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None
        return self.peak_rss_mib

    def __enter__(self) -> ServiceProcess:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float]
    statuses: dict[str, int]
    errors: int
    sends: list[float]

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if code.startswith("2") or code.startswith("3"))

    @property
    def failed(self) -> int:
        return self.errors + sum(self.statuses.values()) - self.ok

    def figure(self, name: str, role: Role, unit: str, per_request: int = 1, **extra: Any) -> Figure:
        return Figure(
            name,
            role,
            self.ok * per_request,
            self.seconds,
            unit,
            Latency.of_seconds(self.latencies),
            errors=self.failed,
            **extra,
        )


async def run_load(spec: LoadSpec) -> LoadResult:
    """Run the load generator in a child process and wait for its verdict."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        child = await asyncio.create_subprocess_exec(
            python(),
            "-m",
            "bench.loadgen",
            out.name,
            stdin=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await child.communicate(spec.to_json().encode())
        if child.returncode != 0:
            raise RuntimeError(f"load generator failed: {stderr.decode(errors='replace')[-2000:]}")
        out.seek(0)
        return LoadResult(**json.loads(out.read()))
