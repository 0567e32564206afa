import pytest
from rest_framework.test import APIClient

from config import pagination
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_api_count_is_exact_below_the_cap_and_capped_above_it(admin_user, monkeypatch):
    ContactFactory.create_batch(7)
    client = APIClient()
    client.force_authenticate(admin_user)

    body = client.get("/api/crm/contacts/", {"page_size": 2}).json()
    assert body["count"] == 7 and body["count_is_exact"] is True
    assert len(body["results"]) == 2 and body["next"]

    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    body = client.get("/api/crm/contacts/", {"page_size": 2}).json()
    assert body["count"] == 5 and body["count_is_exact"] is False
    page3 = client.get("/api/crm/contacts/", {"page_size": 2, "page": 3}).json()
    assert len(page3["results"]) == 2  # pages up to the cap stay reachable
