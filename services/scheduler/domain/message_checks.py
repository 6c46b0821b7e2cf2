"""Publish-time checks of what a flow's messages print: every variable a template or notify payload uses
must be one the flow provides (its trigger event's fields, the wait_for events, the workspace's known
attributes) or carry a `| default:`; conditions spell the contact's fields the same way. Each problem
names its file, line and variable.

Run by `dripline flows validate --templates` and when a flow is published, not when a stored version
is loaded: a version published before these checks keeps running.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import replace

from shared.message_variables import provided_by, template_problems, value_problems

from .contact import PROFILE_FIELDS
from .facts import FACT_NAMES
from .flow import Flow
from .references import expressions_of
from .steps import NotifyStep, SendStep
from .validation import FlowProblem
from .yaml_lines import Path, YamlProblem, line_of, load_with_lines

# template id -> (the file (or name) to report, the template file's YAML text)
TemplateSources = Mapping[str, tuple[str, str]]
# What `contact` holds in a condition (see `ContactView.as_expression_value`).
_CONDITION_CONTACT = frozenset(
    {*PROFILE_FIELDS, "id", "attributes", "tags", "segments", "time_zone", "status", "facts"}
)
_FACT = re.compile(r"\bcontact\.facts\.([A-Za-z_][A-Za-z0-9_]*)")
_CONTACT_FIELD = re.compile(r"\bcontact\.([A-Za-z_][A-Za-z0-9_]*)")


def _condition_problems(flow: Flow) -> list[tuple[Path, str]]:
    """`contact.company` in a condition: always false (the contact has no such field), so refused at publish
    with the spelling that works, the same as in templates and payloads."""
    found = []
    for path, source in expressions_of(flow):
        for name in sorted(set(_CONTACT_FIELD.findall(source)) - _CONDITION_CONTACT):
            found.append((path, f"contact.{name} is not a field of the contact; custom attributes are "
                                f"contact.attributes.{name}"))  # fmt: skip
        for name in sorted(set(_FACT.findall(source)) - set(FACT_NAMES)):
            found.append((path, f"contact.facts.{name} is not a customer fact; the facts are {', '.join(FACT_NAMES)}"))
    return found


def message_problems(
    flow: Flow,
    text: str,
    file: str,
    templates: TemplateSources,
    known_attributes: Collection[str] | None = None,
) -> list[FlowProblem]:
    """Variables the flow's notify payloads and its send steps' templates (those in `templates`) use but
    the flow cannot provide. `known_attributes` None leaves `contact.attributes.*` unchecked."""
    try:
        data, lines = load_with_lines(text)
    except YamlProblem:
        return []  # `check_flow` reports it
    provided = provided_by(data, known_attributes)
    problems = [FlowProblem(file, line_of(lines, path), reason) for path, reason in _condition_problems(flow)]
    for index, step in enumerate(flow.steps):
        if isinstance(step, NotifyStep):
            for key, value in step.payload.items():
                line = line_of(lines, ("steps", index, "payload", key))
                problems += [
                    FlowProblem(file, line, f"notify step '{step.id}', payload.{key}: {reason}")
                    for reason in value_problems(value, provided)
                ]
        elif isinstance(step, SendStep) and step.template in templates:
            template_file, source = templates[step.template]
            problems += [
                FlowProblem(template_file, line, f"{reason} (sent by step '{step.id}' of flow {flow.id})")
                for line, reason in template_problems(source, replace(provided, coupon=step.coupon is not None))
            ]
    return sorted(set(problems))
