"""Hypothesis-made raw wire requests against the fake PostHog over real HTTP.

Whatever a client sends (any method, any capture route, odd headers, random bytes, near-valid
JSON, nesting past serde_json's limit, huge numbers, gzip/lz64/base64/form wrappings of those,
broken chunked framing, lying lengths), the server:

* never answers 5xx and records no handler error;
* stays alive, and right after each example answers a known-good request 200 and stores exactly
  that event.

The example budget is small so the file runs in a few seconds under ``-n 2``; each test records
how many examples it ran (``record_property``, visible with ``--junitxml``) and checks that the
budget was spent. Crashes this suite found are named regression tests at the end.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctph_harness.contract import capture_paths
from ctph_harness.posthog.lzstring import decompress_from_base64
from ctph_harness.posthog.server import FakePostHog

KEY = "phc_kR3MXPC0EXAMPLEkeyEXAMPLEkeyEXAMPLEkey0"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SAFETY = 20.0
EXAMPLES = int(os.environ.get("CTPH_FUZZ_EXAMPLES", "300"))
"""Examples per fuzz test; raise it (``CTPH_FUZZ_EXAMPLES=5000``) for a longer hunt."""
FRAMING_EXAMPLES = EXAMPLES * 2 // 3
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # one server per test, on purpose: the oracle checks it survives every example
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


# --------------------------------------------------------------------------------------------
# lz-string compressToBase64 (lz-string 1.5.0, pieroxy), to make lz64 bodies as posthog-js does


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def lz_compress_to_base64(text: str) -> str:
    """lz-string's ``compressToBase64``: LZW over UTF-16 code units, 6 bits per output char."""
    units = [
        chr(int.from_bytes(pair, "little"))
        for pair in (
            text.encode("utf-16-le", "surrogatepass")[i : i + 2]
            for i in range(0, len(text.encode("utf-16-le", "surrogatepass")), 2)
        )
    ]
    out: list[str] = []
    state = {"val": 0, "pos": 0}

    def write(value: int, bits: int) -> None:
        for _ in range(bits):
            state["val"] = (state["val"] << 1) | (value & 1)
            if state["pos"] == 5:
                state["pos"] = 0
                out.append(_B64[state["val"]])
                state["val"] = 0
            else:
                state["pos"] += 1
            value >>= 1

    dictionary: dict[str, int] = {}
    to_create: set[str] = set()
    size, bits, enlarge = 3, 2, 2
    w = ""

    def emit(w: str) -> None:
        nonlocal bits, enlarge
        if w in to_create:
            code = ord(w[0])
            wide = code >= 256
            write(1 if wide else 0, bits)
            write(code, 16 if wide else 8)
            enlarge -= 1
            if enlarge == 0:
                enlarge, bits = 2**bits, bits + 1
            to_create.discard(w)
        else:
            write(dictionary[w], bits)
        enlarge -= 1
        if enlarge == 0:
            enlarge, bits = 2**bits, bits + 1

    for c in units:
        if c not in dictionary:
            dictionary[c] = size
            size += 1
            to_create.add(c)
        if w + c in dictionary:
            w += c
        else:
            emit(w)
            dictionary[w + c] = size
            size += 1
            w = c
    if w:
        emit(w)
    write(2, bits)
    while True:
        state["val"] <<= 1
        if state["pos"] == 5:
            out.append(_B64[state["val"]])
            break
        state["pos"] += 1
    packed = "".join(out)
    return packed + "=" * (-len(packed) % 4 if len(packed) % 4 != 1 else 3)


def test_the_lz_compressor_matches_the_javascript_original() -> None:
    """Vectors made by lz-string 1.5.0 itself (as in test_wire.py)."""
    assert lz_compress_to_base64("hello") == "BYUwNmD2Q==="
    assert lz_compress_to_base64("a" * 49 + "b") == "IY18ZXWBGQ=="
    for text in ('[{"event":"é € 𝄞"}]', "x" * 1000):
        units = decompress_from_base64(lz_compress_to_base64(text))  # UTF-16 code units
        assert units is not None
        assert units.encode("utf-16-le", "surrogatepass").decode("utf-16-le") == text


# --------------------------------------------------------------------------------------------
# strategies


