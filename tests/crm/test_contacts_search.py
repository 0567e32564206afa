"""The contact search selector: every branch (own text, any email, phone digits, company name, short words)."""

from __future__ import annotations

import pytest

from crm.models import Contact
from crm.selectors import contacts as contacts_selectors
from crm.selectors.contacts import ContactListParams, contacts_list, contacts_search, contacts_search_ids
from crm.services.contacts import contact_create
from tests.crm.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(admin_user):
    acme = CompanyFactory(name="Acme Rocket Works")
    contact_create(actor=admin_user, first_name="Jane", last_name="Doe", emails=["jane@doe.example",
                                                                                 "j.doe@private.example"],
                   phones=["+49 30 1234567"], company=acme)
    contact_create(actor=admin_user, first_name="Ed", last_name="Anders", emails=["ed@anders.example"])
    contact_create(actor=admin_user, first_name="Müller", last_name="Zoë", phones=["+1 415 555 2671"])
    return acme


def search(query):
    return sorted(c.first_name for c in contacts_search(Contact.objects.all(), query))


@pytest.mark.parametrize("query, expected", [
    ("jane", ["Jane"]),
    ("JANE DOE", ["Jane"]),
    ("doe jane", ["Jane"]),
    ("private.example", ["Jane"]),          # a secondary email
    ("rocket works", ["Jane"]),             # the company's name
    ("+49 30 123-4567", ["Jane"]),          # a phone typed with formatting
    ("(415) 555 2671", ["Müller"]),
    ("müller", ["Müller"]),
    ("ed", ["Ed"]),                         # short: start of first or last name
    ("an", ["Ed"]),
    ("ed anders", ["Ed"]),                  # a short word narrows a long one
    ("jane zz", []),
    ("nobody", []),
    ("   ", ["Ed", "Jane", "Müller"]),
])
@pytest.mark.parametrize(("inline_ids", "sort_ids"), [(2000, 10_000), (0, 10_000), (0, 0)],
                         ids=["narrow-inlined", "broad-sorted", "broad-index-walk"])
@pytest.mark.parametrize("max_linked", [5000, 0], ids=["linked-ids", "linked-subquery"])
def test_search(people, query, expected, inline_ids, sort_ids, max_linked, monkeypatch):
    # Both strategies (ids inlined after the probe, or a row condition for broad searches) find the same rows,
    # whether the contacts of matching emails/phones are handed over as ids or, past the cap, as a subquery.
    monkeypatch.setattr(contacts_selectors, "SEARCH_INLINE_IDS", inline_ids)
    monkeypatch.setattr(contacts_selectors, "SEARCH_SORT_IDS", sort_ids)
    monkeypatch.setattr(contacts_selectors, "SEARCH_MAX_LINKED_IDS", max_linked)
    assert search(query) == expected


@pytest.mark.parametrize(("inline_ids", "sort_ids"), [(2000, 10_000), (0, 10_000), (0, 0)],
                         ids=["narrow-inlined", "broad-sorted", "broad-index-walk"])
def test_search_results_come_in_the_list_order(admin_user, inline_ids, sort_ids, monkeypatch):
    monkeypatch.setattr(contacts_selectors, "SEARCH_INLINE_IDS", inline_ids)
    monkeypatch.setattr(contacts_selectors, "SEARCH_SORT_IDS", sort_ids)
    acme = CompanyFactory(name="Acme Rocket Works")
    for first, last in [("Zoe", "berg"), ("Al", "Adams"), ("Max", "Cole"), ("Ann", "adams")]:
        ContactFactory(first_name=first, last_name=last, company=acme, owner=admin_user)
    ContactFactory(first_name="Aaron", last_name="Aaronson")  # no match

    def names(**params):
        qs, errors = contacts_list(user=admin_user, params=ContactListParams(q="rocket", **params))
        assert not errors
        return [c.first_name for c in qs]

    assert names() == ["Al", "Ann", "Zoe", "Max"]
    assert names(sort="-name") == ["Max", "Zoe", "Ann", "Al"]
    assert names(sort="-created") == ["Ann", "Max", "Al", "Zoe"]
    assert names(sort="-name", owner="me") == ["Max", "Zoe", "Ann", "Al"]


def test_search_combines_with_scoping(people, sales_user):
    contact_create(actor=sales_user, first_name="Janet", last_name="Mine")
    visible = Contact.objects.filter(owner=sales_user)
    assert [c.first_name for c in contacts_search(visible, "jan")] == ["Janet"]


def test_search_ids_union_is_distinct(people):
    assert len(list(contacts_search_ids("jane"))) == 1
    assert contacts_search_ids("  ") is None


@pytest.mark.parametrize(("inline_ids", "sort_ids"), [(2000, 10_000), (1, 10_000), (0, 0)],
                         ids=["narrow-inlined", "sorted-joins-prefetched", "broad-index-walk"])
def test_filtered_lists_are_probed_and_keep_the_list_order(admin_user, sales_user, inline_ids, sort_ids,
                                                           monkeypatch, django_assert_max_num_queries):
    # Filters without a search are probed like a search: few matches are sorted by id lookups (past the inline
    # limit with company, owner and team fetched for the page alone), many walk the sort index; same rows.
    monkeypatch.setattr(contacts_selectors, "SEARCH_INLINE_IDS", inline_ids)
    monkeypatch.setattr(contacts_selectors, "SEARCH_SORT_IDS", sort_ids)
    acme = CompanyFactory(name="Acme Rocket Works")
    for first, last, stage in [("Zoe", "berg", "customer"), ("Al", "Adams", "customer"), ("Max", "Cole", "lead"),
                               ("Ann", "adams", "customer")]:
        ContactFactory(first_name=first, last_name=last, company=acme, owner=sales_user, lifecycle_stage=stage,
                       tags=["vip"])
    ContactFactory(first_name="Aaron", last_name="Aaronson", lifecycle_stage="customer")  # no tag

    def rows(**params):
        qs, errors = contacts_list(user=admin_user, params=ContactListParams(**params))
        assert not errors
        with django_assert_max_num_queries(5):  # probe, rows and at most three prefetches: none per row
            return [(c.first_name, c.company.name, c.owner.username) for c in qs]

    expected = [(n, "Acme Rocket Works", sales_user.username) for n in ("Al", "Ann", "Zoe")]
    assert rows(lifecycle="customer", tag="vip") == expected
    assert rows(lifecycle="customer", tag="vip", sort="-name") == expected[::-1]
    assert [r[0] for r in rows(owner=str(sales_user.pk), sort="-created")] == ["Ann", "Max", "Al", "Zoe"]
