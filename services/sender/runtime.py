"""Builds the sender's parts from settings and runs them: consumer, retry loop, and an orderly stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import structlog

from services.sender.adapters.audience import Audience
from services.sender.adapters.ledger import SendLedger
from services.sender.adapters.sms import SmsProvider
from services.sender.adapters.smtp import SmtpRelay
from services.sender.adapters.templates import TemplateStore
from services.sender.adapters.webhooks import WebhookSender
from services.sender.dispatch import Channels, Dispatcher
from services.sender.domain.smtp_outcome import RetrySchedule, parse_delays
from services.sender.mail import MailComposer
from services.sender.retries import RetryLoop
from services.sender.statuses import StatusReporter
from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.consumer import ConsumerLoop
from shared.service import Resources
from shared.settings import SenderSettings

log = structlog.get_logger(__name__)

CONSUMER_GROUP = "sender"


@dataclass
class SenderRuntime:
    """What routes and tests reach as `app.state.sender`."""

    settings: SenderSettings
    templates: TemplateStore
    composer: MailComposer
    dispatcher: Dispatcher
    http: httpx.AsyncClient

    async def close(self) -> None:
        """Say QUIT on idle SMTP connections and close HTTP ones."""
        await self.dispatcher.channels.relay.close()
        await self.http.aclose()


def smtp_relay(settings: SenderSettings) -> SmtpRelay:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpRelay(
        settings.smtp_host,
        settings.smtp_port,
        connections=settings.smtp_connections,
        rate_per_second=settings.smtp_rate_per_second,
        timeout=settings.smtp_timeout_seconds,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password,
    )


def build_runtime(settings: SenderSettings, resources: Resources) -> SenderRuntime:
    ledger = SendLedger(resources.pool)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    relay = smtp_relay(settings)
    sms_key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else None
    channels = Channels(
        relay=relay,
        sms=SmsProvider(http, settings.sms_base_url, sender=settings.sms_from, api_key=sms_key),
        webhooks=WebhookSender(
            http,
            settings.webhook_signing_secret.get_secret_value().encode(),
            attempts=settings.webhook_attempts,
            allow_private=settings.allow_private_webhooks,
        ),
    )
    templates = TemplateStore(resources.pool)
    composer = MailComposer(settings)
    dispatcher = Dispatcher(
        ledger=ledger,
        audience=Audience(resources.pool),
        templates=templates,
        composer=composer,
        channels=channels,
        reporter=StatusReporter(ledger, resources.producer),
        schedule=RetrySchedule(parse_delays(settings.retry_schedule)),
        stale_after_seconds=settings.stale_send_seconds,
    )
    return SenderRuntime(settings, templates, composer, dispatcher, http)


async def start_delivery(runtime: SenderRuntime) -> Callable[[], Awaitable[None]]:
    """Start consuming and retrying; the returned stop drains both before connections close."""
    settings, dispatcher = runtime.settings, runtime.dispatcher
    # The producer connects in the background: status records of early sends wait in the
    # ledger (unreported) and the retry loop publishes them once it is up.
    consumer = ConsumerLoop(
        settings,
        group_id=CONSUMER_GROUP,
        topics=[MESSAGES_REQUESTED],
        handler=dispatcher.handle,
        producer=dispatcher.reporter.producer,
    )
    retries = RetryLoop(
        dispatcher, poll_seconds=settings.retry_poll_seconds, stale_after_seconds=settings.stale_send_seconds
    )
    consuming = asyncio.create_task(consumer.run(), name="sender-consumer")
    retrying = asyncio.create_task(retries.run(), name="sender-retries")
    renewing = asyncio.create_task(dispatcher.leases.run(), name="sender-leases")
    consuming.add_done_callback(_log_crash)

    async def stop() -> None:
        consumer.stop()
        retries.stop()
        for task in (consuming, retrying):
            # In-flight sends finish and the consumer commits; past the grace period they are cut,
            # and the ledger's stale-send rule picks the messages up after a restart.
            try:
                await asyncio.wait_for(asyncio.shield(task), settings.shutdown_grace_seconds)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except Exception as error:  # noqa: BLE001 - already logged by _log_crash; stopping goes on
                log.warning("sender.task_ended_with_error", task=task.get_name(), error=repr(error))
        dispatcher.leases.stop()  # after the sends: their messages stay held until they settle
        await renewing
        await runtime.close()

    return stop


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("sender.consumer_crashed", error=repr(task.exception()))
