"""LZ-string's ``decompressFromBase64``, the codec behind PostHog's ``lz64`` compression hint.

Old posthog-js builds compress capture bodies with pieroxy/lz-string 1.x and say so with
``compression=lz64``; capture undoes it (``rust/capture/src/payload/decompression.rs``
``decompress_lz64_to_string``). This module is only the codec: the size cap's and the corrupt
stream's answers are capture's, and :mod:`.wire` gives them.
"""

from __future__ import annotations

__all__ = ["OutputTooLarge", "decompress_from_base64"]


class OutputTooLarge(Exception):
    """More UTF-16 units than the cap (``CompressionError::Lz64OutputTooLarge`` upstream)."""


_ALPHABET = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
}


def decompress_from_base64(text: str, *, max_units: int | None = None) -> str | None:
    """LZ-string ``decompressFromBase64`` (pieroxy/lz-string 1.x), as PostHog's lz64 hint needs.

    Returns the decoded UTF-16 code units as a ``str`` (lone surrogates kept, so the caller can
    report PostHog's separate "UTF16 to UTF8" failure), or ``None`` when the stream is corrupt:
    an empty input, a character outside the base64 alphabet, a bad dictionary reference, or the
    input running out before the end marker. ``max_units`` bounds the output (decompression-bomb
    guard); going over raises :class:`OutputTooLarge`, which :func:`.wire.decode` turns into a
    413.
    """
    if not text:
        return None
    values: list[int] = []
    for char in text:
        value = _ALPHABET.get(char)
        if value is None:
            return None
        values.append(value)
    length = len(values)
    reset = 32
    state = {"val": values[0], "position": reset, "index": 1}

    def read(bits: int) -> int:
        result = 0
        power = 1
        for _ in range(bits):
            chosen = state["val"] & state["position"]
            state["position"] >>= 1
            if state["position"] == 0:
                state["position"] = reset
                index = state["index"]
                state["val"] = values[index] if index < length else 0
                state["index"] = index + 1
            if chosen:
                result |= power
            power <<= 1
        return result

    dictionary: dict[int, str] = {0: "0", 1: "1", 2: "2"}
    dict_size = 4
    enlarge_in = 4
    num_bits = 3
    first = read(2)
    if first == 0:
        w = chr(read(8))
    elif first == 1:
        w = chr(read(16))
    else:  # 2 = end of stream; upstream returns "" which capture treats as a failure
        return None
    dictionary[3] = w
    pieces = [w]
    produced = len(w)
    while True:
        if state["index"] > length:
            return None
        code = read(num_bits)
        if code in (0, 1):
            dictionary[dict_size] = chr(read(8 if code == 0 else 16))
            code = dict_size
            dict_size += 1
            enlarge_in -= 1
        elif code == 2:
            return "".join(pieces)
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1
        if code in dictionary:
            entry = dictionary[code]
        elif code == dict_size:
            entry = w + w[0]
        else:
            return None
        pieces.append(entry)
        produced += len(entry)
        if max_units is not None and produced > max_units:
            raise OutputTooLarge
        dictionary[dict_size] = w + entry[0]
        dict_size += 1
        enlarge_in -= 1
        w = entry
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1
