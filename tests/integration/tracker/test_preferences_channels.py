"""The preferences page per channel: a person sees and changes each channel's consent (email, SMS, post,
web tracking), every change in the ledger; each topic says how often it writes, in the person's language."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from shared.tokens import KeyRing, TokenKind
from tests.integration.tracker.conftest import Person
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


async def _execute(stack: RealStack, statement: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        return list(await connection.fetch(statement, *args))
    finally:
        await connection.close()


async def test_a_person_grants_sms_and_withdraws_email_on_the_preferences_page(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    await _execute(
        stack,
        "INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) "
        "VALUES ($1, $2, '*', 'subscribed')",
        person.workspace_id,
        person.contact_id,
    )
    path = f"/p/{keys.sign(person.claims(TokenKind.PREFS))}"
    page = (await tracker.get(path)).text
    assert '<input type="checkbox" name="channel" value="email" checked> Email' in page  # a plain consent
    assert '<input type="checkbox" name="channel" value="sms"> SMS' in page
    assert 'value="post"> Post' in page and 'value="web"> Web tracking' in page

    untouched = await tracker.post(path, data={"action": "topics"})  # an older form, without the channels
    assert '<input type="checkbox" name="channel" value="email" checked> Email' in untouched.text
    saved = await tracker.post(path, data={"action": "topics", "channels": "shown", "channel": ["sms"]})
    assert saved.status_code == 200 and "Your choices are saved." in saved.text
    assert '<input type="checkbox" name="channel" value="sms" checked> SMS' in saved.text
    assert '<input type="checkbox" name="channel" value="email"> Email' in saved.text

    rows = await _execute(
        stack,
        "SELECT topic, status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2 ORDER BY topic",
        person.workspace_id,
        person.contact_id,
    )
    assert [tuple(r) for r in rows] == [
        ("*", "subscribed"),
        ("channel:email", "unsubscribed"),
        ("channel:sms", "subscribed"),
    ]
    ledger = await _execute(
        stack,
        "SELECT action, scope, source FROM consent_ledger WHERE workspace_id = $1 AND contact_id = $2 ORDER BY scope",
        person.workspace_id,
        person.contact_id,
    )
    assert [tuple(r) for r in ledger] == [
        ("withdraw", "channel:email", "preferences"),
        ("grant", "channel:sms", "preferences"),
    ]


async def test_each_topic_says_how_often_in_the_persons_language(
    tracker: httpx.AsyncClient, stack: RealStack, keys: KeyRing, person: Person
) -> None:
    workspace, topic = person.workspace_id, f"t-{person.contact_id}"
    promise = {"text": {"en": "One letter a month", "nb": "Ett brev i måneden"}, "messages": 1, "days": 30}
    await _execute(
        stack,
        "INSERT INTO subscription_topics (workspace_id, topic, name, promise) VALUES ($1, $2, 'Letters', $3::jsonb)",
        workspace,
        topic,
        json.dumps(promise),
    )
    await _execute(
        stack,
        'UPDATE contacts SET profile = profile || \'{"locale": "nb-NO"}\' WHERE workspace_id = $1 AND contact_id = $2',
        workspace,
        person.contact_id,
    )
    try:
        page = (await tracker.get(f"/p/{keys.sign(person.claims(TokenKind.PREFS))}")).text
    finally:
        await _execute(
            stack, "DELETE FROM subscription_topics WHERE workspace_id = $1 AND topic = $2", workspace, topic
        )
    assert f'value="{topic}"> Letters <small class="promise">(Ett brev i måneden)</small>' in page
