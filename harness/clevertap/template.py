"""Loading a campaign template: decode, parse once, analyse once, never raise for a bad template.

What a caller gets back for each kind of bad input (the split is deliberate):

* **Not a template at all** -> :class:`ctph_harness.errors.InputError` (CLI exit 2): bytes that
  are not UTF-8, text holding NUL characters (a binary file picked up by a glob), or more than
  :data:`MAX_TEMPLATE_BYTES`. Nobody pastes these into CleverTap; the fix is the file list, not
  the template, and no finding code describes them.
* **A template with problems** -> findings on the returned :class:`CampaignTemplate`:
  a syntax error is CTPH001 (with line:column when python-liquid knows it, otherwise the message
  says which block is left open), an unknown tag/filter/object is CTPH002, an empty or
  whitespace-only template is CTPH004 (its body could never be JSON).

``CampaignTemplate.parsed`` is ``None`` exactly when there is nothing to render (syntax error or
empty template); callers skip rendering then. Results are cached by (source digest, settings), so
loading the same text twice (one pytest item per check) parses it once.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from liquid import BoundTemplate
from liquid.exceptions import LiquidError
from liquid.token import TOKEN_TAG

from ..errors import InputError
from ..files import MAX_TEMPLATE_BYTES
from ..findings import Finding, finding
from .analysis import LineIndex, TemplateFacts, analyze, static_findings
from .dialect import environment, normalise_source
from .settings import DEFAULT_SETTINGS, DialectSettings

__all__ = ["MAX_TEMPLATE_BYTES", "CampaignTemplate", "load_template"]


@dataclass(frozen=True)
class CampaignTemplate:
    """A loaded campaign body: source text, the parse (or ``None``), facts and static findings."""

    name: str
    source: str
    parsed: BoundTemplate | None = field(repr=False, compare=False)
    facts: TemplateFacts
    findings: tuple[Finding, ...]
    settings: DialectSettings = DEFAULT_SETTINGS
    lines: LineIndex = field(repr=False, compare=False, default_factory=lambda: LineIndex(""))

    @property
    def ok(self) -> bool:
        """True when the template parsed and can be rendered."""
        return self.parsed is not None

    def findings_given(self, always: frozenset[tuple[str | int, ...]]) -> tuple[Finding, ...]:
        """The static findings for an account that guarantees the ``always`` paths (no CTPH005
        for them). Loading is cached per text and settings, without the account's config, so
        this is the one step that depends on it."""
        if not always or self.parsed is None:
            return self.findings
        return static_findings(self.facts, always)


def load_template(
    source: str | bytes, name: str, settings: DialectSettings = DEFAULT_SETTINGS
) -> CampaignTemplate:
    """Decode, parse and analyse ``source``; raises only :class:`InputError` (module docstring)."""
    text = _decode(source, name)
    parsed, facts, findings, lines = _load(_digest(text), text, settings)
    return CampaignTemplate(name, text, parsed, facts, findings, settings, lines)


def _decode(source: str | bytes, name: str) -> str:
    size = len(source) if isinstance(source, bytes) else len(source.encode("utf-8", "replace"))
    if size > MAX_TEMPLATE_BYTES:
        raise InputError(
            f"{name}: template is {size:,} bytes; the harness reads templates up to "
            f"{MAX_TEMPLATE_BYTES:,} bytes (PostHog refuses events over 1,000,000 bytes, so a "
            "body this large cannot work)"
        )
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(
                f"{name}: not a UTF-8 text file (byte {err.start} is {source[err.start]:#04x}); "
                "a CleverTap template is text pasted into the dashboard"
            ) from err
    else:
        text = source
    text = text.removeprefix("\ufeff")  # an editor's BOM is not part of the pasted body
    if "\x00" in text:
        raise InputError(
            f"{name}: contains NUL characters, so it looks like a binary file, not a template"
        )
    return text


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


_Loaded = tuple[BoundTemplate | None, TemplateFacts, tuple[Finding, ...], LineIndex]
_CACHE: dict[tuple[bytes, DialectSettings], _Loaded] = {}
_CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()


def _load(digest: bytes, text: str, settings: DialectSettings) -> _Loaded:
    """Parse and analyse once per (digest, settings); the key never hashes the text itself."""
    key = (digest, settings)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    loaded = _parse_and_analyse(text, settings)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))  # oldest insertion first: good enough for a batch run
        _CACHE[key] = loaded
    return loaded


def _parse_and_analyse(text: str, settings: DialectSettings) -> _Loaded:
    lines = LineIndex(text)
    if not text.strip():
        empty = finding(
            "CTPH004",
            "the template is empty: every profile would send an empty body, which is not JSON",
            line=1,
            column=1,
        )
        return None, TemplateFacts(), (empty,), lines
    env = environment(settings)
    try:
        parsed = env.from_string(normalise_source(text))
    except LiquidError as err:
        return None, TemplateFacts(), (_syntax_finding(err, text, lines, settings),), lines
    facts = analyze(parsed, text, lines)
    return parsed, facts, static_findings(facts), lines


def _syntax_finding(
    err: LiquidError, text: str, lines: LineIndex, settings: DialectSettings
) -> Finding:
    message = str(err.message) if err.message else str(err)
    if err.__cause__ is not None and message == "unexpected liquid parsing error":
        message = f"{message}: {type(err.__cause__).__name__}: {err.__cause__}"
    token = err.token
    index = token.start_index if token is not None else -1
    if index >= 0:
        line, column = lines.position(index)
        return finding("CTPH001", f"{message} (line {line} col {column})", line=line, column=column)
    unclosed = _unclosed_block(text, settings)
    if unclosed is not None:
        tag, index = unclosed
        line, column = lines.position(index)
        message = (
            f"{message}: `{{% {tag} %}}` opened at line {line} col {column} is never closed "
            f"(add `{{% end{tag} %}}`)"
        )
    return finding("CTPH001", message)


def _unclosed_block(text: str, settings: DialectSettings) -> tuple[str, int] | None:
    """The innermost block tag left open at the end of the template, if any.

    python-liquid reports a missing ``{% endif %}`` with no position at all; re-reading the tag
    tokens finds which block it means.
    """
    env = environment(settings)
    blocks = {name for name, tag in env.tags.items() if tag.block and name.isidentifier()}
    stack: list[tuple[str, int]] = []
    try:
        for token in env.tokenizer()(normalise_source(text)):
            if token.kind != TOKEN_TAG:
                continue
            name = str(token.value)
            if name in blocks:
                stack.append((name, token.start_index))
            elif name.startswith("end") and stack and stack[-1][0] == name[3:]:
                stack.pop()
    except LiquidError:
        return None
    return stack[-1] if stack else None
