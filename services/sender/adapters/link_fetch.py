"""Fetching template links for the link check: a status per URL, through the outbound guard.

HEAD first, then GET where servers refuse HEAD. Redirects are followed here, one hop at a time (at
most `MAX_REDIRECTS`): every hop opens its connection through `TargetGuard`, so a redirect to a
private address is refused like a link to one. No body is read, redirects' included.
"""

from __future__ import annotations

from types import TracebackType

import httpx

from services.sender.adapters.http_status import failure_reason, status_of
from services.sender.adapters.targets import RefusedTarget, TargetGuard

MAX_REDIRECTS = 5
# A HEAD these answers refuse may still work as GET: many servers do not implement HEAD.
_TRY_GET_AFTER = frozenset({403, 404, 405, 501})

LinkStatus = tuple[int | None, str | None]


class LinkFetcher:
    """`async with LinkFetcher(...) as fetcher: await fetcher.status(url)`."""

    def __init__(self, *, timeout: float, guard: TargetGuard) -> None:
        self._guard = guard
        self._client = guard.client(timeout=httpx.Timeout(timeout), headers={"User-Agent": "Dripline link check"})

    async def __aenter__(self) -> LinkFetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def status(self, url: str) -> LinkStatus:
        """The final status and, when the link is broken or refused, why."""
        try:
            self._guard.check_url(url)
            status = await self._follow("HEAD", url)
            if status in _TRY_GET_AFTER:
                status = await self._follow("GET", url)
        except RefusedTarget as refused:
            return None, str(refused)
        except (httpx.HTTPError, TimeoutError) as error:
            return None, failure_reason(error)
        if status >= 400:
            return status, f"HTTP {status}"
        return status, None

    async def _follow(self, method: str, url: str) -> int:
        request = self._client.build_request(method, url)
        for hop in range(MAX_REDIRECTS + 1):
            try:
                if hop:
                    self._guard.check_url(str(request.url))
                response = await status_of(self._client, request)
            except RefusedTarget as refused:
                raise RefusedTarget(f"redirect refused: {refused}" if hop else str(refused)) from refused
            if response.next_request is None:
                return response.status_code
            request = response.next_request
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)
