"""Identity rules (limits, priority, blocked values) and identifier extraction from Segment-spec messages.

Pure functions over message dicts plus one loader that reads the admin-editable rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from django.conf import settings as django_settings

from cdp.models.identity import DEFAULT_BLOCKED, DEFAULT_LIMITS, DEFAULT_PRIORITY, BlockedValue, IdentitySettings

Ident = tuple[str, str]

# Sources that speak for the business itself (its servers, the CRM): only they may assert CRM contact ids, the
# CRM merge event and the CRM's own "crm-..." anonymous ids. A website key is public; what it says about CRM
# identity is ignored.
TRUSTED_SOURCE_KINDS = frozenset({"server", "crm"})
CRM_ANONYMOUS_PREFIX = "crm-"


@dataclass
class IdentityRules:
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    priority: list[str] = field(default_factory=lambda: list(DEFAULT_PRIORITY))
    blocked_exact: dict[str, set[str]] = field(default_factory=lambda: {"": {v.lower() for v in DEFAULT_BLOCKED}})
    blocked_regex: list[tuple[str, re.Pattern]] = field(default_factory=list)
    link_crm_by_email: bool = False
    default_phone_region: str = "US"
    # Device-like types: when a limit refuses a merge, a newly identified person takes the device over.
    transferable: frozenset[str] = frozenset({"anonymous_id"})
    # Identifier types accepted from context.externalIds (CDP_EXTERNAL_ID_TYPES); any other type is dropped.
    external_types: frozenset[str] = field(default_factory=lambda: external_id_types())

    def rank(self, type_: str) -> int:
        """Priority rank of a type: 0 is the highest. Types not listed take the rank of ``"*"``."""
        cache = self.__dict__.setdefault("_ranks", {})
        if type_ not in cache:
            if type_ in self.priority:
                cache[type_] = self.priority.index(type_)
            else:
                cache[type_] = self.priority.index("*") if "*" in self.priority else len(self.priority)
        return cache[type_]

    def limit(self, type_: str) -> int | None:
        value = self.limits.get(type_)
        return int(value) if value not in (None, "") else None

    def is_blocked(self, type_: str, value: str) -> bool:
        """Whether (type, value) is a blocked value. Answers are remembered in this process for as long as the
        blocked values stay the same (rules are reloaded for every batch; devices and people recur)."""
        cache = self.__dict__.get("_blocked")
        if cache is None:
            cache = self.__dict__["_blocked"] = _blocked_memo(self)
        key = (type_, value)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = self._is_blocked(type_, value)
        return hit

    def _is_blocked(self, type_: str, value: str) -> bool:
        low = value.strip().lower()
        if low in self.blocked_exact.get("", ()) or low in self.blocked_exact.get(type_, ()):
            return True
        for t, rx in self.blocked_regex:
            if (not t or t == type_) and rx.search(value):
                return True
        return False

    def sort_key(self, ident: Ident) -> tuple[int, str, str]:
        """Identifiers sort by type priority (highest first), then type and value."""
        return self.rank(ident[0]), ident[0], ident[1]


_BLOCKED_MEMOS: dict[tuple, dict[Ident, bool]] = {}
_BLOCKED_MEMO_SIZE = 200_000


def _blocked_memo(rules: IdentityRules) -> dict[Ident, bool]:
    """The memo of blocked-value answers for rules with these blocked values (a new one when they change)."""
    fingerprint = (
        tuple(sorted((t, tuple(sorted(values))) for t, values in rules.blocked_exact.items())),
        tuple((t, rx.pattern, rx.flags) for t, rx in rules.blocked_regex),
    )
    memo = _BLOCKED_MEMOS.get(fingerprint)
    if memo is None or len(memo) > _BLOCKED_MEMO_SIZE:
        _BLOCKED_MEMOS.clear()  # only the current rules matter
        memo = _BLOCKED_MEMOS[fingerprint] = {}
    return memo


def external_id_types() -> frozenset[str]:
    """The configured identifier types of context.externalIds (lower case)."""
    return frozenset(t.strip().lower() for t in django_settings.CDP_EXTERNAL_ID_TYPES if t.strip())


def identity_rules_load() -> IdentityRules:
    """The current rules; creates the settings row (and the default blocked values) on first use."""
    settings, created = IdentitySettings.objects.get_or_create(
        pk=1, defaults={"limits": DEFAULT_LIMITS, "priority": DEFAULT_PRIORITY}
    )
    if created:
        BlockedValue.objects.bulk_create(
            [BlockedValue(value=v, is_regex=False, identifier_type="") for v in DEFAULT_BLOCKED],
            ignore_conflicts=True,
        )
    exact: dict[str, set[str]] = {}
    regex: list[tuple[str, re.Pattern]] = []
    for b in BlockedValue.objects.all():
        if b.is_regex:
            try:
                regex.append((b.identifier_type, re.compile(b.value, re.IGNORECASE)))
            except re.error:
                continue
        else:
            exact.setdefault(b.identifier_type, set()).add(b.value.strip().lower())
    return IdentityRules(
        limits=dict(settings.limits or DEFAULT_LIMITS),
        priority=list(settings.priority or DEFAULT_PRIORITY),
        blocked_exact=exact,
        blocked_regex=regex,
        link_crm_by_email=settings.link_crm_by_email,
        default_phone_region=settings.default_phone_region or "US",
    )


def normalize_email(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if "@" in value and len(value) <= 320 else None


_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_PHONE_PLAIN = re.compile(r"\+?[0-9]+")


def normalize_phone(value: Any, *, region: str = "US") -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number."""
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    # "(415) 555-2671" and "415.555.2671" are one number: without the punctuation (which the parser ignores
    # anyway) they share one cache entry, and parsing is the slow part. Anything else (letters, extensions)
    # is parsed as written.
    plain = _PHONE_PUNCTUATION.sub("", value)
    return _phone_e164(plain if _PHONE_PLAIN.fullmatch(plain) else value, region)


