"""The verification pipeline, in one direction.

template file -> CleverTap dialect (parse once, static analysis) -> profiles for the fields the
template reads -> render each -> parse -> PostHog contract -> cross-profile rules -> findings,
deduplicated per template and location with a count, each shown with the smallest profile that
still triggers it (shrunk by :func:`.clevertap.profiles.shrink`).

Pure: it reads no files, starts no server and sends nothing. A run over many templates
(:mod:`ctph_harness.runner`, the pytest plugin) reads each template, hands it here with a
:data:`~ctph_harness.profile_outcome.Deliver` hook when its bodies should reach a fake PostHog,
and decides what to print and whether the run fails (:mod:`ctph_harness.verdict`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from .clevertap.analysis import PROPERTY_ROOTS
from .clevertap.dialect import render_clock, shifted_clock
from .clevertap.known import known_names, unknown_property_findings
from .clevertap.profiles import Profile, PropertySpec, generate, shrink
from .clevertap.render import explain_json_failure, multi_value_findings, render
from .clevertap.settings import DialectSettings
from .clevertap.template import CampaignTemplate, load_template
from .config import HarnessConfig, webhook_findings
from .errors import UsageError
from .findings import Finding, Severity, finding
from .locate import located
from .posthog.checker import check_many, check_text
from .profile_outcome import Deliver, ProfileOutcome
from .reports.model import ItemReport, sorted_findings
from .schemas import AnnotatedSchema
from .tracking_plan import check_events, plan_checker
from .verdict import kept, passed

__all__ = [
    "CAMPAIGN",
    "Preview",
    "TemplateResult",
    "always_present",
    "dialect_settings",
    "preview",
    "property_specs",
    "run_profile",
    "template_reads",
    "verify_template",
]

CAMPAIGN: Mapping[str, Any] = {"campaignId": "1714557600_20240501"}
"""The ``Campaign`` object every render sees: one campaign, so a template that uses its id as a
distinct_id collapses every user, exactly as it would in CleverTap."""


@dataclass(frozen=True)
class TemplateResult:
    """The verdict material for one template."""

    path: str
    source: str
    findings: tuple[Finding, ...]
    profiles: int
    sent: int
    aborted: int
    example: str | None
    """One rendered body (the first that PostHog accepts cleanly, else the first rendered)."""
    bodies: Mapping[tuple[str, str, int | None, int | None], str] = field(default_factory=dict)
    """The body each per-profile finding's smallest profile rendered, by code and location."""

    def body_for(self, item: Finding) -> str | None:
        """What the finding's profile sent (cross-profile findings: the example body)."""
        return self.bodies.get(_key(item), self.example)

    def item(self, *, strict: bool = False) -> ItemReport:
        return ItemReport(
            self.path,
            self.findings,
            passed(self.findings, strict=strict),
            self.profiles,
            self.example,
        )


@cache
def _specs(properties_json: str, required: tuple[str, ...]) -> dict[str, PropertySpec]:
    declared = json.loads(properties_json)
    specs = {name: PropertySpec.from_config(name, value) for name, value in declared.items()}
    for name in required:  # undeclared: a plain string
        specs[name] = replace(
            specs.get(name) or PropertySpec.from_config(name, "string"), always=True
        )
    return dict(sorted(specs.items()))


def property_specs(config: HarnessConfig) -> Mapping[str, PropertySpec]:
    """Declared properties, plus the ``require``d ones made always present; built once per
    distinct declaration."""
    declared = json.dumps(dict(config.properties), sort_keys=True, default=str)
    return _specs(declared, tuple(config.require))


def always_present(config: HarnessConfig) -> frozenset[tuple[str, ...]]:
    """The paths (root first) the account guarantees on every profile, declared ``always`` or
    ``require``d, so outputting them needs no ``default``. An unqualified name holds in both
    namespaces, as it does for profile generation."""
    paths: set[tuple[str, ...]] = set()
    for name, spec in property_specs(config).items():
        if spec.always:
            parts = tuple(name.split("."))  # CleverTap keys cannot hold a dot
            if parts[0] in PROPERTY_ROOTS:
                paths.add(parts)
            else:
                paths.update((root, *parts) for root in PROPERTY_ROOTS)
    return frozenset(paths)


