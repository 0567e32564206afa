"""Canned responses managed by agents and leads outside Django admin: who may write shared and team responses,
forms with errors, the list/create/edit/delete pages, the API with the same rules, and use in the reply editor."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import CannedResponse
from crm.services.tickets import ticket_create
from crm.services.tickets_canned import canned_response_create, canned_response_delete, canned_response_update
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import CannedResponseFactory, QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def desk(db):
    l1, l2 = TeamFactory(name="Level 1"), TeamFactory(name="Level 2")
    alice = agent(l1, username="alice", first_name="Alice", last_name="Agent")
    bob = agent(l1, username="bob")
    lead = agent(l1, username="lena")
    l1.manager = lead
    l1.save()
    other = agent(l2, username="otto")
    SlaPolicyFactory(priority="normal")
    return {"l1": l1, "l2": l2, "alice": alice, "bob": bob, "lead": lead, "other": other,
            "admin": UserFactory(username="root", is_superuser=True, is_staff=True),
            "queue": QueueFactory(team=l1)}


def test_who_may_write_shared_and_team_responses(desk):
    alice, bob, lead, other = desk["alice"], desk["bob"], desk["lead"], desk["other"]
    own = canned_response_create(actor=alice, title="Hi", body="Hello {{ requester_name }}", team=desk["l1"])
    assert own.created_by == alice and own.team == desk["l1"]
    with pytest.raises(PermissionDenied):  # agents do not write shared ones
        canned_response_create(actor=alice, title="All", body="x", team=None)
    with pytest.raises(PermissionDenied):  # nor for another team
        canned_response_create(actor=alice, title="L2", body="x", team=desk["l2"])
    with pytest.raises(PermissionDenied):  # a teammate may use it but not change it
        canned_response_update(actor=bob, response=own, title="Mine now", body="x", team=desk["l1"])
    with pytest.raises(PermissionDenied):
        canned_response_delete(actor=other, response=own)
    # The team's lead edits the team's responses and writes shared ones.
    own = canned_response_update(actor=lead, response=own, title="Greeting", body="Hi {{agent_name}}", team=None)
    assert own.team is None and own.title == "Greeting"
    with pytest.raises(PermissionDenied):  # now shared: only leads and admins
        canned_response_update(actor=alice, response=own, title="x", body="y", team=desk["l1"])
    canned_response_delete(actor=desk["admin"], response=own)
    assert not CannedResponse.objects.exists()


def test_unknown_placeholders_and_empty_fields_are_refused(desk):
    with pytest.raises(ValidationError) as error:
        canned_response_create(actor=desk["alice"], title=" ", body="Dear {{ customer_name }}", team=desk["l1"])
    assert set(error.value.message_dict) == {"title", "body"}
    assert "{{ customer_name }}" in error.value.message_dict["body"][0]
    assert not CannedResponse.objects.exists()


def test_pages_create_edit_delete_with_errors(client, desk):
    client.force_login(desk["alice"])
    page = client.get("/support/canned/new/")
    assert page.status_code == 200
    assert "Shared with every team" not in page.content.decode()  # not offered to an agent
    response = client.post("/support/canned/new/", {"title": "", "body": "Hi {{ nme }}", "team": desk["l1"].pk})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "Unknown placeholder {{ nme }}" in html
    response = client.post("/support/canned/new/", {"title": "Shared?", "body": "x", "team": ""})
    assert response.status_code == 400 and not CannedResponse.objects.exists()
    response = client.post("/support/canned/new/", {"title": "Thanks", "body": "Thanks {{ requester_name }}!",
                                                    "team": desk["l1"].pk})
    assert response.status_code == 302
    created = CannedResponse.objects.get(title="Thanks")
    listing = client.get("/support/canned/").content.decode()
    assert "Thanks {{ requester_name }}!" in listing and f"/support/canned/{created.pk}/edit/" in listing
    response = client.post(f"/support/canned/{created.pk}/edit/", {"title": "Thank you",
                                                                   "body": "Thank you {{ requester_name }}.",
                                                                   "team": desk["l1"].pk})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.title == "Thank you"

    # A teammate sees it, may not edit or delete it; another team does not see it at all.
    client.force_login(desk["bob"])
    listing = client.get("/support/canned/").content.decode()
    assert "Thank you" in listing and f"/support/canned/{created.pk}/edit/" not in listing
    assert client.get(f"/support/canned/{created.pk}/edit/").status_code == 403
    assert client.post(f"/support/canned/{created.pk}/delete/").status_code == 403
    client.force_login(desk["other"])
    assert "Thank you" not in client.get("/support/canned/").content.decode()
    assert client.get(f"/support/canned/{created.pk}/edit/").status_code == 404

    # The lead is offered "shared" and deletes it.
    client.force_login(desk["lead"])
    assert "Shared with every team" in client.get("/support/canned/new/").content.decode()
    assert client.post(f"/support/canned/{created.pk}/delete/").status_code == 302
    assert not CannedResponse.objects.filter(pk=created.pk).exists()

    # Sales reps and anonymous users do not reach the pages.
    client.force_login(UserFactory(role="Sales"))
    assert client.get("/support/canned/").status_code == 403


def test_reply_editor_offers_them_filled_in(client, desk):
    ticket = ticket_create(subject="Broken", requester=ContactFactory(first_name="Carol"), queue=desk["queue"])
    CannedResponseFactory(title="Team one", team=desk["l1"])
    CannedResponseFactory(title="Other team", team=desk["l2"])
    client.force_login(desk["alice"])
    html = client.get(f"/support/tickets/{ticket.pk}/").content.decode()
    assert "Team one" in html and "Other team" not in html
    assert f"Hello Carol, about ticket #{ticket.number}: fixed. — Alice Agent" in html
    assert 'href="/support/canned/"' in html


def test_api_uses_the_same_rules(client, desk):
    client.force_login(desk["alice"])
    response = client.post("/api/crm/canned-responses/", {"title": "Hi", "body": "Hi", "team": desk["l1"].pk},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    created = CannedResponse.objects.get(pk=response.json()["id"])
    assert created.created_by == desk["alice"]
    response = client.post("/api/crm/canned-responses/", {"title": "All", "body": "x", "team": None},
                           content_type="application/json")
    assert response.status_code == 403
    response = client.post("/api/crm/canned-responses/", {"title": "Bad", "body": "{{ x }}", "team": desk["l1"].pk},
                           content_type="application/json")
    assert response.status_code == 400
    client.force_login(desk["bob"])
    assert client.patch(f"/api/crm/canned-responses/{created.pk}/", {"title": "x"},
                        content_type="application/json").status_code == 403
    assert client.delete(f"/api/crm/canned-responses/{created.pk}/").status_code == 403
    client.force_login(desk["lead"])
    assert client.delete(f"/api/crm/canned-responses/{created.pk}/").status_code == 204
