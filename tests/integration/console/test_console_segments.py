"""Segments in the console: a condition's count previewed before saving (the API's preview), saved by an editor
into the audit log and backfilled; a viewer previews but cannot save; bad input is named and nothing is saved;
another workspace's segment is not there."""

from __future__ import annotations

import re
import uuid

from tests.integration.console.conftest import PEOPLE, ConsoleShop, Visitor
from tests.integration.scheduler.conftest import new_workspace
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack

ADAS = 'contact.first_name.startsWith("Ada")'


async def test_an_editor_previews_the_count_then_saves_and_the_backfill_fills_it(
    console_shop: ConsoleShop, visitor: Visitor
) -> None:
    api, segment_id = console_shop.system.scheduler, f"adas-{uuid.uuid4().hex[:6]}"
    await visitor.sign_in(*console_shop.passwords["editor"])
    form = {"csrf": await visitor.csrf("/console/segments/new"), "id": segment_id, "name": "Adas", "condition": ADAS}

    previewed = await visitor.post("/console/segments/preview", form)
    assert previewed.status_code == 200
    counted = re.search(r'data-metric="preview">Holds for <strong>(\d+)</strong> of (\d+) contacts', previewed.text)
    assert counted, previewed.text[-2000:]
    by_api = (await api.post("/v1/segments/preview", json={"id": segment_id, "name": "Adas", "condition": ADAS})).json()
    assert (int(counted[1]), int(counted[2])) == (by_api["members"], by_api["contacts"]) and by_api["members"] >= PEOPLE
    assert (await api.get(f"/v1/segments/{segment_id}")).status_code == 404  # a preview saves nothing

    saved = await visitor.post("/console/segments", form)
    assert saved.status_code == 303 and saved.headers["location"] == f"/console/segments/{segment_id}?done=saved"

    async def filled() -> str | None:
        page = (await visitor.get(f"/console/segments/{segment_id}")).text
        return page if f'data-metric="members">{by_api["members"]}<' in page else None

    page = await eventually(filled, timeout=30, what="the backfill to fill the saved segment")
    assert "contacts judged" in page and ADAS.replace('"', "&#34;") in page
    # Membership over time: today's entries are the backfill's, and the members at today's end are the count.
    today = re.search(r'<tr data-day="[-0-9]+">.*?</tr>', page, re.S)
    assert today, page[-3000:]
    assert f'data-metric="entered">{by_api["members"]}<' in today[0]
    assert f'data-metric="members">{by_api["members"]}<' in today[0]
    assert (await api.get(f"/v1/segments/{segment_id}")).json()["condition"] == ADAS
    audit = (await visitor.get("/console/audit")).text
    assert 'data-audit="segment.saved"' in audit and segment_id in audit


async def test_a_viewer_previews_but_cannot_save(console_shop: ConsoleShop, visitor: Visitor) -> None:
    segment_id = f"viewer-{uuid.uuid4().hex[:6]}"
    await visitor.sign_in(*console_shop.passwords["viewer"])
    page = (await visitor.get("/console/segments/new")).text
    assert "Preview the count" in page and "Save the segment" not in page
    form = {"csrf": await visitor.csrf("/console/segments/new"), "id": segment_id, "name": "V", "condition": ADAS}
    assert (await visitor.post("/console/segments/preview", form)).status_code == 200
    refused = await visitor.post("/console/segments", form)
    assert refused.status_code == 403 and "may not save a segment" in refused.text
    assert (await console_shop.system.scheduler.get(f"/v1/segments/{segment_id}")).status_code == 404


async def test_hostile_input_is_named_escaped_and_saves_nothing(console_shop: ConsoleShop, visitor: Visitor) -> None:
    await visitor.sign_in(*console_shop.passwords["editor"])
    csrf = await visitor.csrf("/console/segments/new")
    bad = {"csrf": csrf, "id": "<script>x</script>", "name": "", "condition": "contact.first_name.startsWith("}
    answer = await visitor.post("/console/segments", bad)
    assert answer.status_code == 422
    for field in ("id", "name", "condition"):
        assert f'data-error="{field}"' in answer.text
    assert "<script>x</script>" not in answer.text and "&lt;script&gt;x&lt;/script&gt;" in answer.text
    assert (await visitor.post("/console/segments/preview", bad)).status_code == 422
    forged = await visitor.post("/console/segments", {**bad, "csrf": "from-another-site", "id": "forged"})
    assert forged.status_code == 403
    assert (await console_shop.system.scheduler.get("/v1/segments/forged")).status_code == 404


async def test_another_workspaces_segment_is_not_found_nor_listed(
    console_shop: ConsoleShop, visitor: Visitor, stack: RealStack
) -> None:
    _, other_key = await new_workspace(stack)
    theirs = {"id": "their-vips", "name": "Their VIPs", "condition": "true"}
    api = console_shop.system.scheduler
    assert (await api.post("/v1/segments", json=theirs, headers={"X-Api-Key": other_key})).status_code == 201
    await visitor.sign_in(*console_shop.passwords["admin"])
    assert (await visitor.get("/console/segments/their-vips")).status_code == 404
    assert "their-vips" not in (await visitor.get("/console/segments")).text
