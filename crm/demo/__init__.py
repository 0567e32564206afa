"""Demo data for `make run` (users per role, teams). Later capabilities add their records here."""

from __future__ import annotations

from django.db import transaction

from crm.models import Team
from crm.roles import MARKETING, SALES, SUPPORT
from crm.services.users import roles_ensure, user_upsert

DEMO_USERS = [
    {"username": "admin", "password": "admin-demo-2026", "first_name": "Ada", "last_name": "Admin",
     "role": None, "role_label": "Admin", "is_superuser": True, "team": None},
    {"username": "sales", "password": "sales-demo-2026", "first_name": "Sam", "last_name": "Seller",
     "role": SALES, "role_label": "Sales", "is_superuser": False, "team": "Sales East"},
    {"username": "sales2", "password": "sales-demo-2026", "first_name": "Rita", "last_name": "Rep",
     "role": SALES, "role_label": "Sales", "is_superuser": False, "team": "Sales West"},
    {"username": "support", "password": "support-demo-2026", "first_name": "Sue", "last_name": "Helper",
     "role": SUPPORT, "role_label": "Support", "is_superuser": False, "team": "Support"},
    {"username": "marketing", "password": "marketing-demo-2026", "first_name": "Max", "last_name": "Marketer",
     "role": MARKETING, "role_label": "Marketing", "is_superuser": False, "team": "Marketing"},
]


def demo_seed() -> None:
    """Idempotently create demo teams, users (passwords are reset to the demo ones) and CRM records, then run
    the demo seeders other apps registered (crm.extensions), e.g. the CDP's website and email behaviour."""
    _crm_demo_seed()
    from crm.extensions import demo_seeders

    for seeder in demo_seeders():
        seeder()


@transaction.atomic
def _crm_demo_seed() -> None:
    roles_ensure()
    teams = {name: Team.objects.get_or_create(name=name)[0]
             for name in {spec["team"] for spec in DEMO_USERS if spec["team"]}}
    for spec in DEMO_USERS:
        user_upsert(
            username=spec["username"], password=spec["password"], first_name=spec["first_name"],
            last_name=spec["last_name"], email=f"{spec['username']}@demo.example", role=spec["role"],
            team=teams.get(spec["team"]), is_superuser=spec["is_superuser"],
        )
    east = teams["Sales East"]
    if east.manager_id is None:
        east.manager = east.members.get(username="sales")
        east.save(update_fields=["manager"])

    from crm.demo.contacts import demo_contacts_seed

    demo_contacts_seed()

    from crm.demo.deals import demo_deals_seed

    demo_deals_seed()

    from crm.demo.tickets import demo_tickets_seed

    demo_tickets_seed()
