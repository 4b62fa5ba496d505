"""Configuration: the one place that reads ``[tool.ctph]``, ``ctph.toml`` and the environment.

Precedence, highest first: explicit overrides (CLI flags, pytest options), then the file, then
the defaults below. Every other module receives a :class:`HarnessConfig` and never looks at
files, environment variables or options itself. An unknown or ill-typed key is a
:class:`~ctph_harness.errors.UsageError` that names the key, so a typo never silently changes
what is tested. What a key may hold is written once, in the JSON Schema
``contracts/ctph-config.schema.json`` (:data:`SCHEMA_FILE`), which editors read too.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from functools import cache
from pathlib import Path, PurePath
from typing import Any, Final, Literal
from urllib.parse import SplitResult, urlsplit

from .clevertap.settings import Escaping, Missing
from .contract import capture_paths
from .errors import UsageError
from .findings import Finding, finding
from .schemas import AnnotatedSchema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the py310 tox env
    import tomli as tomllib

__all__ = [
    "MAX_PROFILES",
    "MAX_RETRIES",
    "MAX_TIMEOUT",
    "SCHEMA_FILE",
    "ConfigFinder",
    "DeliverMode",
    "HarnessConfig",
    "check_url",
    "find_config_file",
    "load_config",
    "read_settings_text",
    "settings_schema",
    "webhook_findings",
]

MAX_PROFILES: Final = 100_000
"""The most profiles one template renders. Generation, rendering and checking cost about
0.1-1 ms a profile, so 100,000 is minutes for a rich template; far past the point where more
random users find anything new (the edge cases come first), and a typo such as
``profiles = 1000000000`` would otherwise run for days with no sign of progress."""
MAX_TIMEOUT: Final = 60.0
"""The longest ``timeout`` in seconds. CleverTap's webhook waits 3 s or 5 s (its docs differ);
a minute already covers any slow CI machine, and a larger value (or ``inf``) is a mistake that
could make a run wait for ever on an injected stall."""
MAX_RETRIES: Final = 10
"""The most extra attempts. CleverTap's docs say 1, 2 or 3; a huge value loops for ever when a
test injects a fault that never clears."""

DeliverMode = Literal["all", "shapes"]
"""Which rendered bodies reach the fake PostHog: every one (``"all"``), or one per distinct
request shape plus every edge-case profile's (``"shapes"``; see :mod:`ctph_harness.delivery`)."""


