"""The integrations API: team managers create, list, rename, pause, rotate and revoke."""

from __future__ import annotations

import hashlib
import json

import pytest
from rest_framework.test import APIClient

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, member
from alertguardian.realtime import team_group
from alerts.models import Integration
from alerts.tests.ingest_helpers import captured_group, ensure_default_rules, flight_event
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules():
    ensure_default_rules()


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def manager(team):
    return member(team, team_role=TeamRole.ADMIN)


def create(client, team, kind="flight_events", name="Sabre feed"):
    return client.post("/api/v1/integrations", {"team": team.pk, "kind": kind, "name": name}, format="json")


def post_event(token, event_id="e1"):
    return APIClient().post(
        f"/api/v1/integrations/{token}/flight-events",
        data=json.dumps(flight_event(event_id)),
        content_type="application/json",
    )


def test_create_shows_the_token_once_and_stores_only_its_hash(team, manager):
    response = create(api(manager), team)
    assert response.status_code == 201, response.content
    body = response.json()
    token = body["token"]
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    integration = Integration.objects.get(pk=body["id"])
    assert integration.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert body["token_hint"] == token[:6]
    assert body["endpoint"].endswith("/api/v1/integrations/{token}/flight-events")
    assert (body["team"], body["kind"], body["is_active"], body["created_by"]) == (
        team.pk,
        "flight_events",
        True,
        manager.pk,
    )
    assert token not in json.dumps(api(manager).get(f"/api/v1/integrations/{body['id']}").json())
    assert AuditEntry.objects.filter(action="integration.created", target_id=str(body["id"])).exists()
    assert token not in json.dumps(list(AuditEntry.objects.values_list("data", flat=True)))
    assert post_event(token).status_code == 200


def test_list_is_scoped_to_managed_teams(team, manager):
    create(api(manager), team, name="mine")
    other = TeamFactory()
    create(api(member(other, team_role=TeamRole.OWNER)), other, name="theirs")
    names = [row["name"] for row in api(manager).get("/api/v1/integrations").json()["results"]]
    assert names == ["mine"]
    admin = member(TeamFactory(), role=UserRole.ADMIN)
    assert len(api(admin).get("/api/v1/integrations").json()["results"]) == 2
    assert len(api(admin).get(f"/api/v1/integrations?team={other.pk}").json()["results"]) == 1
    assert api(admin).get("/api/v1/integrations?kind=pagerduty").json()["results"] == []


def test_agents_and_other_teams_cannot_manage(team, manager):
    created = create(api(manager), team).json()
    agent = member(team)
    assert create(api(agent), team).status_code == 404  # team.manage is needed: the team is not found
    assert api(agent).get("/api/v1/integrations").json()["results"] == []
    outsider = member(TeamFactory(), team_role=TeamRole.OWNER)
    for method, path in [
        ("get", f"/api/v1/integrations/{created['id']}"),
        ("patch", f"/api/v1/integrations/{created['id']}"),
        ("delete", f"/api/v1/integrations/{created['id']}"),
        ("post", f"/api/v1/integrations/{created['id']}/rotate"),
        ("post", f"/api/v1/integrations/{created['id']}/revoke"),
    ]:
        assert getattr(api(outsider), method)(path, {}, format="json").status_code == 404, (method, path)
    assert APIClient().get("/api/v1/integrations").status_code == 401
    assert Integration.objects.get().is_active


def test_create_validation(team, manager):
    response = api(manager).post("/api/v1/integrations", {"team": team.pk, "kind": "carrier-pigeon"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"kind", "name"}


def test_rename_pause_and_resume(team, manager):
    client = api(manager)
    created = create(client, team).json()
    path = f"/api/v1/integrations/{created['id']}"
    renamed = client.patch(path, {"name": "Amadeus feed", "is_active": False}, format="json")
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["is_active"]) == ("Amadeus feed", False)
    assert post_event(created["token"]).status_code == 401
    client.patch(path, {"is_active": True}, format="json")
    assert post_event(created["token"]).status_code == 200
    entry = AuditEntry.objects.filter(action="integration.updated").first()
    assert entry.data == {"name": ["Sabre feed", "Amadeus feed"], "is_active": [True, False]}


def test_rotate_issues_a_new_token_and_the_old_one_stops(team, manager, django_capture_on_commit_callbacks):
    client = api(manager)
    created = create(client, team).json()
    with captured_group(team_group(team.pk)) as live, django_capture_on_commit_callbacks(execute=True):
        rotated = client.post(f"/api/v1/integrations/{created['id']}/rotate")
    assert rotated.status_code == 200
    new_token = rotated.json()["token"]
    assert new_token != created["token"]
    assert post_event(created["token"]).status_code == 404
    assert post_event(new_token).status_code == 200
    assert AuditEntry.objects.filter(action="integration.rotated").count() == 1
    assert [event["type"] for event in live] == ["integration.changed"]
    assert created["token"] not in json.dumps(live)
    assert new_token not in json.dumps(live)


def test_revoke_and_delete_disable_for_good(team, manager):
    client = api(manager)
    first = create(client, team, name="one").json()
    second = create(client, team, name="two").json()
    revoked = client.post(f"/api/v1/integrations/{first['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.delete(f"/api/v1/integrations/{second['id']}").status_code == 204
    assert post_event(first["token"]).status_code == 401
    assert post_event(second["token"]).status_code == 401
    resume = client.patch(f"/api/v1/integrations/{first['id']}", {"is_active": True}, format="json")
    assert resume.status_code == 409
    assert resume.json()["code"] == "integration_revoked"
    assert client.post(f"/api/v1/integrations/{first['id']}/rotate").status_code == 409
    assert client.post(f"/api/v1/integrations/{first['id']}/revoke").status_code == 200  # idempotent
    assert AuditEntry.objects.filter(action="integration.revoked").count() == 2
