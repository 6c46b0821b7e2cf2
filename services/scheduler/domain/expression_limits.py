"""Bounds on what a CEL condition may cost, checked on its text before it is compiled.

The CEL library has no cost or time limit, and conditions run on the scheduler's event loop, so a
condition is bounded by its shape instead, which keeps its work proportional to its length times
the size of the contact and event it reads:

- at most `MAX_CHARS` characters (the parser recurses per operator: 100 KB of `1+1+…` crashes it);
- no list macros (`all`, `exists`, `exists_one`, `map`, `filter`): the library copies the result of
  `map` and `filter` per item (10,000 items take seconds), and nesting any of them multiplies list
  sizes. Their item variable was never a known name, so only a shadowing trick reached them;
- at most `MAX_MATCHES` regular expressions: each is compiled per evaluation (the engine is
  linear-time, but a large Unicode pattern takes tens of milliseconds to compile);
- at most `MAX_OPERATIONS` operators and calls: each may cost as much as all the data the condition
  reads, so the cost on real data (bounded in `expression_cost.py`) grows with their number.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHARS", "MAX_MATCHES", "MAX_OPERATIONS", "code_only", "cost_problem", "operation_count"]

MAX_CHARS = 2000  # as flow files allow (`Expression` in triggers.py)
MAX_MATCHES = 3
MAX_OPERATIONS = 200  # the examples' longest condition has 11

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[(.]")
_OPERATOR = re.compile(r"==|!=|<=|>=|&&|\|\||[-+*/%<>!?\[(]|\bin\b")

_LIST_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_STRING_PREFIXES = frozenset({"r", "b", "rb", "br"})


def _string_end(source: str, start: int, raw: bool) -> int:
    """The index just past the string literal whose opening quote is at `start`."""
    quote = source[start : start + 3] if source[start : start + 3] in ('"""', "'''") else source[start]
    index = start + len(quote)
    while index < len(source):
        if not raw and source[index] == "\\":
            index += 2
        elif source.startswith(quote, index):
            return index + len(quote)
        else:
            index += 1
    return index


def code_only(source: str) -> str:
    """The condition without its comments, each string literal (raw and bytes ones too) left as `""`."""
    parts, index = [], 0
    while index < len(source):
        char = source[index]
        if char.isalpha() or char == "_":
            end = index
            while end < len(source) and (source[end].isalnum() or source[end] == "_"):
                end += 1
            name = source[index:end]
            if end < len(source) and source[end] in "\"'" and name.lower() in _STRING_PREFIXES:
                index = _string_end(source, end, raw="r" in name.lower())
                parts.append('""')
            else:
                parts.append(name)
                index = end
        elif char in "\"'":
            index = _string_end(source, index, raw=False)
            parts.append('""')
        elif source.startswith("//", index):
            newline = source.find("\n", index)
            index = len(source) if newline < 0 else newline
        else:
            parts.append(char)
            index += 1
    return "".join(parts)


def _tokens(source: str) -> list[str]:
    """Names, parentheses and dots, in order; string literals, comments, numbers and operators are skipped."""
    return _TOKEN.findall(code_only(source))


def operation_count(source: str) -> int:
    """Operators, calls and index or list brackets in the condition: each is one step of its evaluation."""
    return len(_OPERATOR.findall(code_only(source)))


def cost_problem(source: str) -> str | None:
    """Why this condition could cost too much to evaluate, or None when its cost is bounded."""
    if len(source) > MAX_CHARS:
        return f"expression '{source[:40]}…' is {len(source)} characters long; at most {MAX_CHARS} are allowed"
    tokens = _tokens(source)
    matches = 0
    for index, token in enumerate(tokens[:-1]):
        if tokens[index + 1] != "(":
            continue
        if token in _LIST_MACROS and index > 0 and tokens[index - 1] == ".":
            return (
                f"expression '{source}' uses {token}(); list macros (all, exists, exists_one, map, filter) "
                "are not available in conditions"
            )
        matches += token == "matches"
    if matches > MAX_MATCHES:
        return f"expression '{source}' uses matches() {matches} times; at most {MAX_MATCHES} are allowed"
    operations = operation_count(source)
    if operations > MAX_OPERATIONS:
        return f"expression '{source[:40]}…' has {operations} operators and calls; at most {MAX_OPERATIONS} are allowed"
    return None
