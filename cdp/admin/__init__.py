"""The CDP's admin, one module per models/ module; importing them registers the model admins."""

from cdp.admin import events, identity, sources  # noqa: F401
