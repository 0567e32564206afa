"""Extension points cdp offers to apps downstream of it (segments), so cdp never imports them.

- Profile segment providers: ``provider(profile_id) -> list[dict(name=..., url=..., since=...)]`` lists the
  segments a profile belongs to (shown on Customer 360, the CRM contact panel and GET /v1/profiles/.../segments).
- Profiles-changed listeners: ``listener(profile_ids: list[int]) -> None`` is called after a processed batch
  commits (e.g. to re-evaluate segment membership of those profiles).

Register from the other app's ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SegmentProvider = Callable[[int], list[dict[str, Any]]]
ProfilesListener = Callable[[list[int]], None]

_segment_providers: list[SegmentProvider] = []
_profiles_listeners: list[ProfilesListener] = []


def register_profile_segment_provider(provider: SegmentProvider) -> None:
    if provider not in _segment_providers:
        _segment_providers.append(provider)


def register_profiles_changed_listener(listener: ProfilesListener) -> None:
    if listener not in _profiles_listeners:
        _profiles_listeners.append(listener)


def profile_segment_providers() -> list[SegmentProvider]:
    return list(_segment_providers)


def profiles_changed_listeners() -> list[ProfilesListener]:
    return list(_profiles_listeners)


def segments_for_profile(profile_id: int) -> list[dict[str, Any]]:
    """Every registered provider's segments of ``profile_id`` (the survivor's id), by name."""
    found: list[dict[str, Any]] = []
    for provider in _segment_providers:
        found.extend(provider(profile_id))
    return sorted(found, key=lambda s: str(s.get("name", "")))


# Profile score providers: ``provider(profile_id) -> list[dict(model=..., default=..., score=..., why=[...])]``
# (lead scores, from segments), shown by GET /v1/profiles/.../scores.
ScoreProvider = Callable[[int], list[dict[str, Any]]]
_score_providers: list[ScoreProvider] = []


def register_profile_score_provider(provider: ScoreProvider) -> None:
    if provider not in _score_providers:
        _score_providers.append(provider)


def scores_for_profile(profile_id: int) -> list[dict[str, Any]]:
    """Every registered provider's scores of ``profile_id`` (the survivor's id)."""
    found: list[dict[str, Any]] = []
    for provider in _score_providers:
        found.extend(provider(profile_id))
    return found
