"""Ticket API: the same scoping as the pages, writes through the services, JSON errors, OpenAPI schema."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.services.tickets import ticket_create, ticket_note
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import CannedResponseFactory, QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def setup(db):
    team = TeamFactory()
    queue = QueueFactory(team=team)
    SlaPolicyFactory(priority="normal")
    alice = agent(team, username="alice")
    rep = UserFactory(username="rep", role="Sales")
    mine = ContactFactory(owner=rep)
    return {"queue": queue, "alice": alice, "rep": rep, "mine": mine, "team": team,
            "t_rep": ticket_create(subject="rep's contact", requester=mine, queue=queue),
            "t_other": ticket_create(subject="other", queue=queue),
            "t_foreign": ticket_create(subject="foreign", queue=QueueFactory())}


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_list_is_scoped_and_query_count_is_constant(setup, django_assert_max_num_queries):
    url = reverse("api-ticket-list")
    agent_ids = {row["id"] for row in _client(setup["alice"]).get(url).json()["results"]}
    assert agent_ids == {setup["t_rep"].pk, setup["t_other"].pk}
    rep_ids = {row["id"] for row in _client(setup["rep"]).get(url).json()["results"]}
    assert rep_ids == {setup["t_rep"].pk}
    for i in range(15):
        ticket_create(subject=f"more {i}", queue=setup["queue"])
    with django_assert_max_num_queries(8):
        assert len(_client(setup["alice"]).get(url).json()["results"]) == 17


def test_create_update_and_invalid_transition(setup):
    client = _client(setup["alice"])
    response = client.post(reverse("api-ticket-list"), {
        "subject": "From API", "requester_email": "api@cust.example", "queue": setup["queue"].pk,
        "priority": "high"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["channel"] == "api" and body["priority"] == "high" and body["number"]
    detail = reverse("api-ticket-detail", args=[body["id"]])
    assert client.patch(detail, {"status": "solved", "assignee": setup["alice"].pk}, format="json").json()[
        "status"] == "solved"
    assert client.patch(detail, {"status": "closed"}, format="json").status_code == 200
    bad = client.patch(detail, {"status": "open"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"] and "status" in str(bad.json()["detail"])


def test_readers_and_outsiders(setup):
    rep = _client(setup["rep"])
    detail = reverse("api-ticket-detail", args=[setup["t_rep"].pk])
    assert rep.get(detail).status_code == 200
    forbidden = rep.patch(detail, {"priority": "urgent"}, format="json")
    assert forbidden.status_code == 403 and forbidden.json()["error"]
    assert rep.get(reverse("api-ticket-detail", args=[setup["t_other"].pk])).status_code == 404
    assert rep.post(reverse("api-ticket-list"), {"subject": "x"}, format="json").status_code == 403
    assert _client(setup["alice"]).get(reverse("api-ticket-detail", args=[setup["t_foreign"].pk])).status_code == 404


def test_comments_hide_notes_from_readers(setup):
    ticket = setup["t_rep"]
    ticket_note(ticket=ticket, author=setup["alice"], body="internal only")
    url = reverse("api-ticket-comments", args=[ticket.pk])
    created = _client(setup["alice"]).post(url, {"kind": "public", "body": "Hello"}, format="json")
    assert created.status_code == 201
    agent_bodies = [c["body"] for c in _client(setup["alice"]).get(url).json()["results"]]
    assert "internal only" in agent_bodies and "Hello" in agent_bodies
    rep_bodies = [c["body"] for c in _client(setup["rep"]).get(url).json()["results"]]
    assert "internal only" not in rep_bodies and "Hello" in rep_bodies
    assert _client(setup["rep"]).post(url, {"kind": "note", "body": "x"}, format="json").status_code == 403
    empty = _client(setup["alice"]).post(url, {"kind": "public", "body": ""}, format="json")
    assert empty.status_code == 400


def test_queues_policies_and_canned_responses(setup):
    CannedResponseFactory(title="Shared")
    CannedResponseFactory(title="Other team", team=TeamFactory())
    alice = _client(setup["alice"])
    assert [q["id"] for q in alice.get(reverse("api-ticket-queue-list")).json()["results"]] == [setup["queue"].pk]
    titles = [c["title"] for c in alice.get(reverse("api-canned-response-list")).json()["results"]]
    assert titles == ["Shared"]
    assert alice.get(reverse("api-sla-policy-list")).json()["results"][0]["priority"] == "normal"
    denied = alice.post(reverse("api-sla-policy-list"), {"name": "x", "priority": "low",
                                                         "first_response_minutes": 5, "resolution_minutes": 10})
    assert denied.status_code == 403
    assert _client(setup["rep"]).get(reverse("api-ticket-queue-list")).status_code == 403


def test_ticket_endpoints_are_in_the_schema(setup):
    schema = _client(setup["alice"]).get(reverse("api-schema"), {"format": "json"}).json()
    for path in ("/api/crm/tickets/", "/api/crm/tickets/{id}/comments/", "/api/crm/ticket-queues/",
                 "/api/crm/sla-policies/", "/api/crm/canned-responses/"):
        assert path in schema["paths"]
