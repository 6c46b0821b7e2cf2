"""What SpamAssassin thought of a message: its score and the rules that fired, read from its report."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SpamRule", "SpamScore", "parse_reports"]

_HEAD = re.compile(r"^Content analysis details:\s+\((-?\d+(?:\.\d+)?) points", re.M)
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z][A-Z0-9_]*)\s+(.*)$")
_MORE = re.compile(r"^\s{20,}(\S.*)$")  # a description wrapped onto the next line
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.M | re.I)


@dataclass(frozen=True, slots=True)
class SpamRule:
    name: str
    points: float
    description: str


@dataclass(frozen=True, slots=True)
class SpamScore:
    score: float
    rules: tuple[SpamRule, ...]
    message_id: str | None = None  # the Message-ID of the message the report is about

    def scoring(self) -> tuple[SpamRule, ...]:
        """The rules that moved the score (informational ones score 0)."""
        return tuple(rule for rule in self.rules if rule.points != 0)

    def summary(self) -> str:
        """`2.8 HTML_IMAGE_ONLY_24 (BODY: HTML: images with 2000-2400 bytes of words), ...` or `no scoring rules`."""
        rules = self.scoring()
        return ", ".join(f"{r.points:g} {r.name} ({r.description})" for r in rules) or "no scoring rules"


def parse_reports(output: str) -> list[SpamScore]:
    """Each report in ``spamassassin -t`` output, with the Message-ID of its message: with ``--mbox`` SpamAssassin
    may score messages in another order than given."""
    heads = list(_HEAD.finditer(output))
    scores = []
    for n, head in enumerate(heads):
        end = heads[n + 1].start() if n + 1 < len(heads) else len(output)
        start = heads[n - 1].end() if n else 0
        ids = _MESSAGE_ID.findall(output, start, head.start())
        scores.append(SpamScore(float(head.group(1)), _rules(output[head.end() : end]), ids[0] if ids else None))
    return scores


def _rules(block: str) -> tuple[SpamRule, ...]:
    lines = block.splitlines()
    start = next((n + 1 for n, line in enumerate(lines) if line.startswith("----")), len(lines))
    rules: list[SpamRule] = []
    for line in lines[start:]:
        found = _RULE.match(line)
        if found:
            rules.append(SpamRule(found.group(2), float(found.group(1)), found.group(3).strip()))
            continue
        more = _MORE.match(line)
        if more is None or not rules:
            break  # the table ends at the first line that neither starts nor continues a rule
        last = rules[-1]
        rules[-1] = SpamRule(last.name, last.points, f"{last.description} {more.group(1).strip()}")
    return tuple(rules)
