"""``deliver = "shapes"`` (issue 13): one body per request shape and predicted findings, plus
every edge-case profile's, reaches the fake PostHog; ``deliver = "all"`` sends every body.
Real delivery to a real fake server throughout: what the shapes must keep is an answer the
check did not predict (CTPH301), the loopback send, and the fake's state for a hand-written
``ctph_campaign(...).verify()``."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ctph_harness.posthog.server as server_module
from ctph_harness.clevertap.profiles import Profile
from ctph_harness.cli import main
from ctph_harness.config import HarnessConfig, load_config
from ctph_harness.delivery import delivering, representatives
from ctph_harness.engine import verify_template
from ctph_harness.errors import UsageError
from ctph_harness.findings import Finding
from ctph_harness.posthog.request_shape import request_shape
from ctph_harness.posthog.server import FakePostHog
from ctph_harness.profile_outcome import ProfileOutcome

KEY = "phc_Tq7bXa9Lk2mN4pQ8rS1tU5vW3xY6zA0bC2dE4fG2xZ4a"
PURCHASE = (
    "{% unless Profile.Identity %}{% abort %}{% endunless %}"
    '{"api_key": "' + KEY + '", "event": "Purchase", "distinct_id": "{{ Profile.Identity }}",'
    ' "properties": {"value": {{ Profile.wallet_balance | default: 0 }}}}'
)
CONFIG = HarnessConfig(project_key=KEY, profiles=60, properties={"wallet_balance": "number"})


def outcome(index: int, document: dict[str, Any], *found: Finding) -> ProfileOutcome:
    """A random profile's outcome as the engine hands it over, with the check's ``found``."""
    profile = Profile(index, "random", {"Identity": str(index)})
    return ProfileOutcome(profile, json.dumps(document), document, False, tuple(found))


def event(distinct_id: Any, **properties: Any) -> dict[str, Any]:
    return {
        "api_key": KEY,
        "event": "Purchase",
        "distinct_id": distinct_id,
        "properties": properties,
    }


@pytest.fixture
def server() -> Iterator[FakePostHog]:
    fake = FakePostHog()
    yield fake
    fake.stop()


def deliver(server: FakePostHog, outcomes: list[ProfileOutcome], mode: str) -> list[Finding]:
    config = CONFIG.with_overrides(deliver=mode)
    with delivering(server=server) as make:
        hook = make(config)
        assert hook is not None
        return hook(outcomes)


def test_a_rare_body_the_check_missed_still_reaches_the_fake(server: FakePostHog) -> None:
    """39 users alike, one whose body has no distinct_id (a different shape) that the check,
    as if it had a bug, did not flag: shapes sends 2 bodies and the fake's 400 is CTPH301."""
    alike = [outcome(i, event(f"user-{i}", value=i * 1.5)) for i in range(39)]
    odd = outcome(39, {"api_key": KEY, "event": "Purchase", "properties": {"value": 1.5}})
    (found,) = deliver(server, [*alike[:20], odd, *alike[20:]], "shapes")
    assert found.code == "CTPH301" and found.count == 1, found
    assert "refused this body: 400" in found.message
    assert found.profile == {"Identity": "39"}
    assert len(server.journal()) == 2
    assert len(server.events()) == 1


def test_an_unpredicted_answer_counts_every_body_of_its_shape(server: FakePostHog) -> None:
    """The representative answers for its shape: 30 bodies, one sent, CTPH301 counts 30, as
    ``deliver = "all"`` counts them after sending all 30."""
    bodies = [outcome(i, event(f"user-{i}", value=i)) for i in range(30)]
    server.inject(status=503, count=1000)
    (shapes,) = deliver(server, bodies, "shapes")
    assert len(server.journal()) == 2  # the one body and CleverTap's one retry
    server.reset()
    server.inject(status=503, count=1000)
    (every,) = deliver(server, bodies, "all")
    assert len(server.journal()) == 60
    assert (shapes.code, shapes.count) == (every.code, every.count) == ("CTPH301", 30)


def test_all_sends_every_body_and_shapes_fewer_with_the_same_findings(
    server: FakePostHog,
) -> None:
    results = {}
    for mode in ("all", "shapes"):
        server.reset()
        config = CONFIG.with_overrides(deliver=mode)
        with delivering(server=server) as make:
            results[mode] = verify_template(PURCHASE, "p.json.liquid", config, deliver=make(config))
        requests = len(server.journal())
        if mode == "all":
            assert requests == results[mode].sent > 30
        else:
            assert 0 < requests < results["all"].sent / 2, requests
        # the template's first body went over loopback HTTP (a real client, which names
        # itself), the rest in process
        agents = [entry.headers.get("User-Agent", "") for entry in server.journal()]
        assert agents[0].startswith("ctph-harness/") and not any(agents[1:])
    assert results["all"].findings == results["shapes"].findings


