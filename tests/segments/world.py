"""A small random world (profiles, accounts, events, contacts, companies, deals, memberships) written straight
into the database, and a brute-force Python evaluator of normalised rule trees over the same data, written
independently of the SQL compiler: the two must agree on every tree."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal

from cdp.models import Account, EventProfile, IngestBatch, Profile, RawEvent, Source
from crm.models import Company, Contact, Deal, Pipeline, Stage
from segments.models import Membership, Segment
from tests.factories import UserFactory

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
EVENT_NAMES = ["Page Viewed", "Cart Viewed", "Order Completed", "Signed Up"]
PLANS = ["free", "pro", "Pro Max", "enterprise", "", "o'brien; DROP TABLE cdp_profile;--"]
PATHS = ["/pricing", "/home", "/pricing/enterprise", "/blog"]
TAGS = ["vip", "newsletter", "churn-risk", "beta"]
INDUSTRIES = ["SaaS", "Retail", "Finance"]
LIFECYCLE = ["lead", "marketing_qualified", "customer", "churned"]


@dataclass
class World:
    profiles: dict[int, dict] = field(default_factory=dict)  # surviving and merged
    accounts: dict[int, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)  # {profile_id, name, type, ts, payload}
    contacts: dict[int, dict] = field(default_factory=dict)
    companies: dict[int, dict] = field(default_factory=dict)
    deals: list[dict] = field(default_factory=list)  # {contacts, pipeline, stage, status, amount, close_date}
    memberships: dict[int, set[int]] = field(default_factory=dict)  # segment id -> open profile ids
    owners: list[int] = field(default_factory=list)
    pipelines: list[int] = field(default_factory=list)
    stages: list[int] = field(default_factory=list)
    ref_segment: int = 0


def _trait_value(r: random.Random):
    return r.choice([
        r.choice(PLANS), r.randint(-5, 120), str(r.randint(0, 99)), " 12 ", "12abc", None, True, False,
        (NOW - dt.timedelta(days=r.randint(-5, 90), hours=r.randint(0, 23))).isoformat(),
        (NOW - dt.timedelta(days=r.randint(0, 90))).date().isoformat(), "2026-13-45", "soon",
    ])


def build_world(seed: int = 7) -> World:
    r = random.Random(seed)
    w = World()
    w.owners = [UserFactory(username=f"owner{seed}-{i}").pk for i in range(2)]
    pipe = Pipeline.objects.create(name=f"Sales {seed}")
    stages = [Stage.objects.create(pipeline=pipe, name=n, order=i, is_won=n == "Won", is_lost=n == "Lost")
              for i, n in enumerate(["Qualified", "Negotiation", "Won", "Lost"])]
    w.pipelines, w.stages = [pipe.pk], [s.pk for s in stages]
    for i in range(4):
        c = Company.objects.create(name=f"Co {i}", industry=r.choice(INDUSTRIES), country=r.choice(["DE", "US"]),
                                   tags=r.sample(TAGS, r.randint(0, 2)), custom={"tier": r.choice(["a", "b"])})
        w.companies[c.pk] = {"name": c.name, "domain": "", "industry": c.industry, "size": "", "city": "",
                             "region": "", "country": c.country, "tags": c.tags, "custom": c.custom}
    for i in range(25):
        tags = r.sample(TAGS, r.randint(0, 3))
        custom = {k: _trait_value(r) for k in r.sample(["tier", "score", "renewal"], r.randint(0, 3))}
        c = Contact.objects.create(first_name=f"C{i}", lifecycle_stage=r.choice(LIFECYCLE), tags=tags, custom=custom,
                                   owner_id=r.choice([*w.owners, None]),
                                   company_id=r.choice([*w.companies, None]))
        w.contacts[c.pk] = {"lifecycle_stage": c.lifecycle_stage, "owner": c.owner_id, "tags": tags, "custom": custom,
                            "company": c.company_id}
    for i in range(30):
        stage = r.choice(stages)
        status = "won" if stage.is_won else "lost" if stage.is_lost else "open"
        close = (NOW + dt.timedelta(days=r.randint(-40, 40))).date() if r.random() < 0.8 else None
        d = Deal.objects.create(name=f"D{i}", amount=Decimal(r.randint(0, 5000)), pipeline=pipe, stage=stage,
                                status=status, lost_reason="x" if status == "lost" else "",
                                expected_close_date=close)
        linked = r.sample(list(w.contacts), r.randint(0, 2))
        d.contacts.set(linked)
        w.deals.append({"contacts": set(linked), "pipeline": pipe.pk, "stage": stage.pk, "status": status,
                        "amount": d.amount, "close_date": close})
    for i in range(4):
        a = Account.objects.create(group_id=f"g{seed}-{i}", traits={"plan": r.choice(PLANS), "seats": r.randint(1, 50)})
        w.accounts[a.pk] = {"traits": a.traits}
    contact_ids = list(w.contacts)
    r.shuffle(contact_ids)
    keys = ["plan", "age", "signup", "vip", "city"]
    for _i in range(40):
        traits = {k: _trait_value(r) for k in r.sample(keys, r.randint(0, len(keys)))}
        computed = {k: _trait_value(r) for k in r.sample(["orders", "last_seen"], r.randint(0, 2))}
        p = Profile.objects.create(traits=traits, computed=computed,
                                   account_id=r.choice([*w.accounts, None]),
                                   crm_contact_id=contact_ids.pop() if contact_ids and r.random() < 0.6 else None)
        w.profiles[p.pk] = {"traits": traits, "computed": computed, "account": p.account_id,
                            "contact": p.crm_contact_id, "merged_into": None}
    ids = list(w.profiles)
    for pid in r.sample(ids, 4):  # merged profiles are nobody's members
        survivor = r.choice([x for x in ids if x != pid])
        Profile.objects.filter(pk=pid).update(merged_into_id=survivor)
        w.profiles[pid]["merged_into"] = survivor
    src = Source.objects.create(name=f"world-{seed}", kind="server")
    batch = IngestBatch.objects.create(source=src, received_at=NOW, event_count=0)
    raws, links = [], []
    for i in range(350):
        pid = r.choice(ids)
        name = r.choice(EVENT_NAMES)
        etype = "page" if name == "Page Viewed" else "track"
        ts = NOW - dt.timedelta(days=r.randint(-2, 60), hours=r.randint(0, 23), minutes=r.randint(0, 59))
        props = {}
        if r.random() < 0.8:
            props["path"] = r.choice(PATHS)
        if r.random() < 0.6:
            props["amount"] = r.choice([r.randint(0, 300), str(r.randint(0, 300)), "n/a"])
        if r.random() < 0.3:
            props["plan"] = {"tier": r.choice(PLANS)}
        payload = {"type": etype, "event": name, "properties": props}
        received = NOW - dt.timedelta(minutes=i)
        raws.append(RawEvent(received_at=received, source=src, batch=batch, message_id=f"w{seed}-{i}", type=etype,
                             event=name, timestamp=ts, payload=payload))
        w.events.append({"profile_id": pid, "name": name, "type": etype, "ts": ts, "payload": payload})
    RawEvent.objects.bulk_create(raws)
    for raw, ev in zip(raws, w.events, strict=True):
        links.append(EventProfile(event_id=raw.pk, received_at=raw.received_at, profile_id=ev["profile_id"],
                                  timestamp=raw.timestamp))
    EventProfile.objects.bulk_create(links)
    ref = Segment.objects.create(name=f"Reference {seed}")
    members = set(r.sample(ids, 10))
    Membership.objects.bulk_create([Membership(segment=ref, profile_id=pid, entered_at=NOW) for pid in members])
    Membership.objects.bulk_create([Membership(segment=ref, profile_id=pid, entered_at=NOW, exited_at=NOW)
                                    for pid in r.sample(ids, 5) if pid not in members])
    w.memberships[ref.pk] = members
    w.ref_segment = ref.pk
    return w


# --- the brute-force evaluator ---------------------------------------------------------------------------------

_NUM = re.compile(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$")
_TS = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                 r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$")


def as_text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def as_number(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | Decimal):
        return Decimal(v)
    if isinstance(v, str) and _NUM.match(v):
        return Decimal(v.strip())
    return None


def as_date(v):
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC)
    if not isinstance(v, str) or not _TS.match(v):
        return None
    try:
        moment = dt.datetime.fromisoformat(v)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def compare(raw, cmp: dict, now: dt.datetime) -> bool:
    """``raw`` is the stored value (JSON value or column value; None when missing)."""
    op, value, vt = cmp["op"], cmp["value"], cmp["value_type"]
    if vt == "boolean":
        return {"is_true": raw is True, "is_false": raw is False, "is_set": isinstance(raw, bool),
                "not_set": not isinstance(raw, bool)}[op]
    x = {"string": as_text, "number": as_number, "date": as_date}[vt](raw)
    if op == "is_set":
        return x is not None
    if op == "not_set":
        return x is None
    if op == "not_equals":
        return x != value
    if op == "not_contains":
        return x is None or value.lower() not in x.lower()
    if op == "not_in":
        return x is None or x not in value
    if x is None:
        return False
    if op == "within_last_days":
        return now - dt.timedelta(days=value) <= x <= now
    if op == "within_next_days":
        return now <= x <= now + dt.timedelta(days=value)
    if op == "between":
        return value[0] <= x < value[1] if vt == "date" else value[0] <= x <= value[1]
    return {
        "equals": lambda: x == value, "gt": lambda: x > value, "gte": lambda: x >= value, "lt": lambda: x < value,
        "lte": lambda: x <= value, "before": lambda: x < value, "after": lambda: x > value,
        "contains": lambda: value.lower() in x.lower(), "starts_with": lambda: x.lower().startswith(value.lower()),
        "in": lambda: x in value,
    }[op]()


def _path(payload, path):
    cur = payload
    for part in path:
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _event_matches(ev, which) -> bool:
    if which.get("event") is not None and ev["name"] != which["event"]:
        return False
    if which.get("event_type") is not None and ev["type"] != which["event_type"]:
        return False
    return all(compare(_path(ev["payload"], f["path"]), f, NOW) for f in which.get("where", []))


def _in_window(ts, window, now) -> bool:
    if window["kind"] == "last_days":
        return now - dt.timedelta(days=window["days"]) <= ts <= now
    if window["kind"] == "between":
        return window["from"] <= ts < window["to"]
    return True


def _count_ok(n: int, count: dict) -> bool:
    return {"at_least": n >= count["value"], "at_most": n <= count["value"], "exactly": n == count["value"]}[
        count["op"]]


def _tags(tags, cmp) -> bool:
    op, v = cmp["op"], cmp["value"]
    if op == "contains":
        return tags is not None and v in tags
    if op == "not_contains":
        return tags is None or v not in tags
    if op == "in":
        return tags is not None and bool(set(tags) & set(v))
    if op == "not_in":
        return tags is None or not set(tags) & set(v)
    if op == "is_set":
        return bool(tags)
    return not tags


def evaluate(w: World, node: dict, pid: int, now: dt.datetime = NOW) -> bool:
    t = node["type"]
    if t in ("all", "any", "none"):
        results = [evaluate(w, child, pid, now) for child in node["conditions"]]
        return all(results) if t == "all" else any(results) if t == "any" else not any(results)
    prof = w.profiles[pid]
    contact = w.contacts.get(prof["contact"]) if prof["contact"] else None
    if t == "trait":
        if node["source"] == "account":
            acc = w.accounts.get(prof["account"])
            raw = acc["traits"].get(node["key"]) if acc else None
        else:
            raw = prof["computed" if node["source"] == "computed" else "traits"].get(node["key"])
        return compare(raw, node, now)
    mine = [e for e in w.events if e["profile_id"] == pid]
    if t == "event":
        n = sum(1 for e in mine if _event_matches(e, node) and _in_window(e["ts"], node["window"], now))
        return _count_ok(n, node["count"])
    if t == "event_time":
        times = [e["ts"] for e in mine if _event_matches(e, node)]
        if not times:
            return False
        at = min(times) if node["which"] == "first" else max(times)
        return compare(at, {"value_type": "date", "op": node["op"], "value": node["value"]}, now)
    if t == "sequence":
        span = dt.timedelta(days=node["within_days"])
        for a in mine:
            if not (_event_matches(a, node["first"]) and _in_window(a["ts"], node["window"], now)):
                continue
            followers = [b for b in mine if _event_matches(b, node["then"]) and a["ts"] < b["ts"] <= a["ts"] + span]
            if node["not_between"] is not None:
                followers = [b for b in followers if not any(
                    _event_matches(c, node["not_between"]) and a["ts"] < c["ts"] < b["ts"] for c in mine)]
            if node["then_performed"] and followers:
                return True
            if not node["then_performed"] and not followers and a["ts"] + span <= now:
                return True
        return False
    if t == "contact":
        f = node["field"]
        if f == "tags":
            return _tags(contact["tags"] if contact else None, node)
        if f == "custom":
            return compare(contact["custom"].get(node["key"]) if contact else None, node, now)
        if f == "owner":
            owner = contact["owner"] if contact else None
            if node["op"] in ("in", "not_in"):
                hit = owner is not None and owner in [int(v) for v in node["value"]]
                return hit if node["op"] == "in" else not hit
            value = int(node["value"]) if node["value"] is not None else None
            return compare(owner, {**node, "value": Decimal(value) if value is not None else None}, now)
        return compare(contact["lifecycle_stage"] if contact else None, node, now)
    if t == "company":
        company = w.companies.get(contact["company"]) if contact and contact["company"] else None
        if company is None:
            return False
        for f in node["where"]:
            if f["field"] == "tags":
                ok = _tags(company["tags"], f)
            elif f["field"] == "custom":
                ok = compare(company["custom"].get(f["key"]), f, now)
            else:
                ok = compare(company[f["field"]], f, now)
            if not ok:
                return False
        return True
    if t == "deal":
        has = False
        if contact is not None:
            for d in w.deals:
                if prof["contact"] not in d["contacts"]:
                    continue
                if all(_deal_filter(d, f, now) for f in node["where"]):
                    has = True
                    break
        return has == node["has"]
    if t == "tickets":
        return _count_ok(0, node["count"])
    if t == "segment":
        return (pid in w.memberships.get(node["segment"], set())) == node["member"]
    raise AssertionError(t)


def _deal_filter(d, f, now) -> bool:
    if f["field"] in ("pipeline", "stage"):
        values = f["value"] if isinstance(f["value"], list) else [f["value"]]
        hit = d[f["field"]] in [int(v) for v in values]
        return hit if f["op"] in ("equals", "in") else not hit
    return compare(d[f["field"]], f, now)


def expected(w: World, norm: dict, now: dt.datetime = NOW) -> set[int]:
    return {pid for pid, p in w.profiles.items() if p["merged_into"] is None and evaluate(w, norm, pid, now)}
