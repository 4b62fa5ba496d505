"""Strings matching a ``pattern`` property's regex, without Hypothesis.

Spec validation, the ``pattern`` value kind and its edge cases all need matching strings, one per
profile, so the sre parse tree is compiled once per pattern (cached) into nodes that know their
shortest and longest output. One walk then draws a value of any length the pattern allows: the
shortest, the longest (up to CleverTap's 512 characters, never past it), every branch of an
alternation, or a random one spread over the whole length range. Patterns made of literals,
classes, groups, alternations and repeats - what ids are made of - match by construction and are
not re-checked; the rest (lookarounds, backreferences, anchors mid-pattern, case-insensitive
classes) are checked and drawn again.

Checking a value against a declared pattern (here, and :meth:`PropertySpec.accepts`) goes through
:func:`fullmatch`, which bounds the time: Python's ``re`` backtracks, so ``^(a+)+(?=b)`` against
forty ``a`` runs for hours, and it cannot be interrupted from another thread. The ``regex``
package (mrab-regex: maintained since 2010, wheels for every CPython, its default mode reads
patterns as ``re`` does) takes a ``timeout`` and also prunes most catastrophic cases outright.
A linear-time engine (google-re2) was the other choice, but the patterns that need a check at all
are exactly those with lookarounds and backreferences, which RE2 refuses; patterns without them
are never matched while generating (they match by construction). A pattern whose check runs out
of time while its edge cases are drawn is refused at start-up, naming it (:func:`pattern_problem`).
"""

from __future__ import annotations

import importlib
import re
import string
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from .limits import MAX_VALUE_CHARS
from .pools import Rng, derive_seed

__all__ = [
    "MatchTooSlow",
    "PatternSampler",
    "fullmatch",
    "pattern_edges",
    "pattern_problem",
    "pattern_sampler",
]


_REGEX_ALPHABET: Final = string.ascii_letters + string.digits + string.punctuation + " "
_UNBOUNDED_SLACK: Final = 16
"""Random values repeat ``*``/``+`` at most this many times beyond the minimum: real ids are
short, and the longest edge case already fills the 512 characters."""
_MAX_CLASS_CHARS: Final = 65536
_MAX_BRANCH_EDGES: Final = 16
_RETRIES: Final = 20
_INF: Final = 1 << 30
_MAXREPEAT: Final = 1 << 31  # sre's "no upper bound" is 2**32 - 1
_NO_PICKS: Final[Mapping[int, int]] = {}
_MATCH_SECONDS: Final = 0.25
"""The longest one check of a value against a pattern may take. Real ids match in
microseconds; a check that takes this long is backtracking catastrophically."""
_STARTS: Final = ("AT_BEGINNING", "AT_BEGINNING_STRING")
_ENDS: Final = ("AT_END", "AT_END_STRING")


class _RegexUnsupported(Exception):
    pass


class MatchTooSlow(Exception):
    """A check of a value against the pattern ran out of time (:data:`_MATCH_SECONDS`)."""


@lru_cache(maxsize=256)
def _bounded(pattern: str) -> Any:
    """``pattern`` compiled by the ``regex`` package (its default mode reads it as ``re``)."""
    engine: Any = importlib.import_module("regex")
    return engine.compile(pattern)


def fullmatch(pattern: str, text: str) -> bool:
    """Whether all of ``text`` matches ``pattern``, in bounded time: :class:`MatchTooSlow` when the
    check runs past :data:`_MATCH_SECONDS` (see the module docstring)."""
    try:
        return _bounded(pattern).fullmatch(text, timeout=_MATCH_SECONDS) is not None
    except TimeoutError:
        raise MatchTooSlow(pattern) from None


def _regex_tree(pattern: str) -> Any:
    """The sre parse tree; ``re._parser`` is private but stable enough to walk, and far cheaper
    than importing Hypothesis just to produce matching strings (:func:`pattern_sampler` caches)."""
    name = "re._parser" if sys.version_info >= (3, 11) else "sre_parse"
    return importlib.import_module(name).parse(pattern)


