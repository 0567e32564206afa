"""Duplicate review: the list of likely duplicate pairs, side-by-side compare, merge with per-field choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm.models import Contact
from crm.selectors.duplicates import contacts_mergeable_by, duplicate_pairs, last_scan, merge_candidates
from crm.services.duplicates import duplicate_dismiss, duplicates_scan_request
from crm.services.merge import CONTACT_MERGE_FIELDS, contact_merge

PAGE_SIZE = 25


class _Page(Paginator):
    """A paginator over a count the selector already computed (the rows are fetched page by page)."""

    def __init__(self, total: int, number: int):
        super().__init__(range(total), PAGE_SIZE)
        self.current = self.get_page(number)


@login_required
def duplicate_list(request):
    try:
        number = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        number = 1
    scanning = duplicates_scan_request()  # a stale list is refreshed in the background
    pairs, total = duplicate_pairs(user=request.user, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    page = _Page(total, number).current
    return render(request, "crm/duplicates/list.html", {
        "pairs": pairs, "total": total, "page": page, "scan": last_scan(), "scanning": scanning})


@login_required
@require_POST
def duplicate_scan(request):
    """Ask for a fresh scan now (it runs in a worker; the list shows the result when it is done)."""
    if duplicates_scan_request(force=True):
        messages.success(request, "Scanning for duplicates; reload in a moment to see the result.")
    else:
        messages.info(request, "A scan is already on its way.")
    return redirect("duplicate-list")


def _display(contact: Contact, name: str) -> str:
    field = Contact._meta.get_field(name)
    if field.is_relation:
        related = getattr(contact, name)
        if related is None:
            return ""
        if hasattr(related, "get_username"):
            return related.get_full_name() or related.get_username()
        return str(related)
    if field.choices:
        return getattr(contact, f"get_{name}_display")()
    return getattr(contact, name) or ""


def _rows(a: Contact, b: Contact) -> list[dict]:
    rows = []
    for name in CONTACT_MERGE_FIELDS:
        field = Contact._meta.get_field(name)
        va, vb = getattr(a, field.attname), getattr(b, field.attname)
        rows.append({"name": name, "label": str(field.verbose_name).capitalize(), "a": _display(a, name),
                     "b": _display(b, name), "differs": va != vb,
                     "default": "b" if va in (None, "") and vb not in (None, "") else "a"})
    for key in sorted({*a.custom, *b.custom}):
        va, vb = a.custom.get(key), b.custom.get(key)
        rows.append({"name": f"custom.{key}", "label": key.replace("_", " ").capitalize(),
                     "a": "" if va is None else va, "b": "" if vb is None else vb, "differs": va != vb,
                     "default": "b" if va is None and vb is not None else "a"})
    return rows


@login_required
def duplicate_compare(request, a: int, b: int):
    try:
        first, second = merge_candidates(user=request.user, a=a, b=b)
    except Contact.DoesNotExist:
        raise Http404("No such contacts.") from None
    can_merge = contacts_mergeable_by(request.user, [a, b])
    rows = _rows(first, second)
    errors: list[str] = []
    if request.method == "POST":
        if not can_merge:
            raise PermissionDenied("You may not edit both contacts.")
        keep = request.POST.get("keep", "a")
        survivor, other = (first, second) if keep != "b" else (second, first)
        survivor_side = "a" if survivor is first else "b"
        choices = {}
        for row in rows:
            picked = request.POST.get(f"pick_{row['name']}", row["default"])
            if row["differs"] and picked in ("a", "b"):
                choices[row["name"]] = "survivor" if picked == survivor_side else "other"
        try:
            contact_merge(survivor=survivor, other=other, field_choices=choices, actor=request.user)
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"Merged {other} into {survivor}.")
            return redirect("contact-detail", pk=survivor.pk)
    return render(request, "crm/duplicates/compare.html", {
        "a": first, "b": second, "rows": rows, "can_merge": can_merge, "errors": errors})


@login_required
@require_POST
def duplicate_dismiss_view(request, a: int, b: int):
    try:
        merge_candidates(user=request.user, a=a, b=b)
    except Contact.DoesNotExist:
        raise Http404("No such contacts.") from None
    duplicate_dismiss(actor=request.user, a=a, b=b)
    messages.success(request, "Marked as not duplicates.")
    return redirect(reverse("duplicate-list"))
