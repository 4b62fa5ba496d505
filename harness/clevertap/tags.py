"""CleverTap's tag extensions to Liquid, and how the dialect treats tags it does not know.

``{% abort %}`` is CleverTap's own tag: it stops the send for one user (reported by CleverTap as
``LiquidLogicAborted``). Its node raises :class:`CampaignAborted`, deliberately *not* a
``LiquidError``: python-liquid routes ``LiquidError`` through ``Environment.error`` (swallowed in
lax/warn modes) and ``StopRender`` silently truncates the output, while an ordinary exception
propagates out of ``render()`` in every mode, so an abort can never be mistaken for a body.

An unknown tag (``{% foo %}``) is not a syntax error in the harness: it is outside the dialect,
which static analysis reports as CTPH002 with its position. :class:`UnknownTag` therefore parses it
into a node that renders nothing, so the rest of the template is still parsed and checked. Stray
structural words (``{% endif %}`` with no ``if``, ``{% else %}`` at top level, ``{% %}``) stay
syntax errors (CTPH001), exactly as python-liquid reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from liquid import Node, Tag, TokenStream
from liquid.exceptions import LiquidSyntaxError
from liquid.token import TOKEN_EXPRESSION, TOKEN_ILLEGAL, TOKEN_TAG

if TYPE_CHECKING:
    from liquid import RenderContext

__all__ = ["ABORT_TAG", "AbortNode", "AbortTag", "CampaignAborted", "UnknownTag", "UnknownTagNode"]

ABORT_TAG = "abort"

# Words that only make sense inside a block; seen anywhere else they are a syntax error.
_INNER_WORDS = frozenset({"else", "elsif", "when"})


class CampaignAborted(Exception):
    """``{% abort %}`` was reached: CleverTap sends nothing for this user.

    Not a ``LiquidError`` on purpose (see the module docstring).
    """

    def __init__(self, index: int) -> None:
        super().__init__("abort liquid logic encountered")
        self.index = index
        """Offset of the ``abort`` tag name in the template source."""


class AbortNode(Node):
    """Parse-tree node for ``{% abort %}``: rendering it aborts the whole render."""

    __slots__ = ()

    def __str__(self) -> str:
        return "{% abort %}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        """Raise :class:`CampaignAborted`; nothing is ever written."""
        raise CampaignAborted(self.token.start_index)


class AbortTag(Tag):
    """The inline ``abort`` tag.

    ``stream.expect`` + ``stream.current`` is the pattern python-liquid's own ``break`` uses;
    ``stream.eat`` here would swallow the enclosing ``{% endif %}`` (research B1). An expression
    after the name (``{% abort "reason" %}``) is tolerated and ignored: CleverTap documents only
    the bare form and we would rather not invent a syntax error for it.
    """

    name = ABORT_TAG
    block = False

    def parse(self, stream: TokenStream) -> Node:
        """Build the node from the tag token, skipping an optional argument expression."""
        stream.expect(TOKEN_TAG, value=ABORT_TAG)
        token = stream.current
        if stream.peek.kind == TOKEN_EXPRESSION:
            next(stream)
        return AbortNode(token)


class UnknownTagNode(Node):
    """A tag python-liquid does not know; renders nothing (CTPH002 reports it statically)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{{% {self.token.value} %}}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        """Write nothing: the template is already failed by CTPH002."""
        return 0


class UnknownTag(Tag):
    """Replaces python-liquid's ``Illegal`` pseudo-tag (used for every unregistered name)."""

    name = TOKEN_ILLEGAL
    block = False

    def parse(self, stream: TokenStream) -> Node:
        """Keep structural words as syntax errors; turn any other unknown name into a node."""
        token = stream.expect(TOKEN_TAG)
        if stream.peek.kind == TOKEN_EXPRESSION:
            next(stream)
        name = token.value
        if not name:
            raise LiquidSyntaxError("missing tag name", token=token)
        if name in _INNER_WORDS or (name.startswith("end") and name[3:] in self.env.tags):
            # endif/endfor/... without their opener, or else/elsif/when out of place.
            raise LiquidSyntaxError(f"unexpected tag '{name}'", token=token)
        return UnknownTagNode(token)
