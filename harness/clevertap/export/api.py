"""``pull_records``: profiles straight from the account, through CleverTap's Profiles API.

The documented flow (developer.clevertap.com/docs/get-user-profiles-api, "Get User Profiles by
Events"): ``POST {host}/1/profiles.json?batch_size=N`` with ``{"event_name", "from", "to"}``
(dates as ``YYYYMMDD``) answers ``{"status": "success", "cursor": ...}``; ``GET
/1/profiles.json?cursor=...`` answers a page ``{"status": "success", "records": [...],
"next_cursor": ...}`` until a page has no ``next_cursor``. Headers ``X-CleverTap-Account-Id`` and
``X-CleverTap-Passcode`` authenticate (developer.clevertap.com/docs/common-api-components,
"API Headers"); region hosts are from the same page's "Region" table.

It only reads, and at most ``limit`` profiles. A 202 or ``{"status": "fail", "code": 2}`` means
the download is still being prepared: it waits and asks again, up to ``max_wait`` seconds in
all. A 429 is retried after its ``Retry-After`` (seconds or an HTTP-date); a cut connection, a
5xx or a body that is not JSON is retried with a doubling backoff; either gives up after
``retries`` attempts with an error naming the page. The passcode is never written anywhere:
errors say what failed in words chosen here (status codes, page numbers), never httpx's text,
and :class:`PullOptions` leaves it out of its ``repr``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

import httpx

from ...errors import InputError
from .records import OnProblem, Progress, Record, record_from

__all__ = ["REGIONS", "PullError", "PullOptions", "base_url", "pull_records"]

REGIONS: Final[Mapping[str, str]] = {
    # developer.clevertap.com/docs/common-api-components, "Region"
    "eu1": "https://api.clevertap.com",  # Europe, the default region
    "in1": "https://in1.api.clevertap.com",
    "sg1": "https://sg1.api.clevertap.com",
    "us1": "https://us1.api.clevertap.com",
    "aps3": "https://aps3.api.clevertap.com",  # Indonesia
    "mec1": "https://mec1.api.clevertap.com",  # Middle East (UAE)
}
_PATH: Final = "/1/profiles.json"
_STILL_PREPARING_CODE: Final = 2


class PullError(InputError):
    """The API could not be read; the message names the step or page, never a credential."""


@dataclass(frozen=True, slots=True)
class PullOptions:
    account_id: str
    passcode: str = field(repr=False)
    event: str = "App Launched"
    days: int = 30
    region: str | None = None
    """A key of :data:`REGIONS`; ``None`` is CleverTap's default region (eu1)."""
    api_url: str | None = None
    """A proxy or a test server instead of the region's host."""
    limit: int = 10_000
    batch_size: int = 5_000
    retries: int = 5
    """Attempts per request for a 429, a 5xx or a cut connection."""
    max_wait: float = 600.0
    """Seconds to wait in all for a download that is still being prepared."""
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], float] = time.time
    """Wall-clock seconds, for a ``Retry-After`` given as an HTTP-date."""
    today: Callable[[], date] = date.today


def base_url(options: PullOptions) -> str:
    if options.api_url:
        return options.api_url.rstrip("/")
    region = (options.region or "eu1").lower()
    if region not in REGIONS:
        raise PullError(
            f"unknown CleverTap region {options.region!r}; known: {', '.join(sorted(REGIONS))}"
        )
    return REGIONS[region]


class _Retry(Exception):
    def __init__(self, delay: float | None, what: str) -> None:
        super().__init__(what)
        self.delay = delay
        self.what = what


class _Preparing(Exception):
    pass


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, moment.timestamp() - now)


