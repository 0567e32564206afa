from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from crm.selectors.landing import crm_landing
from crm.selectors.users import teams_of, user_role_names


@login_required
def dashboard(request):
    return render(
        request,
        "crm/dashboard.html",
        {"roles": user_role_names(request.user), "teams": teams_of(request.user)},
    )


@login_required
def crm_index(request):
    return render(request, "crm/index.html", {"landing": crm_landing(user=request.user)})
