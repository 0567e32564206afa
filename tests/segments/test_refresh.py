"""Full refresh in SQL (intervals, snapshots, stale versions, dependency order, failures), real-time checks,
the time-based exit, and memberships following merges."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cdp.models import EventProfile, IngestBatch, Profile, RawEvent, Source
from segments.models import Membership, Segment, SizeSnapshot
from segments.services import refresh
from segments.services.merges import memberships_follow_merges
from segments.services.segments import segment_create, segment_update

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


def open_members(segment) -> set[int]:
    return set(Membership.objects.filter(segment=segment, exited_at__isnull=True).values_list("profile_id", flat=True))


@pytest.mark.django_db
def test_full_refresh_opens_and_closes_intervals(django_capture_on_commit_callbacks):
    a, b = Profile.objects.create(traits={"plan": "pro"}), Profile.objects.create(traits={"plan": "free"})
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(name="Pro", definition=PRO)
    segment.refresh_from_db()
    assert open_members(segment) == {a.pk}
    assert (segment.status, segment.size, segment.refreshed_version) == ("ready", 1, 1)
    Profile.objects.filter(pk=a.pk).update(traits={"plan": "free"})
    Profile.objects.filter(pk=b.pk).update(traits={"plan": "pro"})
    outcome = refresh.segment_refresh(segment_id=segment.pk)
    assert (outcome.entered, outcome.exited, outcome.size) == ([b.pk], [a.pk], 1)
    closed = Membership.objects.get(segment=segment, profile_id=a.pk)
    assert closed.exited_at is not None and closed.exited_at >= closed.entered_at
    again = refresh.segment_refresh(segment_id=segment.pk)  # nothing changed: nothing written
    assert (again.entered, again.exited) == ([], [])
    assert Membership.objects.filter(segment=segment).count() == 2
    assert list(SizeSnapshot.objects.filter(segment=segment).order_by("at").values_list("size", "entered", "exited")) \
        == [(1, 1, 0), (1, 1, 1), (1, 0, 0)]


@pytest.mark.django_db
def test_a_refresh_made_stale_by_a_newer_request_skips_itself():
    segment = Segment.objects.create(name="S", definition=PRO, version=3)
    assert refresh.segment_refresh(segment_id=segment.pk, version=2).skipped
    assert not refresh.segment_refresh(segment_id=segment.pk, version=3).skipped


@pytest.mark.django_db
def test_segments_using_a_segment_refresh_after_it(django_capture_on_commit_callbacks):
    Profile.objects.create(traits={"plan": "pro"})
    with django_capture_on_commit_callbacks(execute=True):
        base = segment_create(name="Base", definition=PRO)
        user = segment_create(name="User", definition={"type": "all", "conditions": [
            {"type": "segment", "segment": base.pk}]})
    assert user.depends_on == [base.pk]
    assert open_members(user) == open_members(base) and open_members(user)
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(segment=base, definition={"type": "all", "conditions": [
            {"type": "trait", "key": "plan", "op": "equals", "value": "none"}]})
    assert open_members(base) == set() and open_members(user) == set()
    ordered = refresh.segments_in_dependency_order([Segment.objects.get(pk=user.pk), Segment.objects.get(pk=base.pk)])
    assert [s.pk for s in ordered] == [base.pk, user.pk]


@pytest.mark.django_db
def test_a_refresh_whose_rule_broke_is_shown_failed_with_its_error_not_stuck():
    base = Segment.objects.create(name="Gone")
    broken = Segment.objects.create(name="Broken", depends_on=[base.pk], definition={
        "type": "all", "conditions": [{"type": "segment", "segment": base.pk}]})
    base.delete()
    from segments.tasks import refresh_segment

    refresh_segment.apply(args=[broken.pk, None])
    broken.refresh_from_db()
    assert broken.status == "failed"
    assert "does not exist" in broken.last_error
    assert broken.attempts == 1 and broken.next_refresh_at is not None  # tried again later, not stuck


def _event(pid: int, name: str, ts: dt.datetime) -> None:
    src = Source.objects.get_or_create(name="t", kind="server")[0]
    batch = IngestBatch.objects.create(source=src, received_at=ts)
    raw = RawEvent.objects.create(received_at=ts, source=src, batch=batch, message_id=f"{pid}-{name}-{ts}",
                                  type="track", event=name, timestamp=ts, payload={})
    EventProfile.objects.create(event_id=raw.pk, received_at=ts, profile_id=pid, timestamp=ts)


@pytest.mark.django_db
def test_people_leave_time_window_segments_on_time():
    now = timezone.now()
    p = Profile.objects.create()
    _event(p.pk, "Visit", now - dt.timedelta(days=7) + dt.timedelta(minutes=1))
    segment = Segment.objects.create(name="Recent", uses_time=True, definition={"type": "all", "conditions": [
        {"type": "event", "event": "Visit", "window": {"kind": "last_days", "days": 7}}]})
    refresh.segment_refresh(segment_id=segment.pk, now=now)
    assert open_members(segment) == {p.pk}
    segment.refresh_from_db()
    assert segment.next_refresh_at <= now + dt.timedelta(minutes=15)  # swept, not only on its interval
    assert refresh.segments_due(now=now + dt.timedelta(minutes=16)) == [segment.pk]
    refresh.segment_refresh(segment_id=segment.pk, now=now + dt.timedelta(minutes=2))
    assert open_members(segment) == set()


@pytest.mark.django_db
def test_real_time_check_moves_only_the_given_profiles():
    a, b = Profile.objects.create(traits={"plan": "pro"}), Profile.objects.create(traits={"plan": "pro"})
    segment = Segment.objects.create(name="Pro RT", definition=PRO)
    refresh.profiles_check(profile_ids=[a.pk])
    assert open_members(segment) == {a.pk}
    segment.refresh_from_db()
    assert segment.size == 1
    Profile.objects.filter(pk=a.pk).update(traits={})
    refresh.profiles_check(profile_ids=[a.pk, b.pk])
    assert open_members(segment) == {b.pk}


@pytest.mark.django_db
def test_memberships_follow_a_merge_with_their_history():
    survivor, merged, other = Profile.objects.create(), Profile.objects.create(), Profile.objects.create()
    s1, s2 = Segment.objects.create(name="One"), Segment.objects.create(name="Two")
    since = timezone.now() - dt.timedelta(days=3)
    Membership.objects.create(segment=s1, profile_id=merged.pk, entered_at=since)
    Membership.objects.create(segment=s2, profile_id=merged.pk, entered_at=since)
    Membership.objects.create(segment=s2, profile_id=survivor.pk, entered_at=timezone.now())
    Membership.objects.create(segment=s1, profile_id=other.pk, entered_at=since)
    Profile.objects.filter(pk=merged.pk).update(merged_into=survivor)
    assert memberships_follow_merges(profile_ids=[survivor.pk]) == 2
    assert Membership.objects.get(segment=s1, profile_id=survivor.pk).entered_at == since  # moved: member since
    assert open_members(s2) == {survivor.pk}
    assert open_members(s1) == {survivor.pk, other.pk}
    assert memberships_follow_merges(profile_ids=[survivor.pk]) == 0
