"""POST /api/v1/alerts/<id>/acknowledge|unacknowledge|resolve|reopen|assign|notes."""

from __future__ import annotations

import pytest

from accounts.models import UserRole
from accounts.tests.factories import UserFactory
from alerts.models import AlertEvent, AlertStatus
from alerts.services import alert_raise
from alerts.tests.factories import AlertFactory
from alerts.tests.helpers import api, make_cast, published_events
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def url(alert, action: str) -> str:
    return f"/api/v1/alerts/{alert.pk}/{action}"


def kinds(alert) -> list[str]:
    return list(AlertEvent.objects.filter(alert=alert).order_by("id").values_list("kind", flat=True))


def test_agent_acknowledges_with_note_audited_and_published(cast, django_capture_on_commit_callbacks):
    alert = alert_raise(team=cast.team, type="flight_delayed", severity="high", title="UA1 delayed").alert
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        response = api(cast.agent).post(url(alert, "acknowledge"), {"note": "on it"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["id"] == alert.pk
    assert body["read"] is False
    assert kinds(alert) == ["triggered", "acknowledged"]
    entry = AuditEntry.objects.get(action="alert.acknowledged", target_id=str(alert.pk))
    assert entry.actor_id == cast.agent.pk
    assert entry.data == {"note": "on it"}
    assert (f"team.{cast.team.pk}", "alert.acknowledged") in [(group, event["type"]) for group, event in sent]


def test_acknowledge_without_body_is_fine(cast):
    alert = AlertFactory(team=cast.team)
    assert api(cast.agent).post(url(alert, "acknowledge")).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "customer"])
def test_viewer_and_reporting_customer_can_read_but_not_act(cast, role):
    alert = AlertFactory(team=cast.team, reported_by=cast.customer)
    user = getattr(cast, role)
    client = api(user)
    assert client.get(f"/api/v1/alerts/{alert.pk}").status_code == 200
    for action in ("acknowledge", "resolve", "notes", "assign", "reopen"):
        response = client.post(url(alert, action), {"note": "x", "assignee_id": None}, format="json")
        assert response.status_code == 403, action
        assert response.json()["code"] == "forbidden"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.TRIGGERED
    assert not AuditEntry.objects.filter(target_id=str(alert.pk)).exists()


def test_second_acknowledge_is_409_with_current_state(cast):
    alert = AlertFactory(team=cast.team)
    assert api(cast.agent).post(url(alert, "acknowledge")).status_code == 200
    response = api(cast.owner).post(url(alert, "acknowledge"))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "alert_state_conflict"
    assert body["details"]["status"] == "acknowledged"
    assert body["details"]["acknowledged_by"] == cast.agent.pk
    assert kinds(alert) == ["acknowledged"]


def test_unacknowledge_then_resolve_then_conflicts(cast):
    alert = AlertFactory(team=cast.team)
    client = api(cast.agent)
    assert client.post(url(alert, "unacknowledge")).status_code == 409
    assert client.post(url(alert, "acknowledge")).json()["status"] == "acknowledged"
    assert client.post(url(alert, "unacknowledge")).json()["status"] == "triggered"
    response = client.post(url(alert, "resolve"), {"note": "rebooked on UA2"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    alert.refresh_from_db()
    assert alert.resolution_note == "rebooked on UA2"
    assert alert.resolved_by_id == cast.agent.pk
    again = client.post(url(alert, "resolve"))
    assert again.status_code == 409
    assert again.json()["details"]["status"] == "resolved"
    assert client.post(url(alert, "acknowledge")).status_code == 409


@pytest.mark.parametrize("role", ["owner", "team_admin", "platform_admin"])
def test_team_admins_and_platform_admins_reopen(cast, role):
    alert = AlertFactory(team=cast.team, status=AlertStatus.RESOLVED)
    response = api(getattr(cast, role)).post(url(alert, "reopen"), {"note": "not fixed"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "triggered"
    assert AuditEntry.objects.filter(action="alert.reopened", target_id=str(alert.pk)).count() == 1


def test_agents_cannot_reopen_and_open_alerts_conflict(cast):
    resolved = AlertFactory(team=cast.team, status=AlertStatus.RESOLVED)
    assert api(cast.agent).post(url(resolved, "reopen")).status_code == 403
    open_alert = AlertFactory(team=cast.team)
    response = api(cast.owner).post(url(open_alert, "reopen"))
    assert response.status_code == 409
    assert response.json()["details"]["status"] == "triggered"


def test_assign_and_unassign(cast):
    alert = AlertFactory(team=cast.team)
    client = api(cast.agent)
    response = client.post(url(alert, "assign"), {"assignee_id": cast.owner.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == cast.owner.pk
    response = client.post(url(alert, "assign"), {"assignee_id": None}, format="json")
    assert response.json()["assignee"] is None
    assert kinds(alert) == ["assigned", "assigned"]
    assert AuditEntry.objects.filter(action="alert.assigned", target_id=str(alert.pk)).count() == 2


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"assignee_id": "abc"},
        {"assignee_id": 1.5},
        {"assignee_id": [1]},
        {"assignee_id": 0},
        {"assignee_id": 99999999999999999999999},
    ],
)
def test_assign_bad_input_is_400(cast, payload):
    alert = AlertFactory(team=cast.team)
    response = api(cast.agent).post(url(alert, "assign"), payload, format="json")
    assert response.status_code == 400, response.content
    assert "assignee_id" in response.json()["details"]
    assert kinds(alert) == []


def test_assign_to_outsider_customer_or_unknown_user_is_400_naming_the_field(cast):
    alert = AlertFactory(team=cast.team)
    customer = UserFactory(role=UserRole.CUSTOMER)
    for assignee_id in (cast.other_agent.pk, customer.pk, 987654321):
        response = api(cast.agent).post(url(alert, "assign"), {"assignee_id": assignee_id}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_assignee"
        assert "assignee_id" in response.json()["details"]
    alert.refresh_from_db()
    assert alert.assignee_id is None


def test_add_note(cast):
    alert = AlertFactory(team=cast.team)
    response = api(cast.agent).post(url(alert, "notes"), {"note": "Called the airline"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "note"
    assert body["message"] == "Called the airline"
    assert body["actor_id"] == cast.agent.pk
    assert AuditEntry.objects.filter(action="alert.note_added", target_id=str(alert.pk)).count() == 1


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("notes", {}),
        ("notes", {"note": ""}),
        ("notes", {"note": ["a"]}),
        ("notes", {"note": "x" * 4001}),
        ("notes", {"note": "nul \x00 inside"}),
        ("acknowledge", {"note": {"a": 1}}),
        ("resolve", {"note": "x" * 4001}),
        ("reopen", {"note": ["a"]}),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(cast, action, payload):
    alert = AlertFactory(team=cast.team, status=AlertStatus.RESOLVED if action == "reopen" else AlertStatus.TRIGGERED)
    response = api(cast.owner).post(url(alert, action), payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert "note" in response.json()["details"]
    assert kinds(alert) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"a string"', "application/json", 400),
        ("note=x", "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_bodies_never_500(cast, body, content_type, status):
    alert = AlertFactory(team=cast.team)
    response = api(cast.agent).generic("POST", url(alert, "resolve"), body, content_type=content_type)
    assert response.status_code == status, response.content
    assert set(response.json()) == {"code", "message", "details"}
    alert.refresh_from_db()
    assert alert.status == AlertStatus.TRIGGERED


def test_wrong_method_is_405(cast):
    alert = AlertFactory(team=cast.team)
    response = api(cast.agent).get(url(alert, "acknowledge"))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