def test_edge_case_profiles_are_each_sent() -> None:
    """Edge cases (quotes, blanks, unicode, long values) are the probes: never merged."""
    document = event("u", value=1)
    edges = [
        ProfileOutcome(Profile(i, "blank", {}), json.dumps(document), document, False, ())
        for i in range(3)
    ]
    randoms = [outcome(i, event(f"u{i}", value=i)) for i in range(3, 10)]
    groups = representatives([*edges, *randoms])
    assert [len(g) for g in groups] == [1, 1, 1, 7]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (event("a", value=1), event("a", value=1.5)),  # int / float
        (event("a", value=1), event("a", value="1")),  # number / string
        (event("a", value=1), event("a", price=1)),  # another key
        (event("a", value=1, price=2), event("a", price=2, value=1)),  # key order
        (event("user-1", value=1), event("null", value=1)),  # an illegal id
        (event("user-1", value=1), event("", value=1)),  # empty
        (event("user-1", value=1), event("   ", value=1)),  # blank
        (event("user-1", value=1), event("ü", value=1)),  # not ASCII
        (event("user-1", value=1), event("x" * 201, value=1)),  # over the id limit
        (event("user-1", value=1), event("a\0b", value=1)),  # NUL
        (event("a", value=1), event("a", value=2**63)),  # past an exact double
        (event("a", value=[1]), event("a", value=[1, 2])),  # list length
        (event("a", value=None), event("a", value=False)),
    ],
)
def test_bodies_the_fake_may_treat_differently_have_different_shapes(
    one: dict[str, Any], other: dict[str, Any]
) -> None:
    assert request_shape(one) != request_shape(other)


def test_users_who_differ_only_in_their_values_share_a_shape() -> None:
    one = event("alice@example.com", value=3, name="Alice")
    other = event("bob@example.org", value=-7, name="Bob O'Brien")
    assert request_shape(one) == request_shape(other)


def test_different_predicted_findings_are_different_groups() -> None:
    from ctph_harness.findings import finding

    flagged = finding("CTPH124", "a constant distinct_id")
    a = outcome(0, event("x", value=1))
    b = outcome(1, event("y", value=1), flagged)
    assert len(representatives([a, b])) == 2


def test_deliver_setting_is_checked(tmp_path: Path) -> None:
    (tmp_path / "ctph.toml").write_text('deliver = "some"\n')
    with pytest.raises(UsageError, match='`deliver` must be "all" or "shapes"'):
        load_config(tmp_path / "ctph.toml")
    (tmp_path / "ctph.toml").write_text('deliver = "all"\n')
    assert load_config(tmp_path / "ctph.toml").deliver == "all"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[FakePostHog]:
    """The fake PostHog each `ctph verify` starts, kept running for the test to read; its
    ``requests`` counts what the run sent (the runner resets the fake after each template)."""
    made: list[FakePostHog] = []

    class Kept(FakePostHog):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.requests = 0
            made.append(self)

        def reset(self) -> None:
            self.requests += len(self.journal())
            super().reset()

        def stop(self) -> None:
            pass  # read after the run, stopped by the fixture

    monkeypatch.setattr(server_module, "FakePostHog", Kept)
    yield made
    for fake in made:
        FakePostHog.stop(fake)


@pytest.mark.parametrize("given", [[], ["--deliver", "shapes"], ["--deliver", "all"]])
def test_ctph_verify_deliver_flag(
    tmp_path: Path, recorded: list[FakePostHog], given: list[str]
) -> None:
    (tmp_path / "purchase.json.liquid").write_text(PURCHASE)
    (tmp_path / "ctph.toml").write_text('profiles = 60\n[properties]\nwallet_balance = "number"\n')
    out = io.StringIO()
    assert main(["verify", "--format", "json", *given, str(tmp_path)], out=out) == 0
    (fake,) = recorded
    sent = fake.requests + len(fake.journal())
    every = given == ["--deliver", "all"]
    assert (sent > 30) if every else (0 < sent < 15), sent


CAMPAIGN_TEST = """
import pytest

@pytest.mark.ctph(profiles=40)
def test_verify_state(ctph_campaign, fake_posthog):
    result = ctph_campaign("purchase.json.liquid").verify()
    assert result.sent > 20
    assert len(fake_posthog.events(name="Purchase")) == result.sent
    assert len(fake_posthog.persons()) == result.sent
"""


def test_campaign_verify_keeps_every_body_for_the_state_a_test_asserts(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "purchase.json.liquid").write_text(PURCHASE)
    (pytester.path / "ctph.toml").write_text('[properties]\nwallet_balance = "number"\n')
    pytester.makepyfile(test_state=CAMPAIGN_TEST)
    pytester.runpytest("test_state.py").assert_outcomes(passed=1)
    # asking for shapes is honoured: then the fake holds fewer events than bodies
    shapes = pytester.runpytest("--ctph-deliver", "shapes", "test_state.py")
    shapes.assert_outcomes(failed=1)


COUNTING = """
from ctph_harness.pytest_plugin import ctph_session

def pytest_sessionfinish(session):
    fake = ctph_session(session.config).server
    print("REQUESTS", len(fake.journal()))
"""


@pytest.mark.parametrize(("given", "many"), [([], False), (["--ctph-deliver", "all"], True)])
def test_campaign_items_deliver_option(
    pytester: pytest.Pytester, given: list[str], many: bool
) -> None:
    (pytester.path / "purchase.json.liquid").write_text(PURCHASE)
    (pytester.path / "ctph.toml").write_text(
        'profiles = 60\n[properties]\nwallet_balance = "number"\n'
    )
    pytester.makeconftest(COUNTING)
    result = pytester.runpytest("-s", *given)
    result.assert_outcomes(passed=1)
    found = re.search(r"REQUESTS (\d+)", result.stdout.str())
    assert found is not None, result.stdout.str()
    sent = int(found.group(1))
    assert (sent > 30) if many else (0 < sent < 15), sent
