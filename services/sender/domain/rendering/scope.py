"""What a message's Liquid sees, the same for an email, a text message and a webhook payload.

- `contact`: the profile as the sender reads it at send time, with `id`; standard fields by name
  (`contact.first_name`), custom attributes under `contact.attributes.<name>`, `contact.tags`, and the
  customer facts as of the send under `contact.facts.<name>` (`contact.facts.order_count`).
- `event`, `events.<wait_for step>`, `flow`, `step`: the flow's context, frozen into the request when
  the scheduler decided to send (so a retry renders the same).
- `workspace`: `id`, `name` (the workspace's own name; the sender's name when it has none), `postal_address`
  and `sender` (`name`, `email`).
- whatever the request's `variables` add (a split's `variant`, a test send's sample data).

Values that are absent or null are left out, so printing one is a missing value, never a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.sender.domain.rendering.compliance import Sender

__all__ = ["CONTEXT_NAMES", "message_scope", "present"]

# What a request's `context` may hold; anything else in it is ignored.
CONTEXT_NAMES = ("event", "events", "flow", "step")


def present(value: Any) -> Any:
    """`value` with null entries of its maps left out, at every depth."""
    if type(value) is dict:
        return {key: present(item) for key, item in value.items() if item is not None}
    if type(value) is list:
        return [present(item) for item in value]
    return value


def workspace_of(workspace_id: str, sender: Sender | None, name: str | None = None) -> dict[str, Any]:
    if sender is None:
        return {"id": workspace_id} if name is None else {"id": workspace_id, "name": name}
    return {
        "id": workspace_id,
        "name": name or sender.name,
        "postal_address": sender.postal_address,
        "sender": {"name": sender.name, "email": sender.address},
    }


def message_scope(
    *,
    contact_id: str,
    profile: Mapping[str, Any],
    workspace_id: str,
    sender: Sender | None = None,
    context: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    workspace_name: str | None = None,
) -> dict[str, Any]:
    """The render scope of one message; `variables` win over the flow's context of the same name."""
    contact = present(dict(profile))
    contact["id"] = contact_id
    scope: dict[str, Any] = {"contact": contact, "workspace": workspace_of(workspace_id, sender, workspace_name)}
    if context:
        for name in CONTEXT_NAMES:
            if name in context:
                scope[name] = context[name]
    if variables:
        scope.update(variables)
    return scope
