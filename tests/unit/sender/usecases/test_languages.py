"""A template's language for a reader is made once per version and locale, so it compiles and hashes once."""

from __future__ import annotations

from services.sender.domain.rendering.compile import TemplateCache
from services.sender.domain.rendering.template import load_template
from services.sender.usecases.channels.channel import Languages
from tests.unit.sender.conftest import make_template

SWEDISH = 'variants:\n  sv:\n    subject: "Hej {{ contact.first_name }}"\n'


def test_readers_of_one_locale_share_one_language_and_its_compiled_form() -> None:
    template = load_template(make_template("<p>Hi</p>", extra=SWEDISH))
    languages, cache = Languages(), TemplateCache()
    first, second = languages.of(template, "sv-SE", None), languages.of(template, "sv-SE", None)
    assert first is second and first.subject == "Hej {{ contact.first_name }}"
    assert cache.get(first) is cache.get(second)
    assert languages.of(template, "en", None).subject != first.subject


def test_a_new_version_gets_its_own_language() -> None:
    languages = Languages()
    old = load_template(make_template("<p>Hi</p>", extra=SWEDISH))
    new = load_template(make_template("<p>Hi</p>", extra=SWEDISH.replace("Hej", "Hallå")))
    assert languages.of(old, "sv", None).subject.startswith("Hej")
    assert languages.of(new, "sv", None).subject.startswith("Hallå")


def test_a_template_without_variants_is_its_own_language() -> None:
    template = load_template(make_template("<p>Hi</p>"))
    assert Languages().of(template, "sv", "nb") is template