def dialect_settings(config: HarnessConfig) -> DialectSettings:
    """The CleverTap dialect switches of ``config``: how a template is parsed and rendered."""
    return DialectSettings(missing=config.missing, escaping=config.escaping)


def run_profile(
    template: CampaignTemplate,
    profile: Profile,
    config: HarnessConfig,
    now: datetime,
    *,
    planned: AnnotatedSchema | None,
    explain: bool = True,
) -> ProfileOutcome:
    """Render one profile and check what it sends: the per-profile hot path. ``planned`` is the
    template's compiled tracking-plan check (:func:`~ctph_harness.tracking_plan.plan_checker`),
    built once per template by the caller rather than looked up again for every profile.
    ``explain=False`` keeps the checker's CTPH004 as it is instead of rendering again to name
    the output that broke the JSON (shrinking for another finding does not need the name)."""
    rendered = render(template, profile.fields, profile.event, CAMPAIGN)
    if rendered.aborted:
        return ProfileOutcome(profile, None, None, True, ())
    if rendered.body is None:
        found = (rendered.finding,) if rendered.finding is not None else ()
        return ProfileOutcome(profile, None, None, False, found)
    checked = check_text(
        rendered.body, endpoint=config.capture_path, project_key=config.project_key, now=now
    )
    found_list = checked.findings
    if checked.document is None and explain:  # name the output expression that broke the JSON
        found_list = [
            _explained(template, profile, f) if f.code == "CTPH004" else f for f in found_list
        ]
    found_list += multi_value_findings(template.facts, profile.fields, profile.event)
    if planned is not None and checked.document is not None:
        found_list += check_events(planned, checked.events)
    return ProfileOutcome(profile, rendered.body, checked.document, False, tuple(found_list))


def _explained(template: CampaignTemplate, profile: Profile, refused: Finding) -> Finding:
    """The checker's CTPH004 for a body PostHog's parser refuses, made to name the output that
    broke it, keeping the checker's predicted 400 (which delivery compares with the fake's
    answer). The checker's own finding stands when there is no output to blame, or when the
    traced render disagrees with the plain one (a template that inspects a ``capture``d value
    can see the trace markers)."""
    try:
        explained = explain_json_failure(template, profile.fields, profile.event, CAMPAIGN)
    except ValueError:
        return refused
    if explained is None:
        return refused
    return replace(explained, rejection=refused.rejection)


def _key(item: Finding) -> tuple[str, str, int | None, int | None]:
    return (item.code, item.pointer, item.line, item.column)


