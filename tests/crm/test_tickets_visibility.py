"""Who sees and works which tickets — one selector for pages, API and exports — tested as a matrix."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.selectors.tickets import tickets_editable_by, tickets_visible_to
from crm.services.tickets import ticket_create
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import QueueFactory, agent
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def world(db):
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    rep = UserFactory(username="rep", role="Sales")
    contact_of_rep = ContactFactory(owner=rep)
    other_contact = ContactFactory()
    queue_a, queue_b = QueueFactory(team=team_a), QueueFactory(team=team_b)
    tickets = {
        "a_rep": ticket_create(subject="A for rep's contact", requester=contact_of_rep, queue=queue_a),
        "a_other": ticket_create(subject="A other", requester=other_contact, queue=queue_a),
        "b_other": ticket_create(subject="B other", requester=other_contact, queue=queue_b),
        "untriaged": ticket_create(subject="No queue", requester=other_contact),
    }
    users = {
        "admin": UserFactory(username="root", is_superuser=True),
        "agent_a": agent(team_a, username="agent_a"),
        "agent_b": agent(team_b, username="agent_b"),
        "rep": rep,
        "marketing": UserFactory(username="mk", role="Marketing"),
        "nobody": UserFactory(username="none"),
        "inactive_agent": agent(team_a, username="gone", is_active=False),
    }
    return users, tickets


MATRIX = {
    # user: (visible, editable)
    "admin": ({"a_rep", "a_other", "b_other", "untriaged"}, {"a_rep", "a_other", "b_other", "untriaged"}),
    "agent_a": ({"a_rep", "a_other"}, {"a_rep", "a_other"}),
    "agent_b": ({"b_other"}, {"b_other"}),
    "rep": ({"a_rep"}, set()),
    "marketing": (set(), set()),
    "nobody": (set(), set()),
    "inactive_agent": (set(), set()),
}


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_selector_matrix(world, who):
    users, tickets = world
    names = {t.pk: name for name, t in tickets.items()}
    visible, editable = MATRIX[who]
    assert {names[pk] for pk in tickets_visible_to(users[who]).values_list("pk", flat=True)} == visible
    assert {names[pk] for pk in tickets_editable_by(users[who]).values_list("pk", flat=True)} == editable


@pytest.mark.parametrize("who", ["admin", "agent_a", "agent_b", "rep", "marketing", "nobody"])
def test_ticket_page_follows_the_matrix(world, client, who):
    users, tickets = world
    client.force_login(users[who])
    visible, editable = MATRIX[who]
    for name, ticket in tickets.items():
        response = client.get(reverse("support-ticket", args=[ticket.pk]))
        assert response.status_code == (200 if name in visible else 404), name
        if name in visible:
            assert (b'data-testid="reply-form"' in response.content) == (name in editable)
        post = client.post(reverse("support-ticket-entry", args=[ticket.pk]), {"kind": "note", "body": "hi"})
        if name in editable:
            assert post.status_code == 302
        else:
            assert post.status_code in (403, 404)
    assert tickets["untriaged"].entries.filter(kind="note").count() == (1 if "untriaged" in editable else 0)


def test_readers_never_see_internal_notes(world, client):
    users, tickets = world
    from crm.services.tickets import ticket_note

    ticket_note(ticket=tickets["a_rep"], author=users["agent_a"], body="secret internal remark")
    client.force_login(users["rep"])
    body = client.get(reverse("support-ticket", args=[tickets["a_rep"].pk])).content.decode()
    assert "secret internal remark" not in body
    client.force_login(users["agent_a"])
    page = client.get(reverse("support-ticket", args=[tickets["a_rep"].pk])).content.decode()
    assert "secret internal remark" in page


def test_a_ticket_without_queue_goes_to_the_default_queue(world):
    users, _tickets = world
    default = QueueFactory(team=users["agent_b"].teams.get(), is_default=True)
    ticket = ticket_create(subject="Where to?")
    assert (ticket.queue, ticket.team) == (default, default.team)
    assert tickets_editable_by(users["agent_b"]).filter(pk=ticket.pk).exists()
    assert not tickets_visible_to(users["agent_a"]).filter(pk=ticket.pk).exists()
