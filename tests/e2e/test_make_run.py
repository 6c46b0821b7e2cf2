"""`dripline run` (what `make run` starts): up, the printed curl gets a 202, Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from dripline.devstack.broker import free_port

pytestmark = pytest.mark.stack


def test_local_stack_starts_answers_the_printed_curl_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("ingest", "scheduler", "sender", "tracker", "inbox", "smtp", "broker")}
    env = {
        **os.environ,
        "DRIPLINE_DATA_DIR": str(tmp_path / "state"),
        "DRIPLINE_INGEST_PORT": str(ports["ingest"]),
        "DRIPLINE_SCHEDULER_PORT": str(ports["scheduler"]),
        "DRIPLINE_SENDER_PORT": str(ports["sender"]),
        "DRIPLINE_TRACKER_PORT": str(ports["tracker"]),
        "DRIPLINE_INBOX_HTTP_PORT": str(ports["inbox"]),
        "DRIPLINE_INBOX_SMTP_PORT": str(ports["smtp"]),
        "DRIPLINE_BROKER_PORT": str(ports["broker"]),
        "COLUMNS": "200",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    if "DATABASE_URL" not in os.environ:
        env.pop("DATABASE_URL", None)
    output = tmp_path / "run.log"
    started = time.monotonic()
    with open(output, "wb") as log:
        stack = subprocess.Popen(
            [sys.executable, "-m", "dripline.cli", "run"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        curl = _wait_for_curl(output, stack, deadline=started + 60)
        assert time.monotonic() - started < 60
        answer = subprocess.run(curl + " -o /dev/null -w '%{http_code}'", shell=True, capture_output=True, text=True)
        assert answer.stdout == "202", output.read_text()[-2000:]

        text = output.read_text()
        for name in ("ingest", "scheduler", "sender", "tracker"):
            assert f"http://127.0.0.1:{ports[name]}/readyz" in text
            assert httpx.get(f"http://127.0.0.1:{ports[name]}/healthz").status_code == 200
        assert f"http://127.0.0.1:{ports['inbox']}/" in text
        # The demo workspace has the example flows and templates: the sign-up's confirmation mail arrives.
        mails = _wait_for_mail(f"http://127.0.0.1:{ports['inbox']}/api/messages", "kari@example.com")
        assert "confirm" in mails[0]["subject"].lower()
        assert "/f/" in (mails[0]["html"] or "")
        seeded = (tmp_path / "state" / "logs" / "seed.log").read_text()
        assert "published welcome-series v1" in seeded
        children = psutil.Process(stack.pid).children(recursive=True)
        assert len(children) >= 6  # inbox, four services, broker
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(60)
    still_running = [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert still_running == []


def _wait_for_mail(url: str, address: str, seconds: float = 40.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mails = [mail for mail in httpx.get(url).json() if address in mail["rcpt_tos"]]
        if mails:
            return mails
        time.sleep(0.3)
    raise AssertionError(f"no mail to {address} in the inbox")


def _wait_for_curl(output: Path, process: subprocess.Popen[bytes], deadline: float) -> str:
    while time.monotonic() < deadline:
        text = output.read_text()
        match = re.search(r"^curl .*$", text, flags=re.M)
        if match and "Up in" in text:
            return match.group(0)
        assert process.poll() is None, text[-3000:]
        time.sleep(0.2)
    raise AssertionError("no curl printed in time:\n" + output.read_text()[-3000:])
