from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import status


@never_cache
@require_GET
def healthz(request):
    """200 when the database and Redis answer, 503 otherwise; also reports worker/beat liveness."""
    healthy, report = status.system_status()
    return JsonResponse(report, status=200 if healthy else 503)


@login_required
def status_page(request):
    healthy, report = status.system_status()
    return render(request, "status.html", {"healthy": healthy, "report": report})


API_PREFIXES = ("/api/", "/v1/")


def page_not_found(request, exception):
    """404 for a URL no route matches: the API's JSON error shape under /api/ and /v1/, the HTML page elsewhere."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": "not_found", "detail": "No such endpoint or record."}, status=404)
    return defaults.page_not_found(request, exception)
