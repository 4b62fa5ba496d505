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
    ALWAYS_PRESENCE,
    CUSTOM_PRESENCE,
    EVENT_PRESENCE,
    NESTED_PRESENCE,
    AnyKind,
    BoolKind,
    ChoiceKind,
    DateKind,
    EmailKind,
    IdentityKind,
    IdentKind,
    Kind,
    ListKind,
    MultiValueKind,
    NumberKind,
    ObjectKind,
    PatternKind,
    PhoneKind,
    PooledKind,
    Presence,
    TextKind,
    UniqueKind,
    UrlKind,
)
from .limits import MAX_VALUE_CHARS
from .spec import Path, PropertySpec

__all__ = ["CHARGED_ITEM", "STANDARD_FIELDS", "find_spec", "leaf_kind", "name_words"]


# The reference instant for dates: a constant, never "now", so output does not drift with time.
_EPOCH_2025: Final = 1_735_689_600


_EDUCATION: Final = ("School", "Graduate", "Post Graduate", "Doctorate", "Diploma")
_CUSTOMER_TYPES: Final = ("Gold", "Silver", "Platinum", "Regular", "New", "VIP")
_CATEGORIES: Final = ("Books", "Electronics", "Fashion", "Home & Kitchen", "Toys", "Grocery")
_PAYMENT_MODES: Final = ("Credit card", "Debit card", "UPI", "Net banking", "COD", "Wallet")
_CURRENCIES: Final = ("USD", "INR", "EUR", "BRL", "JPY", "GBP", "AED")
_KNOWN_ID_PRESENCE: Final[Presence] = (0.98, 0.0, 0.5)
_LOCATION_PRESENCE: Final[Presence] = (0.9, 0.85, 0.6)
_FLAG_PRESENCE: Final[Presence] = (0.95, 0.8, 0.6)
_DOB_RANGE: Final = (-946_771_200, 1_262_304_000)  # 1940..2010
_MAX_SAFE_ID: Final = 10**15 - 1  # 15 digits: every such integer survives a JSON double
_YN: Final = ("Y", "N")


def _standard_kinds() -> dict[str, Kind]:
    return {
        "Name": TextKind("names", (0.95, 0.1, 0.5)),
        "Email": EmailKind((0.9, 0.03, 0.5)),
        "Identity": IdentityKind(_KNOWN_ID_PRESENCE),
        "Phone": PhoneKind((0.6, 0.05, 0.4)),
        "Gender": ChoiceKind(("M", "F"), (0.7, 0.2, 0.4)),
        "DOB": DateKind(*_DOB_RANGE, presence=(0.6, 0.1, 0.3)),
        "Photo": UrlKind((0.4, 0.05, 0.2)),
        "Employed": ChoiceKind(_YN, (0.5, 0.1, 0.3)),
        "Married": ChoiceKind(_YN, (0.5, 0.1, 0.3)),
        "Education": TextKind(_EDUCATION, (0.4, 0.05, 0.2)),
        "Customer Type": TextKind(_CUSTOMER_TYPES, (0.8, 0.2, 0.5)),
        "MSG-email": BoolKind(_FLAG_PRESENCE),
        "MSG-push": BoolKind(_FLAG_PRESENCE),
        "MSG-sms": BoolKind(_FLAG_PRESENCE),
        "MSG-whatsapp": BoolKind(_FLAG_PRESENCE),
        "MSG-dndPhone": BoolKind(_FLAG_PRESENCE, p_true=0.1),
        "MSG-dndEmail": BoolKind(_FLAG_PRESENCE, p_true=0.1),
        "City": TextKind("cities", _LOCATION_PRESENCE),
        "Region": TextKind("regions", _LOCATION_PRESENCE),
        "Country": TextKind("countries", _LOCATION_PRESENCE),
        "Timezone": PooledKind(
            "timezones",
            _LOCATION_PRESENCE,
            (("utc", "UTC"), ("half-hour", "Asia/Kolkata"), ("deep", "America/Argentina/Salta")),
        ),
        "Latitude": NumberKind(
            -90, 90, 6, _LOCATION_PRESENCE, edges=(("zero", 0.0), ("min", -90.0), ("max", 90.0))
        ),
        "Longitude": NumberKind(
            -180, 180, 6, _LOCATION_PRESENCE, edges=(("zero", 0.0), ("min", -180.0), ("max", 180.0))
        ),
    }