@dataclass(frozen=True)
class HarnessConfig:
    """Everything a run needs to know, resolved once.

    ``missing`` and ``escaping`` are the two CleverTap behaviours its docs leave open (how a
    missing property without ``default`` renders, and whether inserted values are JSON-escaped);
    the defaults are stock Liquid's, and findings name the setting they assumed.
    """

    templates: tuple[str, ...] = ("*.liquid",)
    profiles: int = 200
    seed: int = 0
    strict: bool = False
    project_key: str | None = None
    endpoint: str = "/i/v0/e/"
    missing: Missing = "blank"
    escaping: Escaping = "none"
    ignore: tuple[str, ...] = ()
    """Finding codes to leave out, upper-cased however they were given (file, marker, code)."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    properties_complete: bool = False
    """``properties`` lists every custom property of the account (``ctph infer --write`` says
    so): a template reading any other profile property gets CTPH181."""
    event: str | None = None
    """The event name a template must send (usually set per template, in ``overrides``)."""
    require: tuple[str, ...] = ()
    """Properties the campaign's segment guarantees: every generated profile has them."""
    plan: Mapping[str, Any] = field(default_factory=dict)
    """The tracking plan table (see :mod:`ctph_harness.tracking_plan`); empty: no plan."""
    webhook_url: str | None = None
    """The URL the CleverTap webhook posts to. Only its path is used (on the fake server);
    the harness never contacts its host."""
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 3.0
    """Seconds CleverTap waits for an answer (its docs say 3 s or 5 s)."""
    retries: int = 1
    """Extra attempts after a failed send (its docs say 1, 2 or 3)."""
    deliver: DeliverMode | None = None
    """Which bodies reach the fake PostHog; ``None`` (not set): the caller's default, which is
    ``"shapes"`` for ``ctph verify`` and campaign items and ``"all"`` for
    ``ctph_campaign(...).verify()``, whose fake a test asserts on."""
    flags: Mapping[str, Any] = field(default_factory=dict)
    """Feature flags ``ctph serve`` starts the fake with (``{key: definition}``, checked by
    :func:`.posthog.flags.parse_flags`). Only the fake server reads them: a CleverTap webhook
    asks no flags, so ``ctph verify`` ignores them."""
    overrides: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """Per-template settings: ``(glob, table)`` pairs from ``[overrides."glob"]``, in order."""
    source: str | None = None
    """The file the settings came from, for messages (``None``: defaults only)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ignore", tuple(code.upper() for code in self.ignore))

    @property
    def capture_path(self) -> str:
        """The capture path bodies go to: the webhook URL's path, else ``endpoint``."""
        if self.webhook_url:
            return urlsplit(self.webhook_url).path or "/"
        return self.endpoint

    def for_template(self, path: str) -> HarnessConfig:
        """The settings for one template: every ``[overrides."glob"]`` whose glob matches its
        path (relative to the config file) or its file name, applied in order; ``ignore``
        lists add up, other keys replace."""
        merged = self
        name = PurePath(path).name
        for pattern, table in self.overrides:
            if fnmatch(path, pattern) or fnmatch(name, pattern):
                changes = dict(table)
                if "ignore" in changes:
                    changes["ignore"] = (*merged.ignore, *changes["ignore"])
                merged = replace(merged, **changes)
        return merged

    def for_file(self, path: Path) -> HarnessConfig:
        """:meth:`for_template` for a template file: its path relative to the config file's
        folder (the working directory when the settings came from no file)."""
        base = Path(self.source).parent if self.source else Path.cwd()
        try:
            relative = str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            relative = str(path)
        return self.for_template(relative)

    def with_overrides(
        self, *, flags: Mapping[str, str] | None = None, **overrides: Any
    ) -> HarnessConfig:
        """A copy with the given keys replaced; ``None`` values mean "not given" and are skipped.

        ``flags`` names the command-line option each key came from (``{"profiles":
        "--profiles"}``), so a bad value is told in the user's words: ``--profiles 0: must be
        a whole number from 1 to 100,000 (profiles per template)``."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:  # nothing to check: the validator (and jsonschema-rs) is not even loaded
            _check_values(given, "option", flags)
        return replace(self, **given)


_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers the HTTP layer writes from the request itself (framing, the connection, the
target). A configured value would contradict the body actually sent (httpx refuses
``Content-Length: 5`` with a 60-byte body) or the fake server's address; CleverTap's dashboard
does not let a webhook set them either."""
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name: RFC 9110 section 5.6.2 ``token``."""
_FIELD_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")
"""A header value httpx can send: visible ASCII, space and tab (RFC 9110 section 5.5 also
allows obs-text, but httpx encodes values as ASCII and CR/LF would split the header)."""


def _check_header(name: Any, value: str, where: str) -> None:
    """A configured header the HTTP layer can send as given, or a UsageError naming it."""
    shown = f"{where}: header {name!r}"
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise UsageError(
            f"{shown}: a header name is letters, digits and !#$%&'*+-.^_`|~ (no spaces, "
            "colons or line breaks)"
        )
    if name.lower() in _HOP_BY_HOP:
        raise UsageError(
            f"{shown} is set by the HTTP layer from the request itself; remove it "
            f"(not settable: {', '.join(sorted(_HOP_BY_HOP))})"
        )
    if not _FIELD_VALUE.fullmatch(value):
        raise UsageError(
            f"{shown}: the value must be printable ASCII on one line (no line breaks, control "
            f"or non-ASCII characters), not {value!r}"
        )


def _unsendable(text: str) -> bool:
    """Whether ``text`` holds a character no URL can carry unescaped (space, line break,
    control character); httpx refuses such a URL with InvalidURL."""
    return any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def check_url(url: str, where: str, *, sendable: bool = False) -> SplitResult:
    """``url`` split, or a UsageError saying what is wrong with it. The one reading of a URL a
    user gives (``webhook_url``, ``--ctph-live``), so no later ``urlsplit`` or ``.port`` can
    raise on it.

    ``sendable`` (a URL the harness will send to) also needs http(s) and a host; for
    ``webhook_url`` those are a finding instead (CTPH302: only its path is ever used)."""
    if _unsendable(url):
        raise UsageError(f"{where}: {url!r} contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as exc:
        raise UsageError(f"{where}: {url!r} is not a valid URL ({exc})") from None
    if sendable:
        if parts.scheme not in ("http", "https"):
            raise UsageError(f"{where}: {url!r} must start with http:// or https://")
        if not parts.hostname:
            raise UsageError(f"{where}: {url!r} names no host")
    return parts


def webhook_findings(config: HarnessConfig) -> list[Finding]:
    """CTPH302 when the configured webhook URL cannot be a PostHog capture endpoint: a finding
    about the configuration, not a usage error, so the templates are still verified.

    The host of a self-hosted PostHog can be anything, so only the scheme and the path are
    judged; the harness never contacts that host."""
    if not config.webhook_url:
        return []
    parts = check_url(config.webhook_url, "webhook_url")
    problems = []
    if parts.scheme not in ("http", "https"):
        problems.append(f"scheme {parts.scheme or '(none)'!r} is not http(s)")
    if not parts.netloc:
        problems.append("it names no host")
    if (parts.path or "/") not in capture_paths():
        problems.append(
            f"path {parts.path or '/'!r} is not a capture endpoint (/i/v0/e/, /batch/…)"
        )
    if not problems:
        return []
    return [finding("CTPH302", f"webhook URL {config.webhook_url!r}: " + "; ".join(problems))]


SCHEMA_FILE: Final = "ctph-config.schema.json"
"""The JSON Schema of the settings, in ``contracts/`` (shipped in the wheel, so an editor can
offer completion and check a ``ctph.toml`` as it is typed). It is the one list of keys, types,
ranges and messages; what no schema can say (a URL that parses, a header the HTTP layer can
send, an integer written as ``5.0``) is checked in code after it."""


@cache
def settings_schema() -> dict[str, Any]:
    """The settings' JSON Schema (``contracts/ctph-config.schema.json``), parsed once."""
    from .contract import load

    schema: dict[str, Any] = load(SCHEMA_FILE)
    return schema


