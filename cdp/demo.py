"""Demo behaviour for `make run`: a website source and an email source with two months of realistic events.

Everything goes through the one ingestion path (``events_ingest``, as /v1 does; the email events are mapped from
SendGrid-shaped webhook events by the same mapping the webhook uses) and is then resolved by identity resolution:
anonymous visits to pricing, docs and blog pages with UTM campaigns, sign-ups that identify as demo CRM contacts
(those with open deals first), product events, and email deliveries, opens and clicks. Registered as a CRM demo
seeder in CdpConfig.ready(); idempotent (message ids are fixed, and a website source with events is left alone).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from cdp.models import RawEvent, Source
from cdp.services.email_webhooks import sendgrid_messages
from cdp.services.ingest import events_ingest
from cdp.services.sources import source_create
from crm.selectors.contacts import ContactReach, contacts_reachable

WEBSITE_SOURCE = "Website"
EMAIL_SOURCE = "Email (SendGrid)"
DAYS = 60
VISITORS = 420
BATCH = 500

PAGES = [
    ("/", "Home"), ("/pricing", "Pricing"), ("/pricing", "Pricing"), ("/docs/getting-started", "Getting started"),
    ("/docs/api/collection", "Collection API"), ("/docs/integrations/segment", "Segment integration"),
    ("/blog/customer-data-101", "Customer data 101"), ("/blog/crm-meets-cdp", "When the CRM meets the CDP"),
    ("/blog/release-notes-november", "Release notes: November"), ("/customers", "Customer stories"),
    ("/demo", "Book a demo"),
]
CAMPAIGNS = [
    {"name": "autumn-launch", "source": "google", "medium": "cpc", "term": "customer data platform"},
    {"name": "devops-weekly", "source": "newsletter", "medium": "email"},
    {"name": "abm-enterprise", "source": "linkedin", "medium": "paid-social", "content": "case-study"},
    {"name": "webinar-2026", "source": "partner", "medium": "referral"},
]
REFERRERS = ["https://www.google.com/", "https://duckduckgo.com/", "https://news.ycombinator.com/", ""]
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
PRODUCT_EVENTS = [
    ("Project Created", {"template": "blank"}), ("Source Connected", {"kind": "website"}),
    ("Dashboard Viewed", {"dashboard": "Overview"}), ("Report Exported", {"format": "csv"}),
    ("Teammate Invited", {"role": "editor"}), ("Segment Created", {"rules": 3}),
    ("Integration Connected", {"integration": "Slack"}),
]
EMAIL_CAMPAIGNS = [
    ("newsletter-october", 50, "https://example.com/blog/customer-data-101?utm_source=newsletter&utm_medium=email"),
    ("product-update-dashboards", 30, "https://example.com/docs/getting-started?utm_source=product&utm_medium=email"),
    ("webinar-invite", 12, "https://example.com/demo?utm_source=webinar&utm_medium=email&utm_campaign=webinar-2026"),
]
SITE = "https://example.com"


def demo_behaviour_seed(*, now: datetime | None = None, seed: int = 2026) -> int:
    """Create the demo website and email sources and ingest their events; returns how many were accepted
    (0 when the website source already has events). Processing is queued per batch as for /v1."""
    website = Source.objects.filter(name=WEBSITE_SOURCE).first() or source_create(
        # The demo shop identifies only logged-in customers (ids from its own server): its emails may join profiles.
        name=WEBSITE_SOURCE, kind=Source.Kind.WEBSITE, allowed_origins=[SITE], identity_keys=True)
    if RawEvent.objects.filter(source=website).exists():
        return 0
    email = Source.objects.filter(name=EMAIL_SOURCE).first() or source_create(name=EMAIL_SOURCE,
                                                                            kind=Source.Kind.EMAIL)
    now = now or timezone.now()
    rng = random.Random(seed)
    contacts = contacts_reachable(limit=400)
    # Reps' open deals first: their contacts are the ones who sign up and read the mail.
    contacts.sort(key=lambda c: (not c.open_deal, c.contact_id))
    web = _website_messages(rng, now, contacts)
    mail = sendgrid_messages(_sendgrid_events(rng, now, contacts)).messages
    accepted = 0
    for source, messages in ((website, web), (email, mail)):
        messages.sort(key=lambda m: m["timestamp"])
        for start in range(0, len(messages), BATCH):
            accepted += events_ingest(source=source, messages=messages[start:start + BATCH]).accepted
    return accepted


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _page(rng: random.Random, *, n: int, at: datetime, anonymous_id: str, user_id: str | None,
          campaign: dict | None, referrer: str, agent: str) -> dict[str, Any]:
    path, title = rng.choice(PAGES)
    search = ""
    if campaign:
        search = "?" + "&".join(f"utm_{k}={v.replace(' ', '+')}" for k, v in campaign.items())
    page = {"path": path, "url": f"{SITE}{path}{search}", "title": title, "referrer": referrer, "search": search}
    message: dict[str, Any] = {
        "type": "page", "name": title, "messageId": f"demo-web-{n}", "anonymousId": anonymous_id,
        "timestamp": _iso(at), "properties": page,
        "context": {"page": page, "userAgent": agent, "locale": "en-US",
                    "library": {"name": "analytics.js", "version": "5.2.0"}},
    }
    if campaign:
        message["context"]["campaign"] = dict(campaign)
    if user_id:
        message["userId"] = user_id
    return message


def _website_messages(rng: random.Random, now: datetime, contacts: list[ContactReach]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    signups = contacts[: min(len(contacts), 110)]
    for visitor in range(VISITORS):
        anonymous_id = f"demo-visitor-{visitor:04d}"
        agent = rng.choice(AGENTS)
        first_seen = now - timedelta(days=rng.uniform(1, DAYS), minutes=rng.randint(0, 600))
        campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.45 else None
        contact = signups[visitor] if visitor < len(signups) else None
        user_id = None
        at = first_seen
        for session in range(rng.choice([1, 1, 2, 2, 3, 4])):
            referrer = "" if session else rng.choice(REFERRERS)
            for _ in range(rng.randint(1, 4)):
                messages.append(_page(rng, n=len(messages), at=at, anonymous_id=anonymous_id, user_id=user_id,
                                      campaign=campaign if session == 0 else None, referrer=referrer, agent=agent))
                at += timedelta(seconds=rng.randint(15, 240))
            if contact is not None and user_id is None:
                user_id = f"demo-user-{contact.contact_id}"
                messages.extend(_signup(rng, n=len(messages), at=at, anonymous_id=anonymous_id, user_id=user_id,
                                        contact=contact))
                at += timedelta(minutes=rng.randint(2, 30))
                for _ in range(rng.randint(2, 8)):
                    name, props = rng.choice(PRODUCT_EVENTS)
                    messages.append({"type": "track", "event": name, "messageId": f"demo-web-{len(messages)}",
                                     "userId": user_id, "anonymousId": anonymous_id, "timestamp": _iso(at),
                                     "properties": dict(props), "context": {"userAgent": agent}})
                    at += timedelta(minutes=rng.randint(1, 90))
            at += timedelta(days=rng.uniform(0.5, 9))
            if at > now - timedelta(minutes=5):
                break
    return [m for m in messages if m["timestamp"] <= _iso(now)]


def _signup(rng: random.Random, *, n: int, at: datetime, anonymous_id: str, user_id: str,
            contact: ContactReach) -> list[dict[str, Any]]:
    traits = {"email": contact.email, "firstName": contact.first_name, "lastName": contact.last_name,
              "company": contact.company_domain, "plan": rng.choice(["trial", "trial", "team"])}
    return [
        {"type": "identify", "messageId": f"demo-web-{n}", "anonymousId": anonymous_id, "userId": user_id,
         "timestamp": _iso(at), "traits": traits},
        {"type": "track", "event": "Signed Up", "messageId": f"demo-web-{n + 1}", "anonymousId": anonymous_id,
         "userId": user_id, "timestamp": _iso(at + timedelta(seconds=2)),
         "properties": {"plan": traits["plan"], "method": rng.choice(["email", "google"])}},
    ]


def _sendgrid_events(rng: random.Random, now: datetime, contacts: list[ContactReach]) -> list[dict[str, Any]]:
    """SendGrid Event Webhook events (delivered, open, click) of three campaigns to the demo contacts."""
    events: list[dict[str, Any]] = []
    recipients = contacts[:120]
    for campaign, days_ago, url in EMAIL_CAMPAIGNS:
        sent = now - timedelta(days=days_ago, hours=rng.randint(0, 8))
        for contact in recipients:
            message_id = f"demo-{campaign}-{contact.contact_id}"
            at = sent + timedelta(seconds=rng.randint(5, 600))
            base = {"email": contact.email, "sg_message_id": message_id, "category": [campaign]}
            events.append({**base, "event": "delivered", "timestamp": int(at.timestamp()),
                           "sg_event_id": f"{message_id}-d"})
            if rng.random() < (0.6 if contact.open_deal else 0.35):
                at += timedelta(hours=rng.uniform(0.2, 30))
                events.append({**base, "event": "open", "timestamp": int(at.timestamp()),
                               "sg_event_id": f"{message_id}-o", "useragent": rng.choice(AGENTS)})
                if rng.random() < 0.35:
                    at += timedelta(minutes=rng.randint(1, 20))
                    events.append({**base, "event": "click", "timestamp": int(at.timestamp()), "url": url,
                                   "sg_event_id": f"{message_id}-c", "useragent": rng.choice(AGENTS)})
    return [e for e in events if e["timestamp"] <= now.timestamp()]
