"""A template is parsed once per version and language: later messages render from the compiled parts."""

from __future__ import annotations

from datetime import UTC, datetime

import liquid
import pytest
from pydantic import SecretStr

from services.sender.domain.rendering.compile import TemplateCache
from services.sender.domain.rendering.template import Template, load_template
from services.sender.usecases.mail import MailComposer
from shared.settings import SenderSettings
from tests.unit.sender.conftest import make_template

NORWEGIAN = 'locale: en\nvariants:\n  nb:\n    subject: "Hei {{ contact.first_name }}"\n    html: "<p>Hei</p>"\n'


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Liquid source the library is asked to parse."""
    seen: list[str] = []
    original = liquid.Environment.from_string

    def counting(self: liquid.Environment, source: str, *args: object, **kwargs: object) -> object:
        seen.append(source)
        return original(self, source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(liquid.Environment, "from_string", counting)
    return seen


def render(composer: MailComposer, template: Template, name: str) -> str:
    letter = composer.render(
        template, message_id=f"m-{name}", workspace_id="ws-1", contact_id=f"c-{name}",
        profile={"email": f"{name}@example.com", "first_name": name}, variables={}, now=datetime.now(UTC),
    )  # fmt: skip
    return letter.rendered.subject


def composer(cache: TemplateCache | None = None) -> MailComposer:
    settings = SenderSettings(  # type: ignore[call-arg]
        _env_file=None, mail_from="Shop <hello@shop.example>", link_signing_keys=SecretStr("k1:" + "s" * 32)
    )
    return MailComposer(settings, cache)


def test_a_second_message_from_the_same_template_is_not_parsed_again(parses: list[str]) -> None:
    mail = composer()
    template = load_template(make_template("<p>Hi {{ contact.first_name }}</p>"))
    assert render(mail, template, "Kari") == "Hi Kari"
    assert parses
    parses.clear()
    assert render(mail, template, "Ola") == "Hi Ola"
    assert parses == []


def test_each_language_of_a_template_is_compiled_once(parses: list[str]) -> None:
    mail = composer()
    template = load_template(make_template("<p>Hi</p>", extra=NORWEGIAN))
    assert render(mail, template.in_locale("nb"), "Kari") == "Hei Kari"
    parses.clear()
    assert render(mail, template.in_locale("en"), "Ola") == "Hi Ola"
    assert parses, "English is a version of its own"
    parses.clear()
    assert render(mail, template.in_locale("nb-NO"), "Per") == "Hei Per"
    assert render(mail, template.in_locale(None), "Eva") == "Hi Eva"
    assert parses == []


def test_a_changed_template_is_compiled_anew_while_the_same_one_loaded_again_is_not(parses: list[str]) -> None:
    mail = composer()
    assert render(mail, load_template(make_template("<p>Hi</p>")), "Kari") == "Hi Kari"
    parses.clear()
    assert render(mail, load_template(make_template("<p>Hi</p>")), "Ola") == "Hi Ola"
    assert parses == [], "the same content loaded again is the same version"
    changed = make_template("<p>Hi</p>").replace('subject: "Hi', 'subject: "Hello')
    assert render(mail, load_template(changed), "Per") == "Hello Per"
    assert parses, "a new version is parsed, never served from the old one"


def test_the_cache_handed_to_the_composer_is_the_one_it_fills() -> None:
    cache = TemplateCache()
    render(composer(cache), load_template(make_template("<p>Hi</p>")), "Kari")
    assert len(cache) == 1
