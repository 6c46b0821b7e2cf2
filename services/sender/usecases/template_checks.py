"""Before a template is published: every variable it uses must be one the flows sending it provide.

The flows are read as published (their current versions); a template no flow sends yet is checked
for what is wrong whatever the flow (`contact.company` for `contact.attributes.company`).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import yaml

from shared.message_variables import ANYTHING, provided_by, template_problems
from shared.published import current_flow_sources, known_attributes


def _sends(flow: Any, template_id: str) -> bool:
    steps = flow.get("steps") if isinstance(flow, dict) else None
    return any(
        isinstance(s, dict) and s.get("type") == "send" and s.get("template") == template_id for s in steps or ()
    )


async def variable_problems(pool: asyncpg.Pool, workspace_id: str, template_id: str, source: str) -> list[str]:
    """`<id>.yaml:<line>: <part>: <reason>` for each variable the template uses that a flow sending it lacks."""
    found = {(line, reason) for line, reason in template_problems(source, ANYTHING)}
    attributes: frozenset[str] | None = None
    checked_attributes = False
    for flow_id, flow_source in await current_flow_sources(pool, workspace_id):
        flow = yaml.safe_load(flow_source)
        if not _sends(flow, template_id):
            continue
        if not checked_attributes:
            attributes, checked_attributes = await known_attributes(pool, workspace_id), True
        found |= {
            (line, f"{reason} (sent by flow {flow_id})")
            for line, reason in template_problems(source, provided_by(flow, attributes))
        }
    return [f"{template_id}.yaml:{line}: {reason}" for line, reason in sorted(found)]
