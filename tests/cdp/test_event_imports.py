"""Bulk imports: upload → map → Celery job in chunks with progress; the backfill command."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from cdp.models import EventImport, RawEvent, Source
from cdp.services import imports as imports_service
from cdp.services.email_webhooks import email_anonymous_id
from cdp.services.import_parsing import MappingError
from cdp.services.imports import event_import_create, event_import_run, event_import_start
from cdp.services.sources import source_create

pytestmark = pytest.mark.django_db

EVENTS_CSV = (
    "user_id,email,event,time,total\n"
    "u1,,Order Completed,2024-01-01T10:00:00Z,10.5\n"
    ",bo@example.com,Order Completed,2024-01-02T10:00:00Z,3\n"
    "u3,,,2024-01-03T10:00:00Z,1\n"              # no event name: rejected row 3
    "u4,,Signed Up,not a date,\n"                # bad timestamp: rejected row 4
    "u5,,Signed Up,1700000000,\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def source():
    return source_create(name="Imports", kind=Source.Kind.IMPORT)


def upload(text: str, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def run_import(source, text, kind="events", mapping=None, capture=None):
    job = event_import_create(source=source, kind=kind, upload=upload(text), user=None)
    with capture(execute=True):
        event_import_start(import_id=job.pk, mapping=mapping or job.mapping)
    job.refresh_from_db()
    return job


def test_events_import_runs_in_chunks_and_reports_rows(source, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(imports_service, "CHUNK_ROWS", 2)
    job = event_import_create(source=source, kind="events", upload=upload(EVENTS_CSV), user=None)
    assert job.total_rows == 5 and job.status == EventImport.Status.MAPPING
    assert job.headers == ["user_id", "email", "event", "time", "total"]
    assert job.mapping == {"user_id": "userId", "email": "email", "event": "event", "time": "timestamp",
                           "total": "properties.total"}
    with django_capture_on_commit_callbacks(execute=True):
        event_import_start(import_id=job.pk, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == EventImport.Status.DONE and job.percent == 100
    assert (job.processed_rows, job.accepted, job.rejected, job.duplicates) == (5, 3, 2, 0)
    assert [(e["row"], e["error"]) for e in job.errors] == [(3, "missing_event"), (4, "invalid_timestamp")]
    assert job.errors_file.name.endswith(".csv")
    assert b"missing_event" in job.errors_file.read()
    events = {e.message_id: e for e in RawEvent.objects.filter(source=source)}
    assert set(events) == {f"import-{job.pk}-1", f"import-{job.pk}-2", f"import-{job.pk}-5"}
    first = events[f"import-{job.pk}-1"]
    assert (first.type, first.event, first.user_id) == ("track", "Order Completed", "u1")
    assert first.payload["properties"] == {"total": 10.5}
    assert events[f"import-{job.pk}-2"].anonymous_id == email_anonymous_id("bo@example.com")
    # one ingestion call per chunk of 2 rows; rows 3-4 were both refused, so that chunk stored no batch
    assert list(source.batches.order_by("id").values_list("event_count", flat=True)) == [2, 1]


def test_rerunning_an_import_stores_nothing_twice(source, django_capture_on_commit_callbacks):
    job = run_import(source, EVENTS_CSV, capture=django_capture_on_commit_callbacks)
    assert job.accepted == 3
    # Run the same import again from the start (e.g. a redelivered task after the watermark was lost).
    EventImport.objects.filter(pk=job.pk).update(status="running", processed_rows=0, accepted=0, rejected=0,
                                                 errors=[])
    assert event_import_run(import_id=job.pk) is True
    job.refresh_from_db()
    assert (job.accepted, job.duplicates) == (0, 3)
    assert RawEvent.objects.filter(source=source).count() == 3


def test_profiles_import_becomes_identify_calls(source, django_capture_on_commit_callbacks):
    text = "id,email,plan,seats\nu1,Ann@X.test,pro,5\nu2,,free,1\n"
    job = run_import(source, text, kind="profiles", capture=django_capture_on_commit_callbacks)
    assert job.status == "done" and job.accepted == 2
    ann = RawEvent.objects.get(source=source, user_id="u1")
    assert ann.type == "identify"
    assert ann.payload["traits"] == {"plan": "pro", "seats": 5, "email": "ann@x.test"}


def test_stopped_after_max_chunks_resumes_from_watermark(source, monkeypatch):
    monkeypatch.setattr(imports_service, "CHUNK_ROWS", 2)
    job = event_import_create(source=source, kind="events", upload=upload(EVENTS_CSV), user=None)
    EventImport.objects.filter(pk=job.pk).update(status="queued")
    assert event_import_run(import_id=job.pk, max_chunks=1) is False
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.accepted) == ("running", 2, 2)
    assert event_import_run(import_id=job.pk) is True
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.accepted, job.rejected) == ("done", 5, 3, 2)


def test_mapping_errors(source):
    job = event_import_create(source=source, kind="events", upload=upload(EVENTS_CSV), user=None)
    with pytest.raises(MappingError, match="needs a column mapped to event"):
        event_import_start(import_id=job.pk, mapping={"user_id": "userId"})
    with pytest.raises(MappingError, match="not in the file"):
        event_import_start(import_id=job.pk, mapping={"nope": "userId", "event": "event"})
    with pytest.raises(MappingError, match="empty"):
        event_import_create(source=source, kind="events", upload=upload(""), user=None)


# --- pages -------------------------------------------------------------------------------------------------


def test_upload_map_and_progress_pages(client, marketing_user, source, django_capture_on_commit_callbacks,
                                      django_assert_max_num_queries):
    client.force_login(marketing_user)
    response = client.post(reverse("cdp:import-new"), {"source": source.pk, "kind": "events",
                                                        "file": upload(EVENTS_CSV)})
    job = EventImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cdp:import-detail", args=[job.pk])
    assert job.created_by == marketing_user
    page = client.get(reverse("cdp:import-detail", args=[job.pk])).content.decode()
    assert 'data-testid="mapping-form"' in page and 'value="properties.total"' in page

    bad = client.post(reverse("cdp:import-detail", args=[job.pk]), {"map-0": "userId", "map-1": "", "map-2": "",
                                                                     "map-3": "", "map-4": ""})
    assert bad.status_code == 400 and "needs a column mapped to event" in bad.content.decode()

    form = {"map-0": "userId", "map-1": "email", "map-2": "event", "map-3": "timestamp", "map-4": "properties.amt"}
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("cdp:import-detail", args=[job.pk]), form)
    assert started.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and job.mapping["total"] == "properties.amt"
    assert RawEvent.objects.get(message_id=f"import-{job.pk}-1").payload["properties"] == {"amt": 10.5}
    progress = client.get(reverse("cdp:import-progress", args=[job.pk])).content.decode()
    assert 'data-status="done"' in progress and "hx-trigger" not in progress
    assert '<span data-testid="accepted">3</span>' in progress and "missing_event" in progress
    errors = client.get(reverse("cdp:import-errors", args=[job.pk]))
    assert errors["Content-Type"].startswith("text/csv")
    assert b"4,invalid_timestamp" in b"".join(errors.streaming_content)
    for _ in range(3):
        event_import_create(source=source, kind="profiles", upload=upload("id\nu1\n", name="more.csv"),
                            user=marketing_user)
    with django_assert_max_num_queries(5):
        listing = client.get(reverse("cdp:imports")).content.decode()
    assert "orders.csv" in listing and listing.count("more.csv") == 3


def test_progress_polls_while_running(client, marketing_user, source):
    client.force_login(marketing_user)
    job = event_import_create(source=source, kind="events", upload=upload(EVENTS_CSV), user=None)
    EventImport.objects.filter(pk=job.pk).update(status="running", processed_rows=2)
    body = client.get(reverse("cdp:import-progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in body and "40%" in body


def test_upload_form_errors(client, marketing_user, source):
    client.force_login(marketing_user)
    response = client.post(reverse("cdp:import-new"), {"source": source.pk, "kind": "events",
                                                        "file": upload("", name="empty.csv")})
    assert response.status_code == 400 and "The submitted file is empty" in response.content.decode()
    response = client.post(reverse("cdp:import-new"), {"source": source.pk, "kind": "events",
                                                        "file": upload("a,b\n", name="x.xlsx")})
    assert response.status_code == 400 and "Upload a .csv file" in response.content.decode()
    assert not EventImport.objects.exists()


def test_import_pages_are_for_marketing_and_admins(client, sales_user, source):
    client.force_login(sales_user)
    assert client.get(reverse("cdp:imports")).status_code == 403
    assert client.get(reverse("cdp:import-new")).status_code == 403


# --- backfill command --------------------------------------------------------------------------------------


def test_backfill_command_streams_with_progress_and_is_idempotent(tmp_path, source):
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("uid,what,when,amount\n")
        for n in range(1, 2501):
            f.write(f"u{n % 100},{'Viewed' if n % 500 else ''},2024-01-01T00:00:00Z,{n}\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("backfill_events", str(path), "--source", "Imports", "--kind", "events", "--map", "uid=userId",
                 "--map", "what=event", "--map", "when=timestamp", "--chunk-size", "500", "--progress-every", "1000",
                 stdout=out, stderr=err)
    text = out.getvalue()
    assert "amount → properties.amount" in text
    assert text.count("rows/s") >= 3  # progress lines at 1000, 2000 rows and the final one
    assert "Done: 2500 rows, 2495 accepted, 0 already there, 5 rejected" in text
    assert "row 500: missing_event" in err.getvalue()
    assert RawEvent.objects.filter(source=source).count() == 2495
    out = io.StringIO()
    call_command("backfill_events", str(path), "--source", "Imports", "--kind", "events", "--map", "uid=userId",
                 "--map", "what=event", "--map", "when=timestamp", stdout=out, stderr=io.StringIO())
    assert "0 accepted, 2495 already there" in out.getvalue()
    assert RawEvent.objects.filter(source=source).count() == 2495


def test_backfill_command_errors(tmp_path, source):
    path = tmp_path / "p.csv"
    path.write_text("id,plan\nu1,pro\n")
    with pytest.raises(CommandError, match="no source named"):
        call_command("backfill_events", str(path), "--source", "Nope", "--kind", "profiles")
    with pytest.raises(CommandError, match="not in the header row"):
        call_command("backfill_events", str(path), "--source", "Imports", "--kind", "profiles", "--map", "x=userId")
    with pytest.raises(CommandError, match="needs a column mapped to event"):
        call_command("backfill_events", str(path), "--source", "Imports", "--kind", "events", "--map", "id=userId")
    with pytest.raises(CommandError, match="no such file"):
        call_command("backfill_events", str(tmp_path / "missing.csv"), "--source", "Imports", "--kind", "profiles")
    out = io.StringIO()
    call_command("backfill_events", str(path), "--source", "Imports", "--kind", "profiles", "--map", "id=userId",
                 stdout=out)
    assert RawEvent.objects.get(source=source).payload["traits"] == {"plan": "pro"}
