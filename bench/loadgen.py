"""The HTTP load generator, run in its own process so it never steals the server's core.

Raw HTTP/1.1 keep-alive connections on uvloop (no client library on the hot path).
Closed loop: `connections` clients each send, wait, send again until `requests` are done
or `duration` ran out. Open loop (`rate` set): request i is due at start + i/rate and
its latency counts from that moment, so a slow server cannot hide its queueing.

Reads a JSON spec on stdin, writes a JSON result to the file named on its command line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

import uvloop


@dataclass
class LoadSpec:
    port: int
    requests: list[bytes]  # raw HTTP requests, sent in rotation
    connections: int = 1
    total: int = 0
    duration: float = 10.0
    rate: float | None = None
    record_sends: bool = False

    @classmethod
    def build(
        cls,
        port: int,
        *,
        method: str,
        paths: list[str],
        bodies: list[bytes] | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> LoadSpec:
        head = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        requests: list[bytes] = []
        for index in range(max(len(paths), len(bodies or []))):
            path = paths[index % len(paths)]
            body = bodies[index % len(bodies)] if bodies else b""
            start = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
            if bodies:
                start += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            requests.append(start.encode() + b"\r\n" + body)
        return cls(port, requests, **options)

    def to_json(self) -> str:
        data = {**self.__dict__, "requests": [r.decode("latin-1") for r in self.requests]}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        data = json.loads(text)
        data["requests"] = [r.encode("latin-1") for r in data["requests"]]
        return cls(**data)


class HttpConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        length = 0
        marker = head.find(b"content-length:")
        if marker >= 0:
            stop = head.find(b"\r\n", marker)
            length = int(head[marker + 15 : stop if stop >= 0 else None])
        if len(self._buffer) < end + 4 + length:
            return
        del self._buffer[: end + 4 + length]
        waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("server closed the connection"))

    async def send(self, raw: bytes) -> int:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    sends: list[float] = field(default_factory=list)
    errors: int = 0


async def _connect(port: int) -> HttpConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(HttpConnection, "127.0.0.1", port)
    return protocol


async def _closed_loop(spec: LoadSpec, connections: list[HttpConnection], tally: Tally) -> None:
    deadline = time.perf_counter() + spec.duration
    counter = iter(range(spec.total))

    async def client(connection: HttpConnection) -> None:
        for index in counter:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            try:
                status = await connection.send(spec.requests[index % len(spec.requests)])
            except ConnectionError:
                tally.errors += 1
                return
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1

    await asyncio.gather(*(client(c) for c in connections))


async def _open_loop(spec: LoadSpec, connections: list[HttpConnection], tally: Tally) -> None:
    assert spec.rate
    free: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for connection in connections:
        free.put_nowait(connection)
    start = time.perf_counter()
    wall_offset = time.time() - start
    pending: set[asyncio.Task[None]] = set()

    async def one(index: int, due: float) -> None:
        connection = await free.get()
        try:
            status = await connection.send(spec.requests[index % len(spec.requests)])
            tally.latencies.append(time.perf_counter() - due)
            tally.statuses[status] += 1
        except ConnectionError:
            tally.errors += 1
            return
        free.put_nowait(connection)

    for index in range(spec.total):
        due = start + index / spec.rate
        if due - start > spec.duration:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if spec.record_sends:
            tally.sends.append(due + wall_offset)
        task = asyncio.create_task(one(index, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending, timeout=spec.duration + 30)


async def run(spec: LoadSpec) -> dict[str, Any]:
    connections = [await _connect(spec.port) for _ in range(spec.connections)]
    tally = Tally()
    started = time.perf_counter()
    if spec.rate:
        await _open_loop(spec, connections, tally)
    else:
        await _closed_loop(spec, connections, tally)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "latencies": tally.latencies,
        "statuses": {str(code): n for code, n in tally.statuses.items()},
        "errors": tally.errors,
        "sends": tally.sends,
    }


def main() -> None:
    """`python -m bench.loadgen RESULT_PATH` with the spec on stdin; the result goes to the file."""
    spec = LoadSpec.from_json(sys.stdin.read())
    result = uvloop.run(run(spec))
    with open(sys.argv[1], "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
