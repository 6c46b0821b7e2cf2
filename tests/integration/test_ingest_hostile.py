"""Hostile requests against the running ingest service: each is refused with a 4xx naming the field, none is a 5xx.

One row per way a body used to get through (and poison the scheduler) or crash ingest: NUL and
other control characters, ids with newlines, slashes or 10,000 characters, times past the
datetime range, integers past 64 bits, NaN, made-up time zones, "yes" for true, bodies that are
not JSON, not UTF-8 or gzip bombs. Afterwards an ordinary sign-up is still accepted.
"""

from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

pytestmark = pytest.mark.stack

JSON = {"Content-Type": "application/json"}


def track(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "name": "coupon_redeemed", "contact": {"email": "r1@example.com"}, **extra}


def signup(**extra: Any) -> dict[str, Any]:
    return {"type": "signup", "contact": {"email": "r1@example.com"}, **extra}


def contact(**fields: Any) -> dict[str, Any]:
    return track(contact={"email": "r1@example.com", **fields})


def raw(body: dict[str, Any], **replace: str) -> bytes:
    """JSON with placeholders swapped for text no JSON encoder writes (NaN, huge numbers, lone surrogates)."""
    text = orjson.dumps(body).decode()
    for placeholder, value in replace.items():
        text = text.replace(f'"{placeholder}"', value)
    return text.encode()


@dataclass
class Hostile:
    name: str
    body: Any  # a dict sent as JSON, or bytes sent as they are
    path: str  # the field the answer must name (a prefix is enough for keys holding control characters)
    status: int = 422
    url: str = "/v1/events"
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))  # "" removes the shop's header


BOMB = gzip.compress(orjson.dumps(track(properties={"blob": "x" * 3_000_000})))
DEEP_ATTRIBUTES = b'{"email":"r1@example.com","attributes":{"a":' + b"[" * 5000 + b"]" * 5000 + b"}}"
DEEP = (
    b'{"type":"track","name":"x","contact":{"email":"r1@example.com"},"properties":' + b"[" * 5000 + b"]" * 5000 + b"}"
)

