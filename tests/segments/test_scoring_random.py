"""Scores computed in SQL against a brute-force Python evaluator over a random world and random score models
(conditions from the segment rule language, points, decay, cap), and score thresholds as a segment condition."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.models import ProfileScore, ScoreModel
from segments.rules import validate_rule
from segments.rules.scoring import score_condition_decays, validate_score_conditions
from segments.selectors.evaluation import rule_profile_ids
from segments.services.scoring import score_model_rescore
from tests.segments.test_compiler_random import crm, event, event_time, sequence, trait, trees, window
from tests.segments.world import EVENT_NAMES, NOW, _count_ok, _event_matches, _in_window, build_world, evaluate

CENT = Decimal("0.01")


def brute_force_points(w, item: dict, pid: int, half_life, now=NOW) -> Decimal:
    node, points = item["condition"], item["points"]
    if not evaluate(w, node, pid, now):
        return Decimal(0)
    if not score_condition_decays(node, half_life):
        return points
    decayed = sum(0.5 ** (max(0.0, (now - e["ts"]).total_seconds()) / (float(half_life) * 86400))
                  for e in w.events if e["profile_id"] == pid and _event_matches(e, node)
                  and _in_window(e["ts"], node["window"], now))
    assert _count_ok(sum(1 for e in w.events if e["profile_id"] == pid and _event_matches(e, node)
                         and _in_window(e["ts"], node["window"], now)), node["count"])
    factor = min(1.0, decayed / node["count"]["value"])
    return (points * Decimal(repr(factor))).quantize(CENT, rounding=ROUND_HALF_UP)


def brute_force_scores(w, norm: list[dict], half_life, cap, now=NOW) -> dict[int, tuple[Decimal, list[Decimal]]]:
    out = {}
    for pid, prof in w.profiles.items():
        if prof["merged_into"] is not None:
            continue
        points = [brute_force_points(w, item, pid, half_life, now) for item in norm]
        if any(points):
            total = sum(points, Decimal(0))
            out[pid] = (min(total, cap) if cap is not None else total, points)
    return out


def stored(model) -> dict[int, tuple[Decimal, list[Decimal]]]:
    return {r.profile_id: (r.score, [Decimal(str(x)) for x in r.points])
            for r in ProfileScore.objects.filter(model=model)}


def close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= Decimal("0.011")  # float power() in SQL vs Python: at most a cent of rounding apart


# Event conditions that decay: performed at least N (1-3) times, mostly by name alone.
decaying = st.tuples(st.sampled_from(EVENT_NAMES), st.integers(1, 3), window).map(
    lambda t: {"type": "event", "event": t[0], "count": {"op": "at_least", "value": t[1]}, "window": t[2]})


def conditions(world):
    leaf = st.one_of(decaying, decaying, trait, event, event_time, sequence, crm(world))
    cond = st.one_of(leaf, leaf, trees(world))
    points = st.one_of(st.integers(-20, 50), st.sampled_from(["2.5", "0.25", "-7.75"]))
    return st.lists(st.fixed_dictionaries({"condition": cond, "points": points}), min_size=1, max_size=6)


@pytest.fixture
def world(db):
    return build_world(seed=23)


@pytest.mark.django_db
def test_scores_agree_with_brute_force(world):
    seen = {"n": 0, "some": 0}

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(items=conditions(world), half_life=st.one_of(st.none(), st.sampled_from([1, 3.5, 10, 30, 2, 7])),
           cap=st.one_of(st.none(), st.sampled_from([5, 40])))
    def run(items, half_life, cap):
        ScoreModel.objects.all().delete()
        hl = Decimal(str(half_life)) if half_life is not None else None
        capd = Decimal(cap) if cap is not None else None
        model = ScoreModel.objects.create(name="m", conditions=items, half_life_days=hl, cap=capd)
        score_model_rescore(model_id=model.pk, now=NOW)
        got = stored(model)
        want = brute_force_scores(world, validate_score_conditions(items), hl, capd)
        assert set(got) == set(want), (items, sorted(set(got) ^ set(want)))
        for pid, (score, points) in want.items():
            assert close(got[pid][0], score), (items, pid, got[pid], score)
            assert all(close(a, b) for a, b in zip(got[pid][1], points, strict=True)), (items, pid)
        # Rescoring some profiles (the real-time path) writes the same rows.
        from segments.services.scoring import profiles_rescore

        ProfileScore.objects.filter(model=model).delete()
        some = sorted(world.profiles)[::2]
        profiles_rescore(profile_ids=some, now=NOW)
        assert set(stored(model)) == set(want) & set(some)
        seen["n"] += 1
        seen["some"] += bool(want)

    run()
    assert seen["some"] > seen["n"] // 2


@pytest.mark.django_db
def test_decayed_scores_agree_with_brute_force(world):
    seen = {"decayed": 0}
    item = st.fixed_dictionaries({"condition": decaying, "points": st.integers(1, 60)})

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(items=st.lists(item, min_size=1, max_size=4), half_life=st.sampled_from([1, 3.5, 10, 30]),
           days_later=st.integers(0, 30))
    def run(items, half_life, days_later):
        ScoreModel.objects.all().delete()
        hl = Decimal(str(half_life))
        now = NOW + dt.timedelta(days=days_later)  # the clock, passed explicitly
        model = ScoreModel.objects.create(name="m", conditions=items, half_life_days=hl)
        score_model_rescore(model_id=model.pk, now=now)
        got = stored(model)
        norm = validate_score_conditions(items)
        want = brute_force_scores(world, norm, hl, None, now=now)
        assert set(got) == set(want)
        for pid, (score, _points) in want.items():
            assert close(got[pid][0], score), (items, pid, got[pid], score)
        seen["decayed"] += any(p and p != i["points"]
                               for _s, ps in want.values() for i, p in zip(norm, ps, strict=True))

    run()
    assert seen["decayed"] > 10  # decay really was exercised (points between 0 and full)


@pytest.mark.django_db
def test_score_threshold_is_a_segment_condition(world):
    items = [{"label": "pages", "points": 10, "condition": {"type": "event", "event": "Page Viewed"}},
             {"label": "cart", "points": 15, "condition": {"type": "event", "event": "Cart Viewed",
                                                            "count": {"op": "at_least", "value": 2}}}]
    model = ScoreModel.objects.create(name="engagement", conditions=items)
    score_model_rescore(model_id=model.pk, now=NOW)
    scores = {pid: s for pid, (s, _p) in stored(model).items()}
    survivors = {pid for pid, p in world.profiles.items() if p["merged_into"] is None}
    for op, value, test in [("gte", 15, lambda s: s >= 15), ("lt", 10, lambda s: s < 10),
                            ("between", [10, 20], lambda s: 10 <= s <= 20)]:
        norm = validate_rule({"type": "all", "conditions": [{"type": "score", "model": model.pk, "op": op,
                                                             "value": value}]})
        want = {pid for pid in survivors if test(scores.get(pid, Decimal(0)))}
        assert rule_profile_ids(norm, now=NOW) == want
        assert want and want != survivors
