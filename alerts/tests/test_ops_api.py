"""The operations API: /alert-rules, /teams/<id>/sla-policies, /teams/<id>/ops-settings."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from alerts.ops.models import AlertRule, SlaPolicy, TeamOpsSettings
from alerts.tests.ops_factories import AIRPORT_DISRUPTION_RULE
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

EVENT_RULE = {
    "event_types": ["payment_failed"],
    "conditions": [{"field": "amount", "op": "gte", "value": 1000}],
    "alert": {"type": "big_payment_failed", "severity": "high", "title": "Payment {payment_id} failed"},
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def manager(team):
    return member(team, team_role=TeamRole.ADMIN)


def create_rule(client, team, **overrides):
    body = {"team": team.pk, "name": "big payments", "kind": "event", "definition": EVENT_RULE, **overrides}
    return client.post("/api/v1/alert-rules", body, format="json")


def test_manager_creates_reads_updates_and_deletes_a_rule(team, manager):
    client = client_for(manager)
    response = create_rule(client, team)
    assert response.status_code == 201, response.json()
    rule = response.json()
    assert rule["kind"] == "event"
    assert rule["enabled"] is True
    assert rule["created_by"] == manager.pk
    assert AuditEntry.objects.filter(action="alert_rule.created", target_id=str(rule["id"])).count() == 1

    assert client.get(f"/api/v1/alert-rules/{rule['id']}").json()["name"] == "big payments"
    listed = client.get(f"/api/v1/alert-rules?team={team.pk}&kind=event").json()["results"]
    assert [r["id"] for r in listed] == [rule["id"]]
    assert client.get("/api/v1/alert-rules?kind=time").json()["results"] == []

    response = client.patch(f"/api/v1/alert-rules/{rule['id']}", {"enabled": False, "name": "renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert response.json()["name"] == "renamed"
    assert AuditEntry.objects.get(action="alert_rule.updated").data["changed"] == {"enabled": False, "name": "renamed"}

    assert client.delete(f"/api/v1/alert-rules/{rule['id']}").status_code == 204
    assert not AlertRule.objects.exists()
    assert AuditEntry.objects.filter(action="alert_rule.deleted").count() == 1


def test_airport_disruption_and_time_rules_are_accepted(team, manager):
    client = client_for(manager)
    assert (
        create_rule(client, team, name="airports", kind="threshold", definition=AIRPORT_DISRUPTION_RULE).status_code
        == 201
    )
    response = create_rule(
        client, team, name="summary", kind="time", definition={"schedule": {"cron": "0 7 * * *"}, "action": "summary"}
    )
    assert response.status_code == 201
    assert response.json()["next_run_at"] is not None


def test_bad_operator_is_a_400_naming_the_field(team, manager):
    definition = {**EVENT_RULE, "conditions": [{"field": "amount", "op": "bigger_than", "value": 1000}]}
    response = create_rule(client_for(manager), team, definition=definition)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_rule"
    assert list(body["details"]) == ["definition.conditions[0].op"]
    assert body["details"]["definition.conditions[0].op"][0].startswith("unknown operator 'bigger_than'")
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"definition": {**EVENT_RULE, "alert": {"type": "x", "severity": "low", "title": "{amount:>9}"}}},
            "definition.alert.title",
        ),
        ({"definition": "not an object"}, "definition"),
        ({"kind": "threshold", "definition": {**AIRPORT_DISRUPTION_RULE, "group_by": "gate"}}, "definition.group_by"),
        (
            {"kind": "time", "definition": {"schedule": {"cron": "every day"}, "action": "summary"}},
            "definition.schedule.cron",
        ),
        ({"kind": "sometimes"}, "kind"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_rules_name_the_field(team, manager, overrides, field):
    response = create_rule(client_for(manager), team, **overrides)
    assert response.status_code == 400
    assert field in response.json()["details"], response.json()


def test_duplicate_name_and_kind_change_are_refused(team, manager):
    client = client_for(manager)
    rule_id = create_rule(client, team).json()["id"]
    response = create_rule(client, team)
    assert response.status_code == 400
    assert "name" in response.json()["details"]
    response = client.patch(f"/api/v1/alert-rules/{rule_id}", {"kind": "time"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()["details"]
    response = client.patch(f"/api/v1/alert-rules/{rule_id}", {"definition": {"alert": {}}}, format="json")
    assert response.status_code == 400
    assert "definition.alert.type" in response.json()["details"]
    assert AlertRule.objects.get().definition == EVENT_RULE


def test_agents_read_rules_but_cannot_write_and_other_teams_see_nothing(team, manager):
    rule_id = create_rule(client_for(manager), team).json()["id"]
    agent = client_for(member(team))
    assert agent.get(f"/api/v1/alert-rules/{rule_id}").status_code == 200
    assert agent.patch(f"/api/v1/alert-rules/{rule_id}", {"enabled": False}, format="json").status_code == 403
    assert agent.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 403
    assert create_rule(agent, team, name="mine").status_code == 403

    other_team = TeamFactory()
    stranger = client_for(member(other_team, team_role=TeamRole.ADMIN))
    assert stranger.get(f"/api/v1/alert-rules/{rule_id}").status_code == 404
    assert stranger.patch(f"/api/v1/alert-rules/{rule_id}", {"enabled": False}, format="json").status_code == 404
    assert stranger.get("/api/v1/alert-rules").json()["results"] == []
    assert create_rule(stranger, team, name="intrusion").status_code == 404
    assert client_for(UserFactory(role=UserRole.CUSTOMER)).get(f"/api/v1/alert-rules/{rule_id}").status_code == 404
    assert APIClient().get("/api/v1/alert-rules").status_code == 401
    assert client_for(UserFactory(role=UserRole.ADMIN)).get(f"/api/v1/alert-rules/{rule_id}").status_code == 200


def test_schema_endpoint(team, manager):
    schemas = client_for(manager).get("/api/v1/alert-rules/schema").json()
    assert set(schemas) == {"event", "threshold", "time"}
    assert "equals" in schemas["event"]["$defs"]["leaf"]["properties"]["op"]["enum"]


def test_sla_policies_api(team, manager):
    client = client_for(manager)
    url = f"/api/v1/teams/{team.pk}/sla-policies"
    response = client.post(
        url,
        {"severity": "critical", "ack_within_minutes": 15, "resolve_within_minutes": 120, "at_risk_buffer_minutes": 5},
        format="json",
    )
    assert response.status_code == 201, response.json()
    policy_id = response.json()["id"]
    assert AuditEntry.objects.filter(action="sla_policy.created").count() == 1

    duplicate = client.post(
        url, {"severity": "critical", "ack_within_minutes": 10, "at_risk_buffer_minutes": 5}, format="json"
    )
    assert duplicate.status_code == 400
    assert "severity" in duplicate.json()["details"]
    too_long_buffer = client.post(
        url, {"severity": "high", "ack_within_minutes": 10, "at_risk_buffer_minutes": 10}, format="json"
    )
    assert too_long_buffer.status_code == 400
    assert "at_risk_buffer_minutes" in too_long_buffer.json()["details"]
    nothing = client.post(url, {"severity": "low"}, format="json")
    assert nothing.status_code == 400
    assert "non_field_errors" in nothing.json()["details"]
    assert SlaPolicy.objects.count() == 1

    response = client.patch(f"{url}/{policy_id}", {"ack_within_minutes": 20}, format="json")
    assert response.status_code == 200
    assert response.json()["ack_within_minutes"] == 20
    assert client.patch(f"{url}/{policy_id}", {"at_risk_buffer_minutes": 60}, format="json").status_code == 400
    assert [p["severity"] for p in client_for(member(team)).get(url).json()["results"]] == ["critical"]
    assert client_for(member(team)).patch(f"{url}/{policy_id}", {"enabled": False}, format="json").status_code == 403

    other = TeamFactory()
    outsider = client_for(member(other, team_role=TeamRole.ADMIN))
    assert outsider.get(url).status_code == 404
    assert client.get(f"/api/v1/teams/{other.pk}/sla-policies/{policy_id}").status_code == 404
    assert client.delete(f"{url}/{policy_id}").status_code == 204
    assert not SlaPolicy.objects.exists()


def test_ops_settings_api(team, manager):
    client = client_for(manager)
    url = f"/api/v1/teams/{team.pk}/ops-settings"
    defaults = client.get(url).json()
    assert defaults["workload_threshold"] == 10
    assert defaults["retention_days"] == 30
    assert defaults["summary_subscribers"] == []
    assert not TeamOpsSettings.objects.exists()  # reading does not write

    agent = member(team)
    response = client.patch(
        url, {"workload_threshold": 4, "summary_time": "07:30", "summary_subscribers": [agent.pk]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["summary_time"] == "07:30:00"
    assert response.json()["summary_subscribers"] == [agent.pk]
    assert AuditEntry.objects.filter(action="ops_settings.updated").count() == 1

    outsider = UserFactory()
    response = client.patch(url, {"retention_days": 5, "summary_subscribers": [outsider.pk]}, format="json")
    assert response.status_code == 400
    assert "summary_subscribers" in response.json()["details"]
    assert TeamOpsSettings.objects.get().retention_days == 30  # nothing half-written
    assert client.patch(url, {"retention_days": 0}, format="json").status_code == 400
    assert client_for(agent).patch(url, {"retention_days": 5}, format="json").status_code == 403


def test_unknown_severity_setting_is_a_400(team, manager):
    response = client_for(manager).patch(
        f"/api/v1/teams/{team.pk}/ops-settings", {"payment_failed_severity": "urgent"}, format="json"
    )
    assert response.status_code == 400
    assert "payment_failed_severity" in response.json()["details"]


def test_openapi_schema_documents_the_ops_endpoints(manager):
    response = client_for(manager).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/alert-rules",
        "/api/v1/alert-rules/{rule_id}",
        "/api/v1/teams/{team_id}/sla-policies",
        "/api/v1/teams/{team_id}/ops-settings",
        "/api/v1/teams/{team_id}/summaries",
    ):
        assert path in paths, path
