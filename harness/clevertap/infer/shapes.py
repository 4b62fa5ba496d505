"""What a value's *shape* says, never what the value is: id shapes, personal-data shapes, names.

Everything here maps an input string to a class string or a yes/no, so what leaves this module
is made of character classes (``aa_999999``), separators and property names only. The shapes
are those tracking-plan tools learn without keeping data (Snowplow's schema-guru derives
``uuid``/``date-time`` formats and enums under a cardinality cap from instances:
snowplow/schema-guru, README.md), and Luhn's check for card numbers (ISO/IEC 7812-1).
"""

from __future__ import annotations

import re
import string
from typing import Final

from ..profiles.guess import name_words

__all__ = [
    "ID_CHARS",
    "UUID4_RE",
    "PersonalKind",
    "is_card_number",
    "is_email",
    "is_phone",
    "personal_by_name",
    "shape_of",
]

PersonalKind = str
"""One of :data:`ctph_harness.clevertap.profiles.spec.FORMATS`."""

_CLASSES: Final = str.maketrans(
    {
        **dict.fromkeys(string.digits, "9"),
        **dict.fromkeys(string.ascii_lowercase, "a"),
        **dict.fromkeys(string.ascii_uppercase, "A"),
    }
)
ID_CHARS: Final = "9aA_-.:/+#"
"""What a shape may hold for an id: digit, lower, upper and a few separators kept literally."""


def shape_of(value: str) -> str | None:
    """``ct_123456`` -> ``aa_999999``; None when the value holds anything an id does not
    (spaces, other punctuation, non-ASCII letters): free text has no id shape."""
    shape = value.translate(_CLASSES)
    return None if shape.strip(ID_CHARS) else shape


# Looser than profiles.limits.EMAIL_RE (what CleverTap accepts, used to generate Emails): here
# a match only withholds values as personal, so anything address-like counts.
_EMAIL_RE: Final = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_PHONE_RE: Final = re.compile(r"\+?[0-9][0-9 ()\-.]{5,22}[0-9]")
_CARD_RE: Final = re.compile(r"[0-9](?:[ \-]?[0-9]){12,18}")
UUID4_RE: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)


_SEPARATORS_DELETED: Final = str.maketrans("", "", " ()-.+")


def is_email(value: str) -> bool:
    return "@" in value and _EMAIL_RE.fullmatch(value) is not None


def is_phone(value: str) -> bool:
    """An international number as CleverTap stores phones (E.164, ``+`` first, separators
    allowed): 7 to 15 digits. Bare digits are not enough: ids and amounts look like that; a
    property named ``phone``/``mobile`` is caught by its name."""
    if not value.startswith("+") or _PHONE_RE.fullmatch(value) is None:
        return False
    return 7 <= len(value.translate(_SEPARATORS_DELETED)) <= 15


def is_card_number(value: str) -> bool:
    """13 to 19 digits (spaces or dashes between) passing Luhn's check."""
    if not value or not value[0].isdigit() or _CARD_RE.fullmatch(value) is None:
        return False
    digits = [int(c) for c in value if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_NAME_WORDS: Final = frozenset({"name", "firstname", "lastname", "fullname", "surname"})
_NOT_A_PERSON: Final = frozenset(
    {"product", "company", "event", "campaign", "app", "file", "brand", "category", "item",
     "plan", "store", "shop", "device", "os", "browser", "team", "org", "city", "country"}
)  # fmt: skip
_ADDRESS_WORDS: Final = frozenset(
    {"address", "addr", "street", "zip", "zipcode", "postcode", "postal", "pincode"}
)
_TOKEN_WORDS: Final = frozenset({"fcm", "apns", "gcm"})


def personal_by_name(name: str) -> PersonalKind | None:
    """The personal-data kind a property's *name* says it holds (``home_email`` -> email)."""
    tokens = name_words(name)
    words = frozenset(tokens)
    joined = "".join(tokens)
    if words & {"email", "mail"} or "email" in joined:
        return "email"
    if words & {"phone", "mobile", "msisdn", "tel", "telephone", "whatsapp"}:
        return "phone"
    if words & {"dob", "birthday", "birthdate"} or "dateofbirth" in joined or "birth" in words:
        return "date_of_birth"
    if words & _ADDRESS_WORDS:
        return "address"
    if words & _TOKEN_WORDS or ("token" in words and words & {"push", "device"}):
        return "push_token"
    if words & {"card", "pan", "cc"} and words & {"number", "no", "num", "pan", "card"}:
        return "card_number"
    if (words & _NAME_WORDS or joined in _NAME_WORDS) and not words & _NOT_A_PERSON:
        return "name"
    return None
