"""Which kind a path gets: CleverTap's standard fields, declared specs, or a guess from the name.

Names match exactly, as Liquid reads them: ``Profile.identity`` is not ``Profile.Identity``, so
in a real account it is some custom property (free text, or missing), and it gets the undeclared
treatment with every adversarial edge, not the clean ids of CleverTap's Identity.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Final, cast

from .kinds import (
    _P_ALWAYS,
    _P_CUSTOM,
    _P_EVENT,
    _P_NESTED,
    Presence,
    _Any,
    _Bool,
    _Choice,
    _Date,
    _Email,
    _Ident,
    _Identity,
    _Kind,
    _List,
    _MultiValue,
    _Number,
    _Object,
    _Pattern,
    _Phone,
    _Pooled,
    _Text,
    _Unique,
    _Url,
)
from .spec import Path, PropertySpec

# The reference instant for dates: a constant, never "now", so output does not drift with time.
_EPOCH_2025: Final = 1_735_689_600


_EDUCATION: Final = ("School", "Graduate", "Post Graduate", "Doctorate", "Diploma")
_CUSTOMER_TYPES: Final = ("Gold", "Silver", "Platinum", "Regular", "New", "VIP")
_CATEGORIES: Final = ("Books", "Electronics", "Fashion", "Home & Kitchen", "Toys", "Grocery")
_PAYMENT_MODES: Final = ("Credit card", "Debit card", "UPI", "Net banking", "COD", "Wallet")
_CURRENCIES: Final = ("USD", "INR", "EUR", "BRL", "JPY", "GBP", "AED")
_P_KNOWN_ID: Final[Presence] = (0.98, 0.0, 0.5)
_P_LOCATION: Final[Presence] = (0.9, 0.85, 0.6)
_P_FLAG: Final[Presence] = (0.95, 0.8, 0.6)
_DOB_RANGE: Final = (-946_771_200, 1_262_304_000)  # 1940..2010
_MAX_SAFE_ID: Final = 10**15 - 1  # 15 digits: every such integer survives a JSON double
_YN: Final = ("Y", "N")


def _standard_kinds() -> dict[str, _Kind]:
    return {
        "Name": _Text("names", (0.95, 0.1, 0.5)),
        "Email": _Email((0.9, 0.03, 0.5)),
        "Identity": _Identity(_P_KNOWN_ID),
        "Phone": _Phone((0.6, 0.05, 0.4)),
        "Gender": _Choice(("M", "F"), (0.7, 0.2, 0.4)),
        "DOB": _Date(*_DOB_RANGE, presence=(0.6, 0.1, 0.3)),
        "Photo": _Url((0.4, 0.05, 0.2)),
        "Employed": _Choice(_YN, (0.5, 0.1, 0.3)),
        "Married": _Choice(_YN, (0.5, 0.1, 0.3)),
        "Education": _Text(_EDUCATION, (0.4, 0.05, 0.2)),
        "Customer Type": _Text(_CUSTOMER_TYPES, (0.8, 0.2, 0.5)),
        "MSG-email": _Bool(_P_FLAG),
        "MSG-push": _Bool(_P_FLAG),
        "MSG-sms": _Bool(_P_FLAG),
        "MSG-whatsapp": _Bool(_P_FLAG),
        "MSG-dndPhone": _Bool(_P_FLAG, p_true=0.1),
        "MSG-dndEmail": _Bool(_P_FLAG, p_true=0.1),
        "City": _Text("cities", _P_LOCATION),
        "Region": _Text("regions", _P_LOCATION),
        "Country": _Text("countries", _P_LOCATION),
        "Timezone": _Pooled(
            "timezones",
            _P_LOCATION,
            (("utc", "UTC"), ("half-hour", "Asia/Kolkata"), ("deep", "America/Argentina/Salta")),
        ),
        "Latitude": _Number(
            -90, 90, 6, _P_LOCATION, edges=(("zero", 0.0), ("min", -90.0), ("max", 90.0))
        ),
        "Longitude": _Number(
            -180, 180, 6, _P_LOCATION, edges=(("zero", 0.0), ("min", -180.0), ("max", 180.0))
        ),
    }


_STANDARD: Final = _standard_kinds()
STANDARD_FIELDS: Final[tuple[str, ...]] = tuple(_STANDARD)
"""CleverTap's standard profile fields (A3), plus the location fields webhooks carry."""


def _item_kinds() -> dict[str, _Kind]:
    """Keys of a Charged event's items, as CleverTap's SDK docs spell them (both ways where the
    docs themselves differ)."""
    product = _Text("products", _P_NESTED)
    sku = _Ident("SKU", _P_NESTED)
    return {
        "Category": _Text(_CATEGORIES, _P_NESTED, spice=0.0),
        "Product name": product,
        "Product Name": product,
        "Book name": product,
        "Name": product,
        "Quantity": _Number(1, 5, None, _P_NESTED),
        "Price": _Number(1, 500, 2, _P_NESTED),
        "Product ID": sku,
        "ID": sku,
        "SKU": sku,
    }


