"""`dripline run`: the whole local stack in one supervised process tree.

Infrastructure first (PostgreSQL + migrations, the broker + topics, a demo workspace),
then the inbox and the four services as child processes, restarted if they crash,
all stopped in reverse order on Ctrl-C or SIGTERM. The broker is restarted too if it dies;
it keeps records in memory only, so it comes back empty and its topics are created again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError

from dripline.devstack.broker import EMBEDDED_GROUP_TIMING, TansuBroker, port_open, stop_with_parent
from dripline.devstack.console_user import seed_console_admin
from dripline.devstack.examples import flow_topics, write_local_flows
from dripline.devstack.postgres import ensure_database, start_embedded, with_database
from services.ingest.adapters.topics import offer_named_topics
from shared.db.migrate import upgrade
from shared.kafka.admin import ensure_topics
from shared.settings import DevStackSettings, IngestSettings, SchedulerSettings, SenderSettings, TrackerSettings
from shared.workspaces import create_key, ensure_workspace

DEMO_WORKSPACE = "demo"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def service_ports() -> dict[str, int]:
    """Each service's port, as that service will read it (DRIPLINE_<NAME>_PORT or its default)."""
    return {
        "ingest": IngestSettings().ingest_port,
        "scheduler": SchedulerSettings().scheduler_port,
        "sender": SenderSettings().sender_port,
        "tracker": TrackerSettings().tracker_port,
    }


@dataclass
class Child:
    name: str
    command: list[str]
    health_url: str
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0


