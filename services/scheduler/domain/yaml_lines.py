"""Load YAML while remembering the line of every key and list item, so errors can point at it.

Flow files come in over the API, so the loader refuses what could make a few hundred bytes cost
minutes: anchors and aliases (each alias would be walked again: nested ones grow exponentially),
documents over `MAX_BYTES`, more than `MAX_NODES` values and nesting deeper than `MAX_DEPTH`. All are
checked before anything is expanded or built, so a refusal costs no more than reading up to the
offending line.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]

# Parsing costs about 17 µs per value, so the worst file holds the event loop for about 50 ms.
# A flow of 200 steps (half of them branches) is about 20 KB and 2,100 values; the examples nest 6 levels.
MAX_BYTES = 32 * 1024
MAX_NODES = 3_000
MAX_DEPTH = 20


class YamlProblem(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


class _Loader(yaml.SafeLoader):
    """SafeLoader: plain data only, never Python objects; no anchors, aliases or deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = self._nodes = 0

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:
        # Refused while scanning: the scanner looks 1,024 characters ahead for a key at every open
        # bracket, so a line of `[[[[…` costs a tenth of a second before composing starts.
        if self.flow_level >= MAX_DEPTH:
            raise YamlProblem(self.line + 1, f"the flow nests deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlProblem(
                line,
                "YAML anchors and aliases (&name, *name) are not allowed in a flow file; write the value out",
            )
        if self._depth >= MAX_DEPTH:
            raise YamlProblem(line, f"the flow nests deeper than {MAX_DEPTH} levels")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlProblem(line, f"the flow has more than {MAX_NODES} values; split it into smaller flows")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _scalar(loader: _Loader, node: yaml.Node) -> Any:
    """Build one scalar here, where its line is known (the document reuses it): `2024-13-45` or an
    integer of 5000 digits is a problem on that line, not a crash."""
    try:
        return loader.construct_object(node)
    except (ValueError, OverflowError) as error:
        reason = str(error).split(";")[0]
        raise YamlProblem(node.start_mark.line + 1, f"'{str(node.value)[:40]}' cannot be read: {reason}") from error


def _walk(loader: _Loader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    if isinstance(node, yaml.ScalarNode):
        _scalar(loader, node)
    elif isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(key_node.start_mark.line + 1, "a key must be a plain name, not a list or mapping")
            key = _scalar(loader, key_node)
            if key in seen:
                raise YamlProblem(key_node.start_mark.line + 1, f"'{key}' appears twice in the same block")
            seen.add(key)
            child = (*path, str(key))
            lines[child] = key_node.start_mark.line + 1
            _walk(loader, value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _walk(loader, item, child, lines)


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse one YAML document; return the data and a map from path to 1-based line."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        raise YamlProblem(1, f"the flow file is {size} bytes; at most {MAX_BYTES} are allowed")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {(): 1}
        lines: dict[Path, int] = {(): node.start_mark.line + 1}
        _walk(loader, node, (), lines)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblem(line, f"not valid YAML: {error.problem or error.context}") from error
    finally:
        loader.dispose()


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of the deepest known prefix of `path`."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
