"""Who sees which CDP profile (issue 12): one selector (cdp.selectors.profile_visibility) behind the list, search,
Customer 360 page, its timeline and merge explanation. A role matrix over three profiles: one linked to the sales
rep's own contact, one linked to another rep's contact, one linked to no contact."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cdp.models import IngestBatch, RefusedMerge
from cdp.selectors.profile_visibility import profiles_visible_to
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.processing import batch_process
from crm.services.contacts import contact_create
from tests.cdp.identity_support import ingest, msg, profile_of, source
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OWN, OTHER, UNLINKED = "own", "other", "unlinked"
# role -> the profiles it sees
MATRIX = {
    "sales": {OWN},
    "other_sales": {OTHER},
    "support": {OWN, OTHER},
    "marketing": {OWN, OTHER, UNLINKED},
    "admin": {OWN, OTHER, UNLINKED},
}


@pytest.fixture
def world(db):
    users = {
        "sales": UserFactory(username="sam", role="Sales"),
        "other_sales": UserFactory(username="olga", role="Sales"),
        "support": UserFactory(username="sue", role="Support"),
        "marketing": UserFactory(username="max", role="Marketing"),
        "admin": UserFactory(username="ada", is_superuser=True, is_staff=True),
    }
    contact_create(actor=None, first_name="Owen", last_name="Zedown", emails=["owen@own.io"], owner=users["sales"])
    contact_create(actor=None, first_name="Otto", last_name="Zedother", emails=["otto@other.io"],
                   owner=users["other_sales"])
    crm_outbox_drain()
    for batch in IngestBatch.objects.filter(processed_at__isnull=True):
        batch_process(batch_id=batch.pk)
    web = source("website", identity_keys=True)
    ingest(web, [msg("identify", minute=1, userId="uma", traits={"email": "uma@web.io", "name": "Uma Zedweb"})])
    profiles = {OWN: profile_of("email", "owen@own.io"), OTHER: profile_of("email", "otto@other.io"),
                UNLINKED: profile_of("user_id", "uma")}
    assert profiles[OWN].crm_contact_id and profiles[OTHER].crm_contact_id and not profiles[UNLINKED].crm_contact_id
    return users, profiles


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_role_matrix_for_selector_pages_search_and_timeline(client, world, role):
    users, profiles = world
    user = users[role]
    expected = {name for name in profiles if name in MATRIX[role]}
    visible_ids = set(profiles_visible_to(user).values_list("pk", flat=True))
    assert {name for name, p in profiles.items() if p.pk in visible_ids} == expected

    client.force_login(user)
    for name, profile in profiles.items():
        status = 200 if name in expected else 404
        assert client.get(reverse("cdp:profile-detail", args=[profile.pk])).status_code == status, name
        assert client.get(reverse("cdp:profile-timeline", args=[profile.pk])).status_code == status, name

    listed = client.get(reverse("cdp:profile-list")).content.decode()
    searched = client.get(reverse("cdp:profile-list"), {"q": "Zed"}).content.decode()
    by_email = {name: client.get(reverse("cdp:profile-list"), {"q": f"email:{email}"}).content.decode()
                for name, email in ((OWN, "owen@own.io"), (OTHER, "otto@other.io"), (UNLINKED, "uma@web.io"))}
    for name, profile in profiles.items():
        link = reverse("cdp:profile-detail", args=[profile.pk])
        assert (link in listed) == (name in expected), (name, "list")
        assert (link in searched) == (name in expected), (name, "search")
        assert (link in by_email[name]) == (name in expected), (name, "search by identifier")


def test_a_merged_profile_id_is_scoped_by_its_survivor(client, world):
    users, profiles = world
    web = source("website", identity_keys=True)
    ingest(web, [msg("page", minute=2, anonymousId="otto-phone")])
    loose = profile_of("anonymous_id", "otto-phone")
    ingest(web, [msg("identify", minute=3, anonymousId="otto-phone", traits={"email": "otto@other.io"})])
    assert profile_of("anonymous_id", "otto-phone").pk == profiles[OTHER].pk != loose.pk
    client.force_login(users["sales"])
    assert client.get(reverse("cdp:profile-detail", args=[loose.pk])).status_code == 404
    client.force_login(users["other_sales"])
    assert client.get(reverse("cdp:profile-detail", args=[loose.pk])).status_code == 302


def test_refused_merges_naming_an_invisible_profile_are_not_shown(client, world):
    users, profiles = world
    RefusedMerge.objects.create(profile=profiles[OWN], other_profile=profiles[OTHER], message_id="m-x",
                                dropped_type="email", dropped_value="secret@other.io", reason="email limit")
    client.force_login(users["sales"])
    html = client.get(reverse("cdp:profile-detail", args=[profiles[OWN].pk])).content.decode()
    assert "secret@other.io" not in html
    client.force_login(users["admin"])
    html = client.get(reverse("cdp:profile-detail", args=[profiles[OWN].pk])).content.decode()
    assert "secret@other.io" in html


def test_profile_list_queries_do_not_grow_with_profiles(client, world, django_assert_max_num_queries):
    users, _ = world
    client.force_login(users["sales"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("cdp:profile-list"), {"q": "Zed"}).status_code == 200
