"""/api/v1/schema/ describes the alert endpoints: operations, bodies, responses, errors."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def ref(schema_part) -> str:
    return schema_part["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


OPERATIONS = {
    ("/api/v1/alerts", "get"): (None, "200", "AlertPage"),
    ("/api/v1/alerts/{alert_id}/acknowledge", "post"): ("AlertAcknowledgeRequest", "200", "AlertItem"),
    ("/api/v1/alerts/{alert_id}/resolve", "post"): ("AlertResolveRequest", "200", "AlertItem"),
    ("/api/v1/alerts/{alert_id}/reopen", "post"): ("AlertReopenRequest", "200", "AlertItem"),
    ("/api/v1/alerts/{alert_id}/assign", "post"): ("AlertAssignRequest", "200", "AlertItem"),
    ("/api/v1/alerts/{alert_id}/notes", "post"): ("AlertNoteRequest", "201", "AlertTimelineEntry"),
    ("/api/v1/alerts/{alert_id}/read", "post"): (None, "200", "AlertUserState"),
    ("/api/v1/alerts/{alert_id}/dismiss", "post"): (None, "200", "AlertUserState"),
    ("/api/v1/alerts/unread-count", "get"): (None, "200", "AlertUnreadCount"),
    ("/api/v1/alerts/broadcast", "post"): ("AlertBroadcastRequest", "201", "AlertItem"),
    ("/api/v1/alerts/{alert_id}", "get"): (None, "200", "AlertDetailForCaller"),
    ("/api/v1/alerts", "post"): ("AlertCreateRequest", "201", "AlertItem"),
}


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_operation_documents_request_response_and_errors(schema, path, method):
    request_component, success, response_component = OPERATIONS[(path, method)]
    operation = schema["paths"][path][method]
    if request_component:
        assert ref(operation["requestBody"]) == request_component
    else:
        assert "requestBody" not in operation
    assert ref(operation["responses"][success]) == response_component
    assert ref(operation["responses"]["401"]) == "Error"
    assert operation["tags"] == ["alerts"]


def test_state_changes_document_their_conflict(schema):
    for action in ("acknowledge", "unacknowledge", "resolve", "reopen"):
        responses = schema["paths"][f"/api/v1/alerts/{{alert_id}}/{action}"]["post"]["responses"]
        assert {"403", "404", "409"} <= set(responses)


def test_list_documents_its_filters(schema):
    names = {parameter["name"] for parameter in schema["paths"]["/api/v1/alerts"]["get"]["parameters"]}
    assert names == {
        "status",
        "severity",
        "type",
        "team",
        "assigned",
        "unread",
        "include_dismissed",
        "created_since",
        "created_until",
        "search",
        "cursor",
        "page_size",
    }


def test_create_accepts_either_a_customer_report_or_a_manual_alert(schema):
    component = schema["components"]["schemas"]["AlertCreateRequest"]
    refs = {option["$ref"].rsplit("/", 1)[1] for option in component["oneOf"]}
    assert refs == {"AlertCustomerReportRequest", "AlertManualCreateRequest"}
    kinds = schema["components"]["schemas"]["AlertCustomerReportRequest"]["properties"]["kind"]
    assert "$ref" in kinds or "enum" in kinds


def test_schema_endpoint_serves(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
