"""What may go on a topic other than contacts.changes: the facts, never a person's values.

Two fields of the internal topics would otherwise carry what others wrote: a message status's
detail (an SMTP server's reply usually quotes the address) and a click's URL (a template may put
the reader's address or id into a link). Both are reduced here, in the contract, so every writer
of those records gets the same rule.
"""

from __future__ import annotations

import re
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import urlsplit, urlunsplit

# Kept whole: which variable a template lacked (names and ids, never values); flows read it.
MISSING_DATA = "missing data: "

# Dripline's own words: lowercase, at most a small count ("gave up after 3").
_PHRASE = re.compile(r"[a-z][a-z ]{0,79}(?: \d{1,3})?")
# Leading words of a segment that goes on with values ("no consent to topic news (pending)").
_WORDS = re.compile(r"(?:SMS|[a-z]+)(?: [a-z]+){0,11}")
_SMTP_CODE = re.compile(r"(?<![\w.])([2-5]\d\d)(?![\w.])")
_ENHANCED = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?![\w.])")
_HTTP_ANSWER = re.compile(r"(?P<what>(?:SMS|[a-z]+)(?: [a-z]+){0,3}) answered (?P<code>[1-5]\d\d)(?P<rest>.*)")
_MAX = 300


def public_detail(detail: str | None, fallback: str = "failed") -> str | None:
    """A status detail fit for the bus: Dripline's fixed phrase, the SMTP reply code and the enhanced
    status code; never the server's text or a value quoted in an error.

    `accepted: 250 2.0.0 Ok: queued as 4F1A` → `accepted: 250 2.0.0`;
    `address does not exist: 550 5.1.1 <kari@example.com>: unknown` → `address does not exist: 550 5.1.1`;
    `not an email address: 'kari@'` → `not an email address`; a bare diagnostic gets `fallback` as its phrase.
    """
    if detail is None:
        return None
    if detail.startswith(MISSING_DATA):
        return detail[:_MAX]
    phrases: list[str] = []
    rest = ""
    segments = detail.split(": ")
    for at, segment in enumerate(segments):
        if _PHRASE.fullmatch(segment):
            phrases.append(segment)
            continue
        rest = ": ".join(segments[at:])
        break
    http = _HTTP_ANSWER.fullmatch(rest)
    if http is not None:
        return ": ".join([*phrases, _http_answer(http.group("what"), int(http.group("code")), http.group("rest"))])
    if not phrases:
        words = _WORDS.match(rest)
        phrases.append(words.group() if words and not _SMTP_CODE.match(rest) else fallback)
    codes = [match.group(1) for match in (_SMTP_CODE.search(rest), _ENHANCED.search(rest)) if match]
    return ": ".join([*phrases, " ".join(codes)] if codes else phrases)[:_MAX]


def _http_answer(what: str, code: int, rest: str) -> str:
    """`webhook answered 404 Not Found`: the standard phrase of the code, whatever the server said."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    return f"{what} answered {code} {phrase}".rstrip()


@lru_cache(maxsize=4096)
def public_url(url: str | None) -> str | None:
    """A clicked link as reported: scheme, host and path; no query, fragment or user info.

    Templates personalise links with query parameters (`?email=…`, `?c=<contact id>`); those go.
    A path segment holding an `@` is blanked too; other personal paths cannot be told from a
    product's, so templates must not put the reader in a link's path (docs/privacy.md).
    """
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return None
    if port is not None:
        host = f"{host}:{port}"
    path = "/".join("~" if "@" in segment else segment for segment in parts.path.split("/"))
    return urlunsplit((parts.scheme, host, path, "", ""))
