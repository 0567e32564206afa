"""Demo companies and contacts (spread over the demo reps ``sales`` and ``sales2``), for `make run`."""

from __future__ import annotations

import random

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import Company, Contact, CustomFieldDefinition, Team
from crm.services.companies import company_create
from crm.services.contacts import contact_create, contact_update
from crm.services.phones import phone_normalize

COMPANIES = [
    ("Acme Rockets", "acme-rockets.com", "Aerospace", "201-1000", "Berlin", "DE"),
    ("Globex", "globex.io", "Software", "1001-5000", "Munich", "DE"),
    ("Initech", "initech.com", "Software", "51-200", "Austin", "US"),
    ("Umbrella Health", "umbrella-health.com", "Healthcare", "5001+", "London", "GB"),
    ("Hooli", "hooli.xyz", "Internet", "5001+", "Palo Alto", "US"),
    ("Stark Logistics", "stark-logistics.de", "Logistics", "201-1000", "Hamburg", "DE"),
    ("Wayne Foods", "waynefoods.com", "Food & Beverage", "1001-5000", "Chicago", "US"),
    ("Soylent Labs", "soylentlabs.com", "Biotech", "11-50", "Boston", "US"),
    ("Vandelay Industries", "vandelay.com", "Manufacturing", "51-200", "New York", "US"),
    ("Pied Piper", "piedpiper.com", "Software", "11-50", "San Francisco", "US"),
    ("Nordwind Energie", "nordwind-energie.de", "Energy", "201-1000", "Bremen", "DE"),
    ("Blue Fjord Shipping", "bluefjord.no", "Logistics", "51-200", "Oslo", "NO"),
    ("Cyberdyne Systems", "cyberdyne.ai", "Robotics", "1001-5000", "Sunnyvale", "US"),
    ("Oceanic Airlines", "oceanic-air.com", "Aviation", "5001+", "Sydney", "AU"),
    ("Gringotts Finance", "gringotts.co.uk", "Financial Services", "1001-5000", "London", "GB"),
    ("Tyrell Genetics", "tyrell.bio", "Biotech", "201-1000", "Los Angeles", "US"),
    ("Massive Dynamic", "massivedynamic.com", "Manufacturing", "5001+", "New York", "US"),
    ("Alpenblick Hotels", "alpenblick-hotels.at", "Hospitality", "51-200", "Innsbruck", "AT"),
    ("Bäckerei Sonnenschein", "sonnenschein-baeckerei.de", "Food & Beverage", "11-50", "Cologne", "DE"),
    ("Lumen Learning", "lumenlearning.org", "Education", "51-200", "Portland", "US"),
    ("Quantum Retail", "quantumretail.fr", "Retail", "201-1000", "Paris", "FR"),
    ("Helix Insurance", "helix-insurance.ch", "Financial Services", "1001-5000", "Zurich", "CH"),
    ("Red Kite Media", "redkitemedia.co.uk", "Media", "11-50", "Manchester", "GB"),
    ("Sierra Outdoor", "sierra-outdoor.com", "Retail", "201-1000", "Denver", "US"),
    ("Polar Data", "polardata.fi", "Software", "51-200", "Helsinki", "FI"),
    ("Granite Construction Group", "granite-cg.com", "Construction", "1001-5000", "Dallas", "US"),
    ("Maple Clinics", "mapleclinics.ca", "Healthcare", "201-1000", "Toronto", "CA"),
    ("Tidewater Foods", "tidewaterfoods.com", "Food & Beverage", "51-200", "Seattle", "US"),
    ("Zephyr Mobility", "zephyr-mobility.nl", "Transportation", "11-50", "Amsterdam", "NL"),
    ("Orbital Analytics", "orbital-analytics.io", "Software", "11-50", "Dublin", "IE"),
]
FIRST = ["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kara", "Leon", "Maya",
         "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Will", "Xenia", "Yusuf", "Zoe",
         "Lena", "Marco", "Priya", "Tom"]
LAST = ["Schmidt", "Müller", "Johnson", "Garcia", "Nguyen", "Okafor", "Rossi", "Kowalski", "Andersen", "Dubois",
        "Tanaka", "Silva", "Brown", "Fischer", "Novak", "Larsen", "Kim", "Patel", "Weber", "O'Brien"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Marketing", "Procurement Manager", "IT Director", "Operations Lead",
          "CFO", "Product Manager", "Office Manager", "Engineering Manager", "Buyer"]