class _Tally:
    """Per-profile findings grouped by code and location, counting the profiles affected and
    keeping the smallest profile seen for each (a profile's size is measured once)."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str, int | None, int | None], _Seen] = {}
        self.count: dict[tuple[str, str, int | None, int | None], int] = {}

    def add(self, outcome: ProfileOutcome) -> None:
        if not outcome.findings:
            return
        size = outcome.profile.size()
        for item in outcome.findings:
            key = _key(item)
            self.count[key] = self.count.get(key, 0) + 1
            seen = self.first.get(key)
            if seen is None or size < seen.size:
                self.first[key] = _Seen(item, outcome.profile, size, outcome.body)

    def by_severity(self) -> list[tuple[tuple[str, str, int | None, int | None], _Seen]]:
        """Errors first, then warnings, then the rest, each in the order first seen: the order
        in which findings get their share of the shrink budget."""
        order = {Severity.ERROR: 0, Severity.WARNING: 1}
        return sorted(self.first.items(), key=lambda kv: order.get(kv[1].item.severity, 2))


@dataclass(frozen=True, slots=True)
class _Seen:
    """The smallest profile seen triggering a finding, and what it produced."""

    item: Finding
    profile: Profile
    size: int
    body: str | None


class _Examples(Sequence[Mapping[str, Any]]):
    """The profiles behind the sent payloads, turned into report form only when a cross-profile
    finding asks for one (most runs never do)."""

    def __init__(self, outcomes: Sequence[ProfileOutcome]) -> None:
        self._outcomes = outcomes

    def __len__(self) -> int:
        return len(self._outcomes)

    def __getitem__(self, index: Any) -> Any:
        return self._outcomes[index].profile.shown()


SHRINK_BUDGET = 3_000
"""Renders of a template of up to :data:`RENDER_UNIT` characters one template may spend shrinking
its findings' profiles; a larger template's renders cost more of it, in proportion. A shrink costs
about 10 to 150 renders and a render's cost grows with the template, so without a cap a template
with one finding per property took time quadratic in its properties (100 properties: 400 shrinks
of about 110 renders of 100 outputs each, 46 s). Findings past the budget keep the smallest
profile the run saw; errors are shrunk first. The bundled campaigns spend none of it (their
findings' smallest profiles are already empty)."""
RENDER_UNIT = 2_048
CHUNKED_FROM = 16
"""Top-level properties from which the shrink first drops them in halves (:func:`_drop_chunks`)
rather than leaving ``shrink``'s one-at-a-time pass to try each: O(log n) renders per finding
that depends on few properties, instead of n."""


class _Shrinker:
    """Shrinks every finding of one template against one budget (:data:`SHRINK_BUDGET`)."""

    def __init__(
        self,
        template: CampaignTemplate,
        config: HarnessConfig,
        now: datetime,
        reads: Sequence[tuple[str | int, ...]],
        planned: AnnotatedSchema | None,
    ) -> None:
        self.template, self.config, self.now = template, config, now
        self.reads, self.planned = reads, planned
        self.always = always_present(config)
        self.spent = 0
        self.cost = 1 + len(template.source) // RENDER_UNIT

    @property
    def exhausted(self) -> bool:
        return self.spent >= SHRINK_BUDGET

    def outcome(self, candidate: Profile, explain: bool) -> ProfileOutcome | None:
        """``candidate``'s outcome, or ``None`` once the budget is spent (no evidence)."""
        if self.exhausted:
            return None
        self.spent += self.cost
        return run_profile(
            self.template, candidate, self.config, self.now, planned=self.planned, explain=explain
        )

    def shrunk(self, item: Finding, seen: _Seen) -> tuple[Finding, Profile, str | None]:
        """The smallest profile that still triggers ``item`` (same code and location), with the
        finding and the body as that profile produces them (the message then quotes its
        values); what the run saw when the budget is spent."""
        if self.exhausted:
            return item, seen.profile, seen.body
        key = _key(item)
        explain = item.code == "CTPH004"  # only CTPH004's location needs the traced render

        def still_fails(candidate: Profile) -> bool:
            outcome = self.outcome(candidate, explain)
            return outcome is not None and any(_key(f) == key for f in outcome.findings)

        start = _drop_chunks(seen.profile, still_fails, self.always)
        small = shrink(start, still_fails, self.reads, property_specs(self.config))
        if small.fields == seen.profile.fields and small.event == seen.profile.event:
            return item, seen.profile, seen.body  # nothing smaller: what the run saw stands
        final = run_profile(
            self.template, small, self.config, self.now, planned=self.planned
        )  # outside the budget: one per finding, to quote the small profile's own values
        hit = next((f for f in final.findings if _key(f) == key), None)
        return (hit, small, final.body) if hit else (item, seen.profile, seen.body)


def _drop_chunks(
    profile: Profile, still_fails: Callable[[Profile], bool], always: frozenset[tuple[str, ...]]
) -> Profile:
    """``profile`` without the top-level properties whose removal keeps the failure, found by
    halves: drop a run of them at once, and split it only when that loses the failure. For a
    failure that stays when more properties go (the usual case) this keeps what ``shrink``'s
    one-at-a-time pass would, in O(log n) renders per needed property instead of n; that pass
    still runs after it. ``always`` properties stay. Profiles under :data:`CHUNKED_FROM`
    properties are returned as they are."""
    names = [("Profile", k) for k in profile.fields] + [("Event", k) for k in profile.event]
    droppable = [n for n in names if n not in always]
    if len(droppable) < CHUNKED_FROM:
        return profile
    dropped: set[tuple[str, str]] = set()

    def without(extra: Sequence[tuple[str, str]]) -> Profile:
        gone = dropped.union(extra)
        return replace(
            profile,
            fields={k: v for k, v in profile.fields.items() if ("Profile", k) not in gone},
            event={k: v for k, v in profile.event.items() if ("Event", k) not in gone},
        )

    pending = [droppable]
    while pending:
        run = pending.pop()
        if still_fails(without(run)):
            dropped.update(run)
        elif len(run) > 1:
            half = len(run) // 2
            pending += [run[half:], run[:half]]  # the first half next, as the one-at-a-time pass
    return without(())


def template_reads(template: CampaignTemplate) -> list[tuple[str | int, ...]]:
    """The profile and event paths the template reads: what its profiles are generated for."""
    return [read.segments for read in template.facts.reads if read.root in ("Profile", "Event")]


def verify_template(
    source: str | bytes,
    name: str,
    config: HarnessConfig,
    *,
    now: datetime | None = None,
    deliver: Deliver | None = None,
) -> TemplateResult:
    """Run the whole pipeline for one template. ``deliver`` (see :mod:`.delivery`) sends every
    rendered body to the fake PostHog and returns what that adds. Raises only
    :class:`InputError` for input that is not a template at all (binary, not UTF-8, too large)."""
    with render_clock():  # one slow render stops the template's later ones early
        return _verify_template(source, name, config, now=now, deliver=deliver)


def _verify_template(
    source: str | bytes,
    name: str,
    config: HarnessConfig,
    *,
    now: datetime | None,
    deliver: Deliver | None,
) -> TemplateResult:
    when = now or datetime.now(timezone.utc)
    template = load_template(source, name, dialect_settings(config))
    static = [*template.findings_given(always_present(config)), *webhook_findings(config)]
    known = (
        known_names([*config.properties, *config.require]) if config.properties_complete else None
    )
    if known is not None:
        static += unknown_property_findings(template.facts, known)
    if template.parsed is None:
        findings = sorted_findings(kept(static, config.ignore))
        return TemplateResult(name, template.source, findings, 0, 0, 0, None)
    reads = template_reads(template)
    if known is not None:  # the account has no such property: every profile lacks it
        reads = [r for r in reads if r[0] != "Profile" or len(r) < 2 or r[1] in known]
    profiles = generate(reads, config.profiles, config.seed, property_specs(config))
    planned = plan_checker(config.plan, config.event)
    outcomes = [run_profile(template, p, config, when, planned=planned) for p in profiles]
    tally = _Tally()
    for outcome in outcomes:
        tally.add(outcome)
    found: list[Finding] = list(static)
    bodies: dict[tuple[str, str, int | None, int | None], str] = {}
    shrinker = _Shrinker(template, config, when, reads, planned)
    for key, seen in tally.by_severity():
        if seen.item.code in config.ignore:  # not shrunk: kept() drops it below
            continue
        item, profile, body = shrinker.shrunk(seen.item, seen)
        found.append(replace(item, count=tally.count[key], profile=profile.shown()))
        if body is not None:
            bodies[_key(item)] = body
    sent = [o for o in outcomes if o.document is not None]
    cross = check_many(
        [o.document for o in sent],
        typed=[o.profile.kind == "random" for o in sent],
        examples=_Examples(sent),
    )
    found += _judge_constant_timestamp(cross, template, sent, config, when)
    aborted = sum(o.aborted for o in outcomes)
    found += _abort_findings(aborted, len(outcomes))
    if deliver is not None:
        found += deliver(outcomes)
    clean = next((o.body for o in sent if not o.findings), None)
    example = clean or next((o.body for o in outcomes if o.body is not None), None)
    shown = kept(found, config.ignore)
    # a pointer's template line, where the template spells the key literally
    placed = located(shown, template.source, index=template.lines)
    bodies = {
        _key(new): bodies[_key(old)]
        for old, new in zip(shown, placed, strict=True)
        if _key(old) in bodies
    }
    findings = sorted_findings(placed)
    return TemplateResult(
        name, template.source, findings, len(outcomes), len(sent), aborted, example, bodies
    )


_LATER = timedelta(days=367, hours=1, minutes=1, seconds=1)
"""How far the clock moves to tell a timestamp built from ``"now"`` from a hard-coded one: past
a leap year, so the year, the day, the hour, the minute and the second all change, whichever of
them the template's date format prints."""


def _judge_constant_timestamp(
    cross: list[Finding],
    template: CampaignTemplate,
    sent: Sequence[ProfileOutcome],
    config: HarnessConfig,
    now: datetime,
) -> list[Finding]:
    """``cross`` without CTPH144 when the shared timestamp follows the clock.

    One run renders every profile within the same clock second, so a timestamp from ``"now"``
    looks constant here though CleverTap renders it anew for every send. Rendering one profile
    again with the clock moved tells the two apart by the template's intent; it costs one render,
    and only when CTPH144 fired."""
    if not any(f.code == "CTPH144" for f in cross):
        return cross
    first = sent[0]
    with shifted_clock(_LATER):
        later = run_profile(template, first.profile, config, now, planned=None)
    if later.document is None:
        return cross  # the later render sent nothing (an abort, a break): no evidence either way
    again = check_many([first.document, later.document], users=[0, 0])
    if any(f.code == "CTPH144" for f in again):
        return cross
    return [f for f in cross if f.code != "CTPH144"]


def _abort_findings(aborted: int, total: int) -> list[Finding]:
    if not aborted:
        return []
    if aborted == total:
        return [
            replace(
                finding(
                    "CTPH009",
                    f"every one of the {total} profiles hits {{% abort %}}: the campaign would "
                    "send nothing",
                ),
                count=aborted,
            )
        ]
    share = 100 * aborted / total
    return [
        replace(
            finding(
                "CTPH009",
                f"{aborted} of {total} profiles ({share:.0f}%) hit {{% abort %}}: CleverTap "
                "sends nothing for them, and they are not judged",
                severity=Severity.INFO,
            ),
            count=aborted,
        )
    ]


@dataclass(frozen=True)
class Preview:
    """``ctph render``: one profile's body and what PostHog would make of it."""

    profile: dict[str, Any]
    body: str | None
    aborted: bool
    findings: tuple[Finding, ...]


def preview(
    source: str | bytes,
    name: str,
    config: HarnessConfig,
    *,
    profile: Profile | None = None,
    index: int | None = None,
    event: Mapping[str, Any] | None = None,
) -> Preview:
    """The offline "Preview & Test": render ``source`` for one profile and check the body.

    Without ``profile``, profile ``index`` of the run ``ctph verify`` would make with this seed
    (so a finding's profile can be reproduced exactly), by default its first realistic one.
    """
    template = load_template(source, name, dialect_settings(config))
    static = [f for f in template.findings if f.severity is Severity.ERROR]
    if template.parsed is None:
        return Preview({}, None, False, sorted_findings(static))
    if profile is None:
        reads, specs = template_reads(template), property_specs(config)
        # a shorter run is a prefix of a longer one: make only what the pick needs
        edges = len(generate(reads, 0, config.seed, specs))
        size = max(config.profiles, edges)
        if index is not None and not 0 <= index < size:
            raise UsageError(f"--index {index}: this run has profiles 0..{size - 1}")
        if index is None:  # the run's first realistic profile (edge cases come first)
            index = edges if size > edges else 0
        profile = generate(reads, index + 1, config.seed, specs)[index]
    if event is not None:
        profile = replace(profile, event=dict(event))
    planned = plan_checker(config.plan, config.event)
    outcome = run_profile(template, profile, config, datetime.now(timezone.utc), planned=planned)
    findings = sorted_findings(kept([*static, *outcome.findings], config.ignore))
    return Preview(profile.shown(), outcome.body, outcome.aborted, findings)
