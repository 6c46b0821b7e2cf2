"""The SMTP inbox in its own process, reporting each accepted mail as a line: `EPOCH RECIPIENT`.

`python -m bench.inbox PORT`. The parent reads the lines to count deliveries and time them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.stack import python
from dripline.devstack.broker import free_port, port_open


class ReportingInbox:
    """A bare sink: accept, note the time and recipient, keep nothing, parse nothing.

    The bench measures Dripline, not the sink: parsing each message (as the devstack inbox does
    for its web page) would take as much CPU as the sender itself on this shared machine.
    Lines are written in one go per event-loop turn; each keeps the time its mail was accepted.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if not self._lines:
            asyncio.get_running_loop().call_soon(self._flush)
        self._lines.append(f"{time.time()} {envelope.rcpt_tos[0]}\n")
        return "250 2.0.0 OK: queued"

    def _flush(self) -> None:
        lines, self._lines = self._lines, []
        sys.stdout.write("".join(lines))
        sys.stdout.flush()


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    handler = ReportingInbox()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="dripline-inbox", data_size_limit=25 * 1024 * 1024, enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=port,
    )
    async with server:
        await server.serve_forever()


@dataclass
class InboxProcess:
    """Runs the inbox process and collects (time, recipient) of each accepted mail."""

    port: int = field(default_factory=free_port)
    accepted: list[tuple[float, str]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout: float) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.accepted) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return False
        return True

    @asynccontextmanager
    async def running(self) -> AsyncIterator[InboxProcess]:
        child = await asyncio.create_subprocess_exec(
            python(), "-m", "bench.inbox", str(self.port), stdout=asyncio.subprocess.PIPE, start_new_session=True
        )
        assert child.stdout is not None
        reader = asyncio.create_task(self._read(child.stdout))
        try:
            while not port_open(self.port):
                if child.returncode is not None:
                    raise RuntimeError("inbox did not start")
                await asyncio.sleep(0.05)
            yield self
        finally:
            child.terminate()
            await child.wait()
            reader.cancel()

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            stamp, recipient = line.decode().split(" ", 1)
            self.accepted.append((float(stamp), recipient.strip()))
            self._arrived.set()


if __name__ == "__main__":
    uvloop.run(_serve(int(sys.argv[1])))
