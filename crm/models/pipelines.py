"""Sales pipelines and their ordered stages."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q


class Pipeline(models.Model):
    """A sequence of stages a deal moves through. At most one pipeline is the default."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="crm_pipeline_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One column of a pipeline. ``probability`` is the default win chance (0-100) of deals in it."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField()
    probability = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)

    class Meta:
        ordering = ["pipeline_id", "order"]
        constraints = [
            # Deferred, so a reorder can swap positions inside one transaction.
            models.UniqueConstraint(fields=["pipeline", "order"], name="crm_stage_pipeline_order",
                                    deferrable=models.Deferrable.DEFERRED),
            models.UniqueConstraint(fields=["pipeline", "name"], name="crm_stage_pipeline_name"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="crm_stage_probability_range"),
            models.CheckConstraint(condition=~Q(is_won=True, is_lost=True), name="crm_stage_not_won_and_lost"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        """The deal status a deal in this stage has: "won", "lost" or "open"."""
        return "won" if self.is_won else "lost" if self.is_lost else "open"
