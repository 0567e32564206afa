from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from crm.models import Team

pytestmark = pytest.mark.django_db


def run_seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_one_user_per_role_plus_admin_and_is_idempotent(settings):
    settings.DEBUG = False
    output = run_seed()
    run_seed()  # a second run changes nothing and fails nothing
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    for username, role in [("sales", "Sales"), ("support", "Support"), ("marketing", "Marketing")]:
        assert list(users.get(username=username).groups.values_list("name", flat=True)) == [role]
    assert users.get(username="sales").check_password("sales-demo-2026")
    assert Team.objects.get(name="Sales East").manager.username == "sales"
    assert "sales-demo-2026" not in output  # credentials only in DEBUG


def test_seed_demo_prints_logins_in_debug(settings):
    settings.DEBUG = True
    output = run_seed()
    assert "sales      / sales-demo-2026" in output
    assert "admin      / admin-demo-2026" in output
