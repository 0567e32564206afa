"""Contact pages: list (search, filters, sorting, saved views, bulk actions, CSV export), detail, forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm.extensions import attach_contact_scores, contact_panels, contact_score_annotation, timeline_for
from crm.forms.contacts import BulkActionForm, ContactForm, ContactListForm, split_list
from crm.forms.custom_fields import custom_values_from
from crm.models import Contact
from crm.selectors.assignment import assignable_owners
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import (
    ContactListParams,
    contact_detail,
    contact_is_editable_by,
    contacts_list,
)
from crm.selectors.users import active_user
from crm.services.contacts import (
    contact_create,
    contact_delete,
    contact_update,
    contacts_bulk_assign_owner,
    contacts_bulk_set_lifecycle,
    contacts_bulk_tag,
)
from crm.views.list_support import (
    custom_filters_from,
)
from crm.views.records import (
    RecordKind,
    record_definitions,
    record_get,
    record_list_page,
)
from crm.views.sales_common import safe_next

SORT_COLUMNS = ["name", "email", "lifecycle", "created", "updated", "score"]


def _params(form: ContactListForm, request) -> ContactListParams:
    data = form.cleaned_data if form.is_valid() else {}
    return ContactListParams(
        q=data.get("q") or "", owner=data.get("owner") or "", lifecycle=data.get("lifecycle") or "",
        tag=(data.get("tag") or "").strip().lower(), company=data.get("company"),
        custom=custom_filters_from(request.GET), sort=data.get("sort") or "name", score_min=data.get("score_min"),
    )


def _inline_options(user, contact: Contact, field: str):
    if field == "lifecycle_stage":
        return list(Contact.Lifecycle.choices), contact.lifecycle_stage
    if field == "owner":
        owners = [("", "—"), *((o.pk, o.get_full_name() or o.username) for o in assignable_owners(user))]
        return owners, contact.owner_id
    return None


def _inline_value(field: str, value: str) -> dict | None:
    """The owner is posted as a user id; ``contact_update`` checks that the user may assign that owner."""
    if field != "owner":
        return None
    owner = active_user(value) if value else None
    if value and owner is None:
        raise ValidationError({"owner": ["There is no such active user."]})
    return {"owner": owner}


def _service_kwargs(form: ContactForm, definitions) -> dict:
    data = form.cleaned_data
    return {
        "first_name": data["first_name"], "last_name": data["last_name"], "title": data["title"],
        "emails": split_list(data["emails"]), "phones": form.phone_inputs(), "company": data["company"],
        "lifecycle_stage": data["lifecycle_stage"], "lead_source": data["lead_source"],
        "tags": split_list(data["tags"]), "owner": data["owner"], "team": data["team"],
        "custom": custom_values_from(data, definitions),
    }


def _export_values(c: Contact) -> list:
    return [c.first_name, c.last_name, c.email, c.phone, c.title,
            c.company.name if c.company else "", c.company.domain if c.company else "",
            c.owner.get_username() if c.owner else "", c.team.name if c.team else "",
            c.lifecycle_stage, c.lead_source, ", ".join(c.tags)]


def _new_initial(request) -> dict:
    """``?company=<id>`` (the company page's "add contact") preselects a company the user sees."""
    company_id = request.GET.get("company", "")
    if company_id.isdigit():
        return {"company": companies_visible_to(request.user).filter(pk=int(company_id)).first()}
    return {}


CONTACTS = RecordKind(
    noun="contact", plural="contacts", other_noun="company", other_plural="companies",
    detail=contact_detail, is_editable_by=contact_is_editable_by,
    update=lambda record, actor, changes: contact_update(contact=record, actor=actor, changes=changes),
    delete=lambda record, actor: contact_delete(contact=record, actor=actor),
    inline_fields={"title": "Title", "lifecycle_stage": "Lifecycle stage", "lead_source": "Lead source",
                   "tags": "Tags", "owner": "Owner"},
    search_placeholder="Name, email, phone, company", delete_confirm="Delete this contact?",
    wide_fields=frozenset({"emails", "phones"}),
    inline_options=_inline_options, inline_value=_inline_value,
    list_form=ContactListForm, list_params=_params, list_query=contacts_list,
    form=ContactForm, service_kwargs=_service_kwargs, create=contact_create,
    export_columns=("first_name", "last_name", "email", "phone", "title", "company", "company_domain", "owner",
                    "team", "lifecycle_stage", "lead_source", "tags"),
    export_values=_export_values, new_initial=_new_initial,
)


@login_required
def contact_list(request):
    def extra(page):
        attach_contact_scores(page.object_list)  # the page's scores and their "why": one query
        return {"assignable": assignable_owners(request.user), "lifecycles": Contact.Lifecycle.choices,
                "has_scores": contact_score_annotation() is not None}

    return record_list_page(request, CONTACTS, sort_columns=SORT_COLUMNS, extra=extra)


@login_required
@require_POST
def contact_bulk(request):
    form = BulkActionForm(request.POST, user=request.user)
    back = safe_next(request, reverse("contact-list"))
    if not form.is_valid():
        errors = "; ".join(m for messages_ in form.errors.values() for m in messages_)
        messages.error(request, f"Bulk action not applied: {errors}")
        return redirect(back)
    data = form.cleaned_data
    try:
        if data["action"] == "assign_owner":
            count = contacts_bulk_assign_owner(actor=request.user, contact_ids=data["ids"], owner=data["owner"])
        elif data["action"] in ("tag", "untag"):
            count = contacts_bulk_tag(actor=request.user, contact_ids=data["ids"], tag=data["tag"],
                                      remove=data["action"] == "untag")
        else:
            count = contacts_bulk_set_lifecycle(actor=request.user, contact_ids=data["ids"],
                                                lifecycle_stage=data["lifecycle_stage"])
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, f"Bulk action not applied: {text}")
        return redirect(back)
    messages.success(request, f"Updated {count} contact{'s' if count != 1 else ''}.")
    return redirect(back)


@login_required
def contact_show(request, pk: int):
    contact = record_get(CONTACTS, request.user, pk)
    definitions = record_definitions(CONTACTS)
    panels = []
    for provider in contact_panels():
        panel = provider(contact, user=request.user)
        if panel:
            html = render_to_string(panel["template"], {**panel.get("context", {}), "contact": contact},
                                    request=request)
            panels.append({"title": panel.get("title", ""), "html": html})
    return render(request, "crm/contacts/detail.html", {
        "contact": contact, "record": contact, "kind": CONTACTS,
        "can_edit": contact_is_editable_by(request.user, contact),
        "custom_fields": [(d, contact.custom.get(d.key)) for d in definitions],
        "timeline": timeline_for(contact, user=request.user), "panels": panels,
        "timeline_url": reverse("contact-timeline", args=[contact.pk]), "log_target": {"contact": contact.pk},
    })

