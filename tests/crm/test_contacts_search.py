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
@pytest.mark.parametrize("sort_ids", [10_000, 2, 0], ids=["narrow-probed", "broad-after-two", "broad-index-walk"])
@pytest.mark.parametrize("max_linked", [5000, 0], ids=["linked-ids", "linked-subquery"])
def test_search(people, query, expected, sort_ids, max_linked, monkeypatch):
    # Both strategies (ids inlined after the probe, or a row condition for broad searches) find the same rows,
    # whether the contacts of matching emails/phones are handed over as ids or, past the cap, as a subquery.
    monkeypatch.setattr(contacts_selectors, "SEARCH_SORT_IDS", sort_ids)
    monkeypatch.setattr(contacts_selectors, "SEARCH_MAX_LINKED_IDS", max_linked)
    assert search(query) == expected


@pytest.mark.parametrize("sort_ids", [10_000, 2, 0], ids=["narrow-probed", "broad-after-two", "broad-index-walk"])
def test_search_results_come_in_the_list_order(admin_user, sort_ids, monkeypatch):
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


@pytest.mark.parametrize("sort_ids", [10_000, 2, 0], ids=["narrow-probed", "broad-after-two", "broad-index-walk"])
def test_filtered_lists_are_probed_and_keep_the_list_order(admin_user, sales_user, sort_ids,
                                                           monkeypatch, django_assert_max_num_queries):
    # Filters without a search are probed like a search: few matches are counted and sorted by the probe, many
    # walk the sort index; same rows.
    monkeypatch.setattr(contacts_selectors, "FILTER_SORT_IDS", sort_ids)
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


@pytest.mark.parametrize("sort_ids", [10_000, 2], ids=["narrow-probed", "broad-walked"])
def test_search_pages_past_the_probes_first_window_and_counts_from_the_probe(sales_client, sales_user, sort_ids,
                                                                             monkeypatch,
                                                                             django_assert_max_num_queries):
    # The probe sorts only its first rows (FIRST_WINDOW); a later page sorts its own window; the count shown is
    # the probe's (narrow) or the capped one (broad), the same either way, and each page holds the right rows.
    from crm.selectors import contact_matches
    from crm.views.list_support import CappedPaginator

    monkeypatch.setattr(contacts_selectors, "SEARCH_SORT_IDS", sort_ids)
    monkeypatch.setattr(contact_matches, "FIRST_WINDOW", 7)
    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 30)
    for i in range(60):
        ContactFactory(owner=sales_user, first_name=f"N{59 - i:02d}", last_name="Rocketeer")
    ContactFactory(owner=sales_user, first_name="Other", last_name="Person")
    ContactFactory(first_name="N99", last_name="Rocketeer")  # another rep's: not visible, not counted

    def page(number):
        response = sales_client.get("/crm/contacts/", {"q": "rocketeer", "page": number})
        assert response.status_code == 200
        return response

    first = page(1)
    assert "30+ contacts" in first.content.decode()
    assert [c.first_name for c in first.context["page"].object_list] == [f"N{i:02d}" for i in range(50)]
    second = page(2)
    assert [c.first_name for c in second.context["page"].object_list] == [f"N{i:02d}" for i in range(50, 60)]
    assert not second.context["page"].has_next()
    qs, _errors = contacts_list(user=sales_user, params=ContactListParams(q="rocketeer", sort="-name"))
    with django_assert_max_num_queries(2):  # one sorted window of ids, one query for the rows
        assert [c.first_name for c in qs[55:58]] == ["N04", "N03", "N02"]
    assert len(qs) == 60  # the probe's count, or (broad, having found fewer than the cap) a capped count


@pytest.mark.parametrize("max_companies", [5000, 1], ids=["company-ids", "company-subquery"])
def test_company_name_search_leaves_no_matching_company_out(admin_user, max_companies, monkeypatch):
    # Past SEARCH_MAX_COMPANIES matching companies the search takes them all through a subquery (it used to
    # keep the first ones only).
    monkeypatch.setattr(contacts_selectors, "SEARCH_MAX_COMPANIES", max_companies)
    for name in ("Falke Nord GmbH", "Blau Falke AG", "Falke Süd KG"):
        ContactFactory(first_name=name.split()[1], company=CompanyFactory(name=name))
    ContactFactory(first_name="Other", company=CompanyFactory(name="Adler SE"))
    assert search("falke") == ["Falke", "Nord", "Süd"]
