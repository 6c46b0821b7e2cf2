"""Body limits: an announced oversize body is refused unread, a streamed one is cut where it passes the limit."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from shared.http import LINGER_BYTES, BodyLimit
from shared.service import create_service_app
from shared.settings import SenderSettings

CHUNK = b"x" * 100


class Recorder:
    """A plain ASGI app that reads the whole body, counting the chunks it was handed."""

    def __init__(self) -> None:
        self.chunks = 0
        self.called = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        message: Message = {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            self.chunks += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def post(app: object, content: bytes | AsyncIterator[bytes], path: str = "/") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.example") as client:
        return await client.post(path, content=content, headers={"Content-Type": "application/json"})


async def endless(counter: list[int]) -> AsyncIterator[bytes]:
    while counter[0] < 1_000_000:  # 100 MB: a bound, should the limit ever fail to stop it
        counter[0] += 1
        yield CHUNK


async def test_an_announced_oversize_body_is_refused_before_the_app_reads_it() -> None:
    app = Recorder()
    response = await post(BodyLimit(app, max_bytes=1000), b"x" * 1001)

    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert response.json()["errors"] == [{"path": "$", "reason": "request body is larger than 1000 bytes"}]
    assert not app.called


async def test_a_streamed_body_is_cut_where_it_passes_the_limit() -> None:
    app, sent = Recorder(), [0]
    response = await post(BodyLimit(app, max_bytes=1000), endless(sent))

    assert response.status_code == 413 and response.json()["error"] == "body_too_large"
    assert app.chunks == 10  # ten chunks fill the limit; the eleventh passes it and is never handed over
    # Then the rest is dropped unread for a moment (so the client can read the 413), and no longer.
    assert sent[0] == 11 + math.ceil(LINGER_BYTES / len(CHUNK))


async def test_a_client_waiting_for_100_continue_is_answered_without_being_asked_for_the_body() -> None:
    app, asked = Recorder(), []

    async def receive() -> Message:
        asked.append(True)
        return {"type": "http.request", "body": b"", "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-length", b"5000"), (b"expect", b"100-continue")]
    await BodyLimit(app, max_bytes=1000)({"type": "http", "headers": headers}, receive, send)

    assert sent[0]["status"] == 413 and not sent[-1].get("more_body")
    assert asked == [] and not app.called


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    app = Recorder()
    assert (await post(BodyLimit(app, max_bytes=1000), b"x" * 1000)).status_code == 204


async def test_a_tighter_limit_inside_a_looser_one_still_applies() -> None:
    app = Recorder()
    assert (await post(BodyLimit(BodyLimit(app, max_bytes=100), max_bytes=1000), CHUNK * 2)).status_code == 413


class Flow(BaseModel):
    source: str


def sender_app(limit: int) -> FastAPI:
    app = create_service_app("sender", SenderSettings(sender_max_body_bytes=limit), title="Sender")

    @app.post("/parsed")
    async def parsed(flow: Flow) -> dict[str, int]:
        return {"length": len(flow.source)}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


async def test_every_service_app_has_its_own_limit_and_a_route_parsing_a_cut_body_answers_413_not_400() -> None:
    app = sender_app(limit=1000)

    for path in ("/parsed", "/raw"):
        streamed = await post(app, endless([0]), path)
        assert streamed.status_code == 413, path
        assert streamed.json()["detail"] == "request body is larger than 1000 bytes"
    assert (await post(app, b'{"source": "' + b"x" * 2000 + b'"}', "/parsed")).status_code == 413
    assert (await post(app, b'{"source": "short"}', "/parsed")).json() == {"length": 5}
