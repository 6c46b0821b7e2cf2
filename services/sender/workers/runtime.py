"""Builds the sender's parts from settings and runs them under the supervisor: consumer, retry loop,
lease renewal, the ledger gauge, and an orderly stop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from services.sender.adapters.audience import Audience
from services.sender.adapters.domain_pacing import DomainPacing
from services.sender.adapters.ledger import SendLedger
from services.sender.adapters.sending_volume import SendingVolume
from services.sender.adapters.sms import SmsProvider
from services.sender.adapters.smtp import SmtpRelay
from services.sender.adapters.templates import TemplateStore
from services.sender.adapters.webhooks import WebhookSender
from services.sender.domain.receiving_domains import parse_groups
from services.sender.domain.retry_schedule import RetrySchedule, parse_delays
from services.sender.domain.warmup import parse_schedule
from services.sender.usecases.channels.email import Warmup
from services.sender.usecases.dispatch import Channels, Dispatcher
from services.sender.usecases.mail import MailComposer
from services.sender.usecases.statuses import StatusReporter
from services.sender.workers.ledger_watch import LEDGER_WATCH, LedgerWatch
from services.sender.workers.retries import RetryLoop
from shared.contract.topics import MESSAGES_REQUESTED
from shared.kafka.consumer import ConsumerLoop
from shared.sending_identities import KeyBox, SendingIdentityStore
from shared.service import Resources
from shared.settings import SenderSettings

CONSUMER_GROUP = "sender"


@dataclass
class SenderRuntime:
    """What routes and tests reach as `app.state.sender`."""

    settings: SenderSettings
    templates: TemplateStore
    composer: MailComposer
    dispatcher: Dispatcher
    http: httpx.AsyncClient
    consumer: ConsumerLoop | None = None  # once delivery started

    async def close(self) -> None:
        """Say QUIT on idle SMTP connections and close HTTP ones."""
        await self.dispatcher.channels.pacing.close()
        await self.http.aclose()


def smtp_relay(settings: SenderSettings, host: str | None = None, port: int | None = None) -> SmtpRelay:
    """The SMTP settings' relay, or another host and port (a receiving-domain group's `via`) with the same settings."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpRelay(
        host or settings.smtp_host,
        port or settings.smtp_port,
        connections=settings.smtp_connections,
        rate_per_second=settings.smtp_rate_per_second,
        timeout=settings.smtp_timeout_seconds,
        tls=settings.smtp_tls_policy,
        username=settings.smtp_username,
        password=password,
    )


def build_runtime(settings: SenderSettings, resources: Resources) -> SenderRuntime:
    ledger = SendLedger(resources.pool)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    relay = smtp_relay(settings)
    sms_key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else None
    pacing = DomainPacing(
        parse_groups(settings.receiving_domains), relay, lambda host, port: smtp_relay(settings, host, port)
    )
    channels = Channels(
        relay=relay,
        pacing=pacing,
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
        identities=SendingIdentityStore(resources.pool, KeyBox(settings.identity_encryption_key)),
        warmup=Warmup(parse_schedule(settings.warmup_schedule), SendingVolume(resources.pool)),
        stale_after_seconds=settings.stale_send_seconds,
    )
    return SenderRuntime(settings, templates, composer, dispatcher, http)


CONSUMER = "consumer"
RETRIES = "retries"
LEASES = "leases"


async def start_delivery(runtime: SenderRuntime, resources: Resources) -> Callable[[], Awaitable[None]]:
    """Start consuming, retrying and renewing leases, each a loop under the service's supervisor; the
    returned stop drains them before connections close."""
    settings, dispatcher, supervisor = runtime.settings, runtime.dispatcher, resources.supervisor
    # The producer connects in the background: status records of early sends wait in the
    # ledger (unreported) and the retry loop publishes them once it is up.
    consumer = runtime.consumer = ConsumerLoop(
        settings,
        group_id=CONSUMER_GROUP,
        topics=[MESSAGES_REQUESTED],
        handler=dispatcher.handle,
        producer=dispatcher.reporter.producer,
    )
    retries = RetryLoop(
        dispatcher, poll_seconds=settings.retry_poll_seconds, stale_after_seconds=settings.stale_send_seconds
    )
    supervisor.start(CONSUMER, consumer.run, finish=consumer.stop)
    supervisor.start(RETRIES, retries.run, finish=retries.stop)
    supervisor.start(LEASES, dispatcher.leases.run, finish=dispatcher.leases.stop)
    watch = LedgerWatch(resources.pool)
    supervisor.start(LEDGER_WATCH, watch.run, finish=watch.stop)

    async def stop() -> None:
        # In-flight sends finish and the consumer commits; past the grace period they are cut,
        # and the ledger's stale-send rule picks the messages up after a restart.
        await supervisor.stop(CONSUMER, RETRIES, LEDGER_WATCH, grace=settings.shutdown_grace_seconds)
        # Leases last: the messages of sends still in flight stay held until they settle.
        await supervisor.stop(LEASES, grace=settings.shutdown_grace_seconds)
        await runtime.close()

    return stop
