from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ShiftAssignment, Team, TeamMembership, TeamRole, UserRole
from accounts.tests.factories import ShiftFactory, UserFactory, member
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


# --- Teams -----------------------------------------------------------------------------------


def test_members_list_only_their_teams_admins_list_all(client_for, team, other_team, agent, platform_admin, customer):
    mine = client_for(agent).get("/api/v1/teams").json()["results"]
    assert [(t["id"], t["my_role"]) for t in mine] == [(team.pk, TeamRole.AGENT)]
    everything = client_for(platform_admin).get("/api/v1/teams").json()["results"]
    assert [t["name"] for t in everything] == ["Alpha Travel", "Beta Travel"]
    assert all(t["my_role"] is None for t in everything)
    assert client_for(customer).get("/api/v1/teams").json()["results"] == []


def test_platform_admin_creates_a_team_and_becomes_its_owner(client_for, platform_admin):
    response = client_for(platform_admin).post(
        "/api/v1/teams", {"name": "Gamma Tours", "timezone": "America/New_York"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "gamma-tours" and body["timezone"] == "America/New_York"
    assert body["my_role"] == TeamRole.OWNER
    team = Team.objects.get(pk=body["id"])
    assert TeamMembership.objects.get(team=team).user == platform_admin
    assert list(AuditEntry.objects.filter(team_id=team.pk).values_list("action", flat=True)) == [
        "team.created",
        "team.member_added",
    ]


@pytest.mark.parametrize("who", ["owner", "agent", "customer"])
def test_only_platform_admins_create_teams(client_for, request, who):
    response = client_for(request.getfixturevalue(who)).post("/api/v1/teams", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert not Team.objects.filter(name="Mine").exists()


def test_team_create_errors(client_for, platform_admin, team):
    client = client_for(platform_admin)
    duplicate = client.post("/api/v1/teams", {"name": "ALPHA travel"}, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "team_name_taken"
    bad_zone = client.post("/api/v1/teams", {"name": "Zed", "timezone": "Mars/Olympus"}, format="json")
    assert bad_zone.status_code == 400 and "timezone" in bad_zone.json()["details"]
    assert not Team.objects.filter(name="Zed").exists()


def test_team_retrieve_is_404_for_other_tenants(client_for, team, viewer, outsider, customer):
    assert client_for(viewer).get(f"/api/v1/teams/{team.pk}").json()["my_role"] == TeamRole.VIEWER
    for user in (outsider, customer):
        response = client_for(user).get(f"/api/v1/teams/{team.pk}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client_for(viewer).get("/api/v1/teams/999999").status_code == 404


def test_team_managers_update_the_team(client_for, team, team_admin, agent, outsider):
    response = client_for(team_admin).patch(
        f"/api/v1/teams/{team.pk}", {"name": "Alpha Tours", "timezone": "Europe/Paris"}, format="json"
    )
    assert response.status_code == 200, response.json()
    team.refresh_from_db()
    assert (team.name, team.timezone) == ("Alpha Tours", "Europe/Paris")
    assert AuditEntry.objects.get(action="team.updated").data["changes"]["timezone"] == {
        "from": "Europe/London",
        "to": "Europe/Paris",
    }
    assert client_for(agent).patch(f"/api/v1/teams/{team.pk}", {"name": "X"}, format="json").status_code == 403
    assert client_for(outsider).patch(f"/api/v1/teams/{team.pk}", {"name": "X"}, format="json").status_code == 404
    assert client_for(team_admin).patch(f"/api/v1/teams/{team.pk}", {"slug": "x"}, format="json").status_code == 400


# --- Members ---------------------------------------------------------------------------------


def test_readers_list_members(client_for, team, owner, agent, viewer, outsider):
    body = client_for(viewer).get(f"/api/v1/teams/{team.pk}/members").json()
    assert [(m["user"]["email"], m["role"]) for m in body["results"]] == [
        (owner.email, TeamRole.OWNER),
        (agent.email, TeamRole.AGENT),
        (viewer.email, TeamRole.VIEWER),
    ]
    assert client_for(outsider).get(f"/api/v1/teams/{team.pk}/members").status_code == 404
    detail = client_for(viewer).get(f"/api/v1/teams/{team.pk}/members/{agent.pk}")
    assert detail.status_code == 200 and detail.json()["role"] == TeamRole.AGENT


def test_team_admin_adds_members_by_email_or_id(client_for, team, team_admin):
    colleague = UserFactory(email="colleague@example.com", role=UserRole.AGENT)
    another = UserFactory(role=UserRole.AGENT)
    client = client_for(team_admin)
    by_email = client.post(
        f"/api/v1/teams/{team.pk}/members", {"email": "COLLEAGUE@example.com", "role": "viewer"}, format="json"
    )
    assert by_email.status_code == 201, by_email.json()
    assert by_email.json()["user"]["id"] == colleague.pk
    by_id = client.post(f"/api/v1/teams/{team.pk}/members", {"user_id": another.pk}, format="json")
    assert by_id.status_code == 201 and by_id.json()["role"] == TeamRole.AGENT
    entries = AuditEntry.objects.filter(action="team.member_added", team_id=team.pk)
    assert {e.data["user_id"] for e in entries} >= {colleague.pk, another.pk}


def test_member_add_errors(client_for, team, team_admin, agent, customer):
    client = client_for(team_admin)
    url = f"/api/v1/teams/{team.pk}/members"
    not_staff = client.post(url, {"user_id": customer.pk}, format="json")
    assert not_staff.status_code == 400 and not_staff.json()["code"] == "user_not_staff"
    unknown = client.post(url, {"email": "ghost@example.com"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "user_not_found"
    again = client.post(url, {"user_id": agent.pk}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_member"
    both = client.post(url, {"user_id": agent.pk, "email": agent.email}, format="json")
    assert both.status_code == 400
    bad_role = client.post(url, {"user_id": agent.pk, "role": "king"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()["details"]


def test_only_owners_grant_the_owner_role(client_for, team, team_admin, owner):
    newcomer = UserFactory(role=UserRole.AGENT)
    url = f"/api/v1/teams/{team.pk}/members"
    refused = client_for(team_admin).post(url, {"user_id": newcomer.pk, "role": "owner"}, format="json")
    assert refused.status_code == 403
    granted = client_for(owner).post(url, {"user_id": newcomer.pk, "role": "owner"}, format="json")
    assert granted.status_code == 201


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_non_managers_cannot_add_change_or_remove(client_for, request, team, owner, who):
    client = client_for(request.getfixturevalue(who))
    newcomer = UserFactory(role=UserRole.AGENT)
    assert client.post(f"/api/v1/teams/{team.pk}/members", {"user_id": newcomer.pk}, format="json").status_code == 403
    url = f"/api/v1/teams/{team.pk}/members/{owner.pk}"
    assert client.patch(url, {"role": "viewer"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403


def test_outsiders_get_404_for_members(client_for, team, agent, outsider, other_team):
    client = client_for(outsider)
    assert (
        client.patch(f"/api/v1/teams/{team.pk}/members/{agent.pk}", {"role": "viewer"}, format="json").status_code
        == 404
    )
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{agent.pk}").status_code == 404
    # A member of the team, asked for under the outsider's own team: not found there either.
    assert client.get(f"/api/v1/teams/{other_team.pk}/members/{agent.pk}").status_code == 404
    assert TeamMembership.objects.filter(team=team, user=agent, role=TeamRole.AGENT).exists()


def test_role_change_is_audited_and_ends_on_call_when_the_role_cannot_work_alerts(client_for, team, team_admin, agent):
    now = timezone.now()
    running = ShiftFactory(team=team, agent=agent, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    future = ShiftFactory(team=team, agent=agent, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    past = ShiftFactory(team=team, agent=agent, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    response = client_for(team_admin).patch(
        f"/api/v1/teams/{team.pk}/members/{agent.pk}", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 200 and response.json()["role"] == TeamRole.VIEWER
    assert AuditEntry.objects.get(action="team.member_role_changed").data == {
        "user_id": agent.pk,
        "from": "agent",
        "to": "viewer",
    }
    running.refresh_from_db()
    assert running.ends_at <= timezone.now()
    assert not ShiftAssignment.objects.filter(pk=future.pk).exists()
    assert ShiftAssignment.objects.filter(pk=past.pk).exists()
    assert AuditEntry.objects.filter(action="shift.deleted", data__reason="role_changed").count() == 1


def test_last_owner_cannot_be_demoted_or_removed(client_for, team, owner, platform_admin):
    url = f"/api/v1/teams/{team.pk}/members/{owner.pk}"
    for client in (client_for(owner), client_for(platform_admin)):
        demote = client.patch(url, {"role": "admin"}, format="json")
        assert demote.status_code == 409 and demote.json()["code"] == "last_owner"
        remove = client.delete(url)
        assert remove.status_code == 409 and remove.json()["code"] == "last_owner"
    second = member(team, team_role=TeamRole.OWNER)
    assert client_for(owner).delete(url).status_code == 204
    assert list(TeamMembership.objects.filter(team=team, role=TeamRole.OWNER).values_list("user", flat=True)) == [
        second.pk
    ]


def test_team_admin_cannot_touch_an_owner(client_for, team, owner, team_admin):
    member(team, team_role=TeamRole.OWNER)
    url = f"/api/v1/teams/{team.pk}/members/{owner.pk}"
    assert client_for(team_admin).patch(url, {"role": "agent"}, format="json").status_code == 403
    assert client_for(team_admin).delete(url).status_code == 403


def test_team_admin_removes_a_member_and_their_future_shifts(client_for, team, team_admin, agent):
    shift = ShiftFactory(
        team=team,
        agent=agent,
        starts_at=timezone.now() + timedelta(hours=2),
        ends_at=timezone.now() + timedelta(hours=9),
    )
    assert client_for(team_admin).delete(f"/api/v1/teams/{team.pk}/members/{agent.pk}").status_code == 204
    assert not TeamMembership.objects.filter(team=team, user=agent).exists()
    assert not ShiftAssignment.objects.filter(pk=shift.pk).exists()
    removed = AuditEntry.objects.get(action="team.member_removed")
    assert removed.data == {"user_id": agent.pk, "role": "agent", "left": False}
    assert removed.actor_id == team_admin.pk
    assert client_for(team_admin).delete(f"/api/v1/teams/{team.pk}/members/{agent.pk}").status_code == 404


def test_a_member_can_leave(client_for, team, viewer):
    assert client_for(viewer).delete(f"/api/v1/teams/{team.pk}/members/{viewer.pk}").status_code == 204
    assert AuditEntry.objects.get(action="team.member_removed").data["left"] is True
