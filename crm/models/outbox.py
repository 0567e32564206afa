from django.db import models


class OutboxEntry(models.Model):
    """A change of a CRM record, written in the same transaction as the change.

    The CDP drains these in id order into its one ingestion path (as events of the built-in ``crm``
    source), marking ``processed_at``; crm never imports cdp. ``message`` is a Segment-spec message
    (type identify/track/group, userId/anonymousId, traits/properties, context.externalIds, timestamp)
    whose ``messageId`` is ``crm-<id>``, so draining twice stores it once.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    object_type = models.CharField(max_length=40)  # contact, company, deal, ticket
    object_id = models.BigIntegerField()
    message = models.JSONField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="crm_outbox_pending", condition=models.Q(processed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} ({self.message.get('type')})"
