"""The ops console: admin index panel and the operations models' admin pages."""

from __future__ import annotations

import json
import re

import pytest
from django.template import Context, Template
from django.test import Client

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from alerts.models import Alert
from alerts.ops.models import AlertRule, DailySummary, RuleFiring, SlaEvent, SlaPolicy, TeamOpsSettings
from alerts.ops.services import alert_rule_create
from alerts.tests.factories import AlertFactory
from alerts.tests.ops_factories import AIRPORT_DISRUPTION_RULE
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(role=UserRole.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def console(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def panel_counts(html: str) -> dict[str, int]:
    return {severity: int(count) for severity, count in re.findall(r'data-severity="(\w+)">(\d+)<', html)}


def test_admin_index_shows_open_alerts_by_severity(console):
    team, other = TeamFactory(), TeamFactory()
    AlertFactory.create_batch(2, team=team, severity="critical")
    AlertFactory(team=other, severity="high", status="acknowledged")
    AlertFactory(team=team, severity="critical", status="resolved")
    AlertFactory(team=team, severity="low")
    response = console.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Open alerts by severity" in html
    assert panel_counts(html) == {"critical": 2, "high": 1, "medium": 0, "low": 1}


def test_panel_is_one_aggregate_query(superuser, django_assert_num_queries):
    AlertFactory.create_batch(3, severity="medium")
    template = Template(
        "{% load ops_admin %}{% open_alerts_by_severity as rows %}{% for r in rows %}{{ r.severity }}={{ r.count }};{% endfor %}"
    )
    with django_assert_num_queries(1):
        rendered = template.render(Context({"user": superuser}))
    assert rendered == "critical=0;high=0;medium=3;low=0;"


def test_staff_who_are_not_platform_admins_see_their_teams_only():
    team, other = TeamFactory(), TeamFactory()
    staff_agent = member(team, team_role=TeamRole.ADMIN, is_staff=True)
    AlertFactory(team=team, severity="high")
    AlertFactory(team=other, severity="high")
    template = Template(
        "{% load ops_admin %}{% open_alerts_by_severity as rows %}{% for r in rows %}{{ r.count }};{% endfor %}"
    )
    assert template.render(Context({"user": staff_agent})) == "0;1;0;0;"


def test_ops_pages_load(console, superuser):
    team = TeamFactory()
    alert = AlertFactory(team=team)
    rule = alert_rule_create(
        team=team, by=superuser, name="airports", kind="threshold", definition=AIRPORT_DISRUPTION_RULE
    )
    RuleFiring.objects.create(
        rule=rule, group_key="EWR", window_start=alert.created_at, window_end=alert.created_at, alert=alert
    )
    SlaPolicy.objects.create(team=team, severity="high", ack_within_minutes=30)
    SlaEvent.objects.create(alert=alert, team=team, kind="ack", stage="breached", deadline=alert.created_at)
    TeamOpsSettings.objects.create(team=team)
    DailySummary.objects.create(
        team=team, date=alert.created_at.date(), period_start=alert.created_at, period_end=alert.created_at,
        data={"alerts": {"created": 4}, "sla_breaches": {"total": 1}},
    )  # fmt: skip
    for model in ("slapolicy", "teamopssettings", "alertrule", "slaevent", "rulefiring", "dailysummary"):
        response = console.get(f"/admin/alerts/{model}/")
        assert response.status_code == 200, model
        assert console.get(f"/admin/alerts/{model}/?q=EWR").status_code == 200, model
    assert console.get(f"/admin/alerts/alertrule/{rule.pk}/change/").status_code == 200
    assert console.get("/admin/alerts/alertrule/add/").status_code == 200
    # Records written by the engine are read-only in the console.
    assert console.get("/admin/alerts/slaevent/add/").status_code == 403


def test_rule_added_in_the_admin_is_validated_and_audited(console):
    team = TeamFactory()
    bad = {**AIRPORT_DISRUPTION_RULE, "conditions": [{"field": "type", "op": "like", "value": "x"}]}
    form = {"team": team.pk, "name": "airports", "description": "", "kind": "threshold", "enabled": "on"}
    response = console.post("/admin/alerts/alertrule/add/", {**form, "definition": json.dumps(bad)})
    assert response.status_code == 200
    assert "definition.conditions[0].op: unknown operator" in response.content.decode()
    assert not AlertRule.objects.exists()

    response = console.post("/admin/alerts/alertrule/add/", {**form, "definition": json.dumps(AIRPORT_DISRUPTION_RULE)})
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.state["cursor"] == 0
    assert AuditEntry.objects.filter(action="alert_rule.created", target_id=str(rule.pk)).count() == 1

    response = console.post("/admin/alerts/alertrule/", {"action": "disable_rules", "_selected_action": [rule.pk]})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False
    assert AuditEntry.objects.filter(action="alert_rule.updated").count() == 1


def test_sla_policy_and_settings_forms_go_through_the_services(console):
    team = TeamFactory()
    form = {
        "team": team.pk,
        "severity": "high",
        "ack_within_minutes": 10,
        "resolve_within_minutes": "",
        "at_risk_buffer_minutes": 15,
        "enabled": "on",
    }
    response = console.post("/admin/alerts/slapolicy/add/", form)
    assert response.status_code == 200
    assert "must be shorter than ack_within_minutes" in response.content.decode()
    response = console.post("/admin/alerts/slapolicy/add/", {**form, "at_risk_buffer_minutes": 5})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="sla_policy.created").count() == 1

    outsider, agent = UserFactory(), member(team)
    settings_form = {
        "team": team.pk, "summary_enabled": "on", "summary_time": "08:00", "workload_threshold": 5,
        "unassigned_minutes": 15, "retention_days": 30, "payment_failed_severity": "high",
    }  # fmt: skip
    response = console.post(
        "/admin/alerts/teamopssettings/add/", {**settings_form, "summary_subscribers": [outsider.pk]}
    )
    assert response.status_code == 200
    assert "not staff of" in response.content.decode()
    response = console.post("/admin/alerts/teamopssettings/add/", {**settings_form, "summary_subscribers": [agent.pk]})
    assert response.status_code == 302
    row = TeamOpsSettings.objects.get()
    assert row.workload_threshold == 5
    assert list(row.summary_subscribers.all()) == [agent]
    assert AuditEntry.objects.filter(action="ops_settings.updated").count() == 1
    assert not Alert.objects.exists()
