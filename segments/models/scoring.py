"""Lead scoring: score models (a list of (condition, points) in the segment rule language, with optional decay and
cap) and the stored score of each (model, profile) with its per-condition breakdown."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ScoreModel(models.Model):
    """A named way of scoring profiles: ``conditions`` is a list of ``{"label", "points", "condition"}`` where
    ``condition`` is a rule tree (segments.rules) and ``points`` a number (negative allowed).

    ``half_life_days``: when set, points of event conditions fade with the age of the matching events (each
    event counts 0.5^(age / half-life) instead of 1). ``cap``: the score never exceeds it. Exactly one model is
    the default (the one reps see on contacts, deals and My work).
    """

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    conditions = models.JSONField(default=list, blank=True)
    half_life_days = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True,
                                         help_text="Points from events halve every this many days (empty: no decay).")
    cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                              help_text="The highest score a profile can have (empty: no cap).")
    is_default = models.BooleanField(default=False, help_text="The score reps see in the CRM.")
    version = models.PositiveIntegerField(default=0)
    last_scored_at = models.DateTimeField(null=True, blank=True)
    last_score_ms = models.PositiveIntegerField(null=True, blank=True)
    scored_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="segments_scoremodel_one_default")]

    def __str__(self) -> str:
        return self.name


class ProfileScore(models.Model):
    """The score of ``profile_id`` under ``model``: ``score`` (after the cap), ``points`` (one number per
    condition, in the model's order: the "why") and the CRM contact linked to the profile when scored (so that
    CRM pages find a contact's score by index). Profiles scoring 0 on every condition have no row.

    No index covers ``score``, ``points`` or ``scored_at`` and the table keeps free room in its pages
    (fillfactor 70, set by a migration): the hourly full rescoring, which moves most decayed
    scores by a cent, updates rows in place (HOT) without touching any index."""

    model = models.ForeignKey(ScoreModel, on_delete=models.CASCADE, related_name="scores")
    profile_id = models.BigIntegerField()
    contact_id = models.BigIntegerField(null=True, blank=True)
    score = models.DecimalField(max_digits=12, decimal_places=2)
    points = models.JSONField(default=list)
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "profile_id"], name="segments_score_one")]
        indexes = [
            models.Index(fields=["contact_id", "model"], condition=Q(contact_id__isnull=False),
                         name="segments_score_contact"),
            models.Index(fields=["profile_id"], name="segments_score_profile"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}/{self.profile_id}: {self.score}"