def event(name: str = "e", **fields: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": "fuzz", "api_key": KEY, **fields}


def nested_text(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '{"a":' if opener == "{" else "["
    tail = "}" if opener == "{" else "]"
    del closer
    return json.dumps(event(properties={"x": 0})).replace(
        "0}}", inner * depth + "1" + tail * depth + "}}"
    )


json_atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "event",
        "distinct_id",
        "$distinct_id",
        "api_key",
        "token",
        "properties",
        "uuid",
        "timestamp",
        "offset",
        "$set",
        "$set_once",
        "batch",
        "sent_at",
        "historical_migration",
    ]
)
events = st.builds(
    lambda base, extra: {**base, **extra},
    st.just(event()),
    st.dictionaries(field_names, json_values, max_size=4),
)
near_json = st.one_of(
    events.map(json.dumps),
    st.lists(events, max_size=4).map(json.dumps),
    st.builds(lambda b: json.dumps({"api_key": KEY, "batch": b}), st.lists(events, max_size=4)),
    # damaged: a slice, a stray byte, a duplicated key, a BOM, NaN, a lone surrogate escape
    st.builds(lambda t, i: t[:i], events.map(json.dumps), st.integers(0, 60)),
    st.builds(lambda t, c: t + c, events.map(json.dumps), st.sampled_from([",", "]", "}", "\x00"])),
    st.just(f'{{"event":"e","event":"f","distinct_id":"d","api_key":"{KEY}"}}'),
    events.map(lambda e: "\ufeff" + json.dumps(e)),
    st.just(json.dumps(event(properties={"n": 0})).replace("0}", "NaN}")),
    st.just(json.dumps(event(properties={"s": "x"})).replace('"x"', '"\\ud800"')),
)
hostile_json = st.one_of(
    st.integers(100, 600).map(lambda d: nested_text(d, "{")),
    st.integers(100, 600).map(lambda d: nested_text(d, "[")),
    st.integers(300, 6000).map(
        lambda n: json.dumps(event(properties={"n": 0})).replace("0}", "9" * n + "}")
    ),
    st.sampled_from(["1e400", "-1e400", "123456789012345678901234567890"]).map(
        lambda n: json.dumps(event(properties={"n": 0})).replace("0}", n + "}")
    ),
)
texts = st.one_of(near_json, hostile_json)


def wrapped(text: str, how: str) -> tuple[bytes, dict[str, str], str]:
    """``text`` as a client could send it: body, headers, query."""
    raw = text.encode("utf-8", "surrogatepass")
    if how == "gzip":
        return gzip.compress(raw), {"Content-Encoding": "gzip"}, ""
    if how == "gzip-js":
        return gzip.compress(raw), {"Content-Type": "text/plain"}, "compression=gzip-js"
    if how == "lz64":  # as posthog-js sends it: a form field (a raw body is base64-sniffed)
        data = quote(lz_compress_to_base64(text))
        return f"data={data}".encode(), FORM, "compression=lz64"
    if how == "base64":
        return base64.b64encode(raw), {}, "compression=base64"
    if how == "form":
        data = quote(base64.b64encode(raw))
        return f"data={data}".encode(), FORM, ""
    if how == "get":
        return b"", {}, "data=" + quote(base64.b64encode(raw))
    return raw, {"Content-Type": "application/json"}, ""


ENCODINGS = ["plain", "gzip", "gzip-js", "lz64", "base64", "form", "get"]
PATHS = [*capture_paths(), "/", "/nowhere", "/_ctph/requests", "/batch", "/e"]
odd_headers = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "Content-Encoding", "X-Forwarded-For", "User-Agent", "Origin"]
    ),
    st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "gzip",
            "lz64",
            "deflate",
            "br",
            "",
            "garbage/\x7f",
            "1.2.3.4, 5.6.7.8",
            "*",
        ]
    ),
    max_size=3,
)
queries = st.lists(
    st.sampled_from(
        [
            "compression=gzip-js",
            "compression=lz64",
            "compression=base64",
            "compression=zzz",
            "beacon=1",
            "ver=1.2.3",
            "lib_version=1",
            "_=1700000000000",
            "sent_at=x",
            "data=%%%",
            "ip=1",
            "data=" + quote(base64.b64encode(b"not json")),
        ]
    ),
    max_size=3,
).map("&".join)


# --------------------------------------------------------------------------------------------
# the server and the property checked after every example


class Oracle:
    """After each example: no 5xx, no handler error, and a good request stored as sent."""

    def __init__(self, fake: FakePostHog) -> None:
        self.fake = fake
        self.examples = 0

    @property
    def url(self) -> str:
        return self.fake.url

    def check(self, status: int | None, what: str) -> None:
        self.examples += 1
        assert status is None or status < 500, what
        errors = [p for p in self.fake.app.problems() if p.kind == "error"]
        assert not errors, errors[0].describe()
        name = f"good-{self.examples}"
        before = self.fake.event_count()
        good = self.fake.client().post(
            "/i/v0/e/",
            json={"event": name, "distinct_id": "oracle", "api_key": KEY},
            timeout=SAFETY,
        )
        assert good.status_code == 200, (what, good.text)
        assert self.fake.event_count() == before + 1
        assert self.fake.events(distinct_id="oracle")[-1].event == name


# --------------------------------------------------------------------------------------------
# well-framed requests (httpx)