SOURCES = ["Website", "Referral", "Trade show", "Cold call", "Webinar", "Partner", "LinkedIn"]
TAGS = ["vip", "newsletter", "webinar-2026", "decision-maker", "champion", "renewal", "expo"]
STAGES = ["lead"] * 5 + ["marketing_qualified"] * 3 + ["sales_qualified"] * 3 + ["opportunity"] * 2 + \
    ["customer"] * 3 + ["churned"]
PATH = ["lead", "marketing_qualified", "sales_qualified", "opportunity", "customer"]
PHONE_PREFIX = {"DE": "+49 30 ", "US": "+1 212 ", "GB": "+44 20 7", "FR": "+33 1 ", "NL": "+31 20 ", "CH": "+41 44 ",
                "AT": "+43 1 ", "CA": "+1 416 ", "AU": "+61 2 ", "NO": "+47 2", "FI": "+358 9 ", "IE": "+353 1 "}


def _phone(rng: random.Random, country: str) -> str | None:
    """A valid random number in the company's country (phonenumbers decides), or None."""
    prefix = PHONE_PREFIX.get(country, "+49 30 ")
    for _ in range(10):
        candidate = prefix + str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
        try:
            return phone_normalize(raw=candidate)
        except ValidationError:
            continue
    return None


def _slug(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "'": ""})
    return text.lower().translate(table).replace(" ", "")


@transaction.atomic
def demo_contacts_seed() -> None:
    """Create ~30 companies and ~150 contacts with tags, lifecycles and some history; skip if contacts exist."""
    if Contact.objects.exists():
        return
    User = get_user_model()
    reps = list(User.objects.filter(username__in=["sales", "sales2"]).order_by("username"))
    if not reps:
        return
    teams = {rep.pk: Team.objects.filter(members=rep).first() for rep in reps}
    CustomFieldDefinition.objects.get_or_create(
        object_type="company", key="tier", defaults={"label": "Account tier", "field_type": "choice",
                                                     "choices": ["Gold", "Silver", "Bronze"], "order": 1})
    CustomFieldDefinition.objects.get_or_create(
        object_type="contact", key="newsletter", defaults={"label": "Newsletter opt-in", "field_type": "boolean",
                                                           "order": 1})
    CustomFieldDefinition.objects.get_or_create(
        object_type="contact", key="preferred_language",
        defaults={"label": "Preferred language", "field_type": "choice", "choices": ["English", "German", "French"],
                  "order": 2})
    rng = random.Random(2026)
    companies: list[tuple[Company, str]] = []
    for index, (name, domain, industry, size, city, country) in enumerate(COMPANIES):
        owner = reps[index % len(reps)]
        company = Company.objects.filter(domain=domain).first() or company_create(
            actor=None, name=name, domain=domain, industry=industry, size=size, city=city, country=country,
            owner=owner, team=teams[owner.pk], tags=rng.sample(["partner", "enterprise", "smb", "priority"], k=1),
            custom={"tier": rng.choice(["Gold", "Silver", "Bronze"])},
        )
        companies.append((company, country))
    for index in range(150):
        company, country = companies[index % len(companies)]
        owner = company.owner or reps[index % len(reps)]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        phone = _phone(rng, country)
        stage = rng.choice(STAGES)
        contact = contact_create(
            actor=None, first_name=first, last_name=last, title=rng.choice(TITLES), company=company,
            emails=[f"{_slug(first)}.{_slug(last)}{index}@{company.domain}"],
            phones=[(phone, rng.choice(["mobile", "work"]))] if phone else [],
            owner=owner, team=teams.get(owner.pk), lifecycle_stage=PATH[0] if stage in PATH[1:] else stage,
            lead_source=rng.choice(SOURCES), tags=rng.sample(TAGS, k=rng.randint(0, 3)),
            custom={"newsletter": rng.random() < 0.6,
                    "preferred_language": "German" if country in ("DE", "AT", "CH") else "English"},
        )
        # Walk the contact along the lifecycle so timelines and lifecycle history look lived in.
        if stage in PATH[1:]:
            for step in PATH[1:PATH.index(stage) + 1]:
                contact_update(contact=contact, actor=owner, changes={"lifecycle_stage": step})
