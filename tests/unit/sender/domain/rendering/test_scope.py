"""What a message's Liquid sees of its workspace: the workspace's own name, and who it is sent by."""

from __future__ import annotations

from services.sender.domain.rendering.scope import message_scope
from tests.unit.sender.conftest import SENDER


def test_workspace_name_is_the_workspaces_own_name_beside_the_sender() -> None:
    scope = message_scope(
        contact_id="c-1", profile={}, workspace_id="shop-one", sender=SENDER, workspace_name="Fjellsport"
    )
    assert scope["workspace"]["name"] == "Fjellsport"
    assert scope["workspace"]["sender"] == {"name": SENDER.name, "email": SENDER.address}


def test_a_workspace_without_a_name_reads_as_its_sender() -> None:
    scope = message_scope(contact_id="c-1", profile={}, workspace_id="shop-one", sender=SENDER)
    assert scope["workspace"]["name"] == SENDER.name
