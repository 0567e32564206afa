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
def _checked_name(object_type: str, name: str) -> str:
    name = name.strip()[:100]
    if not name:
        raise ValidationError({"name": ["Give the view a name."]})
    if object_type not in SavedView.ObjectType.values:
        raise ValidationError({"object_type": [f"“{object_type}” is not a list type."]})
    return name


def saved_view_save(*, user: AbstractBaseUser, object_type: str, name: str, query_string: str = "") -> SavedView:
    """Create or replace the user's view named ``name`` for ``object_type`` (the page number is dropped)."""
    name = _checked_name(object_type, name)
    view, _ = SavedView.objects.update_or_create(
        user=user, object_type=object_type, name=name, defaults={"query_string": _clean_query(query_string)}
    )
    return view


@transaction.atomic
def saved_view_update(*, saved_view: SavedView, object_type: str | None = None, name: str | None = None,
                      query_string: str | None = None) -> SavedView:
    """Rename, retype or change the query of one of the user's views; the name stays unique per user and type."""
    object_type = saved_view.object_type if object_type is None else object_type
    name = _checked_name(object_type, saved_view.name if name is None else name)
    taken = SavedView.objects.select_for_update().filter(
        user_id=saved_view.user_id, object_type=object_type, name=name).exclude(pk=saved_view.pk)
    if taken.exists():
        raise ValidationError({"name": ["You already have a view with this name."]})
    saved_view.object_type, saved_view.name = object_type, name
    if query_string is not None:
        saved_view.query_string = _clean_query(query_string)
    saved_view.save(update_fields=["object_type", "name", "query_string"])
    return saved_view


def saved_view_delete(*, saved_view: SavedView) -> None:
    saved_view.delete()
