"""Public read access to cdp's tables for segments: table and column names taken from the models' ``_meta`` (so
segments compiles SQL without knowing cdp's internals) and small selectors the segment builder and refresh use."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from cdp.models import Account, EventProfile, Identifier, Profile, RawEvent, Source


def _col(model, field: str) -> str:
    return model._meta.get_field(field).column


@dataclass(frozen=True)
class CdpTables:
    profile: str
    profile_id: str
    profile_traits: str
    profile_computed: str
    profile_merged_into: str
    profile_account: str
    profile_crm_contact: str
    account: str
    account_id: str
    account_traits: str
    event: str
    event_id: str
    event_received_at: str
    event_type: str
    event_name: str
    event_timestamp: str
    event_payload: str
    event_profile: str
    event_profile_event: str
    event_profile_received_at: str
    event_profile_profile: str
    event_profile_name: str
    event_profile_timestamp: str


def cdp_tables() -> CdpTables:
    """Names of the tables and columns segment rules read: surviving profiles (merged_into null), accounts,
    events (RawEvent joined to the profile each belongs to through EventProfile on (event id, received_at)).
    EventProfile also holds each event's name and time, indexed by (name, time): counts of a named event per
    profile read it alone, without the events."""
    return CdpTables(
        profile=Profile._meta.db_table, profile_id=_col(Profile, "id"), profile_traits=_col(Profile, "traits"),
        profile_computed=_col(Profile, "computed"), profile_merged_into=_col(Profile, "merged_into"),
        profile_account=_col(Profile, "account"), profile_crm_contact=_col(Profile, "crm_contact_id"),
        account=Account._meta.db_table, account_id=_col(Account, "id"), account_traits=_col(Account, "traits"),
        event=RawEvent._meta.db_table, event_id=_col(RawEvent, "id"), event_received_at=_col(RawEvent, "received_at"),
        event_type=_col(RawEvent, "type"), event_name=_col(RawEvent, "event"),
        event_timestamp=_col(RawEvent, "timestamp"), event_payload=_col(RawEvent, "payload"),
        event_profile=EventProfile._meta.db_table, event_profile_event=_col(EventProfile, "event_id"),
        event_profile_received_at=_col(EventProfile, "received_at"),
        event_profile_profile=_col(EventProfile, "profile_id"),
        event_profile_name=_col(EventProfile, "event_name"), event_profile_timestamp=_col(EventProfile, "timestamp"),
    )


def surviving_profile_ids(profile_ids: list[int]) -> dict[int, int]:
    """Map each of ``profile_ids`` to the profile that stands for it now (itself, or the survivor it was merged
    into, following chains of merges)."""
    if not profile_ids:
        return {}
    t = cdp_tables()
    with connection.cursor() as cur:
        cur.execute(
            f"""WITH RECURSIVE chain(start, id, merged_into) AS (
                  SELECT p.{t.profile_id}, p.{t.profile_id}, p.{t.profile_merged_into}
                    FROM {t.profile} p WHERE p.{t.profile_id} = ANY(%s)
                  UNION ALL
                  SELECT c.start, p.{t.profile_id}, p.{t.profile_merged_into}
                    FROM chain c JOIN {t.profile} p ON p.{t.profile_id} = c.merged_into)
                SELECT start, id FROM chain WHERE merged_into IS NULL""",
            [list(profile_ids)],
        )
        return dict(cur.fetchall())


def profile_message_identity(profile_ids: list[int]) -> dict[int, dict]:
    """For each profile, the identity fields of a message that identity resolution attributes to it: its
    user id if it has one, else an anonymous id, else its email (as a context trait). Profiles with none of
    these are left out."""
    found: dict[int, dict] = {}
    rank = {"user_id": 0, "anonymous_id": 1, "email": 2}
    best: dict[int, tuple[int, str, str]] = {}
    rows = Identifier.objects.filter(profile_id__in=profile_ids, type__in=list(rank)).values_list(
        "profile_id", "type", "value")
    for pid, type_, value in rows:
        cand = (rank[type_], type_, value)
        if pid not in best or cand < best[pid]:
            best[pid] = cand
    for pid, (_, type_, value) in best.items():
        if type_ == "user_id":
            found[pid] = {"userId": value}
        elif type_ == "anonymous_id":
            found[pid] = {"anonymousId": value}
        else:
            found[pid] = {"anonymousId": f"segments-{pid}", "context": {"traits": {"email": value}}}
    return found


def internal_source() -> Source:
    """The built-in server source segments writes its events (Segment Entered/Exited) through."""
    source, _ = Source.objects.get_or_create(name="Segments (internal)", defaults={"kind": Source.Kind.SERVER})
    return source


def event_names_seen(*, prefix: str = "", limit: int = 50) -> list[str]:
    """Distinct event names seen, most frequent of recent events first (suggestions for the builder)."""
    qs = RawEvent.objects.exclude(event__isnull=True)
    if prefix:
        qs = qs.filter(event__istartswith=prefix)
    rows = qs.order_by("-received_at").values_list("event", flat=True)[:5000]
    counts: dict[str, int] = {}
    for name in rows:
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))[:limit]


def _json_keys(table: str, column: str, *, prefix: str, limit: int, sample: int = 5000) -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT k, count(*) FROM (SELECT {column} AS j FROM {table} ORDER BY id DESC LIMIT %s) s,
                       LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(j) = 'object' THEN j ELSE '{{}}' END) k
                 WHERE k ILIKE %s GROUP BY k ORDER BY count(*) DESC, k LIMIT %s""",
            [sample, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", limit],
        )
        return [row[0] for row in cur.fetchall()]


def trait_keys_seen(*, source: str = "profile", prefix: str = "", limit: int = 50) -> list[str]:
    """Trait keys seen on recent profiles (``source`` profile or computed) or accounts (``account``)."""
    t = cdp_tables()
    if source == "account":
        return _json_keys(t.account, t.account_traits, prefix=prefix, limit=limit)
    column = t.profile_computed if source == "computed" else t.profile_traits
    return _json_keys(t.profile, column, prefix=prefix, limit=limit)


def property_names_seen(*, event: str = "", prefix: str = "", limit: int = 50) -> list[str]:
    """Property names seen on recent events (of ``event`` if given)."""
    t = cdp_tables()
    where, params = "", []
    if event:
        where, params = f"WHERE {t.event_name} = %s", [event]
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT k, count(*) FROM (SELECT {t.event_payload} -> 'properties' AS j FROM {t.event} {where}
                       ORDER BY {t.event_received_at} DESC LIMIT 5000) s,
                       LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(j) = 'object' THEN j ELSE '{{}}' END) k
                 WHERE k ILIKE %s GROUP BY k ORDER BY count(*) DESC, k LIMIT %s""",
            [*params, like, limit],
        )
        return [row[0] for row in cur.fetchall()]


def profiles_by_ids(ids: list[int]):
    """Profiles with these ids (any order), only the fields a list shows."""
    return Profile.objects.filter(pk__in=ids).only("id", "traits", "crm_contact_id")


def profile_ids_matching(query: str):
    """A values queryset of ids of profiles whose name or email traits contain ``query`` (case-insensitive)."""
    from django.db.models import Q  # noqa: PLC0415

    return Profile.objects.filter(
        Q(traits__email__icontains=query) | Q(traits__name__icontains=query)
        | Q(traits__first_name__icontains=query) | Q(traits__last_name__icontains=query)).values("id")
