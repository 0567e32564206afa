"""Lead scoring: managing score models and computing scores in SQL.

Scores are set-based: one statement per model computes every profile's points with the compiled model
(segments.rules.scoring) and writes only the difference to ProfileScore: new rows, changed rows, and the
deletion of rows of profiles that now score nothing (or were merged away); unchanged rows are not touched.
A full rescore covers every surviving profile (after a model change and on the beat schedule, so decayed
points fade); the real-time path rescores the profiles a processed batch or a CRM change touched
(``profiles_rescore``, called by the same task that re-checks real-time segments, before them, so that segments
using a score see the new one). Each model's scoring holds an advisory lock, so a full and a real-time rescore
of one model never interleave.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cdp.selectors.segment_sources import cdp_tables
from config.queueing import enqueue_on_commit
from segments.models import ProfileScore, ScoreModel
from segments.rules.scoring import compile_scores, validate_score_conditions
from segments.rules.validation import RuleError
from segments.services.definitions import rule_check

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x5C0  # pg advisory lock (namespace, model id): one scoring of a model at a time
FULL_RESCORE_WORK_MEM = "256MB"


@dataclass
class ScoreOutcome:
    skipped: bool = False
    scored: int = 0  # profiles with a non-zero row after the run (full) / among the given ones (real-time)
    written: int = 0
    deleted: int = 0
    duration_ms: int = 0


def score_model_check(*, conditions: Any) -> list[dict]:
    """The normalised conditions of a score model; raises RuleError naming each offending item, including
    segment references that do not exist."""
    norm = validate_score_conditions(conditions)
    errors = []
    for i, item in enumerate(conditions):
        try:  # segment references exist (the shape was checked above)
            rule_check({"type": "all", "conditions": [item["condition"]]})
        except RuleError as exc:
            errors.extend({"path": f"conditions[{i}].condition{e['path'][len('conditions[0]'):]}",
                           "message": e["message"]} for e in exc.errors)
    if errors:
        raise RuleError(errors)
    return norm


def _half_life(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = Decimal("NaN")
    if not number.is_finite() or not Decimal("0.01") <= number <= Decimal("36500"):
        raise RuleError([{"path": "half_life_days", "message": "A half-life from 0.01 to 36500 days, or none."}])
    return number


def _cap(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = Decimal("NaN")
    if not number.is_finite() or abs(number) >= Decimal("1e9"):
        raise RuleError([{"path": "cap", "message": "A cap below 10^9, or none."}])
    return number


def _make_default(model: ScoreModel) -> None:
    ScoreModel.objects.filter(is_default=True).exclude(pk=model.pk).update(is_default=False)
    ScoreModel.objects.filter(pk=model.pk).update(is_default=True)
    model.is_default = True


@transaction.atomic
def score_model_create(*, name: str, conditions: Any, description: str = "", half_life_days: Any = None,
                       cap: Any = None, is_default: bool = False, user=None) -> ScoreModel:
    """Create a score model (checked like a segment rule; RuleError names offending items) and queue its first
    full scoring after commit. The first model becomes the default."""
    score_model_check(conditions=conditions)
    model = ScoreModel.objects.create(
        name=name, description=description, conditions=conditions, half_life_days=_half_life(half_life_days),
        cap=_cap(cap), created_by=user if user is not None and user.is_authenticated else None)
    if is_default or not ScoreModel.objects.filter(is_default=True).exists():
        _make_default(model)
    score_model_rescore_request(model=model)
    return model


@transaction.atomic
def score_model_update(*, model: ScoreModel, changes: dict[str, Any]) -> ScoreModel:
    """Change ``name``, ``description``, ``conditions``, ``half_life_days``, ``cap`` or ``is_default``; a change
    of what scores mean queues a full rescoring after commit."""
    rescore = False
    if "conditions" in changes:
        score_model_check(conditions=changes["conditions"])
        model.conditions = changes["conditions"]
        rescore = True
    if "half_life_days" in changes:
        model.half_life_days = _half_life(changes["half_life_days"])
        rescore = True
    if "cap" in changes:
        model.cap = _cap(changes["cap"])
        rescore = True
    for key in ("name", "description"):
        if key in changes:
            setattr(model, key, changes[key])
    model.save(update_fields=["name", "description", "conditions", "half_life_days", "cap", "updated_at"])
    if changes.get("is_default"):
        _make_default(model)
    if rescore:
        score_model_rescore_request(model=model)
    return model


@transaction.atomic
def score_model_delete(*, model: ScoreModel) -> None:
    """Delete a model and its scores; refused (RuleError) while a segment uses its score, or while it is the
    default and other models exist (make another the default first)."""
    from segments.models import Segment  # noqa: PLC0415

    users = [s.name for s in Segment.objects.all() if _segment_uses_model(s.definition, model.pk)]
    if users:
        raise RuleError([{"path": "", "message": f"Used by segment(s): {', '.join(users)}."}])
    if model.is_default and ScoreModel.objects.exclude(pk=model.pk).exists():
        raise RuleError([{"path": "is_default", "message": "Make another model the default first."}])
    model.delete()


def _segment_uses_model(tree: Any, model_id: int) -> bool:
    if not isinstance(tree, dict):
        return False
    if tree.get("type") == "score" and tree.get("model") == model_id:
        return True
    children = tree.get("conditions")
    return any(_segment_uses_model(c, model_id) for c in (children if isinstance(children, list) else []))


def score_model_rescore_request(*, model: ScoreModel) -> int:
    """Bump the model's version and queue a full rescoring for it after commit; returns the version."""
    ScoreModel.objects.filter(pk=model.pk).update(version=F("version") + 1)
    version = ScoreModel.objects.values_list("version", flat=True).get(pk=model.pk)
    enqueue_on_commit("segments.tasks.rescore_model", model.pk, version)
    return version