class _Draw:
    """One walk: the RNG, what to aim for (``"random"``, ``"min"``, ``"max"``), which option
    each forced alternation takes, and the output so far."""

    __slots__ = ("groups", "mode", "out", "picks", "rng", "size")

    def __init__(self, rng: Rng, mode: str, picks: Mapping[int, int]) -> None:
        self.rng = rng
        self.mode = mode
        self.picks = picks
        self.out: list[str] = []
        self.size = 0
        self.groups: dict[int, str] = {}

    def put(self, text: str) -> None:
        self.out.append(text)
        self.size += len(text)

    def forces(self, node: _Node) -> bool:
        """Whether ``node`` holds an alternation this walk must pass through."""
        return bool(self.picks) and not node.keys.isdisjoint(self.picks)


class _Node:
    """Part of a pattern; ``lo``/``hi`` are its shortest and longest output (``hi`` capped),
    ``keys`` the alternations inside it."""

    lo: int = 0
    hi: int = 0
    keys: frozenset[int] = frozenset()

    def emit(self, d: _Draw, budget: int) -> None:
        """Append a match of at most ``budget`` characters (callers guarantee ``lo <= budget``)."""


class _Literal(_Node):
    def __init__(self, text: str) -> None:
        self.text = text
        self.lo = self.hi = len(text)

    def emit(self, d: _Draw, budget: int) -> None:
        d.put(self.text)


class _Set(_Node):
    """One character out of ``chars`` (a class, ``.``, ``[^x]``)."""

    lo = hi = 1

    def __init__(self, chars: str) -> None:
        self.chars = "".join(dict.fromkeys(chars))  # [a-za-z] gives no more a's than [a-z]
        if not self.chars:
            raise _RegexUnsupported("empty class")
        # An ASCII class (what ids use) draws a whole run as random bytes mapped by
        # bytes.translate: one Python-level draw per character was most of the cost of a
        # profile with a long id. Bytes past the last multiple of the class size are dropped,
        # so every character stays equally likely.
        self.table: bytes | None = None
        if self.chars.isascii():
            k = len(self.chars)
            self.table = bytes(ord(self.chars[b % k]) for b in range(256))
            self.drop = bytes(range(256 - 256 % k, 256))

    def draw(self, d: _Draw, n: int) -> str:
        chars = self.chars
        if d.mode == "min" or len(chars) == 1:
            return chars[0] * n
        rand = d.rng.next64
        if self.table is None:
            return "".join([chars[rand() % len(chars)] for _ in range(n)])
        out = b""
        while len(out) < n:
            words = (n - len(out)) // 8 + 1
            raw = b"".join([rand().to_bytes(8, "little") for _ in range(words)])
            out += raw.translate(self.table, self.drop)
        return out[:n].decode("ascii")

    def emit(self, d: _Draw, budget: int) -> None:
        d.put(self.draw(d, 1))


class _Seq(_Node):
    def __init__(self, items: list[_Node]) -> None:
        self.items = items
        self.lo = sum(i.lo for i in items)
        self.hi = min(_INF, sum(i.hi for i in items))
        self.keys = frozenset().union(*(i.keys for i in items))
        # what the items after each one need at least, so each leaves room for the rest
        self.tails = [sum(i.lo for i in items[k + 1 :]) for k in range(len(items))]

    def emit(self, d: _Draw, budget: int) -> None:
        start = d.size
        for item, tail in zip(self.items, self.tails, strict=True):
            item.emit(d, budget - (d.size - start) - tail)


