"""The CRM's admin, one module per area of models/; importing them registers the model admins."""

from crm.admin import contacts, imports, sales, teams, tickets  # noqa: F401
