from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_platform_admin_sees_all_and_filters():
    team_a, team_b = TeamFactory(), TeamFactory()
    admin = UserFactory(role=UserRole.ADMIN)
    audit_record(actor=admin, action="team.updated", target=team_a)
    audit_record(actor=admin, action="team.updated", target=team_b)
    audit_record(actor=None, action="alert.raised", target=("alerts.alert", 1), team_id=team_a.pk)
    response = client_for(admin).get("/api/v1/audit")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    assert [e["action"] for e in client_for(admin).get("/api/v1/audit?action=alert.").json()["results"]] == [
        "alert.raised"
    ]
    by_actor = client_for(admin).get(f"/api/v1/audit?actor={admin.email}").json()["results"]
    assert {e["team_id"] for e in by_actor} == {team_a.pk, team_b.pk}
    assert len(client_for(admin).get(f"/api/v1/audit?team={team_b.pk}").json()["results"]) == 1


def test_team_admin_sees_only_their_team():
    team_a, team_b = TeamFactory(), TeamFactory()
    team_admin = member(team_a, team_role=TeamRole.ADMIN)
    audit_record(actor=None, action="a.x", team_id=team_a.pk)
    audit_record(actor=None, action="b.x", team_id=team_b.pk)
    results = client_for(team_admin).get("/api/v1/audit").json()["results"]
    assert [e["action"] for e in results] == ["a.x"]


def test_agents_and_customers_are_refused():
    team = TeamFactory()
    for user in (member(team, team_role=TeamRole.AGENT), UserFactory(role=UserRole.CUSTOMER)):
        response = client_for(user).get("/api/v1/audit")
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    assert APIClient().get("/api/v1/audit").status_code == 401


def test_bad_filter_is_a_400_with_details():
    admin = UserFactory(role=UserRole.ADMIN)
    response = client_for(admin).get("/api/v1/audit?since=yesterday")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "since" in response.json()["details"]


def test_cursor_pagination_walks_every_entry_once():
    admin = UserFactory(role=UserRole.ADMIN)
    for i in range(7):
        audit_record(actor=None, action=f"x.{i}")
    client = client_for(admin)
    seen: list[int] = []
    url: str | None = "/api/v1/audit?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert len(seen) == 7 and len(set(seen)) == 7 and seen == sorted(seen, reverse=True)
