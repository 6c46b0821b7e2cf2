"""`dripline run` (what `make run` starts): up, the printed curl gets a 202, Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml

from dripline.devstack.broker import free_port
from services.ingest.domain.requests import EXAMPLES

pytestmark = pytest.mark.stack
DEMO_KEY = {"Authorization": "Bearer dl_demo_local_key"}


@pytest.mark.timeout(300)  # a whole stack, a sign-up confirmed and a flow walked to its webhook
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
        _console_shows_the_person(text, ports["scheduler"], "kari@example.com")
        _the_example_flows_topics_are_offered(ports["ingest"])
        _the_crm_task_reaches_the_inbox(tmp_path / "state", ports, mails[0])
        seeded = (tmp_path / "state" / "logs" / "seed.log").read_text()
        assert "published welcome-series v1" in seeded
        children = psutil.Process(stack.pid).children(recursive=True)
        assert len(children) >= 6  # inbox, four services, broker
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(60)
    still_running = [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert still_running == []


def _wait_for_mail(url: str, address: str, seconds: float = 40.0, subject: str = "") -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mails = [m for m in httpx.get(url).json() if address in m["rcpt_tos"] and subject in (m["subject"] or "")]
        if mails:
            return mails
        time.sleep(0.3)
    raise AssertionError(f"no mail to {address} in the inbox")


def _the_example_flows_topics_are_offered(port: int) -> None:
    topics = httpx.get(f"http://127.0.0.1:{port}/v1/topics", headers=DEMO_KEY).json()
    assert {"newsletter", "shop-offers", "b2b-insights"} <= {topic["topic"] for topic in topics}, topics


def _the_crm_task_reaches_the_inbox(state: Path, ports: dict[str, int], confirmation: dict[str, Any]) -> None:
    """The web-conversion flow as `make run` published it (its webhook pointed at the inbox), with its waits
    shortened: the salesperson's call task, with the company and owner filled in, is readable in the inbox."""
    confirm = re.search(r'href="([^"]+/f/[^"]+)"', confirmation["html"] or "")
    assert confirm, confirmation["html"]
    assert httpx.post(unescape(confirm[1])).status_code == 200  # Kari confirms her sign-up
    flow = yaml.safe_load((state / "examples" / "flows" / "web-conversion.yaml").read_text())
    for step in flow["steps"]:
        if step["type"] == "wait_for":
            step.update(timeout="30s", include_machine=True)  # the test opens within seconds, as scanners do
        elif step["type"] == "wait":
            step["duration"] = "2s"
    scheduler, ingest, inbox = (f"http://127.0.0.1:{ports[name]}" for name in ("scheduler", "ingest", "inbox"))
    form = EXAMPLES["form_submitted"]  # what the ingest API's docs show, sent by Kari
    form = {**form, "contact": {**form["contact"], "email": "kari@example.com", "first_name": "Kari"}}
    # Publishing checks the payload's attributes against those the workspace's contacts have: tell it first.
    assert httpx.post(f"{ingest}/v1/contacts", json=form["contact"], headers=DEMO_KEY).status_code == 202
    _publish(f"{scheduler}/v1/flows", yaml.safe_dump(flow))
    assert httpx.post(f"{ingest}/v1/events", json=form, headers=DEMO_KEY).status_code == 202
    [guide] = _wait_for_mail(f"{inbox}/api/messages", "kari@example.com", subject="pricing guide")
    pixel = re.search(r'src="([^"]+/o/[^"]+)"', guide["html"] or "")
    assert pixel, guide["html"]
    httpx.get(unescape(pixel[1]))
    task = _wait_for_webhook(f"{inbox}/api/webhooks", "https://crm.example.com/hooks/call-list")
    assert task["body"]["flow_id"] == "web-conversion" and task["body"]["step_id"] == "tell-sales"
    call = task["body"]["data"]["payload"]
    assert call["owner"] == "lars@example.com"
    assert call["text"].startswith("Kari at Fjord AS read the pricing guide"), task
    assert call["guide"] == form["properties"]["document_url"]
    assert task["signature"], task


def _publish(url: str, source: str, seconds: float = 30.0) -> None:
    """Publish, trying again while the contact just sent is not yet among the workspace's known attributes."""
    deadline = time.monotonic() + seconds
    published = httpx.post(url, json={"source": source}, headers=DEMO_KEY)
    while published.status_code == 422 and time.monotonic() < deadline:
        time.sleep(0.5)
        published = httpx.post(url, json={"source": source}, headers=DEMO_KEY)
    assert published.status_code == 201, published.text


def _wait_for_webhook(url: str, target: str, seconds: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hooks = [hook for hook in httpx.get(url).json() if hook["url"] == target]
        if hooks:
            return dict(hooks[0])
        time.sleep(0.3)
    raise AssertionError(f"no webhook to {target} in the inbox")


def _wait_for_curl(output: Path, process: subprocess.Popen[bytes], deadline: float) -> str:
    while time.monotonic() < deadline:
        text = output.read_text()
        match = re.search(r"^curl .*$", text, flags=re.M)
        if match and "Up in" in text:
            return match.group(0)
        assert process.poll() is None, text[-3000:]
        time.sleep(0.2)
    raise AssertionError("no curl printed in time:\n" + output.read_text()[-3000:])


def _console_shows_the_person(banner: str, port: int, email: str) -> None:
    """A newcomer opens the console from the printed table, signs in with the printed password and finds
    the person the printed curl signed up."""
    console = f"http://127.0.0.1:{port}/console"
    assert console in banner
    login = re.search(r"(admin@dripline\.local) / (\S+)", banner)
    assert login, banner[-3000:]
    with httpx.Client(base_url=console, follow_redirects=True) as browser:
        form = browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        signed_in = browser.post("/login", data={"email": login[1], "password": login[2], "csrf": csrf[1]})
        assert signed_in.status_code == 200 and "welcome-series" in signed_in.text, signed_in.text[:2000]
        person = browser.get("/people", params={"q": email})
        assert person.status_code == 200 and email in person.text and 'data-kind="consent"' in person.text
