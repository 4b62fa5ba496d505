"""JSON documents, streamed: a JSON array of records, Profiles API download pages
(``{"status": "success", "records": [...], "next_cursor": ...}``, one or several in a file) and
records written one after another (pretty-printed), in bounded memory whatever the file's size.

No streaming JSON parser is a dependency, so this is a small incremental scanner over
:meth:`json.JSONDecoder.raw_decode`: the text is decoded in chunks, the structure around the
records (``[``, ``,``, a page's keys) is stepped over by hand, and each record, or each small
value beside ``records`` in a page, is handed whole to ``raw_decode``. Only one chunk plus the
record being read is ever held. A record that does not parse even with more text behind it, or
that outgrows :data:`MAX_RECORD_CHARS`, ends the file's reading with a problem naming its
number: past a broken element there is no telling where the next one starts. A page whose
``status`` is not ``success`` is a problem too, its records are still read.
(Page shape: developer.clevertap.com/docs/get-user-profiles-api, "Get User Profiles Using
Cursor".)
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import BinaryIO, Final

from .records import OnProblem, Problem, Record, record_from
from .wording import json_phrase

__all__ = ["CHUNK_BYTES", "MAX_RECORD_CHARS", "PAGE_START", "read_document"]

CHUNK_BYTES: Final = 1 << 20
MAX_RECORD_CHARS: Final = 64 << 20
"""The largest single record (or page value) held; see ``ndjson.MAX_LINE_BYTES``."""
_NEAR_END: Final = 16
"""An error this close to the end of the text read so far may only mean the value goes on in
the next chunk (a ``\\u`` escape cut in two); further back it is a real error."""
_WHITESPACE: Final = " \t\n\r"
PAGE_START: Final = re.compile(r'\{\s*"(status|records|next_cursor|cursor)"\s*:')
"""A page's first key (``opening`` compiles the same pattern for bytes to call a file pages)."""
_PEEK_CHARS: Final = 256


class _Stop(Exception):
    """The rest of this file cannot be read; ``what`` says why, quoting nothing."""

    def __init__(self, number: int | None, what: str) -> None:
        super().__init__(what)
        self.number = number
        self.what = what