@dataclass
class LocalStack:
    settings: DevStackSettings
    log: list[str] = field(default_factory=list)
    broker: TansuBroker | None = None
    children: list[Child] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ready: DevStackSettings | None = None  # the settings with the database and broker filled in
    broker_restarts: int = 0
    broker_started_at: float = 0.0
    broker_exit_code: int | None = None  # set from its death until it runs again with its topics
    console_login: tuple[str, str] | None = None  # the demo workspace's console admin: (email, password)

    @property
    def logs_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    def start_database(self) -> str:
        if self.settings.database_url:
            url = self.settings.database_url
        else:
            server = start_embedded(self.settings.data_dir / "postgres")
            url = with_database(server, "dripline")
        asyncio.run(ensure_database(url))
        upgrade(self.settings.model_copy(update={"database_url": url}))
        return url

    def start_broker(self) -> str:
        if self.settings.kafka_bootstrap_servers:
            return self.settings.kafka_bootstrap_servers
        port = self.settings.broker_port
        if port_open(port):
            raise SystemExit(f"port {port} is taken: stop what uses it or set KAFKA_BOOTSTRAP_SERVERS")
        self.broker = TansuBroker(port, self.logs_dir / "broker.log")
        self.broker.start()
        self.broker_started_at = time.monotonic()
        return self.broker.bootstrap

    def prepare(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        database_url = self.start_database()
        bootstrap = self.start_broker()
        ready = self.settings.model_copy(update={"database_url": database_url, "kafka_bootstrap_servers": bootstrap})
        self.ready = ready
        asyncio.run(self._seed(ready))
        stack_env = {
            "DRIPLINE_ENVIRONMENT": "local",  # the built-in development secrets are fine here, nowhere else
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DRIPLINE_SMTP_PORT": str(self.settings.inbox_smtp_port),
            "DRIPLINE_SMTP_STARTTLS": "false",
            "DRIPLINE_SMS_BASE_URL": f"http://127.0.0.1:{self.settings.inbox_http_port}/api/sms",
            "DRIPLINE_TRACKER_PUBLIC_URL": f"http://127.0.0.1:{service_ports()['tracker']}",
            # The example flows' webhooks go to the inbox on loopback (see seed_examples).
            "DRIPLINE_ALLOW_PRIVATE_WEBHOOKS": "true",
        }
        if self.broker is not None:  # our own Tansu: services consume a second after they start, not five
            stack_env.update({f"DRIPLINE_{name.upper()}": str(value) for name, value in EMBEDDED_GROUP_TIMING.items()})
        self.env = {**os.environ, **stack_env}
        self.stack_env_file.write_text("".join(f"{name}={value}\n" for name, value in stack_env.items()))

    @property
    def stack_env_file(self) -> Path:
        return self.settings.data_dir / "stack.env"

    async def _seed(self, settings: DevStackSettings) -> None:
        import asyncpg

        await ensure_topics(settings)
        assert settings.database_url
        connection = await asyncpg.connect(settings.database_url)
        try:
            await ensure_workspace(connection, DEMO_WORKSPACE, "Demo shop")
            if EXAMPLES.is_dir():
                await offer_named_topics(connection, DEMO_WORKSPACE, flow_topics(EXAMPLES / "flows"))
            await create_key(connection, DEMO_WORKSPACE, "demo", self.settings.demo_api_key.get_secret_value())
            self.console_login = await seed_console_admin(connection, DEMO_WORKSPACE)
        finally:
            await connection.close()

    def plan_children(self) -> None:
        python = sys.executable
        inbox_port = self.settings.inbox_http_port
        self.children = [
            Child(
                "inbox",
                [
                    python,
                    "-m",
                    "dripline.devstack.inbox_main",
                    "--smtp-port",
                    str(self.settings.inbox_smtp_port),
                    "--http-port",
                    str(inbox_port),
                ],
                f"http://127.0.0.1:{inbox_port}/healthz",
            ),
            *(
                Child(name, [python, "-m", f"services.{name}"], f"http://127.0.0.1:{port}/healthz")
                for name, port in service_ports().items()
            ),
        ]

    def spawn(self, child: Child) -> None:
        log = open(self.logs_dir / f"{child.name}.log", "ab")  # noqa: SIM115 - the child owns it
        child.process = subprocess.Popen(
            child.command,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )
        child.started_at = time.monotonic()

    def wait_healthy(self, timeout: float = 40.0) -> list[str]:
        """Names of children not healthy by the deadline."""
        deadline = time.monotonic() + timeout
        waiting = {child.name: child.health_url for child in self.children}
        with httpx.Client(timeout=1.0) as client:
            while waiting and time.monotonic() < deadline:
                for name, url in list(waiting.items()):
                    try:
                        if client.get(url).status_code == 200:
                            del waiting[name]
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
        return list(waiting)

    def seed_examples(self) -> list[str]:
        """Publish the example templates and flows into the demo workspace (unchanged ones keep their version).

        Runs the same CLI commands a team would, so the demo exercises the real publishing path. The flows'
        `notify` steps are pointed at the inbox first, so their webhooks show up there. Returns what failed, by name.
        """
        if not EXAMPLES.is_dir():
            return []
        inbox = f"http://127.0.0.1:{self.settings.inbox_http_port}"
        flows = write_local_flows(EXAMPLES / "flows", inbox, self.settings.data_dir / "examples" / "flows")
        commands = {
            "templates": ["templates", "publish", "--workspace", DEMO_WORKSPACE, str(EXAMPLES / "templates")],
            "flows": ["flows", "publish", str(flows), "--workspace", DEMO_WORKSPACE],
        }
        failed = []
        with open(self.logs_dir / "seed.log", "ab") as log:
            for name, arguments in commands.items():
                done = subprocess.run(
                    [sys.executable, "-m", "dripline.cli", *arguments], env=self.env, stdout=log, stderr=log
                )
                if done.returncode != 0:
                    failed.append(name)
        return failed

    def supervise_once(self) -> list[str]:
        """Restart crashed children, with a back-off that grows with each crash."""
        restarted = []
        for child in self.children:
            assert child.process is not None
            if child.process.poll() is None:
                continue
            if time.monotonic() - child.started_at < min(2**child.restarts, 30):
                continue
            child.restarts += 1
            restarted.append(child.name)
            self.spawn(child)
        return restarted

    def supervise_broker(self) -> str | None:
        """Start the broker again if it died, with the back-off children get, and create its topics again
        (it keeps records in memory only). Returns what to tell the console; None when nothing happened."""
        broker = self.broker
        if broker is None or self.ready is None:
            return None
        code = broker.exited()
        if code is None and self.broker_exit_code is None:
            return None  # running, and its topics are there
        if time.monotonic() - self.broker_started_at < min(2**self.broker_restarts, 30):
            return None
        self.broker_started_at = time.monotonic()
        if code is not None:
            self.broker_exit_code = code
            self.broker_restarts += 1
        try:
            if code is not None:
                broker.start()
            created = asyncio.run(ensure_topics(self.ready))
        except (RuntimeError, TimeoutError, OSError, KafkaError) as error:
            return f"broker exited (code {self.broker_exit_code}) and is not back yet ({error!r}); trying again"
        code, self.broker_exit_code = self.broker_exit_code, None
        return (
            f"broker exited (code {code}); restarted on {broker.bootstrap} (pid {broker.pid}) with its "
            f"{len(created)} topics created again. It keeps records in memory only: what was on it is gone "
            "(docs/operations.md says what comes back by itself)"
        )

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            if child.process:
                try:
                    child.process.wait(self.settings.shutdown_grace_seconds)
                except subprocess.TimeoutExpired:
                    child.process.kill()
        if self.broker:
            self.broker.stop()
        self.stack_env_file.unlink(missing_ok=True)
