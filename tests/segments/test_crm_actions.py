"""CRM actions of a segment: a task for the contact's owner from a template, tags, lifecycle, a lead contact by
turns among a team; each on the contact's timeline; exactly one task per entry under replays and concurrent
refreshes and runs (threads on real Postgres)."""

from __future__ import annotations

import pytest

from cdp.models import Identifier, Profile
from crm.extensions import timeline_providers
from crm.models import Activity, Contact, Team
from segments.models import ActionRun
from segments.services import refresh
from segments.services.crm_actions import action_run_execute, action_runs_execute
from segments.services.destinations import destination_create
from segments.services.segments import segment_create
from tests.concurrency import run_at_once
from tests.factories import UserFactory

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


def linked_profile(contact, **traits) -> Profile:
    return Profile.objects.create(traits={"plan": "pro", **traits}, crm_contact_id=contact.pk)


@pytest.mark.django_db
def test_a_task_for_the_owner_tag_and_stage_once_per_entry_on_the_timeline():
    owner = UserFactory(username="rep", first_name="Rita", last_name="Rep")
    contact = Contact.objects.create(first_name="Ann", last_name="Lee", email="ann@example.com", owner=owner)
    segment = segment_create(name="Hot", definition=PRO)
    destination_create(segment=segment, kind="task", config={"subject": "Call {first_name} ({segment})",
                                                             "body": "Plan {traits.plan}", "due_in_hours": 4})
    destination_create(segment=segment, kind="tag_add", config={"tag": "hot"})
    destination_create(segment=segment, kind="lifecycle", config={"stage": "sales_qualified"})
    profile = linked_profile(contact)
    refresh.profiles_check(profile_ids=[profile.pk])
    action_runs_execute()
    task = Activity.objects.get(kind="task", contact=contact)
    assert (task.subject, task.body, task.assignee) == ("Call Ann (Hot)", "Plan pro", owner)
    assert 3.9 * 3600 < (task.due_at - task.occurred_at).total_seconds() < 4.1 * 3600
    contact.refresh_from_db()
    assert "hot" in contact.tags and contact.lifecycle_stage == "sales_qualified"
    # replays: the same check and a full refresh again do nothing more
    refresh.profiles_check(profile_ids=[profile.pk])
    refresh.segment_refresh(segment_id=segment.pk)
    action_runs_execute()
    assert Activity.objects.filter(kind="task", contact=contact).count() == 1
    entries = [e for p in timeline_providers() for e in p(contact, user=owner, limit=50) if e.kind == "segment_action"]
    assert len(entries) == 3 and all("Hot" in e.title for e in entries)
    assert any("Call Ann (Hot)" in e.body for e in entries)
    # leave and enter again: a new entry, a new task
    Profile.objects.filter(pk=profile.pk).update(traits={"plan": "free"})
    refresh.profiles_check(profile_ids=[profile.pk])
    Profile.objects.filter(pk=profile.pk).update(traits={"plan": "pro"})
    refresh.profiles_check(profile_ids=[profile.pk])
    action_runs_execute()
    assert Activity.objects.filter(kind="task", contact=contact).count() == 2


@pytest.mark.django_db
def test_a_profile_with_an_email_and_no_contact_becomes_a_lead_owned_by_turns():
    team = Team.objects.create(name="SDR")
    a, b = UserFactory(username="a"), UserFactory(username="b")
    team.members.add(a, b)
    segment = segment_create(name="Signups", definition=PRO)
    destination_create(segment=segment, kind="create_contact", config={"team_id": team.pk})
    profiles = []
    for i in range(3):
        p = Profile.objects.create(traits={"plan": "pro", "first_name": f"P{i}"})
        Identifier.objects.create(profile=p, type="email", value=f"p{i}@example.com")
        profiles.append(p)
    nomail = Profile.objects.create(traits={"plan": "pro"})
    refresh.profiles_check(profile_ids=[p.pk for p in [*profiles, nomail]])
    action_runs_execute()
    leads = list(Contact.objects.filter(email__endswith="@example.com").order_by("email"))
    assert [c.email for c in leads] == ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert all(c.lifecycle_stage == "lead" and c.team == team for c in leads)
    assert sorted(c.owner.username for c in leads) in (["a", "a", "b"], ["a", "b", "b"])
    assert ActionRun.objects.get(profile_id=nomail.pk).status == "skipped"


@pytest.mark.django_db(transaction=True)
def test_exactly_one_task_per_entry_under_concurrent_refreshes_and_runs():
    owner = UserFactory(username="rep2")
    contact = Contact.objects.create(first_name="Bo", owner=owner)
    segment = segment_create(name="Race", definition=PRO)
    destination_create(segment=segment, kind="task", config={"subject": "Call {name}"})
    profile = linked_profile(contact)

    def worker():
        refresh.profiles_check(profile_ids=[profile.pk])
        refresh.segment_refresh(segment_id=segment.pk)
        for run_id in ActionRun.objects.values_list("pk", flat=True):
            action_run_execute(run_id=run_id)

    assert run_at_once(worker) == []
    assert ActionRun.objects.count() == 1 and ActionRun.objects.get().status == "done"
    assert Activity.objects.filter(kind="task", contact=contact).count() == 1
