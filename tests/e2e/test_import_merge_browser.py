"""In real Chromium: a rep imports a CSV (a real worker runs it; the page follows its progress through htmx),
then reviews a duplicate pair and merges it choosing values per field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.models import Activity, Contact, ImportJob
from tests.crm.factories import ContactFactory
from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.browser]


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))  # the worker process reads the upload from here
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.worker
def test_rep_imports_a_csv_and_watches_it_finish(shared_media, browser_page, live_server, celery_worker_process,
                                                 sales_user, tmp_path):
    ContactFactory(email="old@example.com", first_name="Old", owner=sales_user)
    lines = ["E-mail,Full name,Mobile,Tags"] + [f"p{i}@example.com,Person {i},+49 30 {2000000 + i},csv" for i in
                                                 range(1500)]
    lines += ["old@example.com,Old Friend,,vip", "broken,,,"]
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = browser_page
    login(page, live_server, sales_user)
    page.goto(f"{live_server.url}/crm/")
    page.click("[data-testid=nav-import]")
    page.set_input_files("#id_file", str(csv_path))
    page.click("[data-testid=import-upload] button[type=submit]")
    # Columns were guessed from the headers.
    expect(page.locator("#col_0")).to_have_value("email")
    expect(page.locator("#col_1")).to_have_value("full_name")
    expect(page.locator("#col_2")).to_have_value("phone")
    page.click("[data-testid=import-mapping] button[type=submit]")
    preview = page.locator("[data-testid=import-preview]")
    expect(preview).to_contain_text("Person 0")
    page.click("[data-testid=start-import]")
    # The page came back at once; htmx polling shows the worker's progress until it is done.
    expect(page.locator("[data-testid=import-status]")).to_have_text("Done", timeout=90_000)
    expect(page.locator("[data-testid=import-created]")).to_have_text("1500")
    expect(page.locator("[data-testid=import-updated]")).to_have_text("1")
    expect(page.locator("[data-testid=import-failed]")).to_have_text("1")
    screenshot(page, "import-done")
    with page.expect_download() as download:
        page.click("[data-testid=import-errors-link]")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert "not a valid email address" in text and "broken" in text
    assert ImportJob.objects.get().status == ImportJob.Status.DONE
    assert Contact.objects.get(email="old@example.com").tags == ["vip"]


def test_rep_merges_a_duplicate_pair(browser_page, live_server, sales_user):
    a = ContactFactory(first_name="Ann", last_name="Lee", email="ann@example.com", owner=sales_user,
                       phones=["+49301111111"])
    b = ContactFactory(first_name="Anne", last_name="Lee", email="anne@example.com", owner=sales_user,
                       title="CTO", phones=["+49301111111"])
    Activity.objects.create(kind="note", subject="Met at the fair", contact=b)
    page = browser_page
    login(page, live_server, sales_user)
    page.goto(f"{live_server.url}/crm/")
    page.click("[data-testid=nav-duplicates]")
    expect(page.locator("[data-testid=duplicate-pairs]")).to_contain_text("same phone")
    page.click("[data-testid=compare-link]")
    page.check("input[name=pick_first_name][value=b]")
    page.check("input[name=pick_title][value=b]")
    page.click("[data-testid=merge-submit]")
    expect(page.locator("[data-testid=contact-name]")).to_have_text("Anne Lee")
    expect(page.locator("[data-testid=timeline]")).to_contain_text("Met at the fair")
    expect(page.locator("[data-testid=timeline]")).to_contain_text(f"Merged Anne Lee (#{b.pk}) into this record")
    screenshot(page, "merged-contact")
    assert list(Contact.objects.values_list("pk", flat=True)) == [a.pk]
