"""The API against its own OpenAPI schema: schemathesis (a maintained OpenAPI fuzzer) calls every operation of
/api/schema/ as an admin with a bounded number of generated requests, valid and invalid. No server error, no
response that contradicts the schema, no status code the schema does not document."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from crm.services.saved_views import saved_view_save
from segments.models import ProfileScore, ScoreModel
from tests.cdp.factories import ProfileFactory, ReadTokenFactory, SourceFactory
from tests.crm.deal_factories import TaskFactory
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def api_schema():
    """The schema /api/schema/ serves, called in-process through the WSGI application. (Loaded at collection:
    schemathesis' lazy fixture loader does not run on pytest 9.)"""
    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.app = get_wsgi_application()
    return loaded


@pytest.fixture
def records(admin_user):
    """A few records of every kind, so that operations on {id} also reach existing ones: resource → ids."""
    company = CompanyFactory(name="Acme")
    contacts = [ContactFactory(company=company, owner=admin_user), ContactFactory(company=None)]
    task = TaskFactory(contact=contacts[0])
    deal = task.deal
    field = CustomFieldDefinitionFactory()
    views = [saved_view_save(user=admin_user, object_type=t, name="Mine", query_string="search=a")
             for t in ("contact", "deal")]
    return {
        "contacts": [c.pk for c in contacts], "companies": [company.pk], "activities": [task.pk],
        "deals": [deal.pk], "pipelines": [deal.pipeline_id], "stages": [deal.stage_id],
        "custom-fields": [field.pk], "saved-views": [v.pk for v in views],
    }


@pytest.fixture
def credentials(admin_user, records):
    """Authorization headers per API: the admin's token (CRM API), a read token (profiles), a write key (/v1)."""
    profile = ProfileFactory(identifiers=[("user_id", "42"), ("email", "ann@example.com")], traits={"plan": "pro"})
    model = ScoreModel.objects.create(name="Fit", is_default=True, conditions=[
        {"label": "Pro plan", "points": 20, "condition": {"type": "trait", "key": "plan", "op": "equals",
                                                          "value": "pro"}}])
    ProfileScore.objects.create(model=model, profile_id=profile.pk, score=20, points=[20], scored_at=timezone.now())
    return {
        "crm": {"Authorization": f"Token {Token.objects.create(user=admin_user).key}"},
        "profiles": {"Authorization": f"Bearer {ReadTokenFactory(scopes=['identifiers', 'traits', 'events'],
                                                                  requests_per_minute=1_000_000).raw}"},
        "collect": {"Authorization": "Basic " + base64.b64encode(f"{SourceFactory().write_key}:".encode()).decode()},
    }


def aim_at_records(case, records: dict) -> None:
    """Half of the generated ids (the even ones) are swapped for ids of existing records of that resource."""
    generated = case.path_parameters.get("id") if case.path_parameters else None
    if not isinstance(generated, int) or isinstance(generated, bool) or generated % 2:
        return
    resource = case.path.removeprefix("/api/crm/").split("/")[0]
    ids = records.get(resource)
    if ids:
        case.path_parameters["id"] = ids[(generated // 2) % len(ids)]


@pytest.fixture
def _keep_the_test_connection():
    """Requests go through the real WSGI handler in this thread; like Django's test client, keep the handler from
    closing the test's database connection (it holds the test transaction) at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def headers_for(path: str, credentials: dict) -> dict:
    if path.startswith("/v1/profiles/"):
        return credentials["profiles"]
    if path.startswith("/v1/"):
        return credentials["collect"]
    return credentials["crm"]


schema = api_schema()


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_every_operation_keeps_to_the_schema(case, credentials, records, _keep_the_test_connection):
    aim_at_records(case, records)
    case.call_and_validate(headers=headers_for(case.path, credentials), checks=CHECKS)


def test_schema_is_valid_openapi_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/v1/batch:" in (tmp_path / "schema.yml").read_text()


def test_every_operation_documents_its_errors_in_the_one_error_shape():
    document = SchemaGenerator().get_schema(request=None, public=True)
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"error", "detail"}
    operations = [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]
    assert {"/v1/track", "/v1/alias", "/v1/batch", "/v1/profiles/{ident}/events",
            "/v1/profiles/{ident}/scores"} <= {p for p, _, _ in operations}
    for path, method, operation in operations:
        responses = operation["responses"]
        assert "401" in responses, (method, path)
        errors = [code for code in responses if code.startswith("4") and code != "414"]
        for code in errors:
            response = responses[code]
            if "$ref" in response:
                response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                method, path, code)
        if "{" in path:
            assert "404" in responses, (method, path)
