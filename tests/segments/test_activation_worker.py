"""Activation through a real Celery worker process and real Redis: an event accepted by the ingestion service
puts its profile in a real-time segment; the worker POSTs the signed webhook to a local receiver (the signature
checked here with the hmac module, by the documented recipe) and creates the CRM task; replaying the batch
(a redelivered task message), the same events again and two refreshes at once act no second time."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone

from cdp.models import Identifier, IngestBatch, Profile
from cdp.services.ingest import events_ingest
from config.queueing import task_by_name
from crm.models import Activity, Contact
from segments.models import ActionRun, Delivery, SizeSnapshot
from segments.services.destinations import destination_create
from segments.services.segments import segment_create
from tests.cdp.identity_support import source
from tests.factories import UserFactory
from tests.segments.receiver import start_receiver
from tests.workers import WorkerProcess, wait_until

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


@pytest.fixture
def worker_and_receiver(transactional_db, settings):
    """A local HTTP receiver (a thread of this process) and a real worker allowed to call it."""
    from config.celery import app

    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = start_receiver()
    worker = WorkerProcess(env={"SEGMENTS_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}).start()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield worker, receiver
    finally:
        app.conf.task_always_eager = eager
        worker.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


def signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Independent check: hex HMAC-SHA256 of b"<X-Webhook-Timestamp>." + raw body, sent as "v1=<hex>"."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(headers["x-webhook-timestamp"].encode("ascii"))
    mac.update(b".")
    mac.update(body)
    sent = [part.split("=", 1)[1] for part in headers["x-webhook-signature"].split(" ") if part.startswith("v1=")]
    return any(hmac.compare_digest(mac.hexdigest(), s) for s in sent)


def succeeded(worker: WorkerProcess, task: str) -> int:
    return sum(1 for line in worker.log_path.read_text().splitlines() if f"{task}[" in line and " succeeded " in line)


def test_an_event_delivers_a_signed_webhook_and_one_task_through_a_real_worker(worker_and_receiver):
    worker, receiver = worker_and_receiver
    owner = UserFactory(username="rowan", first_name="Rowan")
    contact = Contact.objects.create(first_name="Ann", last_name="Lee", email="ann@example.com", owner=owner)
    profile = Profile.objects.create(traits={"plan": "free"}, crm_contact_id=contact.pk)
    Identifier.objects.create(profile=profile, type="user_id", value="u-act")
    segment = segment_create(name="Pro now", definition=PRO)
    hook = destination_create(segment=segment, kind="webhook", url=receiver.url("/hook"), traits=["plan"])
    destination_create(segment=segment, kind="task", config={"subject": "Call {first_name} ({segment})"})
    assert wait_until(lambda: SizeSnapshot.objects.filter(segment=segment).exists(), timeout=60)  # first refresh
    src = source()
    identify = {"type": "identify", "messageId": "act-1", "userId": "u-act", "timestamp": timezone.now().isoformat(),
                "traits": {"plan": "pro"}}
    events_ingest(source=src, messages=[identify])

    assert wait_until(lambda: receiver.received("/hook"), timeout=60), worker.log_path.read_text()[-3000:]
    [request] = receiver.received("/hook")
    assert signed_by(hook.secret, request.headers, request.body)
    assert not signed_by(hook.secret.replace("whsec_", "whsec_x"), request.headers, request.body)
    assert abs(int(request.headers["x-webhook-timestamp"]) - time.time()) < 120
    body = json.loads(request.body)
    assert body["id"] == request.headers["x-webhook-id"]
    assert (body["type"], body["event"]) == ("segment.entered", "entered")
    assert body["segment"] == {"id": segment.pk, "name": "Pro now"}
    assert body["profile"]["id"] == profile.pk and body["profile"]["crm_contact_id"] == contact.pk
    assert body["profile"]["identifiers"]["user_id"] == ["u-act"]
    assert body["traits"] == {"plan": "pro"}
    assert wait_until(lambda: Delivery.objects.filter(status="delivered").exists(), timeout=30)
    delivery = Delivery.objects.get()
    assert str(delivery.delivery_id) == body["id"] and delivery.attempts == 1 and delivery.last_status_code == 200
    assert wait_until(lambda: Activity.objects.filter(kind="task", contact=contact).exists(), timeout=60)
    task = Activity.objects.get(kind="task", contact=contact)
    assert task.subject == "Call Ann (Pro now)" and task.assignee == owner

    # Replays: the batch's processing task delivered again (twice), the same message sent again (deduplicated),
    # a new event for the same member, and two full refreshes queued at once (the worker runs 2 at a time).
    batch_id = IngestBatch.objects.filter(source=src).order_by("id").values_list("pk", flat=True).first()
    processed, refreshed = succeeded(worker, "cdp.tasks.batch_process"), succeeded(worker, "refresh_segment")
    process = task_by_name("cdp.tasks.batch_process")
    process.delay(batch_id)
    process.delay(batch_id)
    events_ingest(source=src, messages=[identify, {**identify, "messageId": "act-2", "traits": {"plan": "pro",
                                                                                                "seats": 3}}])
    refresh_task = task_by_name("segments.tasks.refresh_segment")
    refresh_task.delay(segment.pk)
    refresh_task.delay(segment.pk)
    assert wait_until(lambda: succeeded(worker, "refresh_segment") >= refreshed + 2, timeout=60)
    assert wait_until(lambda: succeeded(worker, "cdp.tasks.batch_process") >= processed + 3, timeout=60)
    assert wait_until(lambda: Profile.objects.get(pk=profile.pk).traits.get("seats") == 3, timeout=60)
    assert not wait_until(lambda: len(receiver.received()) > 1 or Delivery.objects.count() > 1
                          or Activity.objects.filter(kind="task").count() > 1, timeout=5)
    assert ActionRun.objects.get().status == "done"
    assert Delivery.objects.get().status == "delivered"
