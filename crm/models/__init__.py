from crm.models.teams import Team

__all__ = ["Team"]