class _Fixed(_Node):
    """Literals and fixed-length classes, the shape of most ids (``[0-9a-f]{8}-[0-9a-f]{4}``):
    each distinct class draws all its characters at once, which halves the cost of a UUID
    against a draw per run."""

    def __init__(self, classes: list[tuple[_Set, int]], parts: list[tuple[str, int, int, int]]):
        self.classes = classes  # each distinct class, and how many characters it draws
        self.parts = parts  # (literal text, or "" and: class index, start, end in its draw)
        self.lo = self.hi = sum(len(text) + end - start for text, _, start, end in parts)

    def emit(self, d: _Draw, budget: int) -> None:
        drawn = [cls.draw(d, n) for cls, n in self.classes]
        d.put("".join([text or drawn[k][a:b] for text, k, a, b in self.parts]))

    @staticmethod
    def of(nodes: list[_Node]) -> _Fixed | None:
        classes: dict[str, tuple[int, _Set, int]] = {}  # by characters: index, class, count
        parts: list[tuple[str, int, int, int]] = []
        for node in nodes:
            if isinstance(node, _Literal):
                parts.append((node.text, 0, 0, 0))
                continue
            if isinstance(node, _Set):
                cls, n = node, 1
            elif isinstance(node, _Repeat) and isinstance(node.body, _Set) and node.fixed:
                cls, n = node.body, node.low
            else:
                return None
            k, _, used = classes.setdefault(cls.chars, (len(classes), cls, 0))
            classes[cls.chars] = (k, cls, used + n)
            parts.append(("", k, used, used + n))
        return _Fixed([(cls, n) for _, cls, n in classes.values()], parts)


class _Alt(_Node):
    def __init__(self, options: list[_Node], key: int) -> None:
        self.options = options
        self.key = key  # which alternation this is, for edge cases that force one option
        self.lo = min(o.lo for o in options)
        self.hi = max(o.hi for o in options)
        self.keys = frozenset([key]).union(*(o.keys for o in options))

    def emit(self, d: _Draw, budget: int) -> None:
        fits = [o for o in self.options if o.lo <= budget]
        pick = d.picks.get(self.key)
        forced = [o for o in fits if d.forces(o)]
        if pick is not None and self.options[pick].lo <= budget:
            chosen = self.options[pick]
        elif forced:
            chosen = forced[0]
        elif d.mode == "min":
            chosen = min(fits, key=lambda o: o.lo)
        elif d.mode == "max":
            chosen = max(fits, key=lambda o: min(o.hi, budget))
        else:
            chosen = fits[d.rng.randrange(len(fits))]
        chosen.emit(d, budget)


