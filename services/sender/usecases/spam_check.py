"""Render templates as the sender would and score each with SpamAssassin, before any reader gets one: every
language a template holds is scored, its own fields and each variant, as a reader of that language gets it.

A template a flow sends is rendered with a sample event of that flow's trigger (so cart items and links are
there); others with no event data. The reader is a made-up one with a first name and an email address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from services.sender.adapters.spamassassin import score_messages
from services.sender.domain.rendering.template import Template
from services.sender.domain.spam_report import SpamScore
from services.sender.usecases.mail import MailComposer
from shared.ids import new_id
from shared.message_variables import sample_context

__all__ = ["SAMPLE_READER", "TemplateScore", "flow_contexts", "score_templates"]

SAMPLE_READER: Mapping[str, Any] = {"email": "kari.nordmann@example.com", "first_name": "Kari", "locale": "en"}


@dataclass(frozen=True)
class TemplateScore:
    template_id: str
    score: SpamScore
    opens_tracked: bool
    locale: str = "en"  # the language scored: the template's own (`locale`, English when unnamed) or a variant's


def flow_contexts(flow_sources: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Template id -> the sample context of the first flow that sends it."""
    contexts: dict[str, dict[str, Any]] = {}
    for source in flow_sources:
        flow = yaml.safe_load(source)
        if not isinstance(flow, dict):
            continue
        for step in flow.get("steps") or ():
            if isinstance(step, dict) and step.get("type") == "send":
                contexts.setdefault(str(step.get("template")), sample_context(flow))
    return contexts


def score_templates(
    composer: MailComposer,
    templates: Iterable[Template],
    contexts: Mapping[str, dict[str, Any]],
    *,
    workspace_id: str = "check",
    locale: str | None = None,
) -> list[TemplateScore]:
    """One score per template and language, in order (with `locale`, only the language a reader of that locale
    gets). All go to one SpamAssassin run. `RenderError` when one cannot be rendered; `SpamAssassinMissing`."""
    now = datetime.now(UTC)
    rendered = []
    for template in templates:
        languages = [template.in_locale(locale)] if locale else template.each_language()
        for language in languages:
            message_id = new_id()
            reader = {**SAMPLE_READER, "locale": language.locale or SAMPLE_READER["locale"]}
            letter = composer.render(
                language, message_id=message_id, workspace_id=workspace_id, contact_id="spam-check",
                profile=reader, variables={}, now=now, lenient=True, context=contexts.get(template.id),
            )  # fmt: skip
            data = composer.message_bytes(letter, message_id=message_id, now=now)
            rendered.append((letter, str(reader["locale"]), data))
    scores = score_messages([data for _, _, data in rendered])
    return [
        TemplateScore(letter.rendered.template_id, score, letter.rendered.opens_tracked, language)
        for (letter, language, _), score in zip(rendered, scores, strict=True)
    ]
