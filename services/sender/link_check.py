"""Fetch every link of every latest template and say which are broken, before readers find out.

Templates are rendered with empty data (links built from data drop out) and tracked
links are turned back into their destinations, so the check sees what readers would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from services.sender.adapters.targets import RefusedTarget, check_target
from services.sender.adapters.templates import TemplateStore
from services.sender.domain.errors import RenderError, TemplateError
from services.sender.domain.links import extract_links
from services.sender.mail import MailComposer
from shared.tokens import TokenError, TokenKind

# A HEAD these answers refuse may still work as GET: many servers do not implement HEAD.
_TRY_GET_AFTER = frozenset({403, 404, 405, 501})


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


async def fetch_status(client: httpx.AsyncClient, url: str, *, allow_private: bool) -> tuple[int | None, str | None]:
    try:
        await check_target(url, allow_private=allow_private)
    except RefusedTarget as refused:
        return None, str(refused)
    try:
        response = await client.head(url, follow_redirects=True)
        if response.status_code in _TRY_GET_AFTER:
            response = await client.get(url, follow_redirects=True)
    except httpx.TimeoutException:
        return None, "timed out"
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"
    if response.status_code >= 400:
        return response.status_code, f"HTTP {response.status_code}"
    return response.status_code, None


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
    links: list[tuple[str, str, str]] = []
    results: list[LinkResult] = []
    for workspace, stored in await store.all_latest(workspace_id):
        try:
            letter = composer.render(
                stored.load(),
                message_id="link-check",
                workspace_id=workspace,
                contact_id="link-check",
                profile={},
                variables={},
                now=datetime.now(UTC),
            )
        except (TemplateError, RenderError) as error:
            results.append(LinkResult(workspace, stored.template_id, "", None, f"does not render: {error}"))
            continue
        links += [
            (workspace, stored.template_id, url) for url in destinations(composer, letter.rendered.html, tracker_url)
        ]

    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=timeout, headers={"User-Agent": "Dripline link check"}) as client:

        async def one(url: str) -> tuple[int | None, str | None]:
            async with limit:
                return await fetch_status(client, url, allow_private=allow_private)

        unique = sorted({url for _, _, url in links if urlsplit(url).scheme in ("http", "https")})
        statuses = dict(zip(unique, await asyncio.gather(*(one(url) for url in unique)), strict=True))
    results += [LinkResult(ws, template, url, *statuses[url]) for ws, template, url in links]
    return results
