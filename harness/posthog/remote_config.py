"""Remote config and the flags endpoints, answered as PostHog Cloud answers a project with the
default settings: ``GET /array/<token>/config`` (JSON), ``/array/<token>/config.js`` (the
script posthog-js loads), ``/flags`` (v1 and v2 shapes) and the legacy ``/decide``.

What posthog-js reads from the config (``posthog-js`` ``lib/src/remote-config.js``,
``posthog-core.js`` ``_onRemoteConfig``): ``supportedCompression`` (``gzip-js`` turns on gzip
bodies), ``analytics.endpoint`` (``/i/v0/e/`` becomes the capture path), ``hasFeatureFlags``
(``false`` skips the first ``/flags`` call), ``sessionRecording``, ``surveys``, ``heatmaps``
and friends (``false``: nothing more is loaded).

Upstream:

* the config blob: ``posthog/models/remote_config.py`` ``RemoteConfig.build_config`` and its
  snapshots in ``posthog/api/test/test_remote_config.py`` (PostHog/posthog), for a team with
  the model's defaults (recordings, surveys, heatmaps, exception autocapture and dead clicks
  off; network timing on);
* the routes: ``rust/feature-flags`` (``config_endpoint``/``config_js_endpoint``: a token of
  1-200 ``[A-Za-z0-9_-]`` or 400 ``Invalid token``, JSON through serde_json's sorted map, the
  ``config.js`` IIFE); ``rust/feature-flags/src/handler/flags.rs`` (``get_versioned_response``,
  the v2+config default when neither ``v`` nor ``config`` is given, ``/decide`` as
  ``is_from_legacy_decide``, the minimal answer to GET and HEAD);
* the shapes: ``rust/feature-flags/src/api/types.rs`` (``FlagsResponse``, ``FlagDetails``,
  ``LegacyFlagsResponse``, ``DecideV1Response``, ``DecideV2Response``);
* ``config=true`` merges the cached config blob into the answer
  (``handler/config_response_builder.rs`` ``build_response_from_cache``).

Not modelled: site apps, quota limiting, ``detailed_analysis``, and the
per-request ``only_evaluate_survey_feature_flags`` filter.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .answer import JSON, TEXT, Answer
from .exchange import Incoming
from .flags import Context, Evaluation, Flag, evaluate
from .flags_request import FLAGS_BODY_CAP, FlagRequest, FlagsError, read_flag_request
from .methods import FLAGS_ALLOW, not_allowed
from .project import Project
from .routes import FLAGS_PATHS, config_token, is_remote_route

__all__ = [
    "FLAGS_PATHS",
    "FlagState",
    "config_blob",
    "context_for",
    "is_remote_route",
    "remote_answer",
]

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")
_JS = "application/javascript"
_CACHE = (("Cache-Control", "public, max-age=300"), ("Vary", "Origin, Referer"))
"""``config_cache_headers`` (Django's ``add_config_cache_headers``) on the config routes' 200s."""


class FlagState(Protocol):
    """What the routes read from the fake (:class:`.app.CaptureApp` provides it)."""

    def flag_definitions(self) -> tuple[Flag, ...]: ...

    def flag_context(self, request: FlagRequest) -> Context: ...

    def accepts_token(self, token: str) -> bool: ...


def config_blob(token: str, has_flags: bool) -> dict[str, Any]:
    """The remote config a default project's ``/array/<token>/config`` returns."""
    return {
        "analytics": {"endpoint": "/i/v0/e/"},
        "autocaptureExceptions": False,
        "autocapture_opt_out": False,
        "captureDeadClicks": False,
        "capturePerformance": {
            "network_timing": True,
            "web_vitals": False,
            "web_vitals_allowed_metrics": None,
        },
        "defaultIdentifiedOnly": True,
        "elementsChainAsString": True,
        "errorTracking": {"autocaptureExceptions": False, "suppressionRules": []},
        "hasFeatureFlags": has_flags,
        "heatmaps": False,
        "sessionRecording": False,
        "siteApps": [],
        "supportedCompression": ["gzip", "gzip-js"],
        "surveys": False,
        "token": token,
    }


def context_for(project: Project, request: FlagRequest) -> Context:
    """What the flags service evaluates against: the stored person's properties with the
    request's ``person_properties`` over them, and each sent group's stored properties with the
    request's ``group_properties`` over them (``flags/flag_matching.rs``: overrides win, the
    database fills in the rest). Call under the app's lock."""
    person = project.person_for(request.distinct_id)
    properties = dict(person.properties) if person is not None else {}
    properties.update(request.person_properties)
    stored = {(g.type, g.key): g.properties for g in project.groups()}
    group_properties: dict[str, dict[str, Any]] = {}
    for group_type, key in request.groups.items():
        merged = dict(stored.get((group_type, key), {}))
        merged.update(request.group_properties.get(group_type, {}))
        group_properties[group_type] = merged
    return Context(
        request.distinct_id,
        properties,
        dict(request.groups),
        group_properties,
        project.group_types(),
    )


def _dumps(value: Any) -> str:
    """serde_json's compact output of a ``Value`` (object keys sorted: its map is a BTreeMap)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def remote_answer(state: FlagState, incoming: Incoming) -> Answer:
    """Answer one remote-config or flags request."""
    match = config_token(incoming.path)
    if match is not None:
        return _config(state, incoming, match.group(1), match.group(2) == "config.js")
    return _flags(state, incoming)


def _config(state: FlagState, incoming: Incoming, token: str, script: bool) -> Answer:
    if incoming.method not in ("GET", "HEAD"):
        return Answer(405, "", kind="unexpected")
    if not _TOKEN.fullmatch(token):
        return Answer(400, "Invalid token", TEXT, kind="config")
    if not state.accepts_token(token):
        return Answer(404, "", "", kind="config")
    blob = config_blob(token, any(f.active for f in state.flag_definitions()))
    if not script:
        return Answer(200, _dumps(blob), JSON, kind="config", headers=_CACHE)
    del blob["siteApps"]  # the script form carries site apps as code, not metadata
    body = (
        "(function() {\n"
        "  window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};\n"
        f"  window._POSTHOG_REMOTE_CONFIG['{token}'] = {{\n"
        f"    config: {_dumps(blob)},\n"
        "    siteApps: []\n"
        "  }\n"
        "})();"
    )
    return Answer(200, body, _JS, kind="config", headers=_CACHE)


def _flags(state: FlagState, incoming: Incoming) -> Answer:
    args = incoming.args()
    legacy = incoming.path.startswith("/decide")
    version_text = args.get("v") or args.get("version") or None
    version = _version(version_text)
    method = incoming.method
    if method == "HEAD":
        return Answer(200, "", JSON, kind="flags")
    if method == "GET":
        return Answer(200, _minimal(version, legacy=False), JSON, kind="flags")
    if method != "POST":  # the handler's own 405 (``api/endpoint.rs``: ``any(flags)``)
        return not_allowed(FLAGS_ALLOW)
    config_arg = _bool(args.get("config"))
    if legacy and config_arg is None:
        config_arg = True
    if version is None and config_arg is None:
        version, config_arg = 2, True
    try:
        request = read_flag_request(
            incoming.body(FLAGS_BODY_CAP),
            incoming.header("Content-Type"),
            incoming.header("Content-Encoding"),
            args.get("compression"),
        )
        if not state.accepts_token(request.token):
            raise FlagsError.bad_token()
    except FlagsError as exc:
        return Answer(exc.status, exc.body, exc.content_type, kind="flags")
    definitions = state.flag_definitions()
    context = state.flag_context(request)
    wanted = set(request.flag_keys) if request.flag_keys is not None else None
    results = [
        evaluate(flag, context)
        for flag in definitions
        if flag.active and (wanted is None or flag.key in wanted)
    ]
    config = config_blob(request.token, any(f.active for f in definitions)) if config_arg else {}
    return Answer(200, _shaped(results, version, legacy, config), JSON, kind="flags")


def _version(text: str | None) -> int | None:
    """``v`` as the service parses it: an integer, anything else counts as 1."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return 1


def _bool(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    return text.strip().lower() in ("true", "1", "yes", "on")


def _envelope() -> dict[str, Any]:
    return {"requestId": str(uuid.uuid4()), "evaluatedAt": int(time.time() * 1000)}


def _minimal(version: int | None, *, legacy: bool) -> str:
    """``get_minimal_flags_response``: no flags, a minimal config."""
    config = {
        "config": {"enable_collect_everything": True},
        "isAuthenticated": False,
        "sessionRecording": False,
        "supportedCompression": ["gzip", "gzip-js"],
        "toolbarParams": {},
    }
    return _shaped([], version, legacy, config)


def _shaped(
    results: Sequence[Evaluation], version: int | None, legacy: bool, config: Mapping[str, Any]
) -> str:
    """``get_versioned_response``: the struct's fields in order, then the flattened config."""
    envelope = _envelope()
    if legacy:
        shape = {2: "decide_v2", 3: "flags_v1"}.get(version or 0, "decide_v1")
        if version is not None and version >= 4:
            shape = "flags_v2"
    else:
        shape = "flags_v2" if version is not None and version >= 2 else "flags_v1"
    out: dict[str, Any]
    if shape == "decide_v1":
        out = {"featureFlags": [r.key for r in results if r.enabled], **envelope}
    elif shape == "decide_v2":
        out = {"featureFlags": {r.key: r.value for r in results if r.enabled}, **envelope}
    elif shape == "flags_v2":
        out = {
            "errorsWhileComputingFlags": False,
            "flags": {r.key: _details(r) for r in results},
            **envelope,
        }
    else:
        out = {
            "errorsWhileComputingFlags": False,
            "featureFlags": {r.key: r.value for r in results},
            "featureFlagPayloads": {r.key: r.payload for r in results if r.payload is not None},
            **envelope,
        }
    text = json.dumps(out, separators=(",", ":"), ensure_ascii=False)
    if not config:
        return text
    extra = _dumps({k: v for k, v in config.items() if k not in out})
    return text[:-1] + "," + extra[1:] if extra != "{}" else text


def _details(result: Evaluation) -> dict[str, Any]:
    """``FlagDetails`` as serialised (``failed`` and ``conditions`` left out when unset)."""
    return {
        "key": result.key,
        "enabled": result.enabled,
        "variant": result.variant,
        "reason": {
            "code": result.reason,
            "condition_index": result.condition_index,
            "description": result.description,
        },
        "metadata": {
            "id": result.id,
            "version": result.version,
            "description": None,
            "payload": result.payload,
            "has_experiment": False,
        },
    }