def _write_sql(compiled_sql: str, *, restricted: bool) -> str:
    """One statement writing the difference between the scores just computed and the stored ones: new rows
    inserted, changed ones updated, rows of profiles that score nothing now (or were merged away) deleted;
    unchanged rows are not touched (a full rescore mostly finds nothing to write). Caller holds the model's
    advisory lock, so no other scoring of the model writes meanwhile."""
    table = ProfileScore._meta.db_table
    t = cdp_tables()
    scope = ""
    if restricted:
        # The given profiles, and the profiles merged into them (their rows go: only survivors have scores).
        # One array (not an OR with a subquery), so that the (model, profile) index finds the few rows.
        scope = (f"AND s.profile_id = ANY(ARRAY(SELECT unnest(%(ids)s::bigint[]) UNION SELECT {t.profile_id} FROM "
                 f"{t.profile} WHERE {t.profile_merged_into} = ANY(%(ids)s::bigint[])))")
    return f"""
        WITH scored AS MATERIALIZED ({compiled_sql}),
        diff AS MATERIALIZED (
            SELECT o.id AS pk, r.id, r.contact_id, r.score, r.points
              FROM scored r FULL JOIN (SELECT s.id, s.profile_id, s.score, s.points, s.contact_id FROM {table} s
                                        WHERE s.model_id = %(model_id)s {scope}) o ON o.profile_id = r.id
             WHERE o.id IS NULL OR r.id IS NULL
                OR (r.score, r.points, r.contact_id) IS DISTINCT FROM (o.score, o.points, o.contact_id)),
        inserted AS (
            INSERT INTO {table} (model_id, profile_id, contact_id, score, points, scored_at)
            SELECT %(model_id)s, d.id, d.contact_id, d.score, d.points, %(at)s FROM diff d WHERE d.pk IS NULL
            RETURNING 1),
        updated AS (
            UPDATE {table} s SET score = d.score, points = d.points, contact_id = d.contact_id, scored_at = %(at)s
              FROM diff d WHERE s.id = d.pk AND d.id IS NOT NULL
            RETURNING 1),
        deleted AS (
            DELETE FROM {table} s USING diff d WHERE s.id = d.pk AND d.id IS NULL
            RETURNING 1)
        SELECT (SELECT count(*) FROM scored), (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated),
               (SELECT count(*) FROM deleted)"""


