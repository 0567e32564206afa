"""What the writes of contacts, companies and deals share: tag cleaning, the one assignment check, and the
collection of field errors so that one call reports every bad field at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from crm.models import Team
from crm.selectors.assignment import may_assign_owner, may_assign_team

TAG_MAX_LENGTH = 50


def tags_clean(tags: Iterable[str | None]) -> list[str]:
    """Tags as stored: white space folded, lower case, at most 50 characters, empty ones and repeats dropped
    (first occurrence order kept)."""
    result: list[str] = []
    for raw in tags:
        tag = " ".join((raw or "").split()).lower()[:TAG_MAX_LENGTH]
        if tag and tag not in result:
            result.append(tag)
    return result


def assignment_errors(actor: AbstractBaseUser | None, *, owner: AbstractBaseUser | None, team: Team | None,
                      owner_changed: bool = True, team_changed: bool = True) -> dict[str, list[str]]:
    """Why ``actor`` may not give a record to ``owner``/``team`` (crm.selectors.assignment), keyed by field; only
    what changed is checked. None as actor is the system: it may assign anything."""
    if actor is None:
        return {}
    errors: dict[str, list[str]] = {}
    if owner_changed and not may_assign_owner(actor, owner):
        errors["owner"] = ["You may not assign records to this owner."]
    if team_changed and not may_assign_team(actor, team):
        errors["team"] = ["You may not assign records to this team."]
    return errors


def assignment_check(actor: AbstractBaseUser | None, *, owner: AbstractBaseUser | None, team: Team | None,
                     owner_changed: bool = True, team_changed: bool = True) -> None:
    """Raise ``ValidationError`` keyed by ``owner``/``team`` unless ``actor`` may make this assignment."""
    errors = assignment_errors(actor, owner=owner, team=team, owner_changed=owner_changed,
                               team_changed=team_changed)
    if errors:
        raise ValidationError(errors)


class FieldErrors:
    """Field errors gathered over several checks, raised together as one ``ValidationError``."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, *messages: str) -> None:
        self.by_field.setdefault(field, []).extend(messages)

    def update(self, errors: dict[str, list[str]], *, prefix: str = "") -> None:
        for field, messages in errors.items():
            self.add(f"{prefix}{field}", *messages)

    @contextmanager
    def collect(self, *, prefix: str = "") -> Iterator[None]:
        """Record a ``ValidationError`` raised inside the block (its fields prefixed) instead of raising it."""
        try:
            yield
        except ValidationError as exc:
            self.update(exc.message_dict, prefix=prefix)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)
