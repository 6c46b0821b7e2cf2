"""Hide Liquid from MJML, css-inline and inscriptis so they run once per template version.

Each Liquid tag is swapped for a placeholder, the body is compiled, and the tags are put
back. Comments survive HTML parsers in place (even inside tables); plain words survive
text extraction. If a placeholder is lost, duplicated or reordered, the caller falls back
to the slow but always-correct path of rendering Liquid first for every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Protected",
    "between_blocks",
    "comments_to_words",
    "protect",
    "restore_comments",
    "restore_words",
    "segments",
]

_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
_COMMENT = re.compile(r"<!--dlq:(\d+)-->")
_COMMENT_SPLIT = re.compile(r"<!--dlq:\d+-->")
_WORD = re.compile(r"Zdlq(\d+)qZ")


@dataclass(frozen=True, slots=True)
class Protected:
    """A body with its Liquid tags swapped out, and the tags in source order."""

    text: str
    tags: tuple[str, ...]


def protect(source: str) -> Protected:
    tags: list[str] = []

    def swap(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"<!--dlq:{len(tags) - 1}-->"

    return Protected(_LIQUID.sub(swap, source), tuple(tags))


def comments_to_words(html: str) -> str:
    """Placeholders as words, so text extraction keeps them where comments would vanish."""
    return _COMMENT.sub(lambda m: f"Zdlq{m.group(1)}qZ", html)


def segments(html: str) -> list[str]:
    """The stretches of HTML between placeholders."""
    return _COMMENT_SPLIT.split(html)


def _blocks_before(tags: tuple[str, ...]) -> list[int]:
    """For each tag, how many block tags (``{% %}``) come before it in the source."""
    counts, seen = [], 0
    for tag in tags:
        counts.append(seen)
        seen += not tag.startswith("{{")
    return counts


def _restore(pattern: re.Pattern[str], compiled: str, tags: tuple[str, ...], *, loose_output: bool) -> str | None:
    found = [int(m.group(1)) for m in pattern.finditer(compiled)]
    if any(i >= len(tags) for i in found):
        return None
    if not loose_output:
        return pattern.sub(lambda m: tags[int(m.group(1))], compiled) if found == list(range(len(tags))) else None
    # Text extraction may drop an output tag (an attribute) or swap two (``[label](url)``);
    # harmless while each stays between the same block tags. Block tags must all stay in order.
    blocks = [i for i in range(len(tags)) if not tags[i].startswith("{{")]
    if [i for i in found if not tags[i].startswith("{{")] != blocks:
        return None
    before, seen = _blocks_before(tags), 0
    for i in found:
        if tags[i].startswith("{{"):
            if before[i] != seen:
                return None
        else:
            seen += 1
    return pattern.sub(lambda m: tags[int(m.group(1))], compiled)


def restore_comments(compiled: str, tags: tuple[str, ...]) -> str | None:
    """Liquid source of a compiled HTML body, or None if the compiler moved any tag."""
    return _restore(_COMMENT, compiled, tags, loose_output=False)


def restore_words(text: str, tags: tuple[str, ...]) -> str | None:
    """Liquid source of the extracted text, or None if a block tag went missing."""
    return _restore(_WORD, text, tags, loose_output=True)


def between_blocks(compiled: str, tags: tuple[str, ...], *, words: bool) -> list[str]:
    """Liquid source of each stretch between two block tags, output tags put back: one more stretch than
    block tags. Only for placeholders that `restore_comments` or `restore_words` accepted."""
    stretches: list[str] = []
    current: list[str] = []
    start = 0
    for match in (_WORD if words else _COMMENT).finditer(compiled):
        tag = tags[int(match.group(1))]
        current.append(compiled[start : match.start()])
        start = match.end()
        if tag.startswith("{{"):
            current.append(tag)
        else:
            stretches.append("".join(current))
            current = []
    current.append(compiled[start:])
    stretches.append("".join(current))
    return stretches