def _lock(model_id: int) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, model_id])


def _run(model: ScoreModel, norm: list[dict], *, now, profile_ids: list[int] | None) -> tuple[int, int, int]:
    compiled = compile_scores(norm, now=now, profile_ids=profile_ids, half_life_days=model.half_life_days,
                              cap=model.cap)
    params = {**compiled.params, "model_id": model.pk, "at": now}
    if profile_ids is not None:
        params["ids"] = list(profile_ids)
    with connection.cursor() as cur:
        if profile_ids is None:
            # Whole-table hash aggregates and joins (a million profiles): in memory, not spilled to disk in
            # batches; for this statement's transaction only.
            cur.execute("SELECT set_config('work_mem', %s, true)", [FULL_RESCORE_WORK_MEM])
            # Compiling the big expressions costs 0.4-2 s on this machine and bought nothing measurable.
            cur.execute("SELECT set_config('jit', 'off', true)")
        cur.execute(_write_sql(compiled.sql, restricted=profile_ids is not None), params)
        return cur.fetchone()


def score_model_rescore(*, model_id: int, version: int | None = None, now=None) -> ScoreOutcome:
    """Score every surviving profile under model ``model_id`` at ``now`` (one statement). Skips itself when a
    newer rescoring was requested (``version``). Raises RuleError for conditions that no longer check (a used
    segment was deleted); the task records it on the model."""
    started = time.monotonic()
    with transaction.atomic():
        _lock(model_id)
        model = ScoreModel.objects.filter(pk=model_id).first()
        if model is None or (version is not None and model.version > version):
            return ScoreOutcome(skipped=True)
        now = now or timezone.now()
        norm = score_model_check(conditions=model.conditions)
        scored, written, deleted = _run(model, norm, now=now, profile_ids=None)
        duration = int((time.monotonic() - started) * 1000)
        ScoreModel.objects.filter(pk=model_id).update(last_scored_at=now, last_score_ms=duration,
                                                      scored_count=scored, last_error="")
    return ScoreOutcome(scored=scored, written=written, deleted=deleted, duration_ms=duration)


def score_model_rescore_failed(*, model_id: int, error: BaseException) -> None:
    message = "; ".join(e["message"] for e in error.errors) if isinstance(error, RuleError) else str(error)
    ScoreModel.objects.filter(pk=model_id).update(last_error=message[:2000] or repr(error))


def profiles_rescore(*, profile_ids: list[int], now=None) -> dict[int, ScoreOutcome]:
    """Rescore ``profile_ids`` (and drop the scores of profiles merged into them) under every model. A model
    whose conditions no longer check is skipped (its next full rescoring records the error)."""
    if not profile_ids:
        return {}
    outcomes = {}
    for model in ScoreModel.objects.order_by("pk"):
        try:
            norm = score_model_check(conditions=model.conditions)
        except RuleError as exc:
            logger.warning("score model %s skipped in real-time rescoring: %s", model.pk, exc)
            continue
        started = time.monotonic()
        with transaction.atomic():
            _lock(model.pk)
            scored, written, deleted = _run(model, norm, now=now or timezone.now(), profile_ids=profile_ids)
        outcomes[model.pk] = ScoreOutcome(scored=scored, written=written, deleted=deleted,
                                          duration_ms=int((time.monotonic() - started) * 1000))
    return outcomes


def score_models_rescore_all() -> list[int]:
    """Queue a full rescoring of every model (the beat's pass that lets decayed points fade)."""
    ids = []
    for model in ScoreModel.objects.all():
        score_model_rescore_request(model=model)
        ids.append(model.pk)
    return ids