@lru_cache(maxsize=200_000)
def _phone_e164(value: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _str_id(value: Any) -> str | None:
    if type(value) is str:  # the common case first
        value = value.strip()
        return value[:512] if value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:512] if value else None


# What an alias's previousId may name, in the order it is resolved: Segment's spec allows either an anonymous id
# (a server-side alias from the Python SDKs: userId + previousId = the browser's anonymous id) or a user id
# (analytics.js: previousId = the old user id, the anonymous id in its own field).
PREVIOUS_ID_TYPES = ("anonymous_id", "user_id")


def alias_previous_id(message: dict[str, Any]) -> str | None:
    """The previousId of an alias message when it names an identifier other than the message's own ids."""
    if message.get("type") != "alias":
        return None
    prev = _str_id(message.get("previousId"))
    if prev and prev != _str_id(message.get("anonymousId")) and prev != _str_id(message.get("userId")):
        return prev
    return None


def alias_resolve(ids: list[Ident], message: dict[str, Any], *, known) -> list[Ident]:
    """``ids`` of a message (from :func:`message_identifiers`) with an alias's previousId narrowed to one identifier:
    the first type of PREVIOUS_ID_TYPES for which ``known((type, previousId))`` is true (anonymous id first when
    both could match), the user id when none is known yet. Other messages' ids are returned as they are."""
    prev = alias_previous_id(message)
    if prev is None:
        return ids
    candidates = [(t, prev) for t in PREVIOUS_ID_TYPES]
    chosen = next((c for c in candidates if known(c)), ("user_id", prev))
    return [i for i in ids if i == chosen or i not in candidates]