_ITEM: Final = _item_kinds()
_ITEMS_DEFAULT: Final = ("Category", "Product name", "Quantity", "Price")


def _event_kinds() -> dict[str, _Kind]:
    """The Charged event's own keys, spelled as CleverTap's docs spell them."""
    item = _Object(tuple((k, _ITEM[k]) for k in _ITEMS_DEFAULT), _P_EVENT)
    payment = _Text(_PAYMENT_MODES, _P_EVENT, spice=0.0)
    return {
        "Amount": _Number(1, 5000, 2, _P_EVENT),
        "Currency": _Choice(_CURRENCIES, _P_EVENT),
        "Payment mode": payment,
        "Payment Mode": payment,
        "Charged ID": _Ident("ORD", _P_EVENT),
        "Delivery By": _Date(_EPOCH_2025, _EPOCH_2025 + 30 * 86400, _P_EVENT),
        "Items": _List(item, (), _P_EVENT),
    }


_EVENT: Final = _event_kinds()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMERIC_WORDS: Final = _words(
    "amount price total balance value revenue cost spend ltv discount rating score"
)
_INTEGER_WORDS: Final = _words("count qty quantity age points visits orders number")
_BOOL_PREFIXES: Final = _words("is has can opted subscribed enabled")
_DATE_WORDS: Final = _words("date dob birthday at on time since until expiry")


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _guess_kind(name: str, presence: Presence) -> _Kind:
    """A realistic value type for an undeclared property, from its name alone."""
    tokens = _tokens(name)
    tset = set(tokens)
    if "email" in tset:
        return _Email(presence)
    if tset & {"phone", "mobile"}:
        return _Phone(presence)
    if tset & {"url", "link", "photo", "image", "avatar"}:
        return _Url(presence)
    if tokens and tokens[0] in _BOOL_PREFIXES:
        return _Bool(presence)
    if tset & _DATE_WORDS:
        return _Date(_EPOCH_2025 - 365 * 86400, _EPOCH_2025, presence)
    if tset & _NUMERIC_WORDS:
        return _Number(0, 10_000, 2, presence)
    if tset & _INTEGER_WORDS:
        return _Number(0, 500, None, presence)
    if tokens and tokens[-1] == "id":
        return _Ident("ID", presence)
    if tset & {"description", "message", "comment", "note", "title", "bio"}:
        return _Text("sentences", presence, spice=0.08)
    return _Text("words", presence, spice=0.06)


def _spec_kind(spec: PropertySpec, presence: Presence) -> _Kind:
    always = spec.always
    p = _P_ALWAYS if always else presence
    kind: _Kind
    if spec.type == "string":
        kind = _Text("words", p, numbered=spec.unique)
    elif spec.type == "number":
        kind = _Number(0, 10_000, 2, p, always)
    elif spec.type == "integer":
        kind = _Number(0, _MAX_SAFE_ID, None, p, always, spread=True)
    elif spec.type == "boolean":
        kind = _Bool(p, always)
    elif spec.type == "date":
        kind = _Date(_EPOCH_2025 - 365 * 86400, _EPOCH_2025 + 365 * 86400, p, always)
    elif spec.type == "list":
        kind = _MultiValue(p, always)
    elif spec.type == "enum":
        kind = _Choice(spec.values, p, always)
    else:
        kind = _Pattern(cast(str, spec.pattern), p, always)
    kind.always = always
    return _Unique(kind, spec.name) if spec.unique else kind


def _find_spec(
    ns: str, keys: Sequence[str], specs: Mapping[str, PropertySpec]
) -> PropertySpec | None:
    dotted = ".".join(keys)
    return specs.get(f"{ns}.{dotted}") or specs.get(dotted)


def _leaf_kind(ns: str, rest: Path, specs: Mapping[str, PropertySpec]) -> _Kind:
    """The kind for a path the template reads as a value (no deeper reads below it)."""
    keys = [k for k in rest if isinstance(k, str)]
    spec = _find_spec(ns, keys, specs)
    nested = len(rest) > 1
    presence = _P_NESTED if nested else _P_EVENT if ns == "Event" else _P_CUSTOM
    last = keys[-1] if keys else ""
    known: _Kind | None = None
    if ns == "Profile" and not nested:
        known = _STANDARD.get(last)
    elif ns == "Event" and not nested:
        known = _EVENT.get(last)
    elif ns == "Event" and keys[0:1] == ["Items"]:
        known = _ITEM.get(last)
    if spec is not None and (known is None or spec.type != "string"):
        return _spec_kind(spec, presence)
    if known is None:
        return _Any(_guess_kind(keys[-1] if keys else "value", presence), presence)
    if spec is not None and spec.always:
        # `Email = {always = true}`: still an email, now on every profile
        known = copy.copy(known)
        known.always, known.presence = True, _P_ALWAYS
    return _Unique(known, spec.name) if spec is not None and spec.unique else known
