"""Notify payloads: Liquid per contact, JSON structure kept, the same sandbox as templates."""

from __future__ import annotations

import pytest

from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.rendering.payload import render_payload

SCOPE = {"contact": {"first_name": "Ola", "attributes": {"company": "Fjord AS"}}, "workspace": {"id": "w"}}


def test_strings_are_rendered_and_other_values_pass_through() -> None:
    payload = {
        "task": "Call {{ contact.first_name }} at {{ contact.attributes.company }}",
        "priority": 2,
        "tags": ["lead", "{{ workspace.id }}"],
        "due": None,
    }
    assert render_payload(payload, SCOPE) == {
        "task": "Call Ola at Fjord AS",
        "priority": 2,
        "tags": ["lead", "w"],
        "due": None,
    }


def test_json_is_not_html_escaped() -> None:
    scope = {"contact": {"first_name": "Ada & <Bob>"}}
    assert render_payload({"name": "{{ contact.first_name }}"}, scope) == {"name": "Ada & <Bob>"}


def test_a_payload_cannot_reach_python_internals() -> None:
    with pytest.raises(MissingData, match=r"contact\.__class__ is missing"):
        render_payload({"x": "{{ contact.__class__ }}{{ contact.first_name.__class__.__mro__ }}"}, SCOPE)
    rendered = render_payload({"x": "{{ contact.__class__ | default: '' }}"}, SCOPE)
    assert rendered == {"x": ""}


def test_a_missing_value_skips_the_webhook_naming_the_key_and_variable() -> None:
    with pytest.raises(MissingData) as missing:
        render_payload({"task": {"company": "{{ contact.attributes.sales_owner }}"}}, SCOPE)
    assert (
        missing.value.detail == "missing data: contact.attributes.sales_owner (template webhook, payload.task.company)"
    )


def test_a_broken_value_names_its_key() -> None:
    with pytest.raises(RenderError, match=r"payload\.task"):
        render_payload({"task": "{% if %}"}, SCOPE)