class _Repeat(_Node):
    def __init__(self, low: int, high: int, body: _Node) -> None:
        unbounded = high >= _MAXREPEAT
        self.low, self.body = low, body
        self.high = min(high, low + MAX_VALUE_CHARS)  # 512 characters fit in that many
        self.fixed = low == high
        self.typical = low + _UNBOUNDED_SLACK if unbounded else self.high
        self.lo = min(_INF, low * body.lo)
        self.hi = _INF if unbounded and body.hi else min(_INF, self.high * body.hi)
        self.keys = body.keys

    def emit(self, d: _Draw, budget: int) -> None:
        body = self.body
        most = self.high if body.lo == 0 else min(self.high, budget // body.lo)
        if d.mode == "min":
            n = max(self.low, min(1, most)) if d.forces(body) else self.low
        elif d.mode == "max":
            n = most
        else:
            top = min(most, self.typical)
            n = self.low if top <= self.low else d.rng.randint(self.low, top)
        if isinstance(body, _Set):
            d.put(body.draw(d, n))
            return
        start = d.size
        for k in range(n):
            body.emit(d, budget - (d.size - start) - (n - 1 - k) * body.lo)


class _Group(_Node):
    def __init__(self, group: int, body: _Node) -> None:
        self.group, self.body = group, body
        self.lo, self.hi, self.keys = body.lo, body.hi, body.keys

    def emit(self, d: _Draw, budget: int) -> None:
        mark = len(d.out)
        self.body.emit(d, budget)
        d.groups[self.group] = "".join(d.out[mark:])


class _Backref(_Node):
    """``\\1`` and ``(?(1)yes|no)``: lengths unknown here, so such patterns are checked."""

    def __init__(self, group: int, yes: _Node | None = None, no: _Node | None = None) -> None:
        self.group, self.yes, self.no = group, yes, no

    def emit(self, d: _Draw, budget: int) -> None:
        if self.yes is None:
            d.put(d.groups.get(self.group, ""))
            return
        branch = self.yes if self.group in d.groups else self.no
        if branch is not None:
            branch.emit(d, budget)


def _in_class(items: Any, ch: str) -> bool:
    negate = False
    hit = False
    for op, av in items:
        kind = str(op)
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            hit = hit or ch == chr(av)
        elif kind == "RANGE":
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif kind == "CATEGORY":
            cat = str(av)
            if cat.endswith("_DIGIT"):
                ok = ch.isdigit()
            elif cat.endswith("_SPACE"):
                ok = ch.isspace()
            elif cat.endswith("_WORD"):
                ok = ch.isalnum() or ch == "_"
            else:
                raise _RegexUnsupported(cat)
            hit = hit or (ok != ("_NOT_" in cat))
        else:
            raise _RegexUnsupported(kind)
    return hit != negate


def _class_chars(items: Any) -> str:
    """The characters a class allows: its own ranges when it lists them (so ``[à-ÿ]`` stays
    itself), else the printable ASCII it accepts."""
    if all(str(op) in ("LITERAL", "RANGE") for op, _ in items):
        spans = [(av, av) if str(op) == "LITERAL" else av for op, av in items]
        room = _MAX_CLASS_CHARS // len(spans)  # a huge class keeps the start of each range
        return "".join(chr(c) for lo, hi in spans for c in range(lo, min(hi, lo + room - 1) + 1))
    return "".join(c for c in _REGEX_ALPHABET if _in_class(items, c))


class _Compiler:
    """Turns the sre tree into nodes, noting whether every output is a match by construction."""

    def __init__(self) -> None:
        self.exact = True
        self.branches: list[int] = []  # option count of each alternation, by key

    def seq(self, items: Iterable[tuple[Any, Any]]) -> _Node:
        nodes: list[_Node] = []
        for op, av in items:
            node = self.item(str(op), av)
            if isinstance(node, _Literal) and nodes and isinstance(nodes[-1], _Literal):
                nodes[-1] = _Literal(nodes[-1].text + node.text)
            elif node is not None:
                nodes.append(node)
        if len(nodes) == 1:
            return nodes[0]
        return _Fixed.of(nodes) or _Seq(nodes)

    def item(self, kind: str, av: Any) -> _Node | None:
        if kind == "LITERAL":
            return _Literal(chr(av))
        if kind == "NOT_LITERAL":
            return _Set(_REGEX_ALPHABET.replace(chr(av), ""))
        if kind == "ANY":
            return _Set(_REGEX_ALPHABET)
        if kind == "IN":
            return _Set(_class_chars(av))
        if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = av
            self.exact = self.exact and kind != "POSSESSIVE_REPEAT"
            return _Repeat(low, high, self.seq(sub))
        if kind == "SUBPATTERN":
            group, add_flags, body = av[0], av[1], self.seq(av[-1])
            self.exact = self.exact and not add_flags & re.IGNORECASE
            return _Group(group, body) if group else body
        if kind == "BRANCH":
            key = len(self.branches)
            self.branches.append(len(av[1]))
            return _Alt([self.seq(alt) for alt in av[1]], key)
        self.exact = False  # everything below may emit a non-match: check each output
        if kind == "ATOMIC_GROUP":
            return self.seq(av)
        if kind == "GROUPREF":
            return _Backref(av)
        if kind == "GROUPREF_EXISTS":
            group, yes, no = av
            return _Backref(group, self.seq(yes), self.seq(no) if no is not None else None)
        if kind in ("AT", "ASSERT", "ASSERT_NOT"):
            return None
        raise _RegexUnsupported(kind)


class PatternSampler:
    """A compiled pattern: draws matches, checking them only when it has to."""

    def __init__(self, pattern: str) -> None:
        tree = _regex_tree(pattern)
        items = list(tree)
        # ^ and $ at the very ends mean nothing to a full match; anywhere else they need a check
        while items and str(items[0][0]) == "AT" and str(items[0][1]) in _STARTS:
            items.pop(0)
        while items and str(items[-1][0]) == "AT" and str(items[-1][1]) in _ENDS:
            items.pop()
        compiler = _Compiler()
        self.root = compiler.seq(items)
        self.exact = compiler.exact and not tree.state.flags & re.IGNORECASE
        self.branches = tuple(compiler.branches)
        self.pattern = pattern
        if self.root.lo > MAX_VALUE_CHARS:
            raise _RegexUnsupported(
                f"every match is longer than CleverTap's {MAX_VALUE_CHARS} characters"
            )

    def sample(
        self, rng: Rng, mode: str = "random", picks: Mapping[int, int] = _NO_PICKS
    ) -> str | None:
        """A full match (shortest for ``"min"``, longest for ``"max"``), or None if a checked
        pattern keeps missing."""
        if self.exact:
            d = _Draw(rng, mode, picks)
            self.root.emit(d, MAX_VALUE_CHARS)
            return "".join(d.out)
        for attempt in range(_RETRIES):
            d = _Draw(rng, mode if attempt == 0 else "random", picks)
            try:
                self.root.emit(d, MAX_VALUE_CHARS)
            except (IndexError, ValueError, ZeroDivisionError):  # a checked guess ran out of room
                continue
            text = "".join(d.out)
            if len(text) <= MAX_VALUE_CHARS and fullmatch(self.pattern, text):
                return text
        return None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> PatternSampler | str:
    """The compiled pattern, or why no value can be generated for it."""
    try:
        return PatternSampler(pattern)
    except _RegexUnsupported as exc:
        return str(exc) if "CleverTap" in str(exc) else f"its {exc} is not supported"
    except (re.error, OverflowError) as exc:  # "a{0,4294967296}": OverflowError, not re.error
        return f"it does not compile: {exc}"
    except RecursionError:
        return "it is nested too deeply"


def pattern_sampler(pattern: str) -> PatternSampler | None:
    """The compiled pattern, or None when no value can be generated for it."""
    program = _compiled(pattern)
    return program if isinstance(program, PatternSampler) else None


def pattern_problem(pattern: str) -> str | None:
    """Why values matching ``pattern`` cannot be generated, or None: it does not compile (the
    message says where), every match is over CleverTap's 512 characters, no value drawn
    matches (lookarounds and backreferences that contradict), or checking a value takes too
    long (catastrophic backtracking)."""
    program = _compiled(pattern)
    if not isinstance(program, PatternSampler):
        return program
    try:
        edges = pattern_edges(pattern)
    except MatchTooSlow:
        return (
            f"checking a value against it takes over {_MATCH_SECONDS:g} s (catastrophic "
            "backtracking: nested or overlapping repeats such as (a+)+ or (a|aa)+ before a "
            "lookaround or backreference)"
        )
    if not edges:
        return (
            f"no value within CleverTap's {MAX_VALUE_CHARS} characters matches it "
            "(lookarounds and backreferences are checked, not solved)"
        )
    return None


@lru_cache(maxsize=256)
def pattern_edges(pattern: str) -> tuple[tuple[str, str], ...]:
    """The boundaries of a pattern: its shortest match (``blank`` when that is empty), its
    longest (capped at 512 characters), and each option of each alternation."""
    program = pattern_sampler(pattern)
    if program is None:
        return ()
    rng = Rng(derive_seed(0, "pattern-edges", pattern))
    found: dict[str, str] = {}  # value -> label; the first label wins

    def add(label: str, text: str | None) -> None:
        if text is not None and text not in found:
            found[text] = label

    shortest = program.sample(rng, "min")
    add("blank" if shortest == "" else "shortest", shortest)
    add("longest", program.sample(rng, "max"))
    forced = [(key, j) for key, n in enumerate(program.branches) for j in range(n)]
    for number, (key, option) in enumerate(forced[:_MAX_BRANCH_EDGES], 1):
        add(f"branch-{number}", program.sample(rng, "min", {key: option}))
    return tuple((label, text) for text, label in found.items())
