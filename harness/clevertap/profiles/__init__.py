"""CleverTap user profiles to render campaign templates against.

A template is only as safe as the worst profile CleverTap will ever feed it, so this package
produces two kinds of profiles for the paths a template reads (``("Profile", "Email")``,
``("Event", "Items", 0, "Category")``, ...):

* **edge cases**, always first and always included: every read field missing, blank, at
  CleverTap's 512-character limit, holding each character that breaks JSON when inserted raw, a
  number or list or object where a string was expected. Free-text fields get the nasty characters;
  *format* fields (Email, Phone, Identity, Gender, DOB, MSG-*) only ever hold values CleverTap would
  accept for that format, so a finding on them is a real finding, not an impossible profile.
* **random profiles**: realistic faker values with realistic gaps (anonymous users have no
  Identity, many users have no Email or Phone). A declared property is as varied as its
  declaration (each profile draws its own match of a pattern), and a ``unique`` one never
  repeats within a run.

Standard fields are recognised by their exact name only, because Liquid reads keys exactly:
``Profile.identity`` is a custom property, free text that may break the body, not an Identity.

Everything is a pure function of ``(seed, index, reads, specs)``: a per-index seed is derived with
hashlib (never ``hash()``, never global random state), and each seed's value *pools* are drawn
from a shipped corpus of faker output (``corpus.json``, built by ``corpus.py``), from which the
per-index RNG picks. That keeps the output identical on every machine, process, xdist worker,
``PYTHONHASHSEED`` and faker version, and makes generation fast enough (tens of thousands of
profiles per second) to never be the bottleneck; no faker runs at run time.

:func:`profile_strategy` exposes the same value space to Hypothesis, and :func:`shrink` reduces a
failing profile to the smallest one that still fails, so a report shows ``{"Name": "\\""}``
instead of forty faker fields. Neither needs a runtime dependency beyond the package's own:
hypothesis only backs :func:`profile_strategy` (imported when it is called; the ``hypothesis``
extra), and faker only the corpus generator. Importing this package is cheap, which matters
because the pytest plugin imports it in every run.

A missing property is simply absent from :attr:`Profile.fields` / :attr:`Profile.event`, exactly
as CleverTap omits properties a user never had.

The modules, each importing only the ones before it: ``limits`` (CleverTap's limits and formats),
``pools`` (seeds, RNG, per-seed pools from the corpus), ``regex`` (pattern sampler), ``spec``
(PropertySpec, Profile), ``kinds`` (value kinds), ``guess`` (path -> kind), ``plan`` (reads ->
tree of kinds), ``generation`` and ``shrinking``; ``corpus`` (the corpus generator, run by hand,
never imported at run time) imports only ``pools``.
"""

from __future__ import annotations

from .generation import generate
from .guess import STANDARD_FIELDS
from .limits import E164_RE, EMAIL_RE, MAX_KEY_CHARS, MAX_LIST_ITEMS, MAX_VALUE_CHARS
from .shrinking import profile_strategy, shrink
from .spec import PROPERTY_TYPES, Path, Profile, PropertySpec, PropertyType

__all__ = [
    "E164_RE",
    "EMAIL_RE",
    "MAX_KEY_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_VALUE_CHARS",
    "PROPERTY_TYPES",
    "STANDARD_FIELDS",
    "Path",
    "Profile",
    "PropertySpec",
    "PropertyType",
    "generate",
    "profile_strategy",
    "shrink",
]