_STANDARD: Final = _standard_kinds()
STANDARD_FIELDS: Final[tuple[str, ...]] = tuple(_STANDARD)
"""CleverTap's standard profile fields (A3), plus the location fields webhooks carry."""


def _item_kinds() -> dict[str, Kind]:
    """Keys of a Charged event's items, as CleverTap's SDK docs spell them (both ways where the
    docs themselves differ)."""
    product = TextKind("products", NESTED_PRESENCE)
    sku = IdentKind("SKU", NESTED_PRESENCE)
    return {
        "Category": TextKind(_CATEGORIES, NESTED_PRESENCE, spice=0.0),
        "Product name": product,
        "Product Name": product,
        "Book name": product,
        "Name": product,
        "Quantity": NumberKind(1, 5, None, NESTED_PRESENCE),
        "Price": NumberKind(1, 500, 2, NESTED_PRESENCE),
        "Product ID": sku,
        "ID": sku,
        "SKU": sku,
    }


_ITEM: Final = _item_kinds()
_ITEMS_DEFAULT: Final = ("Category", "Product name", "Quantity", "Price")


CHARGED_ITEM: Final = ObjectKind(tuple((k, _ITEM[k]) for k in _ITEMS_DEFAULT), EVENT_PRESENCE)
"""A Charged event's item with its usual keys: what ``Event.Items[0]`` holds when a template
reads the item whole rather than its keys."""


