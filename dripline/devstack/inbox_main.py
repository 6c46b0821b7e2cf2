"""`python -m dripline.devstack.inbox_main`: the SMTP inbox and its page in one process."""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from dripline.devstack.inbox import Inbox, start_smtp
from dripline.devstack.inbox_web import create_inbox_app


async def main(host: str, smtp_port: int, http_port: int) -> None:
    inbox = Inbox()
    smtp = await start_smtp(inbox, host, smtp_port)
    server = uvicorn.Server(uvicorn.Config(create_inbox_app(inbox), host=host, port=http_port, log_level="warning"))
    try:
        await server.serve()
    finally:
        smtp.close()
        await smtp.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.host, arguments.smtp_port, arguments.http_port))
