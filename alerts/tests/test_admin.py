"""The ops console: read-only alerts scoped to the staff member's teams, actions through services."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory, member
from alerts.models import AlertEvent, AlertStatus, AlertUserState
from alerts.services import alert_raise
from alerts.tests.factories import AlertFactory, IntegrationFactory
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/alerts/alert/"


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def superuser():
    return UserFactory(role=UserRole.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def team_admin(team):
    return member(team, team_role=TeamRole.ADMIN, role=UserRole.AGENT, is_staff=True)


def run_action(client, action: str, alerts) -> list[str]:
    response = client.post(
        CHANGELIST, {"action": action, "_selected_action": [alert.pk for alert in alerts]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_changelist_shows_severity_as_text_and_useful_columns(superuser, team):
    AlertFactory(team=team, severity="critical", title="UA1 cancelled", type="flight_cancelled")
    response = console(superuser).get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Critical</strong>" in html
    assert "UA1 cancelled" in html
    assert "flight_cancelled" in html
    for column in ("severity", "status", "team", "assignee", "age"):
        assert f"column-{column}" in html
    assert console(superuser).get(CHANGELIST, {"q": "UA1", "status__exact": "triggered"}).status_code == 200


def test_team_staff_see_only_their_teams_alerts_without_django_permission_rows(team_admin, team):
    mine = AlertFactory(team=team, title="ours")
    AlertFactory(team=TeamFactory(), title="theirs")
    response = console(team_admin).get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "ours" in html
    assert "theirs" not in html
    assert console(team_admin).get(f"{CHANGELIST}{mine.pk}/change/").status_code == 200


def test_change_page_is_read_only_with_the_timeline_inline(superuser, team):
    alert = alert_raise(team=team, type="flight_delayed", severity="high", title="UA1 delayed").alert
    client = console(superuser)
    response = client.get(f"{CHANGELIST}{alert.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="title"' not in html  # no editable fields
    assert "triggered" in html  # the timeline entry
    client.post(f"{CHANGELIST}{alert.pk}/change/", {"title": "edited", "severity": "low"})
    alert.refresh_from_db()
    assert alert.title == "UA1 delayed"
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AlertEvent.objects.filter(alert=alert).count() == 1


def test_acknowledge_action_goes_through_the_service_and_reports_conflicts(team_admin, team):
    fresh = AlertFactory(team=team)
    already = AlertFactory(team=team, status=AlertStatus.ACKNOWLEDGED)
    messages = run_action(console(team_admin), "acknowledge_selected", [fresh, already])
    fresh.refresh_from_db()
    assert fresh.status == AlertStatus.ACKNOWLEDGED
    assert fresh.acknowledged_by_id == team_admin.pk
    entry = AuditEntry.objects.get(action="alert.acknowledged", target_id=str(fresh.pk))
    assert entry.actor_id == team_admin.pk
    assert AlertEvent.objects.filter(alert=fresh, kind="acknowledged").count() == 1
    assert any(f"#{fresh.pk}" in message and "acknowledged" in message for message in messages)
    assert any(f"#{already.pk} is acknowledged" in message for message in messages)
    assert not AuditEntry.objects.filter(target_id=str(already.pk)).exists()


def test_resolve_and_assign_to_me_actions(team_admin, team):
    alert = AlertFactory(team=team)
    client = console(team_admin)
    run_action(client, "assign_to_me", [alert])
    alert.refresh_from_db()
    assert alert.assignee_id == team_admin.pk
    run_action(client, "resolve_selected", [alert])
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolution_note == "From the ops console"
    actions = set(AuditEntry.objects.filter(target_id=str(alert.pk)).values_list("action", "actor_id"))
    assert actions == {("alert.assigned", team_admin.pk), ("alert.resolved", team_admin.pk)}


def test_platform_admin_outside_the_team_cannot_be_assigned_but_can_resolve(superuser, team):
    alert = AlertFactory(team=team)
    client = console(superuser)
    messages = run_action(client, "assign_to_me", [alert])
    assert any("Not assigned" in message for message in messages)
    alert.refresh_from_db()
    assert alert.assignee_id is None
    run_action(client, "resolve_selected", [alert])
    alert.refresh_from_db()
    assert alert.resolved_by_id == superuser.pk


def test_viewer_with_console_access_cannot_act(team):
    viewer = member(team, team_role=TeamRole.VIEWER, is_staff=True)
    alert = AlertFactory(team=team)
    response = console(viewer).post(
        CHANGELIST, {"action": "acknowledge_selected", "_selected_action": [alert.pk]}, follow=True
    )
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.status == AlertStatus.TRIGGERED
    assert not AuditEntry.objects.filter(target_id=str(alert.pk)).exists()


def test_action_refused_per_alert_where_the_user_lacks_manage(team):
    other_team = TeamFactory()
    user = member(team, team_role=TeamRole.AGENT, is_staff=True)
    MembershipFactory(team=other_team, user=user, role=TeamRole.VIEWER)
    managed, viewed = AlertFactory(team=team), AlertFactory(team=other_team)
    messages = run_action(console(user), "acknowledge_selected", [managed, viewed])
    managed.refresh_from_db()
    viewed.refresh_from_db()
    assert managed.status == AlertStatus.ACKNOWLEDGED
    assert viewed.status == AlertStatus.TRIGGERED
    assert any(f"#{viewed.pk}: you need alerts.manage" in message for message in messages)


def test_integration_admin_is_read_only_and_never_shows_a_token(superuser, team):
    integration = IntegrationFactory(team=team, token_hint="ag_1234")
    client = console(superuser)
    html = client.get(f"/admin/alerts/integration/{integration.pk}/change/").content.decode()
    assert integration.token_hash in html
    assert 'name="token_hash"' not in html
    assert 'name="name"' not in html
    assert client.get("/admin/alerts/integration/add/").status_code == 403
    assert client.get("/admin/alerts/integration/").status_code == 200


def test_user_state_admin_is_read_only(superuser, team):
    state = AlertUserState.objects.create(alert=AlertFactory(team=team), user=superuser)
    client = console(superuser)
    assert client.get("/admin/alerts/alertuserstate/").status_code == 200
    assert 'name="read_at"' not in client.get(f"/admin/alerts/alertuserstate/{state.pk}/change/").content.decode()
    assert client.get("/admin/alerts/alertuserstate/add/").status_code == 403


def test_login_page_renders_for_anonymous_visitors():
    assert Client().get("/admin/login/").status_code == 200