@cache
def _validator() -> AnnotatedSchema:
    import jsonschema_rs

    return AnnotatedSchema(jsonschema_rs.dereference(settings_schema()), fallback="")


def _keys() -> tuple[str, ...]:
    return tuple(settings_schema()["properties"])


def _per_template_keys() -> tuple[str, ...]:
    return tuple(settings_schema()["$defs"]["override"]["properties"])


def _suggest(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _in_override(where: str, pattern: str) -> str:
    return f'{where} overrides."{pattern}"'


def _from_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The settings of one file's table, validated: keys, then the schema, then the checks in
    code, then the declared properties and the plan (whose own validators name the property)."""
    _check_keys(table, where)
    _check_values(table, where)
    return _resolved(table, where)


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    """An unknown key, with the nearest known one; a key that cannot be set per template."""
    known = _keys()
    for key in table:
        if key not in known:
            raise UsageError(f"{where}: unknown key `{key}`{_suggest(key, known)}")
    overrides = table.get("overrides")
    if not isinstance(overrides, Mapping):
        return  # the schema says what it must be
    allowed = _per_template_keys()
    for pattern, sub in overrides.items():
        if not isinstance(sub, Mapping):
            continue
        for key in sub:
            if key not in known:
                hint = _suggest(key, allowed) or f" (per-template keys: {', '.join(allowed)})"
                raise UsageError(f"{_in_override(where, pattern)}: unknown key `{key}`{hint}")
            if key not in allowed:
                raise UsageError(
                    f"{_in_override(where, pattern)}: `{key}` cannot be set per template "
                    f"(per-template keys: {', '.join(allowed)})"
                )


def _check_values(
    table: Mapping[str, Any], where: str, flags: Mapping[str, str] | None = None
) -> None:
    """Every value against the schema (the first problem in file order is the one named), then
    what only code can check. A problem inside ``properties`` or ``plan`` is left to their own
    validators, which know the rule and name the property; the schema's wording is the fallback.
    ``flags`` names the command-line option a top-level key came from, for the wording."""
    try:
        found = list(_validator().explained(_as_json(table)))
    except ValueError as exc:  # jsonschema-rs refuses a value nested too deeply to convert
        problem = "arrays or tables nested too deeply" if "ecursion" in str(exc) else str(exc)
        raise UsageError(f"{where}: {problem}") from None
    problems = sorted(found, key=lambda p: _order(table, p[0]))
    nested = []
    for path, message in problems:
        if (
            path
            and path[0] in ("properties", "plan", "flags")
            and isinstance(table[path[0]], Mapping)
        ):
            nested.append((path, message))
        else:
            raise UsageError(_worded(table, path, message, where, flags))
    _check_in_code(table, where, flags)
    for pattern, sub in table.get("overrides", {}).items():
        _check_in_code(sub, _in_override(where, pattern))
    if "properties" in table:
        _check_properties(table["properties"], where)
    if table.get("plan"):
        from .tracking_plan import Plan

        Plan.from_config(table["plan"], f"{where} plan")
    if isinstance(table.get("flags"), Mapping):
        _check_flags(table["flags"], where)
    if nested:
        path, message = nested[0]
        raise UsageError(f"{where}: `{'.'.join(map(str, path))}`: {message}")


def _check_flags(table: Mapping[str, Any], where: str) -> None:
    """The flag definitions as the fake will read them, so a definition it cannot evaluate
    stops ``ctph serve`` at start-up, naming the file and the flag (``parse_flags`` names the
    flag and the problem)."""
    from .posthog.flags import parse_flags

    try:
        parse_flags(_as_json(table))
    except ValueError as exc:
        raise UsageError(f"{where}: `flags`: {exc}") from None


def _check_in_code(
    settings: Mapping[str, Any], where: str, flags: Mapping[str, str] | None = None
) -> None:
    """The rules no JSON Schema can express, on settings the schema passed."""
    definitions = settings_schema()["$defs"]
    for key, value in settings.items():
        # TOML keeps 5 and 5.0 apart; JSON Schema counts 5.0 as an integer
        if isinstance(value, float) and definitions.get(key, {}).get("type") == "integer":
            message = definitions[key]["x-ctph"]["message"]
            raise UsageError(_problem(where, key, message, value, flags))
    if "webhook_url" in settings:
        check_url(settings["webhook_url"], f"{where}: `webhook_url`")
    for name, text in settings.get("headers", {}).items():
        _check_header(name, text, where)


def _worded(
    table: Mapping[str, Any],
    path: tuple[str | int, ...],
    message: str,
    where: str,
    flags: Mapping[str, str] | None = None,
) -> str:
    """A schema problem as the user reads it: the file (and override), the key, the value."""
    if not path:
        return f"{where}: {message}"
    from .schemas import resolved

    path = resolved(table, path)[0]  # "+1" as the file spells it, not jsonschema-rs's 1
    setting = path[:1]
    if path[0] == "overrides" and len(path) > 1:
        where = _in_override(where, str(path[1]))
        setting = path[:3]
    return _problem(where, str(setting[-1]), message, _follow(table, setting), flags)


def _problem(
    where: str, key: str, message: str, value: Any, flags: Mapping[str, str] | None
) -> str:
    """``file: `key` must ..., not VALUE``, or in the words of the option that gave the value:
    ``--profiles 0: must ...`` (the catalogue's messages open with the key's name)."""
    flag = (flags or {}).get(key)
    if flag is None:
        return f"{where}: {message}, not {value!r}"
    return f"{flag} {value!r}: {message.removeprefix(f'`{key}` ')}"


def _follow(node: Any, path: Iterable[str | int]) -> Any:
    """The value at an instance path (jsonschema-rs reports a key like "0" or "+1" as an
    integer: :func:`.schemas.resolved` finds the key the file spells)."""
    from .schemas import resolved

    return resolved(node, tuple(path))[1]


def _order(node: Any, path: Iterable[str | int]) -> list[int]:
    """Where a problem's value stands in the file, so the first one is reported."""
    out = []
    for part in path:
        if isinstance(node, Mapping):
            keys = list(node)
            out.append(keys.index(str(part)) if str(part) in node else len(keys))
            node = node.get(str(part))
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        else:
            break
    return out


def _as_json(value: Any) -> Any:
    """``value`` as the validator takes it: TOML dates and times as their ISO text."""
    if isinstance(value, Mapping):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def _resolved(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validated settings as :class:`HarnessConfig` takes them: lists as tuples,
    ``project_key_env`` read from the environment, ``overrides`` as ``(glob, settings)``."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key == "overrides":
            values[key] = tuple(
                (pattern, _resolved(sub, _in_override(where, pattern)))
                for pattern, sub in raw.items()
            )
        elif key == "flags":  # JSON for the fake: a TOML date in a payload is its ISO text
            values[key] = _as_json(raw)
        elif key == "project_key_env":
            if raw not in os.environ:
                raise UsageError(f"{where}: `project_key_env` names {raw}, which is not set")
            values["project_key"] = os.environ[raw]
        else:
            values[key] = tuple(raw) if isinstance(raw, list) else raw
    return values


def _check_properties(table: Mapping[str, Any], where: str) -> None:
    """Declared custom properties are validated now, so a bad declaration fails the run at
    start-up with its name, not later inside profile generation."""
    from .clevertap.profiles import PropertySpec

    for name, declaration in table.items():
        try:
            PropertySpec.from_config(name, declaration)
        except UsageError as exc:  # the spec names the property; this names the file
            raise UsageError(f"{where}: {exc}") from None


def find_config_file(start: Path) -> Path | None:
    """The nearest ``ctph.toml``, or ``pyproject.toml`` with a ``[tool.ctph]`` table, from
    ``start`` upwards."""
    for folder in [start, *start.parents]:
        candidate = folder / "ctph.toml"
        if candidate.is_file():
            return candidate
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "ctph" in _read(candidate).get("tool", {}):
            return candidate
    return None


MAX_CONFIG_BYTES: Final = 1024 * 1024
"""A ``ctph.toml``/``pyproject.toml`` larger than this is not a settings file."""


def read_settings_text(path: Path) -> str:
    """A settings file's text: at most :data:`MAX_CONFIG_BYTES`, UTF-8 or a clear error (what
    loading reads, and what ``ctph infer --write`` merges into: never a lossy decode)."""
    from .files import read_bytes

    raw = read_bytes(path, limit=MAX_CONFIG_BYTES, what="settings files")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _read(path: Path) -> dict[str, Any]:
    text = read_settings_text(path)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise UsageError(f"{path}: arrays or tables nested too deeply") from None
    except ValueError as exc:  # an integer past int()'s 4,300 digits
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    return data


def load_config(
    path: Path | None = None, *, start: Path | None = None, **overrides: Any
) -> HarnessConfig:
    """Load ``path`` (or the file :func:`find_config_file` finds from ``start``, default the
    working directory) and apply ``overrides``."""
    chosen = path or find_config_file(start or Path.cwd())
    if chosen is None:
        return HarnessConfig().with_overrides(**overrides)
    data = _read(chosen)
    if chosen.name == "pyproject.toml":
        table = data.get("tool", {}).get("ctph", {})
        where = f"{chosen} [tool.ctph]"
    else:
        table, where = data, str(chosen)
    if not isinstance(table, Mapping):
        raise UsageError(f"{where}: must be a table")
    config = HarnessConfig(**_from_table(table, where), source=str(chosen))
    return config.with_overrides(**overrides)


class ConfigFinder:
    """Each template's settings: the nearest ``ctph.toml`` / ``[tool.ctph]`` to the template
    (or one explicit file for all), the run's overrides on top, then the file's
    ``[overrides."glob"]`` for that template. Files are read once per run.

    Nearest-to-the-template (as ruff or editorconfig do) lets one repository hold the campaigns
    of several accounts, each folder with its own project key and property declarations."""

    def __init__(self, explicit: Path | None = None, **overrides: Any) -> None:
        self.explicit = explicit
        self.overrides = overrides
        self._files: dict[Path, Path | None] = {}
        self._configs: dict[Path | None, HarnessConfig] = {}

    def near(self, folder: Path) -> HarnessConfig:
        """The settings that apply in ``folder`` (before per-template overrides)."""
        folder = folder.resolve()
        if self.explicit is not None:
            chosen: Path | None = self.explicit
        elif folder in self._files:
            chosen = self._files[folder]
        else:
            chosen = self._files[folder] = find_config_file(folder)
        if chosen not in self._configs:
            self._configs[chosen] = (
                load_config(chosen, **self.overrides)
                if chosen is not None
                else HarnessConfig().with_overrides(**self.overrides)
            )
        return self._configs[chosen]

    def template(self, path: Path) -> HarnessConfig:
        """The settings for one template file."""
        return self.near(path.parent).for_file(path)
