"""Delivering rendered bodies the way a CleverTap webhook does, to the fake PostHog.

I/O at the edge of the pipeline: the engine hands over every profile's outcome, this module
POSTs bodies to the fake server (in-process by default, the first of each template over real
loopback HTTP so the socket path runs in every run), with CleverTap's timeout and retry, and
compares what the server answered and stored with what the checker predicted.

Which bodies (``deliver``, :data:`~ctph_harness.config.DeliverMode`): ``"all"`` sends every
one; ``"shapes"`` sends every edge-case profile's body (the few that probe quotes, blanks,
unicode, long and missing values) and, of the random profiles, one body per request shape
(:func:`.posthog.request_shape.request_shape`) and predicted finding set. A refusal the check
did not predict is then found on the representative and counted for every body of its shape.
What ``"shapes"`` skips: random profiles' bodies whose shape and findings an earlier body
already had, so the fake stores fewer events and persons; a test that asserts on the fake's
state after a whole-template run (``ctph_campaign(...).verify()``) gets ``"all"`` by default.

The harness never sends anything to a real PostHog by accident: the configured webhook URL
contributes only its *path* (the fake server answers on it), and a live send needs both
``--ctph-live URL`` and ``--ctph-allow-live``; without the second it is refused (CTPH303).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from http.client import HTTPConnection, HTTPException
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .findings import Finding, finding
from .posthog.checker import event_items
from .posthog.request_shape import request_shape
from .version import __version__

if TYPE_CHECKING:
    from .config import DeliverMode, HarnessConfig
    from .posthog.server import FakePostHog
    from .profile_outcome import Deliver, ProfileOutcome

__all__ = ["Deliverer", "Reply", "delivering", "live_findings", "representatives"]


_USER_AGENT = f"ctph-harness/{__version__}"

_DROPPED_LATER = frozenset({"CTPH153", "CTPH155"})
"""Findings whose events capture accepts and ingestion drops: already reported, so not counted
again as "accepted but not stored"."""


@dataclass(frozen=True)
class Reply:
    """What came back for one body: a status and text, or the transport error after retries."""

    status: int | None
    text: str
    attempts: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliverer:
    """Posts bodies to one fake PostHog like CleverTap's webhook: configured method, headers,
    timeout and retries (CleverTap's docs disagree; the default is 3 s and one retry)."""

    def __init__(self, server: FakePostHog, config: HarnessConfig, *, over_http: bool) -> None:
        self.server = server
        self.config = config
        self.over_http = over_http
        self._headers = {"Content-Type": "application/json", **dict(config.headers)}
        self._socket_headers = {"User-Agent": _USER_AGENT, **self._headers}  # a client names itself
        # the request line as an HTTP client writes it: characters it cannot carry
        # percent-encoded (a configured path with `é` or a control character), escapes kept
        self._socket_path = quote(config.capture_path, safe="/?&=:;,+@!$'()*[]~%#")

    def send(self, body: str, *, socket: bool) -> Reply:
        """One body, retried like CleverTap: over loopback HTTP when ``socket`` (or the run asks
        for HTTP throughout), otherwise straight into the same app in process."""
        data = body.encode("utf-8", "replace")
        path = self.config.capture_path
        attempts = 0
        reply = Reply(None, "not sent", 0)
        while attempts <= self.config.retries:
            attempts += 1
            try:
                if socket or self.over_http:
                    status, text = self._over_loopback(data)
                else:
                    status, text = self.server.call(self.config.method, path, data, self._headers)
            except (OSError, HTTPException, ValueError) as exc:  # refused, reset, timed out
                reply = Reply(None, f"{type(exc).__name__}: {exc}", attempts)
                continue
            reply = Reply(status, text, attempts)
            if status < 500 and status != 429:
                break  # CleverTap retries only failures that may pass on a second try
        return reply

    def _over_loopback(self, data: bytes) -> tuple[int, str]:
        """One request over a real socket to the fake, with the standard library's client: a
        connection per send, as a webhook makes. (httpx would cost a run ~0.2 s to import and
        warm up for the one body per template that takes this path; werkzeug has already
        imported ``http.client``.)"""
        host, port = self.server.address
        connection = HTTPConnection(host, port, timeout=self.config.timeout)
        try:
            connection.request(
                self.config.method, self._socket_path, body=data, headers=self._socket_headers
            )
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def _forwarded(self, documents: Sequence[Any], stored: int) -> int:
        """How many events capture passed on to ingestion for the bodies it accepted. The
        checker's split of the bodies is an upper bound (it still counts the
        ``$performance_event`` events capture drops), so the exact count, capture's own reading
        (:func:`.posthog.batch.classify`), is needed only when fewer were stored than that."""
        path = self.config.capture_path
        upper = sum(len(event_items(document, path)) for document in documents)
        if stored >= upper:
            return upper
        from .posthog.batch import classify
        from .posthog.wire import WireError

        exact = 0
        for document in documents:
            with suppress(WireError):
                exact += len(classify(document, path).events)
        return exact

    def deliver(
        self, outcomes: Sequence[ProfileOutcome], *, mode: DeliverMode = "all"
    ) -> list[Finding]:
        """Send the sent profiles' bodies (all, or one per shape: see the module; the
        template's first over loopback HTTP), then compare the server's answers and stored
        events with the checker's predictions. A body that stands for others answers for
        them: an unpredicted answer counts every body of its shape."""
        stored_before = self.server.event_count()  # no reset: faults a test injected stay
        unexplained: dict[tuple[Reply, str], list[ProfileOutcome]] = {}
        accepted: list[Any] = []
        sent = [o for o in outcomes if o.body is not None]
        groups = representatives(sent) if mode == "shapes" else [[o] for o in sent]
        for number, group in enumerate(groups):
            outcome = group[0]
            assert outcome.body is not None
            reply = self.send(outcome.body, socket=number == 0)
            refusals = _refusals(outcome)
            if reply.ok and not refusals:
                if not any(f.code in _DROPPED_LATER for f in outcome.findings):
                    accepted.append(outcome.document)
            elif reply.status not in {status for status, _ in refusals}:
                shown = replace(reply, text=reply.text[:300])
                unexplained.setdefault((shown, _prediction(refusals)), []).extend(group)
        found = [
            _rejected(reply, predicted, group) for (reply, predicted), group in unexplained.items()
        ]
        stored = self.server.event_count() - stored_before
        expected_events = self._forwarded(accepted, stored)
        if stored < expected_events:
            warnings = ", ".join(sorted({w.type for w in self.server.warnings()})) or "none"
            found.append(
                finding(
                    "CTPH301",
                    f"the fake PostHog stored {stored} of the {expected_events} events it "
                    f"accepted (ingestion warnings: {warnings}), but the contract check "
                    "predicted it would store all of them",
                )
            )
        return found


def representatives(outcomes: Sequence[ProfileOutcome]) -> list[list[ProfileOutcome]]:
    """``outcomes`` grouped for ``"shapes"`` delivery, each group led by the body that is sent
    for it, in the order first seen: an edge-case profile alone, a random profile with every
    later one of the same request shape and predicted findings."""
    groups: dict[Hashable, list[ProfileOutcome]] = {}
    for outcome in outcomes:
        groups.setdefault(_shape_key(outcome), []).append(outcome)
    return list(groups.values())


def _shape_key(outcome: ProfileOutcome) -> Hashable:
    """What decides whether two bodies may share one request: the profile when it is an edge
    case (each is sent), else the predicted findings (code and refusal) and the request shape
    of the parsed body (a body the check could not parse: its findings only, since the fake's
    parser refuses it before reading anything else)."""
    if outcome.profile.kind != "random":
        return ("edge", outcome.profile.index)
    predicted = frozenset((f.code, f.rejection) for f in outcome.findings)
    if outcome.document is None:
        return ("unparsed", predicted)
    return (predicted, request_shape(outcome.document))


def _refusals(outcome: ProfileOutcome) -> dict[tuple[int, str], list[str]]:
    """The refusals the contract check predicted for one body, each with the codes behind it
    (none: it predicted PostHog accepts the body)."""
    refusals: dict[tuple[int, str], list[str]] = {}
    for item in outcome.findings:
        if item.rejection is not None:
            refusals.setdefault(item.rejection, []).append(item.code)
    return refusals


def _prediction(refusals: dict[tuple[int, str], list[str]]) -> str:
    if not refusals:
        return "200 (accepted)"
    return " or ".join(
        f"{status} {text!r} ({', '.join(codes)})" for (status, text), codes in refusals.items()
    )


def _rejected(reply: Reply, predicted: str, group: Sequence[ProfileOutcome]) -> Finding:
    """CTPH301 for bodies the fake PostHog answered otherwise than the contract check
    predicted: what happened, and what was expected, so the reader can tell a broken template
    from a fault the test injected."""
    tries = f"{reply.attempts} attempt{'s' if reply.attempts != 1 else ''}"
    if reply.status is None:
        what = (
            f"could not be reached (after {tries}: {reply.text}); the contract check "
            f"predicted {predicted}"
        )
    elif reply.ok:
        what = (
            f"accepted this body ({reply.status} {reply.text!r}) but the contract check "
            f"predicted {predicted}"
        )
    else:
        retried = f" (after {tries})" if reply.attempts > 1 else ""
        what = (
            f"refused this body: {reply.status} {reply.text!r}{retried}, which the contract "
            f"check did not predict (it predicted {predicted})"
        )
    smallest = min(group, key=lambda o: o.profile.size())
    return replace(
        finding("CTPH301", f"the fake PostHog {what}"),
        count=len(group),
        profile=smallest.profile.shown(),
    )


def live_findings(
    body: str | None, url: str | None, *, allowed: bool, config: HarnessConfig
) -> list[Finding]:
    """``--ctph-live URL``: send one rendered body to a real endpoint, only with
    ``--ctph-allow-live``; any non-loopback target without it is refused (CTPH303)."""
    if not url or body is None:
        return []
    from .config import check_url
    from .posthog.server import is_loopback

    host = check_url(url, "--ctph-live", sendable=True).hostname or ""
    if not allowed and not is_loopback(host):
        return [
            finding(
                "CTPH303",
                f"refused to send to {url}: pass --ctph-allow-live as well to send one test "
                "payload to a real endpoint",
            )
        ]
    import httpx

    try:
        response = httpx.request(
            config.method,
            url,
            content=body.encode("utf-8", "replace"),
            headers={"Content-Type": "application/json", **dict(config.headers)},
            timeout=config.timeout,
        )
    except httpx.HTTPError as exc:
        return [finding("CTPH301", f"{url} could not be reached: {type(exc).__name__}: {exc}")]
    if 200 <= response.status_code < 300:
        return []
    return [finding("CTPH301", f"{url} answered {response.status_code} {response.text[:300]!r}")]


@contextmanager
def delivering(
    *,
    enabled: bool = True,
    server: FakePostHog | None = None,
    over_http: bool = False,
    live: str | None = None,
    allow_live: bool = False,
    default: DeliverMode = "shapes",
) -> Iterator[Callable[[HarnessConfig], Deliver | None]]:
    """A factory of per-template delivery hooks around one fake PostHog (started lazily, on
    loopback, stopped on exit unless it was passed in). ``live`` sends each template's example
    body to that URL as well, only with ``allow_live`` (CTPH303 otherwise). Which bodies are
    sent is the template's ``deliver`` setting, else ``default``."""
    own = server is None and enabled
    if own:
        from .posthog.server import FakePostHog

        server = FakePostHog()

    def make(config: HarnessConfig) -> Deliver | None:
        if not enabled or server is None:
            return None
        deliverer = Deliverer(server, config, over_http=over_http)
        mode = config.deliver or default

        def deliver(outcomes: Sequence[ProfileOutcome]) -> list[Finding]:
            found = deliverer.deliver(outcomes, mode=mode)
            example = next(
                (o.body for o in outcomes if o.body is not None and not o.findings), None
            )
            return found + live_findings(example, live, allowed=allow_live, config=config)

        return deliver

    try:
        yield make
    finally:
        if own and server is not None:
            server.stop()