def _event_kinds() -> dict[str, Kind]:
    """The Charged event's own keys, spelled as CleverTap's docs spell them."""
    payment = TextKind(_PAYMENT_MODES, EVENT_PRESENCE, spice=0.0)
    return {
        "Amount": NumberKind(1, 5000, 2, EVENT_PRESENCE),
        "Currency": ChoiceKind(_CURRENCIES, EVENT_PRESENCE),
        "Payment mode": payment,
        "Payment Mode": payment,
        "Charged ID": IdentKind("ORD", EVENT_PRESENCE),
        "Delivery By": DateKind(_EPOCH_2025, _EPOCH_2025 + 30 * 86400, EVENT_PRESENCE),
        "Items": ListKind(CHARGED_ITEM, (), EVENT_PRESENCE),
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


def name_words(name: str) -> tuple[str, ...]:
    """A property name's words, lower case (``lastOrder_ID`` -> ``last``, ``order``, ``id``):
    what a name says about its values, here and in ``ctph infer``'s personal-data check."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return tuple(t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t)


def _guess_kind(name: str, presence: Presence) -> Kind:
    """A realistic value type for an undeclared property, from its name alone."""
    tokens = name_words(name)
    tset = set(tokens)
    if "email" in tset:
        return EmailKind(presence)
    if tset & {"phone", "mobile"}:
        return PhoneKind(presence)
    if tset & {"url", "link", "photo", "image", "avatar"}:
        return UrlKind(presence)
    if tokens and tokens[0] in _BOOL_PREFIXES:
        return BoolKind(presence)
    if tset & _DATE_WORDS:
        return DateKind(_EPOCH_2025 - 365 * 86400, _EPOCH_2025, presence)
    if tset & _NUMERIC_WORDS:
        return NumberKind(0, 10_000, 2, presence)
    if tset & _INTEGER_WORDS:
        return NumberKind(0, 500, None, presence)
    if tokens and tokens[-1] == "id":
        return IdentKind("ID", presence)
    if tset & {"description", "message", "comment", "note", "title", "bio"}:
        return TextKind("sentences", presence, spice=0.08)
    return TextKind("words", presence, spice=0.06)


# Shapes for the personal-data formats the corpus has no pool for: a push token is 64 hex
# digits (an APNs device token's hex form), a card number a 16-digit 4... (Visa's test-card
# shape), a date of birth as a string an ISO date from 1940 to 2009.
_FORMAT_PATTERNS: Final = {
    "push_token": "^[0-9a-f]{64}$",
    "card_number": "^4[0-9]{15}$",
    "date_of_birth": "^(19[4-9][0-9]|200[0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$",
}


def _format_kind(spec: PropertySpec, p: Presence) -> Kind:
    """A personal property declared by kind (``format = "email"``): values of that kind from the
    corpus, as the standard field of that kind gets them."""
    fmt = spec.format
    if fmt == "email":
        return EmailKind(p)
    if fmt == "phone":
        return PhoneKind(p)
    if fmt == "name":
        return TextKind("names", p, numbered=spec.unique)
    if fmt == "address":
        return TextKind("cities", p, numbered=spec.unique)
    if fmt == "date_of_birth" and spec.type == "date":
        return DateKind(*_DOB_RANGE, presence=p)
    return PatternKind(_FORMAT_PATTERNS[cast(str, fmt)], p, spec.always)


def _spec_kind(spec: PropertySpec, presence: Presence) -> Kind:
    always = spec.always
    p = ALWAYS_PRESENCE if always else presence
    kind: Kind
    if spec.format is not None:
        kind = _format_kind(spec, p)
    elif spec.type == "string":
        limit = spec.max_length or MAX_VALUE_CHARS
        kind = TextKind("words", p, numbered=spec.unique, max_chars=limit)
    elif spec.type == "number":
        lo, hi = spec.min, spec.max
        kind = NumberKind(
            0 if lo is None else lo, (lo or 0) + 10_000 if hi is None else hi, 2, p, always
        )
    elif spec.type == "integer" and (spec.min is not None or spec.max is not None):
        lo = 0 if spec.min is None else int(spec.min)
        hi = lo + 10_000 if spec.max is None else int(spec.max)
        kind = NumberKind(lo, hi, None, p, always)
    elif spec.type == "integer":
        kind = NumberKind(0, _MAX_SAFE_ID, None, p, always, spread=True)
    elif spec.type == "boolean":
        kind = BoolKind(p, always)
    elif spec.type == "date":
        kind = DateKind(_EPOCH_2025 - 365 * 86400, _EPOCH_2025 + 365 * 86400, p, always)
    elif spec.type == "list":
        kind = MultiValueKind(p, always, spec.max_length or 4)
    elif spec.type == "enum":
        kind = ChoiceKind(spec.values, p, always, open=spec.open)
    else:
        kind = PatternKind(cast(str, spec.pattern), p, always)
    kind.always = always
    return UniqueKind(kind, spec.name) if spec.unique else kind


def find_spec(
    ns: str, keys: Sequence[str], specs: Mapping[str, PropertySpec]
) -> PropertySpec | None:
    dotted = ".".join(keys)
    return specs.get(f"{ns}.{dotted}") or specs.get(dotted)


def leaf_kind(ns: str, rest: Path, specs: Mapping[str, PropertySpec]) -> Kind:
    """The kind for a path the template reads as a value (no deeper reads below it)."""
    keys = [k for k in rest if isinstance(k, str)]
    spec = find_spec(ns, keys, specs)
    nested = len(rest) > 1
    presence = NESTED_PRESENCE if nested else EVENT_PRESENCE if ns == "Event" else CUSTOM_PRESENCE
    last = keys[-1] if keys else ""
    known: Kind | None = None
    if ns == "Profile" and not nested:
        known = _STANDARD.get(last)
    elif ns == "Event" and not nested:
        known = _EVENT.get(last)
    elif ns == "Event" and keys[0:1] == ["Items"]:
        known = _ITEM.get(last)
    if spec is not None and (known is None or spec.type != "string"):
        return _spec_kind(spec, presence)
    if known is None:
        return AnyKind(_guess_kind(keys[-1] if keys else "value", presence), presence)
    if spec is not None and spec.always:
        # `Email = {always = true}`: still an email, now on every profile
        known = copy.copy(known)
        known.always, known.presence = True, ALWAYS_PRESENCE
    return UniqueKind(known, spec.name) if spec is not None and spec.unique else known
