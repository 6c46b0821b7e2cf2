"""Language tags and the fallback chain every service uses to pick a text in a reader's language.

A reader's locale is tried from the most to the least specific (`nb-NO` → `nb` → `no`), Norwegian
Bokmål and the `no` macro-language standing in for each other, then a default.
"""

from __future__ import annotations

from collections.abc import Iterable

# Tags that stand in for each other when no text of the first is kept (Bokmål and "Norwegian").
_ALIASES: dict[str, tuple[str, ...]] = {"nb": ("no",), "no": ("nb",), "nn": ("no", "nb")}


def normal_tag(tag: str) -> str:
    """`nb_NO`, `NB-no` → `nb-no`: how kept tags and readers' locales are compared."""
    return tag.strip().replace("_", "-").lower()


def locale_chain(tag: str | None) -> list[str]:
    """The tags to try for a reader, most specific first: `nb-NO` → [`nb-no`, `nb`, `no`]."""
    if not tag or not tag.strip():
        return []
    parts = normal_tag(tag).split("-")
    chain = ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]
    chain += [alias for alias in _ALIASES.get(parts[0], ()) if alias not in chain]
    return chain


def choose_locale(reader_locale: str | None, kept: Iterable[str], default: str | None = None) -> str | None:
    """Which of the `kept` tags (as kept) a reader gets, or None: `default` is tried after the reader's chain."""
    by_tag = {normal_tag(key): key for key in kept}
    for candidate in [*locale_chain(reader_locale), *locale_chain(default)]:
        if candidate in by_tag:
            return by_tag[candidate]
    return None
