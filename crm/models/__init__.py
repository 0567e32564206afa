from crm.models.outbox import OutboxEntry
from crm.models.teams import Team

__all__ = ["OutboxEntry", "Team"]