@FUZZ
@given(
    method=st.sampled_from(["POST"] * 6 + ["GET"] * 2 + ["PUT", "OPTIONS", "HEAD", "DELETE"]),
    path=st.sampled_from(PATHS),
    body=st.one_of(
        st.builds(wrapped, texts, st.sampled_from(ENCODINGS)),
        st.builds(lambda b: (b, {}, ""), st.binary(max_size=300)),
        st.builds(
            lambda b: (gzip.compress(b), {"Content-Encoding": "gzip"}, ""), st.binary(max_size=300)
        ),
        st.builds(lambda t: (t.encode(), {}, "compression=lz64"), st.text(_B64, max_size=80)),
    ),
    headers=odd_headers,
    query=queries,
)
def test_no_request_gets_a_5xx_or_breaks_the_server(
    oracle: Oracle,
    method: str,
    path: str,
    body: tuple[bytes, dict[str, str], str],
    headers: dict[str, str],
    query: str,
) -> None:
    content, own_headers, own_query = body
    target = path + "?" + "&".join(q for q in (own_query, query) if q)
    answer = oracle.fake.client().request(
        method, target.rstrip("?"), content=content, headers={**own_headers, **headers}
    )
    oracle.check(answer.status_code, f"{method} {target} {content[:200]!r}")


# --------------------------------------------------------------------------------------------
# malformed framing (raw sockets)


def raw_status(url: str, data: bytes) -> int | None:
    """Send ``data``, close the write side, read the answer's status (``None``: no answer,
    e.g. a header block the client never finished)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=SAFETY) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/"):
        return None if not answer else 400  # http.server's bare error page (HTTP/0.9 style)
    return int(answer.split(b" ", 2)[1])


chunk_lines = st.one_of(
    st.integers(0, 2**32).map(lambda n: b"%x\r\n" % n),
    st.sampled_from([b"zz\r\n", b"-1\r\n", b"\r\n", b"1;ext=1\r\n", b"ffffffffffffffffffff\r\n"]),
)
framed_bodies = st.lists(
    st.tuples(chunk_lines, st.binary(max_size=40), st.sampled_from([b"\r\n", b"", b"XX"])),
    max_size=3,
).map(lambda parts: b"".join(a + b + c for a, b, c in parts))


@settings(FUZZ, max_examples=FRAMING_EXAMPLES)
@given(
    path=st.sampled_from(PATHS),
    framing=st.sampled_from(["chunked", "short-length", "long-length", "both", "half-headers"]),
    payload=st.one_of(
        st.builds(lambda t: t.encode("utf-8", "surrogatepass"), near_json), st.binary(max_size=80)
    ),
    chunks=framed_bodies,
    ending=st.sampled_from([b"0\r\n\r\n", b"", b"0\r\n"]),
)
def test_broken_framing_never_gets_a_5xx_or_breaks_the_server(
    oracle: Oracle,
    path: str,
    framing: str,
    payload: bytes,
    chunks: bytes,
    ending: bytes,
) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: fuzz\r\n".encode()
    if framing == "chunked":
        data = head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + payload + ending
    elif framing == "short-length":
        data = head + b"Content-Length: %d\r\n\r\n" % (len(payload) + 50) + payload
    elif framing == "long-length":
        data = head + b"Content-Length: %d\r\n\r\n" % max(0, len(payload) - 5) + payload
    elif framing == "both":
        data = head + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + ending
    else:
        data = head + b"X-Partial: " + payload[:20].replace(b"\r", b"").replace(b"\n", b"")
    oracle.check(raw_status(oracle.url, data), f"{framing} {data[:200]!r}")


# --------------------------------------------------------------------------------------------
# the server under fuzzing, and how many examples ran


@pytest.fixture
def oracle(record_property: Any, request: pytest.FixtureRequest) -> Iterator[Oracle]:
    """A fresh server for one test; the number of examples it saw is recorded as the test's
    ``fuzz_examples`` property and printed (``-s``)."""
    with FakePostHog() as fake:
        watcher = Oracle(fake)
        yield watcher
    record_property("fuzz_examples", watcher.examples)
    print(f"{request.node.name}: {watcher.examples} examples")


# --------------------------------------------------------------------------------------------
# regression tests for what the fuzzing found


def test_regression_lz64_of_an_event_nested_past_the_limit_is_a_400(oracle: Oracle) -> None:
    http = oracle.fake.client()
    for depth in (126, 200, 600):
        body, headers, query = wrapped(nested_text(depth, "{"), "lz64")
        answer = http.post(f"/e/?{query}", content=body, headers=headers)
        assert answer.status_code == 400, (depth, answer.text)
        assert "recursion limit" in answer.text
    body, headers, query = wrapped(nested_text(100, "["), "lz64")
    assert http.post(f"/e/?{query}", content=body, headers=headers).status_code == 200
    oracle.check(None, "lz64 nesting")
