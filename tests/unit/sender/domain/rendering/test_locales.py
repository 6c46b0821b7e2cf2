"""Templates in several languages: the variant a reader gets, and variants refused."""

from __future__ import annotations

import pytest

from services.sender.domain.rendering.errors import TemplateError
from services.sender.domain.rendering.template import load_template

SOURCE = """
id: hello
category: marketing
locale: en
subject: "Welcome"
preheader: "Start here"
html: "<p>Hi</p>"
text: "Hi"
variants:
  nb:
    subject: "Velkommen"
    html: "<p>Hei</p>"
  sv:
    subject: "Välkommen"
    preheader: "Börja här"
    mjml: "<mjml><mj-body></mj-body></mjml>"
"""


def test_a_swedish_reader_gets_the_swedish_parts_and_the_rest_from_the_template() -> None:
    template = load_template(SOURCE)
    swedish = template.in_locale("sv-SE")
    assert (swedish.subject, swedish.preheader, swedish.locale) == ("Välkommen", "Börja här", "sv")
    assert swedish.mjml is not None and swedish.html is None  # its body replaces the template's
    assert swedish.text == "Hi" and swedish.variants == {}
    norwegian = template.in_locale("nb-NO")
    assert (norwegian.subject, norwegian.preheader, norwegian.html) == ("Velkommen", "Start here", "<p>Hei</p>")
    assert norwegian.version != swedish.version != template.version  # each compiles apart


def test_a_german_reader_gets_the_template_itself() -> None:
    german = load_template(SOURCE).in_locale("de-DE")
    assert (german.subject, german.html, german.locale, german.variants) == ("Welcome", "<p>Hi</p>", "en", {})


def test_each_language_lists_the_template_and_every_variant() -> None:
    subjects = [t.subject for t in load_template(SOURCE).each_language()]
    assert subjects == ["Welcome", "Velkommen", "Välkommen"]


def test_a_variant_of_an_unknown_locale_or_with_two_bodies_is_refused() -> None:
    with pytest.raises(TemplateError) as unknown:
        load_template(SOURCE.replace("  sv:\n", "  xx-nonsense:\n"))
    assert [p.where for p in unknown.value.problems] == ["variants"]
    with pytest.raises(TemplateError) as two:
        load_template(SOURCE.replace('    html: "<p>Hei</p>"', '    html: "<p>Hei</p>"\n    mjml: "<mjml/>"'))
    assert two.value.problems[0].where == "variants.nb"


@pytest.mark.parametrize(
    ("reader", "default", "subject"),
    [
        ("de-DE", "nb", "Velkommen"),  # no German variant: the workspace's default
        ("en-GB", "nb", "Welcome"),  # the template's own language is the reader's: never the default
        ("sv", "nb", "Välkommen"),  # the reader's own variant comes before the default
        (None, "sv", "Välkommen"),
        ("de", None, "Welcome"),  # no default: the template's own fields
        ("de", "fr", "Welcome"),  # a default the template lacks: the same
    ],
)
def test_a_reader_without_a_variant_gets_the_workspace_default(
    reader: str | None, default: str | None, subject: str
) -> None:
    assert load_template(SOURCE).in_locale(reader, default).subject == subject
