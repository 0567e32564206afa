"""CSV import of contacts and companies: upsert, validation, scoping, outbox, history, errors CSV."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import Company, Contact, ContactPhone, ImportJob, LifecycleChange, OutboxEntry
from crm.services.imports import import_errors_rows, import_job_create, import_preview, suggested_mapping
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory
from tests.crm.import_helpers import csv_upload, run_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["Email", "First name", "Last name", "Phone", "Company", "Tags", "Lifecycle stage"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_upload_reads_headers_counts_rows_and_suggests_mapping(sales_user):
    job = import_job_create(actor=sales_user, object_type="contact", upload=csv_upload(
        [HEADER, ["a@example.com", "Ann", "Lee", "", "", "", ""], [], ["b@example.com", "Bo", "", "", "", "", ""]]))
    assert job.status == ImportJob.Status.UPLOADED
    assert job.headers == HEADER
    assert job.total_rows == 2  # the blank line is not a row
    assert job.mapping == {"0": "email", "1": "first_name", "2": "last_name", "3": "phone", "4": "company_name",
                           "5": "tags", "6": "lifecycle_stage"}


def test_semicolon_csv_is_understood(sales_user):
    job = import_job_create(actor=sales_user, object_type="contact",
                            upload=csv_upload([["Email", "Name"], ["x@example.com", "Xi Li"]], delimiter=";"))
    assert job.headers == ["Email", "Name"]
    assert job.mapping == {"0": "email", "1": "full_name"}


@pytest.mark.parametrize("content,message", [
    (b"", "empty"), (b"Email\n", "no data rows"), (b"\xff\xfe\x00bad", "not a UTF-8 CSV"),
])
def test_bad_files_are_refused_with_a_message(sales_user, content, message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(ValidationError) as exc:
        import_job_create(actor=sales_user, object_type="contact", upload=SimpleUploadedFile("x.csv", content))
    assert message in " ".join(exc.value.message_dict["file"])


def test_marketing_may_not_import(marketing_user):
    with pytest.raises(PermissionDenied):
        import_job_create(actor=marketing_user, object_type="contact", upload=csv_upload([HEADER]))


def test_contacts_are_created_with_emails_phones_tags_company_and_owner(sales_user):
    job = run_import(sales_user, [
        HEADER,
        ["Ann@Example.com", "Ann", "Lee", "+49 30 1234567", "Acme GmbH", "vip; berlin", "Customer"],
        ["bo@example.com", "Bo", "Berg", "030 7654321", "acme gmbh", "", ""],
    ], phone_region="DE")
    assert (job.status, job.processed_rows, job.created_count, job.updated_count, job.failed_count) == (
        ImportJob.Status.DONE, 2, 2, 0, 0)
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.phone, ann.tags, ann.lifecycle_stage) == (
        "Ann", "Lee", "+49301234567", ["vip", "berlin"], "customer")
    assert ann.owner == sales_user
    assert list(ann.emails.values_list("email", "is_primary")) == [("ann@example.com", True)]
    assert list(ann.phones.values_list("number", flat=True)) == ["+49301234567"]
    bo = Contact.objects.get(email="bo@example.com")
    assert bo.phone == "+49307654321"
    # One company for both rows (matched by name within the chunk), owned by the importer.
    assert Company.objects.count() == 1 and ann.company_id == bo.company_id
    assert ann.company.owner == sales_user
    assert LifecycleChange.objects.filter(contact=ann, from_stage="", to_stage="customer").exists()
    assert ann.history.count() == 1 and ann.history.first().history_user == sales_user
    messages = [e.message for e in OutboxEntry.objects.filter(object_type="contact", object_id=ann.pk)]
    assert len(messages) == 1
    assert messages[0]["type"] == "identify" and messages[0]["traits"]["email"] == "ann@example.com"
    assert messages[0]["context"]["externalIds"][0] == {"id": str(ann.pk), "type": "crm_contact_id",
                                                        "collection": "users", "encoding": "none"}
    assert messages[0]["messageId"].startswith("crm-")
    assert OutboxEntry.objects.filter(object_type="company", object_id=ann.company_id).count() == 1


def test_upsert_by_email_updates_the_existing_contact_and_keeps_what_is_not_in_the_file(sales_user):
    existing = ContactFactory(email="ann@example.com", first_name="Ann", last_name="Old", title="CEO",
                              owner=sales_user, tags=["old"], phones=["+49301111111"])
    job = run_import(sales_user, [HEADER, ["ANN@example.com", "", "Lee", "+49 30 2222222", "", "new", ""]])
    assert (job.created_count, job.updated_count, job.failed_count) == (0, 1, 0)
    existing.refresh_from_db()
    assert (existing.first_name, existing.last_name, existing.title) == ("Ann", "Lee", "CEO")
    assert existing.tags == ["old", "new"]
    assert sorted(existing.phones.values_list("number", flat=True)) == ["+49301111111", "+49302222222"]
    assert existing.phone == "+49301111111"
    assert Contact.objects.count() == 1
    assert existing.history.first().history_type == "~"


def test_upsert_matches_secondary_emails_and_repeated_rows_in_one_file(sales_user):
    existing = ContactFactory(email="main@example.com", owner=sales_user)
    existing.emails.create(email="alt@example.com")
    job = run_import(sales_user, [
        ["Email", "Title"], ["alt@example.com", "CTO"], ["new@example.com", "Dev"], ["NEW@example.com", "Lead dev"]])
    assert (job.created_count, job.updated_count) == (1, 2)
    existing.refresh_from_db()
    assert existing.title == "CTO"
    assert Contact.objects.get(email="new@example.com").title == "Lead dev"


def test_rows_matching_contacts_the_importer_may_not_edit_are_errors(sales_user):
    other = UserFactory(role="Sales")
    theirs = ContactFactory(email="theirs@example.com", owner=other, title="Keep")
    job = run_import(sales_user, [["Email", "Title"], ["theirs@example.com", "Changed"], ["mine@example.com", "X"]])
    assert (job.created_count, job.updated_count, job.failed_count) == (1, 0, 1)
    theirs.refresh_from_db()
    assert theirs.title == "Keep"
    header, rows = import_errors_rows(job=job)
    rows = list(rows)
    assert header == ["row", "errors", "Email", "Title"]
    assert rows == [[1, "A contact with the email theirs@example.com exists and you may not edit it.",
                     "theirs@example.com", "Changed"]]


def test_owner_column_respects_who_the_importer_may_assign(sales_user, admin_user):
    other = UserFactory(username="olga", role="Sales")
    job = run_import(sales_user, [["Email", "Owner"], ["a@example.com", "olga"], ["b@example.com", "sam"],
                                  ["c@example.com", "nobody"]])
    assert (job.created_count, job.failed_count) == (1, 2)
    assert Contact.objects.get(email="b@example.com").owner == sales_user
    errors = {e.row_number: e.errors for e in job.row_errors.all()}
    assert errors == {1: ["You may not assign records to olga."], 3: ["There is no active user “nobody”."]}
    job = run_import(admin_user, [["Email", "Owner"], ["a@example.com", "OLGA@example.com"]])
    assert job.created_count == 1
    assert Contact.objects.get(email="a@example.com").owner == other


def test_bad_values_become_row_errors_and_good_rows_still_import(sales_user):
    CustomFieldDefinitionFactory(key="tier", label="Tier", field_type="choice", choices=["gold", "silver"])
    CustomFieldDefinitionFactory(key="seats", label="Seats", field_type="number")
    rows = [["Email", "Phone", "Lifecycle stage", "Tier", "Seats"],
            ["ok@example.com", "+44 20 7946 0018", "lead", "Gold", "12"],
            ["not-an-email", "", "", "", ""],
            ["p@example.com", "12", "", "", ""],
            ["s@example.com", "", "hot", "bronze", "many"]]
    job = run_import(sales_user, rows, mapping={"0": "email", "1": "phone", "2": "lifecycle_stage",
                                                "3": "custom:tier", "4": "custom:seats"})
    assert (job.created_count, job.failed_count) == (1, 3)
    assert Contact.objects.get().custom == {"tier": "gold", "seats": 12}
    errors = {e.row_number: e.errors for e in job.row_errors.all()}
    assert errors[2] == ["“not-an-email” is not a valid email address.", "The row has no name and no email."]
    assert "no country code" in errors[3][0]
    assert "“hot” is not a lifecycle stage." in errors[4]
    assert any(m.startswith("Tier: “bronze” is not one of") for m in errors[4])
    assert any(m.startswith("Seats: ") for m in errors[4])


def test_required_custom_field_is_enforced_for_new_rows_only(sales_user):
    CustomFieldDefinitionFactory(key="region", label="Region", required=True)
    existing = ContactFactory(email="old@example.com", owner=sales_user, custom={"region": "EU"})
    job = run_import(sales_user, [["Email", "Title"], ["old@example.com", "Boss"], ["new@example.com", "X"]])
    assert (job.updated_count, job.failed_count) == (1, 1)
    existing.refresh_from_db()
    assert existing.title == "Boss" and existing.custom == {"region": "EU"}
    assert job.row_errors.get().errors == ["Region: Region is required."]


def test_import_runs_in_chunks(sales_user, monkeypatch):
    monkeypatch.setattr("crm.services.imports.CHUNK_SIZE", 7)
    rows = [["Email", "First name"]] + [[f"p{i}@example.com", f"P{i}"] for i in range(30)]
    job = run_import(sales_user, rows)
    assert (job.status, job.processed_rows, job.created_count) == (ImportJob.Status.DONE, 30, 30)
    assert ContactPhone.objects.count() == 0
    assert Contact.objects.filter(owner=sales_user).count() == 30


def test_running_a_finished_job_again_changes_nothing(sales_user):
    from crm.services.imports import import_job_run

    job = run_import(sales_user, [["Email"], ["a@example.com"]])
    assert import_job_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count) == (1, 1)
    assert Contact.objects.count() == 1


def test_companies_upsert_by_domain(sales_user):
    mine = CompanyFactory(name="Acme", domain="acme.com", owner=sales_user, industry="Retail")
    theirs = CompanyFactory(name="Other", domain="other.com", owner=UserFactory(role="Sales"))
    job = run_import(sales_user, [
        ["Name", "Domain", "Industry", "Size", "Country"],
        ["", "https://www.ACME.com/about", "Software", "11-50", "de"],
        ["New Co", "new.co", "", "51–200", ""],
        ["Other renamed", "other.com", "", "", ""],
        ["", "", "Nameless", "", ""],
        ["Bad size", "bad.io", "", "huge", "Germany"],
    ], object_type="company")
    assert (job.created_count, job.updated_count, job.failed_count) == (1, 1, 3)
    mine.refresh_from_db()
    assert (mine.name, mine.industry, mine.size, mine.country) == ("Acme", "Software", "11-50", "DE")
    new = Company.objects.get(domain="new.co")
    assert (new.name, new.size, new.owner) == ("New Co", "51-200", sales_user)
    theirs.refresh_from_db()
    assert theirs.name == "Other"
    errors = {e.row_number: e.errors for e in job.row_errors.all()}
    assert errors[3] == ["A company with the domain other.com exists and you may not edit it."]
    assert errors[4] == ["A new company needs a name."]
    assert len(errors[5]) == 2
    assert OutboxEntry.objects.filter(object_type="company", message__type="group").count() == 2


def test_preview_plans_without_writing(sales_user):
    ContactFactory(email="old@example.com", owner=sales_user)
    job = import_job_create(actor=sales_user, object_type="contact", upload=csv_upload(
        [["Email", "Name"], ["old@example.com", "Old One"], ["new@example.com", "New One"], ["bad", ""]]))
    plans = import_preview(job=job, actor=sales_user)
    assert [(p.row_number, p.action) for p in plans] == [(1, "update"), (2, "create"), (3, "error")]
    assert plans[1].values["name"] == "New One"
    assert Contact.objects.count() == 1 and OutboxEntry.objects.count() == 0


def test_suggested_mapping_knows_custom_fields():
    CustomFieldDefinitionFactory(key="tier", label="Customer tier")
    assert suggested_mapping(object_type="contact", headers=["E-mail", "Customer Tier", "x"]) == {
        "0": "email", "1": "custom:tier"}


def test_a_chunk_costs_the_same_number_of_queries_whatever_its_size(sales_user, monkeypatch):
    """Set-based: the queries of a chunk do not grow with its rows (creates, updates, companies, phones)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm.models import ImportJob
    from crm.services.imports import import_job_run

    def queries_for(n: int, tag: str) -> int:
        for i in range(n):  # half the rows update existing contacts
            if i % 2:
                ContactFactory(email=f"{tag}{i}@example.com", owner=sales_user)
        rows = [["Email", "First name", "Phone", "Company", "Tags", "Lifecycle stage"]] + [
            [f"{tag}{i}@example.com", f"N{i}", f"+4930{2000000 + i}", f"{tag} company {i % 3}", "a; b", "customer"]
            for i in range(n)]
        job = import_job_create(actor=sales_user, object_type="contact", upload=csv_upload(rows))
        job.mapping = {"0": "email", "1": "first_name", "2": "phone", "3": "company_name", "4": "tags",
                       "5": "lifecycle_stage"}
        job.status = ImportJob.Status.QUEUED
        job.save()
        with CaptureQueriesContext(connection) as ctx:
            import_job_run(job_id=job.pk)
        job.refresh_from_db()
        assert (job.created_count, job.updated_count, job.failed_count) == (n - n // 2, n // 2, 0)
        return len(ctx.captured_queries)

    monkeypatch.setattr("crm.services.imports.CHUNK_SIZE", 1000)
    assert queries_for(10, "small") == queries_for(200, "large")
