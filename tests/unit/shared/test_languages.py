"""Language tags: the fallback chain from a reader's locale to the texts kept."""

from __future__ import annotations

import pytest

from shared.languages import choose_locale, locale_chain


@pytest.mark.parametrize(
    ("tag", "chain"),
    [
        ("nb-NO", ["nb-no", "nb", "no"]),
        ("nb_NO", ["nb-no", "nb", "no"]),
        ("no", ["no", "nb"]),
        ("nn", ["nn", "no", "nb"]),
        ("sv-SE", ["sv-se", "sv"]),
        ("de", ["de"]),
        (None, []),
        ("  ", []),
    ],
)
def test_a_locale_is_tried_from_the_most_to_the_least_specific(tag: str | None, chain: list[str]) -> None:
    assert locale_chain(tag) == chain


def test_the_reader_chain_then_the_workspace_default_then_the_template_itself() -> None:
    kept = ["nb", "sv", "en-GB"]
    assert choose_locale("nb-NO", kept) == "nb"
    assert choose_locale("no", kept) == "nb"
    assert choose_locale("SV", kept) == "sv"
    assert choose_locale("en_gb", kept) == "en-GB"
    assert choose_locale("de-DE", kept) is None
    assert choose_locale("de-DE", kept, default="sv") == "sv"
    assert choose_locale(None, kept) is None
