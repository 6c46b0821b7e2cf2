"""The daily link check: broken links in live templates become events and log lines, not reader complaints."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from services.sender.adapters.link_results import save_results
from services.sender.adapters.templates import TemplateStore
from services.sender.usecases.link_check import LinkResult, check_links
from services.sender.usecases.mail import MailComposer
from shared.contract.internal import LinkCheckReport
from shared.contract.topics import LINK_CHECKS
from shared.errors import Transient
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import SenderSettings
from shared.workers import Supervisor

log = structlog.get_logger(__name__)


def report_of(result: LinkResult, checked_at: datetime) -> LinkCheckReport:
    """One report per broken link per day: a re-run the same day repeats the same event id."""
    digest = hashlib.blake2b(f"{result.workspace_id}\x1f{result.template_id}\x1f{result.url}".encode(), digest_size=8)
    return LinkCheckReport(
        event_id=f"link-{checked_at:%Y%m%d}-{digest.hexdigest()}",
        workspace_id=result.workspace_id,
        template_id=result.template_id,
        url=result.url,
        status=result.status,
        problem=result.problem or "broken",
        checked_at=checked_at,
    )


async def check_and_report(
    templates: TemplateStore,
    composer: MailComposer,
    producer: Producer,
    settings: SenderSettings,
    workspace_id: str | None = None,
) -> list[LinkResult]:
    """Check every latest template's links (of one workspace, or all); keep each result for the console's
    template page; publish and log each broken one. Returns the broken ones."""
    results = await check_links(
        templates,
        composer,
        workspace_id=workspace_id,
        timeout=settings.webhook_timeout_seconds,
        allow_private=settings.allow_private_webhooks,
    )
    broken = [result for result in results if result.broken]
    now = datetime.now(UTC)
    await save_results(templates.pool, results, now)
    for result in broken:
        log.warning(
            "template.link_broken",
            workspace=result.workspace_id,
            template=result.template_id,
            url=result.url,
            problem=result.problem,
        )
    if broken:
        await producer.send_all(
            [OutgoingRecord.of(LINK_CHECKS, report_of(result, now), key=result.template_id) for result in broken]
        )
    log.info("template.link_check_done", links=len(results), broken=len(broken))
    return broken


LINK_WATCH = "link-watch"


def start_link_watch(
    templates: TemplateStore,
    composer: MailComposer,
    producer: Producer,
    settings: SenderSettings,
    supervisor: Supervisor,
) -> Callable[[], Awaitable[None]] | None:
    """Run the check every `link_check_interval_hours` (first run one interval after start), under the supervisor."""
    if settings.link_check_interval_hours <= 0:
        return None
    interval = settings.link_check_interval_hours * 3600

    async def every_interval() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await check_and_report(templates, composer, producer, settings)
            except Transient as error:
                log.warning("template.link_check_failed", reason=str(error))

    supervisor.start(LINK_WATCH, every_interval)

    async def stop() -> None:
        await supervisor.stop(LINK_WATCH, grace=0.0)

    return stop
