"""Likely duplicates: same email, same phone, similar name at the same company; scoped; dismissals."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.selectors.duplicates import duplicate_pairs, duplicates_of
from crm.services.duplicates import duplicate_dismiss, duplicates_scan
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _pairs(user):
    duplicates_scan()
    pairs, total = duplicate_pairs(user=user)
    assert total == len(pairs)
    return {(p.a_id, p.b_id): p.reasons for p in pairs}


def test_detects_email_phone_and_similar_names_at_one_company(admin_user):
    acme, other_co = CompanyFactory(), CompanyFactory()
    a = ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")
    b = ContactFactory(email="ann.lee@example.com", first_name="Anne", last_name="Lee")
    b.emails.create(email="ann@example.com")  # a secondary email equal to a's primary
    c = ContactFactory(email="c@example.com", phones=["+49301234567"])
    d = ContactFactory(email="d@example.com", phones=["+49301234567"])
    e = ContactFactory(email="e@example.com", first_name="Jonathan", last_name="Smith", company=acme)
    f = ContactFactory(email="f@example.com", first_name="Jonathon", last_name="Smith", company=acme)
    g = ContactFactory(email="g@example.com", first_name="Jonathan", last_name="Smith", company=other_co)
    ContactFactory(email="h@example.com", first_name="Maria", last_name="Garcia", company=acme)
    pairs = _pairs(admin_user)
    assert pairs == {(a.pk, b.pk): ["email"], (c.pk, d.pk): ["phone"], (e.pk, f.pk): ["name"]}
    assert g.pk not in {x for pair in pairs for x in pair}  # same name, other company
    assert duplicates_of(user=admin_user, contact=d) == [c.pk]


def test_several_reasons_rank_first(admin_user):
    acme = CompanyFactory()
    a = ContactFactory(email="x@example.com", first_name="Li", last_name="Wei", company=acme, phones=["+4930111111"])
    b = ContactFactory(email="y@example.com", first_name="Li", last_name="Wei", company=acme, phones=["+4930111111"])
    b.emails.create(email="x@example.com")
    c = ContactFactory(email="z@example.com")
    c.emails.create(email="y@example.com")
    duplicates_scan()
    pairs, total = duplicate_pairs(user=admin_user)
    assert total == 2
    assert (pairs[0].a_id, pairs[0].b_id, pairs[0].reasons) == (a.pk, b.pk, ["email", "name", "phone"])
    assert pairs[0].a == a and pairs[0].b == b  # contacts are loaded


def test_a_rep_sees_only_pairs_of_contacts_they_can_see(sales_user, marketing_user):
    other = UserFactory(role="Sales")
    mine1 = ContactFactory(email="same@example.com", owner=sales_user)
    mine2 = ContactFactory(email="other@example.com", owner=sales_user)
    mine2.emails.create(email="same@example.com")
    theirs = ContactFactory(email="t@example.com", owner=other)
    theirs.emails.create(email="same@example.com")
    assert _pairs(sales_user) == {(mine1.pk, mine2.pk): ["email"]}
    assert len(_pairs(marketing_user)) == 3  # Marketing reads every contact


def test_dismissed_pairs_disappear_and_need_edit_rights(sales_user):
    a = ContactFactory(email="a@example.com", owner=sales_user, phones=["+4930222222"])
    b = ContactFactory(email="b@example.com", owner=sales_user, phones=["+4930222222"])
    c = ContactFactory(email="c@example.com", owner=UserFactory(role="Sales"), phones=["+4930222222"])
    with pytest.raises(PermissionDenied):
        duplicate_dismiss(actor=sales_user, a=a.pk, b=c.pk)
    duplicate_dismiss(actor=sales_user, a=b.pk, b=a.pk)
    duplicate_dismiss(actor=sales_user, a=a.pk, b=b.pk)  # twice is harmless
    assert _pairs(sales_user) == {}


def test_list_page_and_compare_page(sales_client, sales_user, client, django_assert_max_num_queries):
    for i in range(6):
        a = ContactFactory(email=f"p{i}@example.com", owner=sales_user, phones=[f"+49301234{i:03d}"])
        ContactFactory(email=f"q{i}@example.com", owner=sales_user, phones=[f"+49301234{i:03d}"])
    duplicates_scan()
    with django_assert_max_num_queries(12):
        response = sales_client.get(reverse("duplicate-list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="compare-link"') == 6 and "same phone" in html
    compare = sales_client.get(reverse("duplicate-compare", args=[a.pk, a.pk + 1])).content.decode()
    assert 'data-testid="merge-submit"' in compare and "p5@example.com" in compare


def test_compare_page_hides_what_one_may_not_see_or_edit(sales_client, sales_user, client, support_user):
    mine = ContactFactory(email="m@example.com", owner=sales_user)
    theirs = ContactFactory(email="t@example.com", owner=UserFactory(role="Sales"))
    assert sales_client.get(reverse("duplicate-compare", args=[mine.pk, theirs.pk])).status_code == 404
    assert sales_client.post(reverse("duplicate-dismiss", args=[mine.pk, theirs.pk])).status_code == 404
    client.force_login(support_user)  # reads everything, edits nothing
    page = client.get(reverse("duplicate-compare", args=[mine.pk, theirs.pk]))
    assert page.status_code == 200 and 'data-testid="cannot-merge"' in page.content.decode()
    assert client.post(reverse("duplicate-compare", args=[mine.pk, theirs.pk]), {"keep": "a"}).status_code == 403


def test_scan_keeps_the_list_current(admin_user):
    a = ContactFactory(email="a@example.com", phones=["+4930333333"])
    b = ContactFactory(email="b@example.com", phones=["+4930333333"])
    first = duplicates_scan()
    assert first.pairs == 1 and _pairs(admin_user) == {(a.pk, b.pk): ["phone"]}
    b.phones.all().delete()
    b.emails.create(email="a@example.com")
    assert _pairs(admin_user) == {(a.pk, b.pk): ["email"]}  # re-scanned: the reason changed
    b.delete()
    assert duplicate_pairs(user=admin_user) == ([], 0)  # a deleted contact's pairs vanish before any scan


def test_the_page_asks_for_a_scan_when_the_list_is_stale(admin_user, client, django_capture_on_commit_callbacks):
    from crm.models import DuplicateScan

    a = ContactFactory(email="a@example.com", phones=["+4930444444"])
    ContactFactory(email="b@example.com", phones=["+4930444444"])
    client.force_login(admin_user)
    assert not DuplicateScan.objects.exists()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        html = client.get(reverse("duplicate-list")).content.decode()
    assert len(queued) == 1 and "A fresh scan is running." in html
    assert DuplicateScan.objects.count() == 1  # Celery is eager in tests: the queued scan ran
    html = client.get(reverse("duplicate-list")).content.decode()
    assert f'href="/crm/contacts/{a.pk}/"' in html
    with django_capture_on_commit_callbacks(execute=True) as queued:
        client.get(reverse("duplicate-list"))
    assert queued == []  # fresh enough: no second scan
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert client.post(reverse("duplicate-scan")).status_code == 302
    assert DuplicateScan.objects.count() == 2


def test_a_scan_requested_before_the_last_scan_is_skipped(admin_user):
    from django.utils import timezone

    requested = timezone.now()
    assert duplicates_scan() is not None
    assert duplicates_scan(requested_at=requested) is None


def test_contact_page_links_to_its_likely_duplicates(sales_client, sales_user):
    a = ContactFactory(email="a@example.com", first_name="Ann", owner=sales_user, phones=["+4930555555"])
    b = ContactFactory(email="b@example.com", first_name="Anne", owner=sales_user, phones=["+4930555555"])
    duplicates_scan()
    html = sales_client.get(reverse("contact-detail", args=[b.pk])).content.decode()
    assert 'data-testid="duplicates-panel"' in html
    assert reverse("duplicate-compare", args=[a.pk, b.pk]) in html and "(Ann)" in html