class _Text:
    """The decoded text in chunks, with a read position. Invalid UTF-8 is replaced (U+FFFD)
    and reported once per chunk by byte offset, so one bad byte costs no record."""

    def __init__(self, stream: BinaryIO, source: str, on_problem: OnProblem) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._source = source
        self._on_problem = on_problem
        self._consumed = 0  # bytes decoded so far
        self.buf = ""
        self.pos = 0
        self.eof = False

    def more(self, at_least: int = 0) -> bool:
        """Append at least one more chunk (more when ``at_least`` asks); False at the end."""
        if self.eof:
            return False
        parts = [self.buf[self.pos :]]
        size = 0
        while True:
            data = self._stream.read(max(CHUNK_BYTES, at_least - size))
            final = not data
            try:
                text = self._decoder.decode(data, final)
            except UnicodeDecodeError as error:
                self._on_problem(
                    Problem(
                        self._source,
                        None,
                        None,
                        f"not valid UTF-8 near byte {self._consumed + error.start + 1}; "
                        "the bad bytes were replaced",
                    )
                )
                self._decoder.errors = "replace"
                text = self._decoder.decode(data, final)
                self._decoder.errors = "strict"
            self._consumed += len(data)
            parts.append(text)
            size += len(text)
            if final:
                self.eof = True
                break
            if size >= at_least and text:
                break
        self.buf = "".join(parts)
        self.pos = 0
        return True

    def skip_space(self) -> str:
        """The next non-whitespace character (read on as needed), or "" at the end."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self.more():
                return ""

    def value(self, number: int | None, decode: object) -> object:
        """The JSON value starting here, decoded whole; reads on while it is incomplete."""
        raw_decode = decode
        self.skip_space()
        while True:
            try:
                data, end = raw_decode(self.buf, self.pos)  # type: ignore[operator]
            except json.JSONDecodeError as error:
                pending = len(self.buf) - self.pos
                invalid = error.pos < len(self.buf) - _NEAR_END and "Unterminated" not in error.msg
                if invalid:
                    raise _Stop(
                        number, f"not valid JSON: {json_phrase(error)}; reading stopped"
                    ) from None
                if pending > MAX_RECORD_CHARS:
                    raise _Stop(
                        number, f"a value larger than {MAX_RECORD_CHARS >> 20} MB; reading stopped"
                    ) from None
                if not self.more(at_least=pending):
                    if error.pos >= len(self.buf) - 1 or "Unterminated" in error.msg:
                        raise _Stop(number, "cut off: the file ends inside it") from None
                    raise _Stop(
                        number, f"not valid JSON: {json_phrase(error)}; reading stopped"
                    ) from None
                continue
            except RecursionError:
                raise _Stop(number, "nested too deeply; reading stopped") from None
            except ValueError:  # int() refuses over 4,300 digits (sys.get_int_max_str_digits)
                raise _Stop(number, "a number too long to read; reading stopped") from None
            if end == len(self.buf) and not self.eof:
                self.more()  # a number may go on in the next chunk: read it again whole
                continue
            self.pos = end
            return data


def read_document(stream: BinaryIO, source: str, on_problem: OnProblem) -> Iterator[Record]:
    text = _Text(stream, source, on_problem)
    count = [0]
    try:
        while True:
            first = text.skip_space()
            if not first:
                return
            if first == "[":
                text.pos += 1
                yield from _array(text, source, on_problem, count)
            elif first == "{":
                yield from _object(text, source, on_problem, count)
            else:
                raise _Stop(None, "not a JSON object or array where a record or page starts")
    except _Stop as stop:
        on_problem(Problem(source, stop.number, None, stop.what))


_decoder = json.JSONDecoder()
_raw = _decoder.raw_decode


def _array(text: _Text, source: str, on_problem: OnProblem, count: list[int]) -> Iterator[Record]:
    """The elements of an array whose ``[`` was just read, as records; then its ``]``."""
    if text.skip_space() == "]":
        text.pos += 1
        return
    while True:
        number = count[0] + 1
        if not text.skip_space():
            raise _Stop(number, "cut off: the file ends inside the array")
        data = text.value(number, _raw)
        count[0] = number
        record = record_from(source, number, data, on_problem)
        if record is not None:
            yield record
        after = text.skip_space()
        text.pos += 1
        if after == "]":
            return
        if after != ",":
            raise _Stop(
                number, "not valid JSON after this record (expected , or ]); reading stopped"
            )


def _object(text: _Text, source: str, on_problem: OnProblem, count: list[int]) -> Iterator[Record]:
    """A top-level object: a page (its first key is one of the page's) streamed key by key, or
    else one record."""
    while len(text.buf) - text.pos < _PEEK_CHARS and text.more():
        pass
    page = PAGE_START.match(text.buf, text.pos)
    if page is None:
        number = count[0] + 1
        data = text.value(number, _raw)
        count[0] = number
        record = record_from(source, number, data, on_problem)
        if record is not None:
            yield record
        return
    text.pos = page.end() - 1  # at the first key's colon
    yield from _page(text, source, on_problem, count, page.group(1))


def _page(
    text: _Text, source: str, on_problem: OnProblem, count: list[int], key: str | None
) -> Iterator[Record]:
    """The rest of a page whose first key was read: values beside ``records`` are read whole
    (they are small: a status, a cursor), ``records`` is streamed."""
    while True:
        if text.skip_space() != ":":
            raise _Stop(None, "not valid JSON in a page (expected :); reading stopped")
        text.pos += 1
        if key == "records" and text.skip_space() == "[":
            text.pos += 1
            yield from _array(text, source, on_problem, count)
        else:
            value = text.value(None, _raw)
            if key == "status" and value != "success":
                on_problem(
                    Problem(
                        source,
                        None,
                        None,
                        "a page's status is not success; its records, if any, are read",
                    )
                )
        after = text.skip_space()
        text.pos += 1
        if after == "}":
            return
        if after != "," or text.skip_space() != '"':
            raise _Stop(None, "not valid JSON in a page (expected , or }); reading stopped")
        name = text.value(None, _raw)
        key = name if isinstance(name, str) else None
