"""Memos keyed by what clients send, and how the fake forgets them on a reset.

Some pure steps memoise on values a client chose: the spelling of a header name, a parsed
timestamp, the verdict on a project key. Bounded by count, such a memo still holds whatever text
a request carried until it is emptied (4,096 one-megabyte timestamps would outlive a reset). Each
is made with :func:`request_memo`, so :func:`forget`, which the app's reset calls, empties them
all without any module reaching into another's private functions, and then hands the memory
Python freed back to the operating system.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import _lru_cache_wrapper, cache, lru_cache
from typing import TypeVar

__all__ = ["forget", "request_memo"]

T = TypeVar("T")

_MEMOS: list[_lru_cache_wrapper[object]] = []


def request_memo(maxsize: int) -> Callable[[Callable[..., T]], _lru_cache_wrapper[T]]:
    """``functools.lru_cache(maxsize)``, registered so that :func:`forget` empties it."""

    def wrap(function: Callable[..., T]) -> _lru_cache_wrapper[T]:
        memo = lru_cache(maxsize=maxsize)(function)
        _MEMOS.append(memo)
        return memo

    return wrap


def forget() -> None:
    """Empty every request memo and return freed memory to the operating system."""
    for memo in _MEMOS:
        memo.cache_clear()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (musl, macOS,
    Windows). glibc keeps freed heap memory for reuse: after twenty 18 MB batches and a reset,
    the process stayed at ~500 MB of RSS though Python held ~50 MB; trimming brings it down at
    once (microseconds on a small heap). ``CDLL(None)`` reads the running program's own
    symbols: no library search."""
    try:
        import ctypes

        trim: Callable[[int], int] | None = getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):
        return None
    return trim
