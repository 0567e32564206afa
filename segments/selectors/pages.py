"""What the segment pages show: the list with size trends, a segment's members with their names."""

from __future__ import annotations

from dataclasses import dataclass

from cdp.selectors.segment_sources import profile_ids_matching, profiles_by_ids
from segments.models import Membership, ScoreModel, Segment, SizeSnapshot
from segments.rules.validation import RuleError, referenced_score_models
from segments.rules.words import rule_in_words
from segments.services.definitions import rule_check


@dataclass
class SegmentRow:
    segment: Segment
    sizes: list[int]


def segments_overview() -> list[SegmentRow]:
    """Every segment with its last 20 full-refresh sizes (oldest first). Two queries."""
    segments = list(Segment.objects.all())
    sizes: dict[int, list[int]] = {}
    rows = (SizeSnapshot.objects.filter(full=True, segment__in=segments).order_by("segment_id", "-at")
            .values_list("segment_id", "size"))
    for sid, size in rows.iterator():
        bucket = sizes.setdefault(sid, [])
        if len(bucket) < 20:
            bucket.append(size)
    return [SegmentRow(segment=s, sizes=list(reversed(sizes.get(s.pk, [])))) for s in segments]


def sparkline_points(sizes: list[int], *, width: int = 120, height: int = 28) -> str:
    """SVG polyline points for ``sizes`` scaled into width × height ("" for fewer than two sizes)."""
    if len(sizes) < 2:
        return ""
    low, high = min(sizes), max(sizes)
    span = (high - low) or 1
    step = width / (len(sizes) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in enumerate(sizes))


def segment_words(segment: Segment) -> str:
    if segment.mode == Segment.Mode.STATIC:
        return segment.description or "A frozen list of profiles."
    try:
        norm = rule_check(segment.definition, segment_id=segment.pk)
    except RuleError as exc:
        return f"(rule needs fixing: {exc})"
    names: dict = dict(Segment.objects.filter(pk__in=segment.depends_on).values_list("id", "name"))
    models = referenced_score_models(norm)
    if models:
        names.update({("score", pk): name for pk, name in
                      ScoreModel.objects.filter(pk__in=models).values_list("id", "name")})
    return rule_in_words(norm, segment_names=names)


def profile_names(ids: list[int]) -> dict[int, str]:
    """Display names of profiles by id (one query); unknown ids get "Profile <id>"."""
    found = {p.pk: p.display_name for p in profiles_by_ids(list(ids))}
    return {pid: found.get(pid, f"Profile {pid}") for pid in ids}


def member_rows(memberships: list[Membership]) -> list[dict]:
    """Members with display names (one query for their profiles)."""
    names = profile_names([m.profile_id for m in memberships])
    return [{"profile_id": m.profile_id, "since": m.entered_at, "name": names[m.profile_id]} for m in memberships]


def members_search(segment: Segment, query: str):
    """Open memberships of ``segment``, newest first, optionally matching ``query`` (a profile id, or text in
    the profile's name/email traits)."""
    qs = Membership.objects.filter(segment=segment, exited_at__isnull=True).order_by("-entered_at", "-profile_id")
    query = query.strip()
    if not query:
        return qs
    if query.isdigit():
        return qs.filter(profile_id=int(query))
    return qs.filter(profile_id__in=profile_ids_matching(query)[:10000])