def message_identifiers(message: dict[str, Any], *, rules: IdentityRules, source_kind: str = "",
                        contact_keys: bool = True) -> list[Ident]:
    """The identifiers a message carries, normalised, without blocked values, highest priority first.

    userId → user_id, anonymousId → anonymous_id, email/phone from traits or context.traits, context.externalIds
    → their own type when it is configured (CDP_EXTERNAL_ID_TYPES). An alias's previousId gives both candidates
    of PREVIOUS_ID_TYPES: the caller narrows them to the one that exists with :func:`alias_resolve`.
    crm_contact_id and "crm-..." anonymous ids only count from trusted sources (server, CRM): a website key
    cannot claim them. ``contact_keys`` False (a client-side source, Source.asserts_identity): email, phone and
    external ids are not identifiers at all (they stay traits), only userId, anonymousId and an alias's pair are.
    """
    found: list[Ident] = []
    get = message.get
    uid = _str_id(get("userId"))
    if uid:
        found.append(("user_id", uid))
    if get("type") == "alias":
        prev = alias_previous_id(message)
        if prev:
            found.extend((t, prev) for t in PREVIOUS_ID_TYPES)
    aid = _str_id(get("anonymousId"))
    if aid:
        found.append(("anonymous_id", aid))
    traits = get("traits")
    if contact_keys and isinstance(traits, dict) and traits:
        _contact_points(traits, found, rules)
    context = get("context")
    if contact_keys and isinstance(context, dict) and context:
        traits = context.get("traits")
        if isinstance(traits, dict) and traits:
            _contact_points(traits, found, rules)
        external = context.get("externalIds")
        if isinstance(external, list):
            _external_ids(external, found, rules, source_kind)
    untrusted = source_kind not in TRUSTED_SOURCE_KINDS
    result: list[Ident] = []
    for ident in found:  # a handful: a list is the cheapest set
        if ident in result or rules.is_blocked(*ident):
            continue
        if untrusted and ident[0] == "anonymous_id" and ident[1].startswith(CRM_ANONYMOUS_PREFIX):
            continue  # the CRM's own device ids (previousId of an alias included)
        result.append(ident)
    if len(result) > 1:
        result.sort(key=rules.sort_key)
    return result


def _contact_points(traits: dict[str, Any], found: list[Ident], rules: IdentityRules) -> None:
    email = traits.get("email")
    if email is not None:
        email = normalize_email(email)
        if email:
            found.append(("email", email))
    phone = traits.get("phone")
    if phone is not None:
        phone = normalize_phone(phone, region=rules.default_phone_region)
        if phone:
            found.append(("phone", phone))


def _external_ids(external: list, found: list[Ident], rules: IdentityRules, source_kind: str) -> None:
    for item in external:
        if not isinstance(item, dict):
            continue
        type_ = _str_id(item.get("type"))
        value = _str_id(item.get("id"))
        if not type_ or not value:
            continue
        type_ = type_.lower()
        if type_ not in rules.external_types:
            continue
        if type_ == "crm_contact_id" and source_kind not in TRUSTED_SOURCE_KINDS:
            continue
        if type_ == "email":
            value = normalize_email(value)
        elif type_ == "phone":
            value = normalize_phone(value, region=rules.default_phone_region)
        if value:
            found.append((type_, value))


def is_account_message(message: dict[str, Any]) -> bool:
    """Whether a message is an account's own (a company describing itself), which names no person.

    Segment requires an anonymousId or userId on every message, so a company's own group call (or an event about
    the company) carries its group id as anonymousId: such a message (no userId, anonymousId equal to its
    ``groupId`` or ``context.groupId``) updates the account and creates no person profile.
    """
    if message.get("userId") not in (None, ""):
        return False
    aid = _str_id(message.get("anonymousId"))
    if not aid:
        return False
    context = message.get("context")
    group = message.get("groupId") if message.get("type") == "group" else None
    if group is None and isinstance(context, dict):
        group = context.get("groupId")
    return aid == _str_id(group)


def alias_pair(message: dict[str, Any], ids: list[Ident]) -> list[Ident]:
    """The identifiers of ``ids`` that an alias message's userId/previousId pair stands for (highest priority
    first). Only this pair is an explicit statement of identity; the message's other identifiers (email, external
    ids, its own anonymousId) obey the limits like any other message's."""
    uid, prev = _str_id(message.get("userId")), _str_id(message.get("previousId"))
    pair = {("user_id", uid), ("user_id", prev), ("anonymous_id", prev)}
    return [i for i in ids if i in pair]
