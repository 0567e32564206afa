"""Duplicate detection (a set-based scan into ``DuplicateCandidate``) and dismissing pairs (merging: merge.py).

The scan is one ``INSERT ... SELECT`` over three self-joins: contacts sharing an email address (any of their
emails), sharing a phone number (E.164), or at the same company under a similar name (pg_trgm ``similarity``
of the lower-cased full names ≥ ``NAME_SIMILARITY``). It runs in a worker (``crm.duplicates_scan``): after
imports, when the review page finds the last scan older than ``SCAN_MAX_AGE``, and on request. The page reads
the stored pairs, so it stays fast at any number of contacts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.queueing import enqueue_on_commit
from crm.models import DuplicateCandidate, DuplicateDismissal, DuplicateScan
from crm.selectors.contacts import contacts_editable_by

NAME_SIMILARITY = 0.6
SCAN_MAX_AGE = timedelta(minutes=15)
_SCAN_LOCK = 0x63726D64  # "crmd": one scan at a time

# Each branch yields (a, b, reason, detail) with a < b. The name branch compares only contacts of one company
# whose last names start alike ("Lee"/"Lea", "Smith"/"Smyth"): comparing every pair of a company's contacts
# grows with the square of its size (a 1,000-contact customer alone is 500,000 comparisons); this blocking
# keeps first-name variants and typos after the second letter, and costs ~1/100 of that.
PAIRS_SQL = """
    SELECT e1.contact_id AS a, e2.contact_id AS b, 'email' AS reason, e1.email AS detail
      FROM crm_contactemail e1 JOIN crm_contactemail e2 ON e2.email = e1.email AND e2.contact_id > e1.contact_id
    UNION ALL
    SELECT p1.contact_id, p2.contact_id, 'phone', p1.number
      FROM crm_contactphone p1 JOIN crm_contactphone p2 ON p2.number = p1.number AND p2.contact_id > p1.contact_id
    UNION ALL
    SELECT c1.id, c2.id, 'name', left(c1.first_name || ' ' || c1.last_name, 254)
      FROM crm_contact c1 JOIN crm_contact c2
        ON c2.company_id = c1.company_id AND lower(left(c2.last_name, 2)) = lower(left(c1.last_name, 2))
       AND c2.id > c1.id
     WHERE c1.company_id IS NOT NULL
       AND btrim(c1.first_name || c1.last_name) <> '' AND btrim(c2.first_name || c2.last_name) <> ''
       AND similarity(lower(c1.first_name || ' ' || c1.last_name), lower(c2.first_name || ' ' || c2.last_name))
           >= %(similarity)s
"""


def duplicates_scan(*, requested_at: datetime | None = None) -> DuplicateScan | None:
    """Find every likely duplicate pair now and store them (pairs no longer found are removed).

    Returns the scan record, or None when there is nothing to do: another scan holds the lock, or a scan
    started after ``requested_at`` (so the many requests of a busy page cost one scan).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SCAN_LOCK])
            if not cursor.fetchone()[0]:
                return None
            if requested_at is not None and DuplicateScan.objects.filter(started_at__gte=requested_at).exists():
                return None
            started = timezone.now()
            cursor.execute(f"""
                INSERT INTO crm_duplicatecandidate (contact_a_id, contact_b_id, reasons, details, score, seen_at)
                SELECT p.a, p.b, array_agg(DISTINCT p.reason ORDER BY p.reason), array_agg(DISTINCT p.detail),
                       count(DISTINCT p.reason), %(now)s
                  FROM ({PAIRS_SQL}) p
                 GROUP BY p.a, p.b
                ON CONFLICT (contact_a_id, contact_b_id) DO UPDATE
                   SET reasons = EXCLUDED.reasons, details = EXCLUDED.details, score = EXCLUDED.score,
                       seen_at = EXCLUDED.seen_at
            """, {"similarity": NAME_SIMILARITY, "now": started})
            pairs = cursor.rowcount
            cursor.execute("DELETE FROM crm_duplicatecandidate WHERE seen_at < %s", [started])
        return DuplicateScan.objects.create(started_at=started, finished_at=timezone.now(), pairs=pairs)


def duplicates_scan_request(*, force: bool = False) -> bool:
    """Queue a scan (after commit) if forced or the last one is older than ``SCAN_MAX_AGE``.

    Returns whether one was queued. Requests made while a scan is pending are answered by that scan.
    """
    if not force:
        last = DuplicateScan.objects.order_by("-started_at").values_list("started_at", flat=True).first()
        if last is not None and timezone.now() - last < SCAN_MAX_AGE:
            return False
    enqueue_on_commit("crm.duplicates_scan", timezone.now().isoformat())
    return True


def duplicates_forget(*, contact_ids: list[int]) -> int:
    """Drop stored pairs involving ``contact_ids`` (a merged or deleted contact). Call inside the change's
    transaction."""
    deleted, _ = DuplicateCandidate.objects.filter(
        Q(contact_a_id__in=contact_ids) | Q(contact_b_id__in=contact_ids)).delete()
    return deleted


@transaction.atomic
def duplicate_dismiss(*, actor: AbstractBaseUser, a: int, b: int) -> DuplicateDismissal:
    """Record that contacts ``a`` and ``b`` are different people; the pair leaves the duplicates list for everyone.

    The actor must be allowed to edit both (the same right a merge needs). Dismissing twice is harmless.
    """
    if a == b:
        raise ValidationError("A contact is not a duplicate of itself.")
    low, high = sorted((a, b))
    if contacts_editable_by(actor).filter(pk__in=[low, high]).count() != 2:
        raise PermissionDenied("You may not edit both contacts.")
    dismissal, _created = DuplicateDismissal.objects.get_or_create(
        contact_a_id=low, contact_b_id=high, defaults={"dismissed_by": actor})
    return dismissal
