"""The website tracker in real Chromium: events reach /v1/batch with one anonymous id per browser."""

from __future__ import annotations

import html
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from cdp.models import RawEvent, Source
from cdp.services.sources import source_create
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.browser



@pytest.fixture
def shop_server():
    """A separate web server on loopback (another origin than the app, as a customer's website is); serves
    ``shop_server.html`` at every path."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            body = server.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.html = ""
    server.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def wait_for_events(source, count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = list(RawEvent.objects.filter(source=source).order_by("timestamp", "id"))
        if len(events) >= count:
            return events
        time.sleep(0.2)
    return list(RawEvent.objects.filter(source=source).order_by("timestamp", "id"))


def test_try_page_tracks_and_identifies_with_one_anonymous_id(browser_page, live_server, marketing_user):
    page = browser_page
    source = source_create(name="Demo site", kind=Source.Kind.WEBSITE)
    login(page, live_server, marketing_user)
    page.goto(f"{live_server.url}/cdp/sources/{source.pk}/try/")
    page.fill("#try-write-key", source.write_key)  # keys are stored hashed: the page asks for it
    page.click("[data-testid=try-key-form] button[type=submit]")
    page.wait_for_function("document.getElementById('demo-anonymous-id').textContent.length > 10")
    anonymous_id = page.text_content("[data-testid=anonymous-id]")

    page.fill("#demo-user", "demo-user-7")
    page.fill("#demo-email", "Demo7@Example.com")
    page.click("[data-testid=identify-form] button[type=submit]")
    page.fill("#demo-event", "Plan Chosen")
    page.fill("#demo-properties", '{"plan": "team", "seats": 3}')
    page.click("[data-testid=track-form] button[type=submit]")
    page.click("#demo-flush")

    events = wait_for_events(source, 3)
    screenshot(page, "tracker-try-page")
    assert [e.type for e in events] == ["page", "identify", "track"]
    assert {e.anonymous_id for e in events} == {anonymous_id}
    page_view, identify, plan = events
    assert page_view.user_id is None and page_view.payload["properties"]["path"] == f"/cdp/sources/{source.pk}/try/"
    assert identify.user_id == "demo-user-7" and identify.payload["traits"]["email"] == "Demo7@Example.com"
    assert plan.user_id == "demo-user-7" and plan.event == "Plan Chosen"
    assert plan.payload["properties"] == {"plan": "team", "seats": 3}
    context = plan.payload["context"]
    assert context["library"]["name"] == "cdp-tracker" and "Chrome" in context["userAgent"]
    assert context["page"]["url"].startswith(live_server.url)
    assert plan.sent_at is not None and len(plan.message_id) == 36  # crypto.randomUUID
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookie["ajs_anonymous_id"] == anonymous_id and cookie["ajs_user_id"] == "demo-user-7"
    assert page.text_content("[data-testid=user-id]") == "demo-user-7"


def test_snippet_on_another_site_sends_on_unload_and_keeps_the_ids(browser_page, live_server, shop_server,
                                                                   marketing_user):
    """A third-party page pastes the snippet; events go cross-origin (CORS), with sendBeacon when the page is
    left, and the next page view keeps the same anonymous id and user id."""
    page = browser_page
    shop = shop_server.url
    source = source_create(name="Shop", kind=Source.Kind.WEBSITE, allowed_origins=[shop])
    # The snippet exactly as the source page shows it to paste (batching interval raised so that only
    # leaving the page sends the first events).
    client = Client(HTTP_HOST=urlsplit(live_server.url).netloc)
    client.force_login(marketing_user)
    detail = client.get(reverse("cdp:source-detail", args=[source.pk])).content.decode()
    snippet = html.unescape(re.search(r'data-testid="snippet"><code>(.*?)</code>', detail, re.S).group(1))
    assert f'apiHost:"{live_server.url}"' in snippet
    # Keys are stored hashed: the page shows a placeholder, the site owner puts in the key shown at creation.
    assert 'a.load("YOUR_WRITE_KEY"' in snippet
    snippet = snippet.replace("YOUR_WRITE_KEY", source.write_key)
    snippet = snippet.replace(f'apiHost:"{live_server.url}"}}', f'apiHost:"{live_server.url}",flushInterval:600000}}')
    snippet = snippet.replace("a.page();", 'a.page("Shop","Home");')
    page_html = (f"<!doctype html><html><head><title>Shop</title>{snippet}</head>"
                 f'<body><h1>Shop</h1><a id="next" href="{shop}/next">next</a></body></html>')
    shop_server.html = page_html
    page.goto(f"{shop}/")
    page.wait_for_function("window.analytics && window.analytics.__cdpTracker === true")
    page.evaluate("""() => {
        analytics.identify("shopper-1", {email: "shopper@example.com"});
        analytics.track("Product Viewed", {sku: "A-1"}, {}, function () {});
    }""")
    assert RawEvent.objects.filter(source=source).count() == 0  # batched: the 10 minute interval is not over
    first_anonymous_id = page.evaluate("analytics.user().anonymousId()")
    page.click("#next")  # leaving the page: pagehide → sendBeacon
    page.wait_for_function("window.analytics && window.analytics.__cdpTracker === true")
    events = wait_for_events(source, 3)
    assert [e.type for e in events[:3]] == ["page", "identify", "track"]
    assert events[0].event == "Home" and events[0].payload["properties"]["category"] == "Shop"
    assert events[2].payload["properties"] == {"sku": "A-1"} and events[2].user_id == "shopper-1"

    page.evaluate("() => { analytics.track('Checkout Started'); return analytics.flush(); }")
    events = wait_for_events(source, 5)
    assert [e.event for e in events] == ["Home", None, "Product Viewed", "Home", "Checkout Started"]
    assert {e.anonymous_id for e in events} == {first_anonymous_id}
    assert [e.user_id for e in events[3:]] == ["shopper-1", "shopper-1"]  # user id kept across page views
    assert len({e.message_id for e in events}) == 5


def test_script_tag_config_batches_by_size(browser_page, live_server, shop_server, marketing_user):
    """Configured by data attributes only; with data-flush-at="3" the third call sends the batch at once."""
    page = browser_page
    source = source_create(name="Tag site", kind=Source.Kind.WEBSITE, allowed_origins=[shop_server.url])
    shop_server.html = (
        "<!doctype html><html><head><title>Tag</title>"
        f'<script src="{live_server.url}/static/js/tracker.js" data-write-key="{source.write_key}" '
        f'data-api-host="{live_server.url}" data-flush-at="3" data-flush-interval="600000"></script>'
        "</head><body>tag</body></html>")
    page.goto(f"{shop_server.url}/")
    page.evaluate("() => { analytics.track('One'); analytics.track('Two'); }")
    assert page.evaluate("JSON.parse(localStorage.getItem('cdp_tracker_queue')).length") == 2
    page.evaluate("() => { analytics.page('Pricing', {plan: 'pro'}); }")
    events = wait_for_events(source, 3)
    assert [(e.type, e.event) for e in events] == [("track", "One"), ("track", "Two"), ("page", "Pricing")]
    assert events[2].payload["properties"]["plan"] == "pro" and events[2].payload["properties"]["path"] == "/"
    page.wait_for_function("localStorage.getItem('cdp_tracker_queue') === null")  # sent, nothing left queued

    # Once the source no longer lists this origin, the API refuses the batch and stores nothing.
    source.allowed_origins = []
    source.save(update_fields=["allowed_origins"])
    # (The 403 carries no CORS headers, so the browser reports a failed request; the tracker keeps the
    # events queued for a retry.)
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/v1/batch")):
        page.evaluate("() => { analytics.track('A'); analytics.track('B'); analytics.track('C'); }")
    assert RawEvent.objects.filter(source=source).count() == 3
    assert page.evaluate("JSON.parse(localStorage.getItem('cdp_tracker_queue')).length") == 3