class _Session:
    def __init__(self, options: PullOptions, client: httpx.Client) -> None:
        self.options = options
        self.client = client
        self.bytes = 0

    def _once(self, request: Callable[[], httpx.Response], step: str) -> dict[str, object]:
        try:
            response = request()
        except httpx.TransportError:
            raise _Retry(None, f"{step}: the connection failed or was cut") from None
        self.bytes += len(response.content)
        status = response.status_code
        if status == 202:
            raise _Preparing
        if status == 429:
            delay = _retry_after(response.headers.get("Retry-After"), self.options.now())
            raise _Retry(delay, f"{step}: CleverTap kept answering 429 (too many requests)")
        if status >= 500:
            raise _Retry(None, f"{step}: CleverTap answered HTTP {status}")
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            if status >= 400:
                raise self._refused(status, step, None) from None
            raise _Retry(None, f"{step}: the answer was not valid JSON") from None
        if not isinstance(body, dict):
            raise PullError(f"{step}: the answer was not a JSON object")
        if body.get("status") == "fail" and body.get("code") == _STILL_PREPARING_CODE:
            raise _Preparing
        if status >= 400 or body.get("status") != "success":
            raise self._refused(status, step, body.get("code"))
        return body

    @staticmethod
    def _refused(status: int, step: str, code: object) -> PullError:
        hint = ""
        if status in (401, 403):
            hint = "; check --account-id, the passcode's variable and --region"
        shown = f", code {code}" if isinstance(code, int) and not isinstance(code, bool) else ""
        return PullError(f"{step}: CleverTap refused the request (HTTP {status}{shown}){hint}")

    def call(self, request: Callable[[], httpx.Response], step: str) -> dict[str, object]:
        """One request with its retries and its waits for a download being prepared."""
        options = self.options
        attempt = 0
        waited = 0.0
        backoff = 1.0
        preparing = 2.0
        while True:
            try:
                return self._once(request, step)
            except _Preparing:
                if waited + preparing > options.max_wait:
                    raise PullError(
                        f"{step}: CleverTap was still preparing the download after "
                        f"{waited:.0f} s; try again later or with fewer --days"
                    ) from None
                options.sleep(preparing)
                waited += preparing
                preparing = min(preparing * 2, 30.0)
            except _Retry as retry:
                attempt += 1
                if attempt >= options.retries:
                    raise PullError(f"{retry.what}, {attempt} times; giving up") from None
                delay = retry.delay if retry.delay is not None else backoff
                options.sleep(min(delay, options.max_wait))
                backoff = min(backoff * 2, 60.0)


def _window(options: PullOptions) -> tuple[int, int]:
    end = options.today()
    start = end - timedelta(days=max(options.days, 0))
    return int(start.strftime("%Y%m%d")), int(end.strftime("%Y%m%d"))


def pull_records(
    options: PullOptions,
    on_problem: OnProblem,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Record]:
    """Yield up to ``limit`` (default ``options.limit``) profiles of users who did
    ``options.event`` in the last ``options.days`` days. Raises :class:`PullError`."""
    wanted = options.limit if limit is None else limit
    base = base_url(options)
    if wanted <= 0:
        return
    start, end = _window(options)
    headers = {
        "X-CleverTap-Account-Id": options.account_id,
        "X-CleverTap-Passcode": options.passcode,
    }
    count = 0
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=options.timeout) as client:
            session = _Session(options, client)
            batch = max(1, min(options.batch_size, wanted))
            body = {"event_name": options.event, "from": start, "to": end}
            answer = session.call(
                lambda: client.post(_PATH, params={"batch_size": batch}, json=body),
                "asking for a download cursor",
            )
            cursor = answer.get("cursor")
            page = 0
            while isinstance(cursor, str) and cursor and count < wanted:
                page += 1
                source = f"api page {page}"
                answer = session.call(
                    functools.partial(client.get, _PATH, params={"cursor": cursor}),
                    f"reading {source}",
                )
                records = answer.get("records")
                if not isinstance(records, list):
                    records = []
                for number, data in enumerate(records, 1):
                    record = record_from(source, number, data, on_problem)
                    if record is None:
                        continue
                    yield record
                    count += 1
                    if count >= wanted:
                        return
                if progress is not None:
                    progress.update(count, session.bytes)
                cursor = answer.get("next_cursor")
    finally:
        if progress is not None:
            progress.finish()
