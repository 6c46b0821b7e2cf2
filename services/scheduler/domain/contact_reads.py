"""What of `contact` a set of conditions reads, so an evaluation hands CEL only that part.

The CEL library converts every value of its context up front, a few microseconds each: for a
condition such as `contact.facts.last_purchase_at < now - duration('120d')` converting the whole
contact costs far more than running it. Judging segments (on a record, by a timer, in a backfill) hands
CEL only the attributes their conditions name; a condition that reads `contact` as a whole
(`contact["facts"]`, `"vip" in contact.attributes`) gets that part whole, so every verdict is the same.
The cost bounds (`expression_cost.py`) measure the part handed over, which is what the library converts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .expression_limits import code_only

# Part name -> the names read inside it (None: the part whole). None overall: the contact whole.
Reads = Mapping[str, frozenset[str] | None]

_CONTACT = re.compile(r"(?<![.\w])contact\b(\s*\.\s*(\w+)\b(?!\s*\()(\s*\.\s*(\w+)\b(?!\s*\())?)?")


@lru_cache(maxsize=512)
def contact_reads(conditions: tuple[str, ...]) -> Reads | None:
    """The parts of `contact` these conditions read; None when one of them reads it in a way not followed here."""
    reads: dict[str, set[str] | None] = {}
    for condition in conditions:
        for match in _CONTACT.finditer(code_only(condition)):
            part, name = match[2], match[4]
            if part is None:
                return None
            if name is None:
                reads[part] = None
            elif part not in reads:
                reads[part] = {name}
            elif (names := reads[part]) is not None:
                names.add(name)
    return {part: None if names is None else frozenset(names) for part, names in reads.items()}


def narrowed(contact: Mapping[str, Any], reads: Reads) -> dict[str, Any]:
    """The contact's value with only what `reads` names (a name it lacks stays missing)."""
    found: dict[str, Any] = {}
    for part, names in reads.items():
        if part not in contact:
            continue
        value = contact[part]
        if names is None or type(value) is not dict:
            found[part] = value
        else:
            found[part] = {name: value[name] for name in names if name in value}
    return found
