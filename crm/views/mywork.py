"""My work: my tasks due today and overdue, my open deals closing this month (also a dashboard section)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from crm.extensions import attach_contact_scores, attach_deal_scores
from crm.selectors.activities import my_reminders_due, my_tasks
from crm.selectors.deals import my_deals_closing_this_month


@login_required
def mywork_view(request):
    context = {"tasks": my_tasks(user=request.user), "deals": list(my_deals_closing_this_month(user=request.user)),
               "today": timezone.localdate(), "reminders_due": my_reminders_due(user=request.user)}
    # Lead scores of the deals and of the tasks' contacts (three queries).
    attach_deal_scores(context["deals"])
    attach_contact_scores(t.contact for t in [*context["tasks"]["overdue"], *context["tasks"]["today"]])
    template = "crm/mywork/_sections.html" if request.htmx or request.GET.get("partial") else "crm/mywork/page.html"
    return render(request, template, context)
