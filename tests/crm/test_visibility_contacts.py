"""Role × owner matrix for contacts and companies: lists, detail URLs, edit pages and edit POSTs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Contact
from crm.selectors.companies import companies_editable_by, companies_visible_to
from crm.selectors.contacts import contacts_editable_by, contacts_visible_to
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(admin_user, marketing_user, support_user):
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    rep = UserFactory(username="rep", role="Sales")
    mate = UserFactory(username="mate", role="Sales")
    other = UserFactory(username="other", role="Sales")
    manager = UserFactory(username="boss", role="Sales")
    nobody = UserFactory(username="nobody")
    east.members.add(rep, mate)
    east.manager = manager
    east.save()
    west.members.add(other)
    records = {
        "rep_owned": ContactFactory(first_name="RepOwned", owner=rep),
        "mate_owned": ContactFactory(first_name="MateOwned", owner=mate),
        "east_team": ContactFactory(first_name="EastTeam", owner=None, team=east),
        "other_owned": ContactFactory(first_name="OtherOwned", owner=other, team=west),
        "unowned": ContactFactory(first_name="Unowned", owner=None),
    }
    users = {"admin": admin_user, "rep": rep, "mate": mate, "other": other, "manager": manager,
             "marketing": marketing_user, "support": support_user, "nobody": nobody}
    return users, records


# user → (records visible, records editable)
EVERYTHING = {"rep_owned", "mate_owned", "east_team", "other_owned", "unowned"}
MATRIX = {
    "admin": (EVERYTHING, EVERYTHING),
    "rep": ({"rep_owned", "east_team"}, {"rep_owned", "east_team"}),
    "mate": ({"mate_owned", "east_team"}, {"mate_owned", "east_team"}),
    "other": ({"other_owned"}, {"other_owned"}),
    "manager": ({"rep_owned", "mate_owned", "east_team"}, {"rep_owned", "mate_owned", "east_team"}),
    "marketing": (EVERYTHING, set()),
    "support": (EVERYTHING, set()),
    "nobody": (set(), set()),
}


def _names(qs):
    return set(qs.values_list("first_name", flat=True))


def _label(records, names):
    by_name = {c.first_name: key for key, c in records.items()}
    return {by_name[n] for n in names}


@pytest.mark.parametrize("who", MATRIX)
def test_contact_selectors_follow_the_matrix(world, who):
    users, records = world
    visible, editable = MATRIX[who]
    assert _label(records, _names(contacts_visible_to(users[who]))) == visible
    assert _label(records, _names(contacts_editable_by(users[who]))) == editable


def test_manager_of_several_teams_sees_each_teams_records_and_members(world):
    users, _records = world
    manager = users["manager"]
    empty = TeamFactory(name="Empty", manager=manager)  # no members: only what the team itself owns
    west = TeamFactory(name="West 2", manager=manager)
    west.members.add(users["other"], users["rep"])  # "rep" is a member of both managed teams
    extra = {ContactFactory(first_name="EmptyTeam", team=empty).first_name,
             ContactFactory(first_name="OtherMine", owner=users["other"]).first_name}
    manager = type(manager).objects.get(pk=manager.pk)  # team memberships are cached per user object
    expected = {"RepOwned", "MateOwned", "EastTeam", "OtherOwned"} | extra
    assert _names(contacts_visible_to(manager)) == expected
    assert _names(contacts_editable_by(manager)) == expected


@pytest.mark.parametrize("who", MATRIX)
def test_contact_pages_follow_the_matrix(world, who):
    users, records = world
    visible, editable = MATRIX[who]
    client = Client()
    client.force_login(users[who])
    listing = client.get(reverse("contact-list"))
    assert {c.first_name for c in listing.context["page"].object_list} == {
        records[k].first_name for k in visible}
    for key, contact in records.items():
        detail = client.get(reverse("contact-detail", args=[contact.pk]))
        edit_url = reverse("contact-edit", args=[contact.pk])
        if key not in visible:
            assert detail.status_code == 404
            assert client.get(edit_url).status_code == 404
            assert client.post(edit_url, {"first_name": "Hacked"}).status_code == 404
            assert client.post(reverse("contact-inline", args=[contact.pk, "title"]), {"value": "x"}).status_code \
                == 404
            assert client.post(reverse("contact-delete", args=[contact.pk])).status_code == 404
            continue
        assert detail.status_code == 200
        body = detail.content.decode()
        if key in editable:
            assert 'data-testid="edit-contact"' in body and "hx-get=\"/crm/contacts/" in body
            assert client.get(edit_url).status_code == 200
        else:
            assert 'data-testid="edit-contact"' not in body and "inline/" not in body
            assert client.get(edit_url).status_code == 403
            assert client.post(edit_url, {"first_name": "Hacked", "lifecycle_stage": "lead"}).status_code == 403
            assert client.post(reverse("contact-inline", args=[contact.pk, "title"]), {"value": "x"}).status_code \
                == 403
            assert client.post(reverse("contact-delete", args=[contact.pk])).status_code == 403
            assert client.post(reverse("contact-bulk"), {"action": "tag", "tag": "x", "ids": [contact.pk]}) \
                .status_code == 302
    assert not Contact.objects.filter(first_name="Hacked").exists()
    # Bulk actions never touch records the user may not edit.
    client.post(reverse("contact-bulk"), {"action": "tag", "tag": "bulk", "ids": [c.pk for c in records.values()]})
    tagged = _label(records, _names(Contact.objects.filter(tags__contains=["bulk"])))
    assert tagged == editable


@pytest.mark.parametrize("who", MATRIX)
def test_company_selectors_and_pages_follow_the_matrix(world, who):
    users, records = world
    visible, editable = MATRIX[who]
    companies = {key: CompanyFactory(name=f"Co {key}", owner=c.owner, team=c.team) for key, c in records.items()}
    user = users[who]
    assert {n.removeprefix("Co ") for n in companies_visible_to(user).values_list("name", flat=True)} == visible
    assert {n.removeprefix("Co ") for n in companies_editable_by(user).values_list("name", flat=True)} == editable
    client = Client()
    client.force_login(user)
    for key, company in companies.items():
        detail = client.get(reverse("company-detail", args=[company.pk]))
        edit = client.post(reverse("company-edit", args=[company.pk]), {"name": "Hacked"})
        if key not in visible:
            assert detail.status_code == 404 and edit.status_code == 404
        elif key not in editable:
            assert detail.status_code == 200 and 'data-testid="edit-company"' not in detail.content.decode()
            assert edit.status_code == 403
        else:
            assert 'data-testid="edit-company"' in detail.content.decode()


def test_company_page_lists_only_visible_contacts(world):
    users, records = world
    company = CompanyFactory(name="Shared", owner=None)
    for contact in records.values():
        contact.company = company
        contact.save(update_fields=["company"])
    client = Client()
    client.force_login(users["marketing"])
    assert client.get(reverse("company-detail", args=[company.pk])).status_code == 200
    client.force_login(users["rep"])
    # The rep cannot see the unowned company itself...
    assert client.get(reverse("company-detail", args=[company.pk])).status_code == 404
    client.force_login(users["admin"])
    response = client.get(reverse("company-detail", args=[company.pk]))
    assert {c.first_name for c in response.context["contacts"]} == {c.first_name for c in records.values()}
