from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import SavedView


def _clean_query(query_string: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query_string.lstrip("?"), keep_blank_values=False) if k != "page"]
    return urlencode(pairs)[:2000]


@transaction.atomic
def saved_view_save(*, user: AbstractBaseUser, object_type: str, name: str, query_string: str) -> SavedView:
    """Create or replace the user's view named ``name`` for ``object_type`` (the page number is dropped)."""
    name = name.strip()[:100]
    if not name:
        raise ValidationError({"name": ["Give the view a name."]})
    if object_type not in SavedView.ObjectType.values:
        raise ValidationError({"object_type": [f"“{object_type}” is not a list type."]})
    view, _ = SavedView.objects.update_or_create(
        user=user, object_type=object_type, name=name, defaults={"query_string": _clean_query(query_string)}
    )
    return view


def saved_view_delete(*, saved_view: SavedView) -> None:
    saved_view.delete()
