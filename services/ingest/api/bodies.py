"""The door for request bodies: JSON only, gzip unpacked within the size limit, UTF-8 or nothing.

Sits inside `BodyLimit` (which counts the bytes on the wire) on both the event fast path and
the framework, so every route sees a body it can read or the request is answered here:
415 for another media type or encoding, 413 when gzip unpacks past the limit, 400 when the
body is broken gzip or (on the framework path) not UTF-8.
"""

from __future__ import annotations

import codecs
import zlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ingest.api.errors import error_body

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_JSON_HEADERS = [(b"content-type", b"application/json")]
_NOT_JSON = error_body(
    "unsupported_media_type", "header.content-type", "send the body as JSON, with Content-Type: application/json"
)
_NOT_UTF8_CHARSET = error_body("unsupported_media_type", "header.content-type", "JSON is UTF-8; drop the charset")
_UNKNOWN_ENCODING = error_body(
    "unsupported_media_type", "header.content-encoding", "send the body as it is, or with Content-Encoding: gzip"
)


class JsonBodies:
    def __init__(self, app: ASGIApp, max_bytes: int, *, check_utf8: bool = True) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # The fast path skips the UTF-8 check: pydantic's JSON parser refuses bad UTF-8 itself.
        self.check_utf8 = check_utf8

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        content_type = encoding = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-encoding":
                encoding = value.strip().lower()
        refusal = _media_refusal(content_type, encoding)
        if refusal is not None:
            await _answer(send, 415, refusal)
            return
        gzipped = encoding == b"gzip"
        if not gzipped and not self.check_utf8:
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        if gzipped:
            unpacked = _gunzip(raw, self.max_bytes)
            if isinstance(unpacked, tuple):
                await _answer(send, *unpacked)
                return
            raw = unpacked
            scope = {**scope, "headers": _plain_headers(scope["headers"], len(raw))}
        if self.check_utf8 and raw:
            problem = _utf8_problem(raw)
            if problem is not None:
                await _answer(send, 400, error_body("invalid_body", "$", problem))
                return
        await self.app(scope, replay(raw, receive), send)


def _media_refusal(content_type: bytes, encoding: bytes) -> bytes | None:
    if content_type == b"application/json" and not encoding:
        return None  # what nearly every request sends
    kind, _, parameters = content_type.partition(b";")
    kind = kind.strip().lower()
    if kind != b"application/json" and not (kind.startswith(b"application/") and kind.endswith(b"+json")):
        return _NOT_JSON
    for parameter in parameters.split(b";"):
        name, _, value = parameter.partition(b"=")
        if name.strip().lower() == b"charset" and value.strip(b' "').lower() not in (b"utf-8", b"utf8"):
            return _NOT_UTF8_CHARSET
    if encoding not in (b"", b"identity", b"gzip"):
        return _UNKNOWN_ENCODING
    return None


def _gunzip(raw: bytes, limit: int) -> bytes | tuple[int, bytes]:
    """The unpacked body, or the answer: never more than `limit` bytes unpacked (a small bomb stays small)."""
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = unpacker.decompress(raw, limit + 1)
    except zlib.error as error:
        return 400, error_body("invalid_body", "$", f"body is not valid gzip: {error}")
    if len(body) > limit:
        reason = f"request body unpacks to more than {limit} bytes"
        return 413, error_body("body_too_large", "$", reason)
    if not unpacker.eof or unpacker.unused_data:
        return 400, error_body("invalid_body", "$", "body is not one complete gzip stream")
    return body


def _utf8_problem(raw: bytes) -> str | None:
    if raw.startswith(codecs.BOM_UTF8):
        return "body is not valid UTF-8 JSON: it starts with a byte order mark"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"body is not valid UTF-8 JSON: {error.reason} at byte {error.start}"
    return None


def _plain_headers(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """The request's headers as if the unpacked body had been sent as it is."""
    kept = [(name, value) for name, value in headers if name not in (b"content-encoding", b"content-length")]
    return [*kept, (b"content-length", str(length).encode())]


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(raw: bytes, receive: Receive) -> Receive:
    """The body already read, once; after it, whatever the client sends next (a disconnect)."""
    pending = [raw]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
