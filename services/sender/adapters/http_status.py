"""What Dripline keeps of an HTTP reply from a webhook, a linked site or the SMS provider: the status.

Bodies are never read (so no size can hurt and no text of theirs reaches a timeline), and a reason is
always in words of our own: a server's reason phrase or a protocol error can quote what it sent.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import httpx


def reason_phrase(status: int) -> str:
    """The standard phrase of a status code, never the text the server sent."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def failure_reason(error: Exception) -> str:
    """Why a request got no answer."""
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return "timed out"
    if isinstance(error, httpx.ConnectError):  # said by our own resolver or socket, not the server
        return f"ConnectError: {error}"
    return type(error).__name__


def deadline_of(timeout: httpx.Timeout) -> float:
    """A bound on one whole request: each timeout bounds one step (a server dribbling its headers a
    byte at a time never trips the read timeout)."""
    steps = (timeout.connect, timeout.write, timeout.read)
    return sum(step for step in steps if step is not None) or 60.0


async def status_of(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send `request` and return the response once its headers are in, its body left unread and closed."""
    async with asyncio.timeout(deadline_of(client.timeout)):
        response = await client.send(request, stream=True)
        await response.aclose()
    return response
