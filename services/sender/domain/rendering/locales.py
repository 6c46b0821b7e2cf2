"""Templates in several languages: which variant a reader gets, by their locale.

A template's own fields are its default language (the workspace's default); `variants` holds the
other languages, each giving the parts it translates. The variant is found along the reader's locale
chain (`shared/languages.py`: `nb-NO` → `nb` → `no`); when none fits, the template's own fields answer.
"""

from __future__ import annotations

from typing import Annotated

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, Field

from shared.languages import choose_locale, locale_chain, normal_tag

__all__ = ["KnownLocale", "choose_locale", "known_locale", "locale_chain", "normal_tag"]


def known_locale(tag: str) -> bool:
    try:
        Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True


def _checked(tag: str) -> str:
    if not known_locale(tag):
        raise ValueError(f"unknown locale {tag!r}")
    return tag


# A language tag Babel knows (`nb`, `sv-SE`), as a request field: anything else is refused naming the field.
KnownLocale = Annotated[str, Field(max_length=35), AfterValidator(_checked)]
