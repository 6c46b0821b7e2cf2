"""An email too short to carry the open pixel: its status says so, and the report counts its opens as unknown.

A short message with a picture carries the pixel; one without does not (SpamAssassin would call it image
only). The flow report keeps those apart so its open rate is over the emails that could be seen opened.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dripline import report_cli
from shared.contract.topics import MESSAGES_STATUS
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack
from tests.support.system import running_system
from tests.support.topics import read_topic

FLOW_ID = "note-then-picture"
FLOW = f"""
id: {FLOW_ID}
name: A short note, then a picture
category: marketing
triggers: [{{type: event, event: signup}}]
steps:
  - {{id: note, type: send, template: short-note}}
  - {{id: picture, type: send, template: short-picture}}
  - {{id: done, type: exit}}
"""
SHORT_NOTE = """
id: short-note
category: marketing
subject: "A short note"
html: "<html><body><p>Hi {{ contact.first_name | default: 'there' }}, just a note.</p></body></html>"
text: "Hi {{ contact.first_name | default: 'there' }}, just a note."
"""
SHORT_PICTURE = """
id: short-picture
category: marketing
subject: "A picture"
html: >-
  <html><body><p>Hi {{ contact.first_name | default: 'there' }}, our new jacket:</p>
  <img src="https://shop.example/jacket.jpg" alt="The new jacket" width="300"></body></html>
text: "Hi {{ contact.first_name | default: 'there' }}, our new jacket: https://shop.example/jacket"
"""
READERS = 3


async def test_opens_of_an_email_without_the_pixel_are_reported_unknown(
    stack: RealStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_system(stack, "opens") as system:
        for template in (SHORT_NOTE, SHORT_PICTURE):
            await system.sender.runtime.templates.publish(system.workspace_id, template)
        await publish(system.scheduler, FLOW)
        emails = [f"reader{n}.{uuid.uuid4().hex[:6]}@example.com" for n in range(READERS)]
        for n, email in enumerate(emails):
            body = {
                "type": "signup",
                "contact": {"email": email, "first_name": f"R{n}"},
                "consent": {"marketing": True},
            }
            assert (await system.ingest.post("/v1/events", json=body)).status_code == 202

        async def both_delivered() -> dict[str, Any] | None:
            answer = await system.scheduler.get(f"/v1/reports/flows/{FLOW_ID}")
            if answer.status_code != 200:
                return None
            steps = {row["step_id"]: row for row in answer.json()["steps"]}
            delivered = [steps.get(step, {}).get("counts", {}).get("delivered") for step in ("note", "picture")]
            return steps if delivered == [READERS, READERS] else None

        steps = await eventually(both_delivered, timeout=40, what="both emails delivered to every reader")

        # What the readers got: the note has no pixel, the picture has one.
        mails = [mail for mail in system.sender.inbox.mails if set(mail.rcpt_tos) & set(emails)]
        notes = [mail for mail in mails if mail.subject == "A short note"]
        pictures = [mail for mail in mails if mail.subject == "A picture"]
        assert len(notes) == len(pictures) == READERS
        assert all("/o/" not in (mail.part("html") or "") for mail in notes)
        assert all("/o/" in (mail.part("html") or "") for mail in pictures)

        # What analysts read on the status topic, and what the report makes of it.
        sent = await read_topic(
            system.stack, MESSAGES_STATUS, count=2 * READERS,
            where=lambda r: r.get("workspace_id") == system.workspace_id and r.get("status") == "sent",
        )  # fmt: skip
        tracked = {(record["step_id"], record["opens_tracked"]) for record in sent}
        assert tracked == {("note", False), ("picture", True)}
        assert steps["note"]["counts"]["opens_unknown"] == READERS and steps["note"]["open_rate"] == 0.0
        assert steps["picture"]["counts"]["opens_unknown"] == 0

        # The dashboard shows them and says what they are (the client sends the workspace's key).
        page = (await system.scheduler.get(f"/dashboard/flows/{FLOW_ID}")).text
        assert f'data-metric="opens_unknown" data-step="note">{READERS}<' in page
        assert 'data-metric="opens_unknown" data-step="picture">0<' in page
        assert "Opens unknown: delivered without the open pixel" in page

        # And so does `dripline report flow`, in its funnel and per send day.
        monkeypatch.setenv("DATABASE_URL", stack.database_url)
        monkeypatch.setattr(report_cli, "console", Console(width=200))
        args = ["flow", FLOW_ID, "--workspace", system.workspace_id]
        printed = await asyncio.to_thread(CliRunner().invoke, report_cli.report_app, args)
        assert printed.exit_code == 0, printed.output
        note = next(line for line in printed.output.splitlines() if " note " in line)
        cells = [cell.strip() for cell in note.split("│")[1:6]]
        assert cells == ["note", str(READERS), str(READERS), "0", str(READERS)]  # reached, delivered, opened, unknown
        assert "opens unknown: delivered without the open pixel" in printed.output
