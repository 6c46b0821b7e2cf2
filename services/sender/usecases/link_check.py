"""Fetch every link of every latest template and say which are broken, before readers find out.

A template a flow sends is rendered with a sample event of each such flow's trigger type, so links built
from event data (a cart's URL, each product's) are there too: one that renders empty is broken, one that
renders is not fetched (its address comes from each real event). A template no flow sends is rendered
with no data. Tracked links are turned back into their destinations, so the check sees what readers would.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import yaml

from services.sender.adapters.link_fetch import LinkFetcher
from services.sender.adapters.targets import TargetGuard
from services.sender.adapters.templates import TemplateStore
from services.sender.domain.rendering.errors import RenderError, TemplateError
from services.sender.domain.rendering.links import extract_links
from services.sender.usecases.mail import MailComposer
from shared.message_variables import SAMPLE_LINKS, sample_context
from shared.published import current_flow_sources
from shared.tokens import TokenError, TokenKind


@dataclass(frozen=True)
class LinkResult:
    workspace_id: str
    template_id: str
    url: str
    status: int | None
    problem: str | None

    @property
    def broken(self) -> bool:
        return self.problem is not None


def destinations(composer: MailComposer, html: str, tracker_url: str) -> list[str]:
    """Links a reader can follow: tracked clicks resolved, the tracker's own pages left out."""
    base = tracker_url.rstrip("/") + "/"
    found: dict[str, None] = {}
    for url in extract_links(html):
        if not url.startswith(base):
            found.setdefault(url, None)
            continue
        kind, _, token = url[len(base) :].partition("/")
        if kind != "c":
            continue  # open pixel, unsubscribe and preferences: served by the tracker itself
        try:
            claims = composer.keys.verify(token, TokenKind.CLICK)
        except TokenError:
            found.setdefault(url, None)  # not ours after all: check it as it is
            continue
        if claims.url:
            found.setdefault(claims.url, None)
    return list(found)


Sample = tuple[str | None, dict[str, Any] | None]  # (flow id, the flow context of a message it sends)
_EMPTY = re.compile(r"""<(a|img)\b[^>]*?\b(href|src)\s*=\s*(?:""|'')""", re.I)


def _empty_links(html: str) -> list[str]:
    return [f"a link ({found.group(2)} of <{found.group(1)}>)" for found in _EMPTY.finditer(html)]


async def _samples(store: TemplateStore, workspace_id: str) -> dict[str, list[Sample]]:
    """Template id -> a sample context per published flow that sends it."""
    found: dict[str, list[Sample]] = {}
    for flow_id, source in await current_flow_sources(store.pool, workspace_id):
        flow = yaml.safe_load(source)
        if not isinstance(flow, dict):
            continue
        context = sample_context(flow)
        for step in flow.get("steps") or ():
            if isinstance(step, dict) and step.get("type") == "send":
                found.setdefault(str(step.get("template")), []).append((flow_id, context))
    return found


async def check_links(
    store: TemplateStore,
    composer: MailComposer,
    *,
    workspace_id: str | None = None,
    timeout: float = 5.0,
    allow_private: bool = False,
    concurrency: int = 8,
) -> list[LinkResult]:
    """One result per (template, link); a link used by many templates is fetched once."""
    tracker_url = composer.tracker_url
    links: dict[tuple[str, str, str], None] = {}  # (workspace, template, url), each once, in order
    results: list[LinkResult] = []
    contexts: dict[str, dict[str, list[Sample]]] = {}
    for workspace, stored in await store.all_latest(workspace_id):
        if workspace not in contexts:
            contexts[workspace] = await _samples(store, workspace)
        for flow_id, context in contexts[workspace].get(stored.template_id) or [(None, None)]:
            try:  # every language of the template: a translated body has links of its own
                htmls = [
                    composer.render(
                        language, message_id="link-check", workspace_id=workspace, contact_id="link-check",
                        profile={}, variables={}, now=datetime.now(UTC), lenient=True, context=context,
                    ).rendered.html
                    for language in stored.load().each_language()
                ]  # fmt: skip
            except (TemplateError, RenderError) as error:
                results.append(LinkResult(workspace, stored.template_id, "", None, f"does not render: {error}"))
                break
            for html in htmls:
                if flow_id is not None:
                    results += [
                        LinkResult(workspace, stored.template_id, "", None, f"{what} renders empty for flow {flow_id}")
                        for what in _empty_links(html)
                    ]
                for url in destinations(composer, html, tracker_url):
                    if url.startswith(SAMPLE_LINKS):  # built from event data: each message has its own
                        results.append(LinkResult(workspace, stored.template_id, url, None, None))
                    else:
                        links.setdefault((workspace, stored.template_id, url), None)

    limit = asyncio.Semaphore(concurrency)
    async with LinkFetcher(timeout=timeout, guard=TargetGuard(allow_private=allow_private)) as fetcher:

        async def one(url: str) -> tuple[int | None, str | None]:
            async with limit:
                return await fetcher.status(url)

        unique = sorted({url for _, _, url in links if urlsplit(url).scheme in ("http", "https")})
        statuses = dict(zip(unique, await asyncio.gather(*(one(url) for url in unique)), strict=True))
    results += [LinkResult(ws, template, url, *statuses[url]) for ws, template, url in links]
    return results
