"""Subject, preheader, HTML and the text derived from it, in one Liquid pass instead of two.

The HTML and the text compiled from the same body hold the same block tags (``if``, ``for``…) in the
same order; only what lies between them differs. Interleaving those stretches under the shared block
tags gives one template whose every stretch says which part it writes to: a part tag switches the
output, and the environment (autoescape, filters) to that part's own, so each part prints what it
would alone. Where that cannot be shown to hold (tags that assign or keep state, filters in block
tags, blank blocks suppressed on one side only) the template keeps the two passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TextIO

from liquid import BoundTemplate, Environment, RenderContext, Token
from liquid.ast import BlockNode, Node
from liquid.builtin.output import Output, OutputNode
from liquid.exceptions import LiquidError, OutputStreamLimitError
from liquid.expression import Expression
from liquid.stream import TokenStream
from liquid.stringify import to_liquid_string
from liquid.tag import Tag
from liquid.token import TOKEN_EXPRESSION, TOKEN_OUTPUT, TOKEN_TAG

from services.sender.domain.rendering.liquid_env import SandboxEnvironment, environment, sandboxed
from services.sender.domain.rendering.render_limits import MAX_OUTPUT_CHARS, LimitedTemplate, _LimitedContext

__all__ = ["PairedParts", "PairedTemplate", "Stretches", "pair_parts"]

# The HTML and the text between the body's block tags (one more each than block tags), and the block tags.
Stretches = tuple[list[str], list[str], list[str]]

_PART_TAG = "dripline_part"
_SUBJECT, _PREHEADER, _HTML, _TEXT = "subject", "preheader", "html", "text"
# Block tags that only choose what is printed: none binds a value or keeps state between the passes.
_CONDITIONS = ("if", "elsif", "else", "endif", "unless", "endunless", "case", "when", "endcase")
_CHOOSING = frozenset((*_CONDITIONS, "for", "endfor", "break", "continue"))
_TAG = re.compile(r"\{%(-?)\s*(\w+)(.*?)(-?)%\}", re.DOTALL)
_TAGS = re.compile(r"\{%.*?%\}", re.DOTALL)
# A source ending in a newline after a tag that trims its right side: python-liquid's lexer drops that
# newline at the very end of a source, and nowhere else, so the stretch would print it when paired.
_TRIMMED_END = re.compile(r"-(?:%\}|\}\})(?:(?!\{[{%]).)*\n\Z", re.DOTALL)
_FILTER_NAME = re.compile(r"\|\s*(\w+)")
_READS_ENVIRONMENT = frozenset(
    name
    for name, function in environment(autoescape=True, strict=False).filters.items()
    if getattr(function, "with_environment", False)
)
_UNSET = object()


@dataclass(frozen=True, slots=True)
class PairedParts:
    subject: str
    preheader: str
    html: str
    text: str


class _PartsOutput:
    """Where a paired render writes: one list of strings per part, each with its own output limit."""

    __slots__ = ("_current", "_part", "_parts", "_room", "_rooms")

    def __init__(self) -> None:
        self._parts: dict[str, list[str]] = {_SUBJECT: [], _PREHEADER: [], _HTML: [], _TEXT: []}
        self._rooms = dict.fromkeys(self._parts, MAX_OUTPUT_CHARS)
        self._part, self._current, self._room = _HTML, self._parts[_HTML], MAX_OUTPUT_CHARS

    def to(self, part: str) -> None:
        self._rooms[self._part] = self._room
        self._part, self._current, self._room = part, self._parts[part], self._rooms[part]

    def write(self, text: str) -> int:
        self._room -= len(text)
        if self._room < 0:
            raise OutputStreamLimitError(
                f"output limit reached: a template may print at most {MAX_OUTPUT_CHARS:,} characters", token=None
            )
        self._current.append(text)
        return len(text)

    def parts(self) -> PairedParts:
        joined = {part: "".join(pieces) for part, pieces in self._parts.items()}
        return PairedParts(joined[_SUBJECT], joined[_PREHEADER], joined[_HTML], joined[_TEXT])


class _PairedContext(_LimitedContext):
    """Renders each part in its own environment: HTML autoescaped, the plain parts not.

    ``shared`` holds the values of the current stretch's environment-free outputs: the text stretch
    after an HTML stretch sees the same scope, so it prints them without evaluating them again."""

    __slots__ = ("_filters_by_env", "shared")

    def __init__(self, template: BoundTemplate, **kwargs: Any) -> None:
        super().__init__(template, **kwargs)
        self._filters_by_env: dict[int, dict[str, Any]] = {}
        self.shared: dict[str, object] = {}

    def switch(self, env: Environment, *, same_scope: bool) -> None:
        self.env, self.autoescape = env, env.autoescape
        self._filters = self._filters_by_env.setdefault(id(env), {})
        if not same_scope:
            self.shared.clear()


class _SharedOutputNode(OutputNode):
    """An output whose value, when no environment can change it (``key`` set), is evaluated once a stretch."""

    __slots__ = ("key",)

    def __init__(self, token: Token, expression: Expression) -> None:
        super().__init__(token, expression)
        self.key: str | None = None

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        key = self.key
        if key is None or not isinstance(context, _PairedContext):
            return super().render_to_output(context, buffer)
        value = context.shared.get(key, _UNSET)
        if value is _UNSET:
            value = context.shared[key] = self.expression.evaluate(context)
        return buffer.write(to_liquid_string(value, context.autoescape))


class _SharedOutput(Output):
    node_class = _SharedOutputNode

    def parse(self, stream: TokenStream) -> OutputNode:
        node = super().parse(stream)
        assert isinstance(node, _SharedOutputNode)
        source = str(node.expression)
        # A string literal is markup in HTML, and these filters read the environment: either may differ.
        reads_env = any(quote in source for quote in "'\"") or any(
            name in _READS_ENVIRONMENT for name in _FILTER_NAME.findall(source)
        )
        node.key = None if reads_env else source
        return node


class _PartNode(Node):
    __slots__ = ("envs", "part")

    def __init__(self, token: Token, part: str, envs: Mapping[str, Environment]) -> None:
        super().__init__(token)
        self.part, self.envs = part, envs

    def __str__(self) -> str:
        return f"{{% {_PART_TAG} {self.part} %}}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        if isinstance(context, _PairedContext):
            context.switch(self.envs[self.part], same_scope=self.part == _TEXT)
        if isinstance(buffer, _PartsOutput):  # a suppressed blank block writes to a null buffer
            buffer.to(self.part)
        return 0


class _PartTag(Tag):
    name = _PART_TAG
    block = False

    def parse(self, stream: TokenStream) -> _PartNode:
        token = stream.eat(TOKEN_TAG)
        part = stream.expect(TOKEN_EXPRESSION).value.strip()
        env = self.env
        assert isinstance(env, _PairedEnvironment)
        return _PartNode(token, part, env.part_envs)


class PairedTemplate(LimitedTemplate):
    def render_parts(self, scope: Mapping[str, object]) -> PairedParts:
        context = _PairedContext(self, globals=self.make_globals(scope))
        buffer = _PartsOutput()
        self.render_with_context(context, buffer)  # type: ignore[arg-type]  # only `write` is called
        return buffer.parts()


class _PairedEnvironment(SandboxEnvironment):
    template_class = PairedTemplate
    part_envs: Mapping[str, Environment] = {}


@lru_cache(maxsize=4)
def _paired_environment(*, strict: bool, lenient: bool) -> _PairedEnvironment:
    env = sandboxed(_PairedEnvironment, autoescape=True, strict=strict, lenient=lenient)
    assert isinstance(env, _PairedEnvironment)
    plain = environment(autoescape=False, strict=strict, lenient=lenient)
    html = environment(autoescape=True, strict=strict, lenient=lenient)
    env.part_envs = {_SUBJECT: plain, _PREHEADER: plain, _TEXT: plain, _HTML: html}
    env.add_tag(_PartTag)
    env.tags[TOKEN_OUTPUT] = _SharedOutput(env)
    return env


def _choosing(tag: str) -> bool:
    """A block tag that only chooses, with no filter, and no literal a loop could hand to a filter."""
    found = _TAG.fullmatch(tag)
    if found is None or found.group(2) not in _CHOOSING or "|" in tag:
        return False
    return found.group(2) != "for" or not any(quote in tag for quote in "'\"")


def _trims(tag: str) -> tuple[bool, bool]:
    found = _TAG.fullmatch(tag)
    return (found is not None and found.group(1) == "-", found is not None and found.group(4) == "-")


def _part(name: str, *, left: bool = False, right: bool = False) -> str:
    return f"{{%{'-' if left else ''} {_PART_TAG} {name} {'-' if right else ''}%}}"


def _paired_source(subject: str, preheader: str, html: list[str], text: list[str], blocks: list[str]) -> str:
    """Each stretch of HTML, then its text, under the shared block tags. A block tag's whitespace
    control trims both stretches beside it, as it does in each part alone."""
    pieces = [_part(_SUBJECT), subject, _part(_PREHEADER), preheader, _part(_HTML)]
    for n, (html_piece, text_piece) in enumerate(zip(html, text, strict=True)):
        trims_before = _trims(blocks[n - 1])[1] if n > 0 else False
        trims_after = _trims(blocks[n])[0] if n < len(blocks) else False
        if html_piece or text_piece:  # `case` takes no tag before its first `when`
            pieces += [html_piece, _part(_TEXT, left=trims_after, right=trims_before), text_piece]
            pieces.append(_part(_HTML, left=trims_after))
        if n < len(blocks):
            pieces.append(blocks[n])
    return "".join(pieces)


def _block_nodes(nodes: list[Node], context: RenderContext) -> Iterator[BlockNode]:
    for node in nodes:
        if isinstance(node, BlockNode):
            yield node
        yield from _block_nodes(list(node.children(context)), context)


def _blanks(template: BoundTemplate) -> list[bool]:
    return [block.blank for block in _block_nodes(template.nodes, RenderContext(template))]


def pair_parts(
    sources: tuple[str, str],
    parts: tuple[BoundTemplate, BoundTemplate, BoundTemplate, BoundTemplate],
    stretches: Stretches,
    *,
    strict: bool,
    lenient: bool,
) -> PairedTemplate | None:
    """The one-pass template for subject, preheader, HTML and text (``sources``: the first two's Liquid;
    ``parts``: the four compiled alone), or None when it would not print exactly what they print alone."""
    subject, preheader, html, text = parts
    html_stretches, text_stretches, blocks = stretches
    ends = (*sources, html_stretches[-1], text_stretches[-1])
    if any(_TRIMMED_END.search(blocks[-1] + end if blocks and n > 1 else end) for n, end in enumerate(ends)):
        return None
    if not all(_choosing(tag) for tag in blocks) or not all(
        _choosing(tag) for source in sources for tag in _TAGS.findall(source)
    ):
        return None
    env = _paired_environment(strict=strict, lenient=lenient)
    try:
        paired = env.from_string(_paired_source(*sources, html_stretches, text_stretches, blocks))
    except LiquidError:
        return None
    assert isinstance(paired, PairedTemplate)
    # A blank block prints nothing; paired, it must be blank exactly where both parts' own are.
    own = _blanks(subject) + _blanks(preheader)
    html_blanks, text_blanks = _blanks(html), _blanks(text)
    if html_blanks != text_blanks or _blanks(paired) != own + html_blanks:
        return None
    return paired