CASES = [
    # NUL and other control characters, wherever text goes
    Hostile("NUL in an event name", track(name="a\u0000b"), "$.name"),
    Hostile("NUL in first_name", contact(first_name="Ka\u0000ri"), "$.contact.first_name"),
    Hostile("NUL in a sign-up's source", signup(source="form\u0000"), "$.source"),
    Hostile("NUL in a tag", contact(tags=["vip", "v\u0000"]), "$.contact.tags[1]"),
    Hostile("NUL in an attribute key", contact(attributes={"pl\u0000an": "x"}), "$.contact.attributes.pl"),
    Hostile("NUL in an attribute value", contact(attributes={"plan": "x\u0000"}), "$.contact.attributes.plan"),
    Hostile("NUL in a contact id", track(contact={"contact_id": "c\u00001"}), "$.contact.contact_id"),
    Hostile("NUL in an external id", track(contact={"external_id": "c\u00001"}), "$.contact.external_id"),
    Hostile("NUL in an email", track(contact={"email": "r\u00001@example.com"}), "$.contact.email"),
    Hostile("NUL in a property", track(properties={"code": {"deep": ["a\u0000"]}}), "$.properties.code.deep[0]"),
    Hostile(
        "NUL in a line item",
        {**track(), "type": "cart_abandoned", "items": [{"product_id": "p\u0000"}]},
        "$.items[0].product_id",
    ),
    Hostile("NUL in a topic body", {"name": "News\u0000"}, "$.name", url="/v1/topics/newsletter", method="PUT"),
    Hostile(
        "ESC in a topic description",
        {"name": "News", "description": "\u001b[2J"},
        "$.description",
        url="/v1/topics/newsletter",
        method="PUT",
    ),
    Hostile("ESC in a last name", contact(last_name="\u001b[31mred"), "$.contact.last_name"),
    Hostile("C1 control in a tag", contact(tags=["\u0085"]), "$.contact.tags[0]"),
    Hostile(
        "newline in an identify call's first name",
        {"email": "r1@example.com", "first_name": "a\nb"},
        "$.first_name",
        url="/v1/contacts",
    ),
    # ids
    Hostile("a contact id with a newline", track(contact={"contact_id": "abc\n"}), "$.contact.contact_id"),
    Hostile("a contact id of 10,000 characters", track(contact={"contact_id": "c" * 10_000}), "$.contact.contact_id"),
    Hostile("a contact id that is a path", track(contact={"contact_id": "../../etc/passwd"}), "$.contact.contact_id"),
    Hostile("a contact id with ESC", track(contact={"contact_id": "\u001b[31mred"}), "$.contact.contact_id"),
    Hostile("an event id with a newline", track(event_id="e-1\n"), "$.event_id"),
    Hostile("an event name of 129 characters", track(name="n" * 129), "$.name"),
    Hostile("an event name with a trailing space", track(name="viewed "), "$.name"),
    Hostile(
        "a consent topic in capitals", signup(consent={"marketing": True, "topics": ["News"]}), "$.consent.topics[0]"
    ),
    Hostile(
        "a subscription topic that is not one",
        {"subscriptions": {"../x": True}},
        "$.subscriptions.../x",
        url="/v1/contacts/c-1/subscriptions",
        method="PUT",
    ),
    Hostile(
        "a contact id with a newline in the URL",
        {"subscriptions": {"*": True}},
        "path.contact_id",
        url="/v1/contacts/c%0A1/subscriptions",
        method="PUT",
    ),
    Hostile("ESC in a contact id looked up", None, "path.contact_id", url="/v1/contacts/%1B%5B31m", method="GET"),
    Hostile("no API key", track(), "header.authorization", 401, headers={**JSON, "Authorization": ""}),
    Hostile(
        "no API key on identify",
        {"email": "r1@example.com"},
        "header.authorization",
        401,
        url="/v1/contacts",
        headers={**JSON, "Authorization": ""},
    ),
    Hostile(
        "a contact that does not exist", None, "path.contact_id", 404, url="/v1/contacts/nobody-here", method="GET"
    ),
    # times
    Hostile("occurred_at past year 9999 in UTC", track(occurred_at="9999-12-31T23:59:59-14:00"), "$.occurred_at"),
    Hostile("occurred_at before year 1 in UTC", track(occurred_at="0001-01-01T00:00:00+14:00"), "$.occurred_at"),
    Hostile("occurred_at before 1970", track(occurred_at="1969-12-31T23:59:59Z"), "$.occurred_at"),
    Hostile("occurred_at after 2200", track(occurred_at="2201-01-01T00:00:00Z"), "$.occurred_at"),
    Hostile("a time zone on Mars", contact(timezone="Mars/Olympus"), "$.contact.timezone"),
    # numbers
    Hostile(
        "an attribute integer past 64 bits",
        raw(contact(attributes={"n": "BIG"}), BIG=str(2**64)),
        "$.contact.attributes.n",
    ),
    Hostile(
        "a property integer below -2^63",
        raw(track(properties={"n": "SMALL"}), SMALL=str(-(2**63) - 1)),
        "$.properties.n",
    ),
    Hostile("NaN in properties", raw(track(properties={"x": "NAN"}), NAN="NaN"), "$.properties.x"),
    Hostile("Infinity in properties", raw(track(properties={"x": ["INF"]}), INF="Infinity"), "$.properties.x[0]"),
    Hostile("-Infinity in properties", raw(track(properties={"x": "INF"}), INF="-Infinity"), "$.properties.x"),
    Hostile(
        "a number that overflows to infinity", raw(track(properties={"x": "HUGE"}), HUGE="1e400"), "$.properties.x"
    ),
    Hostile(
        "NaN as a price",
        raw({**track(), "type": "cart_abandoned", "items": [{"product_id": "p", "price": "N"}]}, N="NaN"),
        "$.items[0].price",
    ),
    Hostile(
        "a revenue of 10^999999",
        {**track(), "type": "purchase", "order_id": "o-1", "revenue": "1e999999", "currency": "NOK"},
        "$.revenue",
    ),
    Hostile(
        "a quantity past 64 bits",
        raw({**track(), "type": "cart_abandoned", "items": [{"product_id": "p", "quantity": "Q"}]}, Q=str(2**70)),
        "$.items[0].quantity",
    ),
    # Refused by the JSON parsers' own depth limits, on the fast path and through the framework.
    Hostile("properties nested 5,000 deep", DEEP, "$", 400),
    Hostile("attributes nested 5,000 deep", DEEP_ATTRIBUTES, "$", 400, url="/v1/contacts"),
    Hostile("properties nested 11 deep", track(properties={"a": [[[[[[[[[[["deep"]]]]]]]]]]]}), "$.properties.a"),
    # booleans
    Hostile('"yes" for partial', {"events": [track()], "partial": "yes"}, "$.partial", url="/v1/events/batch"),
    Hostile('"yes" for marketing consent', signup(consent={"marketing": "yes"}), "$.consent.marketing"),
    Hostile(
        "1 for a subscription",
        {"subscriptions": {"*": 1}},
        "$.subscriptions.*",
        url="/v1/contacts/c-1/subscriptions",
        method="PUT",
    ),
    # bodies
    Hostile("a batch item with NUL", {"events": [track(name="a\u0000")]}, "$.name", url="/v1/events/batch"),
    Hostile("no Content-Type", orjson.dumps(track()), "header.content-type", 415, headers={}),
    Hostile("text/plain", orjson.dumps(track()), "header.content-type", 415, headers={"Content-Type": "text/plain"}),
    Hostile(
        "form data on identify",
        b"email=r1%40example.com",
        "header.content-type",
        415,
        url="/v1/contacts",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Hostile(
        "JSON in Latin-1",
        orjson.dumps(track()),
        "header.content-type",
        415,
        headers={"Content-Type": "application/json; charset=latin-1"},
    ),
    Hostile(
        "Content-Encoding br",
        orjson.dumps(track()),
        "header.content-encoding",
        415,
        headers={**JSON, "Content-Encoding": "br"},
    ),
    Hostile("a gzip bomb", BOMB, "$", 413, headers={**JSON, "Content-Encoding": "gzip"}),
    Hostile("gzip that is not", b"\x1f\x8b\x08\x00garbage", "$", 400, headers={**JSON, "Content-Encoding": "gzip"}),
    Hostile(
        "truncated gzip",
        gzip.compress(orjson.dumps(track()))[:-12],
        "$",
        400,
        headers={**JSON, "Content-Encoding": "gzip"},
    ),
    Hostile("Latin-1 bytes as an event", '{"type":"track","name":"kjøpt"}'.encode("latin-1"), "$", 400),
    Hostile("Latin-1 bytes to identify", '{"first_name":"Bjørn"}'.encode("latin-1"), "$", 400, url="/v1/contacts"),
    Hostile("UTF-16 to identify", '{"email":"r1@example.com"}'.encode("utf-16"), "$", 400, url="/v1/contacts"),
    Hostile(
        "a byte order mark", b"\xef\xbb\xbf" + orjson.dumps({"email": "r1@example.com"}), "$", 400, url="/v1/contacts"
    ),
    Hostile("a lone surrogate in an event", raw(track(name="S"), S='"\\ud800"'), "$", 400),
    Hostile(
        "a lone surrogate to identify", raw({"first_name": "S"}, S='"\\ud800"'), "$.first_name", url="/v1/contacts"
    ),
    Hostile(
        "a lone surrogate in an attribute key",
        raw({"attributes": {"K": 1}}, K='"\\udfff"'),
        "$.attributes.",
        url="/v1/contacts",
    ),
    Hostile("JSON cut short", b'{"type":"track","name":', "$", 400),
    Hostile("JSON cut short to identify", b'{"email":', "$", 400, url="/v1/contacts"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_hostile_request_is_refused_naming_the_field(shop: httpx.AsyncClient, case: Hostile) -> None:
    content = case.body if isinstance(case.body, bytes) or case.body is None else orjson.dumps(case.body)
    request = shop.build_request(case.method, case.url, content=content)
    for name in ("content-type", "content-encoding"):
        request.headers.pop(name, None)
    for name, value in case.headers.items():  # an empty value takes the shop's header away
        if value:
            request.headers[name] = value
        else:
            request.headers.pop(name, None)
    response = await shop.send(request)

    assert response.status_code == case.status, response.text
    answer = response.json()
    errors = answer["rejected"][0]["errors"] if "rejected" in answer else answer["errors"]
    paths = [error["path"] for error in errors]
    assert any(path.startswith(case.path) for path in paths), paths
    assert all(error["reason"] for error in errors)


async def test_after_the_hostile_requests_a_sign_up_is_still_accepted(shop: httpx.AsyncClient) -> None:
    email = f"after-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "type": "signup",
        "contact": {"email": email, "first_name": "Kari", "timezone": "Europe/Oslo"},
        "source": "newsletter-form",
        "consent": {"marketing": True, "topics": ["newsletter"]},
    }
    assert (await shop.post("/v1/events", json=body)).status_code == 202
    assert (await shop.get("/readyz")).status_code == 200


async def test_what_real_shops_send_still_passes(shop: httpx.AsyncClient) -> None:
    """Emails as contact ids, event names with spaces or Norwegian letters, multi-line free text, gzip."""
    bodies = [
        track(contact={"contact_id": "kari.nordmann+news@example.com"}, name="Order Completed"),
        track(name="kjøpt", properties={"note": "line one\nline two\tindented", "n": 2**63 - 1, "x": -1.5e300}),
        track(occurred_at="2200-12-31T23:59:59Z", contact={"email": "r1@example.com", "timezone": "UTC"}),
        {
            "contact": {"email": "r1@example.com"},
            "type": "purchase",
            "order_id": "#1042",
            "revenue": "1299.00",
            "currency": "NOK",
            "items": [{"product_id": "shoe-42", "name": 'Sokk ÆØÅ "ull"', "quantity": 2, "price": "10.5"}],
        },
    ]
    for body in bodies:
        response = await shop.post("/v1/events", json=body)
        assert response.status_code == 202, response.text
    packed = gzip.compress(orjson.dumps({"events": bodies}))
    batch = await shop.post("/v1/events/batch", content=packed, headers={**JSON, "Content-Encoding": "gzip"})
    assert batch.status_code == 202, batch.text
    assert batch.json()["accepted_indexes"] == [0, 1, 2, 3]
    identified = await shop.post(
        "/v1/contacts",
        content=gzip.compress(orjson.dumps({"email": "r1@example.com"})),
        headers={"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"},
    )
    assert identified.status_code == 202, identified.text
    topic = await shop.put("/v1/topics/weekly", json={"name": "Weekly", "description": "Mondays.\nShort."})
    assert topic.status_code == 200, topic.text


async def test_the_api_docs_list_every_answer(shop: httpx.AsyncClient) -> None:
    spec = (await shop.get("/openapi.json")).json()
    answers = {
        (path, method): set(operation["responses"])
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }
    every_body = {"202", "400", "401", "403", "413", "415", "422", "503"}
    assert every_body <= answers[("/v1/events", "post")]
    assert every_body <= answers[("/v1/events/batch", "post")]
    assert every_body <= answers[("/v1/contacts", "post")]
    assert {"200", "401", "404", "422"} <= answers[("/v1/contacts/{contact_id}", "get")]
    assert {"200", "400", "404", "415", "422", "503"} <= answers[("/v1/contacts/{contact_id}/subscriptions", "put")]
    assert {"200", "400", "413", "415", "422"} <= answers[("/v1/topics/{topic}", "put")]
    problem = spec["components"]["schemas"]["ErrorAnswer"]
    assert set(problem["required"]) == {"error", "errors"}
