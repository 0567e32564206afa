"""Navigation offers each role only what it may open; the CRM landing page shows a rep's day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from config.navigation import CDP, CRM, MAIN, Navigation, nav_links
from crm.models import Activity
from tests.crm.deal_factories import DealFactory, TaskFactory, make_pipeline, stage

pytestmark = pytest.mark.django_db


def _shown(user) -> list[str]:
    links = [link for group in (MAIN, CRM, CDP) for link in nav_links(group, user=user)]
    assert links, "every role sees some navigation"
    return [link.url for link in links]


@pytest.mark.parametrize("role", ["admin_user", "sales_user", "support_user", "marketing_user"])
def test_every_navigation_link_of_a_role_answers_200(role, request, client):
    user = request.getfixturevalue(role)
    client.force_login(user)
    for url in _shown(user):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["support_user", "marketing_user"])
def test_support_and_marketing_see_no_crm_import(role, request, client):
    user = request.getfixturevalue(role)
    client.force_login(user)
    page = client.get(reverse("crm-index")).content.decode()
    assert 'data-testid="nav-contacts"' in page
    assert reverse("import-list") not in page and 'data-testid="nav-import"' not in page
    assert client.get(reverse("import-list")).status_code == 403  # the page the link would have opened


def test_sales_sees_import_and_no_cdp_management(sales_user, client):
    client.force_login(sales_user)
    page = client.get(reverse("crm-index")).content.decode()
    assert 'data-testid="nav-import"' in page
    urls = _shown(sales_user)
    assert reverse("cdp:imports") not in urls and reverse("cdp:read-tokens") not in urls
    assert reverse("cdp:profile-list") in urls


def test_main_navigation_marks_the_current_area(sales_user):
    request = RequestFactory().get(reverse("contact-list"))
    request.user = sales_user
    current = [link.label for link in Navigation(request).main if link.current]
    assert current == ["CRM"]


def test_crm_landing_shows_open_deals_by_stage_tasks_due_and_recent_activity(sales_user, client):
    pipeline = make_pipeline()
    deal, _ = DealFactory.create_batch(2, owner=sales_user, pipeline=pipeline, stage=stage(pipeline, "Qualified"),
                                       name="Qualified deal")
    DealFactory(owner=sales_user, pipeline=pipeline, stage=stage(pipeline, "Won"), status="won", name="Won deal")
    now = timezone.now()
    TaskFactory(assignee=sales_user, owner=sales_user, subject="Call back Ann", due_at=now - timedelta(hours=3),
                deal=deal)
    TaskFactory(assignee=sales_user, owner=sales_user, subject="Send proposal", due_at=now + timedelta(minutes=30),
                deal=deal)
    Activity.objects.create(kind=Activity.Kind.NOTE, subject="Met at the expo", owner=sales_user,
                            created_by=sales_user, occurred_at=now, deal=deal)
    client.force_login(sales_user)
    page = client.get(reverse("crm-index")).content.decode()
    qualified = page.index("Qualified <span")
    assert "<td class=\"num\">2</td>" in page[qualified:qualified + 200]
    assert "2,000 EUR" in page[qualified:qualified + 300]
    assert "Won deal" not in page and "2 open deals you can see" in page
    assert 'data-testid="tasks-overdue">1<' in page and 'data-testid="tasks-today">' in page
    assert "Call back Ann" in page and "Met at the expo" in page
