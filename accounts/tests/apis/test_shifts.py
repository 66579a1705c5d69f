from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import ShiftAssignment, TeamRole, User, UserRole
from accounts.tests.factories import ShiftFactory, UserFactory, member
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

# A summer instant: Europe/London is UTC+1 then.
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def shifts_url(team, shift_id=None):
    return f"/api/v1/teams/{team.pk}/shifts" + (f"/{shift_id}" if shift_id else "")


def test_team_admin_creates_a_shift_times_in_the_team_zone(client_for, team, team_admin, agent):
    response = client_for(team_admin).post(
        shifts_url(team),
        # Without an offset: local to the team (Europe/London, UTC+1 in July).
        {"agent_id": agent.pk, "starts_at": "2026-07-01T08:00:00", "ends_at": "2026-07-01T20:00:00Z", "priority": 2},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["starts_at"] == "2026-07-01T08:00:00+01:00"
    assert body["ends_at"] == "2026-07-01T21:00:00+01:00"
    assert body["agent"] == {"id": agent.pk, "email": agent.email, "full_name": agent.full_name}
    shift = ShiftAssignment.objects.get(pk=body["id"])
    assert shift.starts_at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    entry = AuditEntry.objects.get(action="shift.created")
    assert entry.team_id == team.pk and entry.actor_id == team_admin.pk
    assert entry.data["agent_id"] == agent.pk and entry.data["priority"] == 2


def test_shift_validation_errors_are_clear_400s(client_for, team, team_admin, agent, viewer, customer, outsider):
    client = client_for(team_admin)
    base = {"agent_id": agent.pk, "starts_at": "2026-07-01T08:00:00Z", "ends_at": "2026-07-01T20:00:00Z"}

    def post(**changes):
        return client.post(shifts_url(team), {**base, **changes}, format="json")

    backwards = post(ends_at="2026-07-01T07:00:00Z")
    assert backwards.status_code == 400
    assert backwards.json()["code"] == "invalid_shift" and "ends_at" in backwards.json()["details"]
    assert post(ends_at=base["starts_at"]).status_code == 400
    for not_eligible in (viewer, customer, outsider):  # viewer: role cannot work alerts
        response = post(agent_id=not_eligible.pk)
        assert response.status_code == 400 and "agent_id" in response.json()["details"], not_eligible
    assert post(agent_id=999999).json()["details"] == {"agent_id": ["No such user."]}
    assert post(priority=0).status_code == 400
    assert post(starts_at="yesterday").status_code == 400
    assert not ShiftAssignment.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="shift.").exists()


def test_inactive_agent_cannot_be_scheduled(client_for, team, team_admin, agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    response = client_for(team_admin).post(
        shifts_url(team),
        {"agent_id": agent.pk, "starts_at": "2026-07-01T08:00:00Z", "ends_at": "2026-07-01T20:00:00Z"},
        format="json",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_readers_read_but_do_not_write(client_for, request, team, agent, who):
    shift = ShiftFactory(team=team, agent=agent)
    client = client_for(request.getfixturevalue(who))
    assert client.get(shifts_url(team)).status_code == 200
    assert client.get(shifts_url(team, shift.pk)).status_code == 200
    payload = {"agent_id": agent.pk, "starts_at": "2026-07-02T08:00:00Z", "ends_at": "2026-07-02T20:00:00Z"}
    assert client.post(shifts_url(team), payload, format="json").status_code == 403
    assert client.patch(shifts_url(team, shift.pk), {"priority": 5}, format="json").status_code == 403
    assert client.delete(shifts_url(team, shift.pk)).status_code == 403
    shift.refresh_from_db()
    assert shift.priority == 1


def test_other_tenants_get_404_for_shifts(client_for, team, agent, outsider, other_team):
    shift = ShiftFactory(team=team, agent=agent)
    client = client_for(outsider)
    assert client.get(shifts_url(team)).status_code == 404
    assert client.get(f"/api/v1/teams/{team.pk}/on-call").status_code == 404
    # Under their own team's URL the other team's shift does not exist.
    assert client.get(shifts_url(other_team, shift.pk)).status_code == 404
    assert client.patch(shifts_url(other_team, shift.pk), {"priority": 9}, format="json").status_code == 404
    assert client.delete(shifts_url(other_team, shift.pk)).status_code == 404
    assert ShiftAssignment.objects.filter(pk=shift.pk, priority=1).exists()


def test_list_filters_by_overlap_with_from_to(client_for, team, agent, viewer):
    day = timedelta(days=1)
    early = ShiftFactory(team=team, agent=agent, starts_at=NOW - 2 * day, ends_at=NOW - day)
    spanning = ShiftFactory(team=team, agent=agent, starts_at=NOW - day, ends_at=NOW + day)
    late = ShiftFactory(team=team, agent=agent, starts_at=NOW + 2 * day, ends_at=NOW + 3 * day)
    client = client_for(viewer)
    every = client.get(shifts_url(team)).json()["results"]
    assert [s["id"] for s in every] == [early.pk, spanning.pk, late.pk]
    window = client.get(shifts_url(team), {"from": NOW.isoformat(), "to": (NOW + day).isoformat()}).json()
    assert [s["id"] for s in window["results"]] == [spanning.pk]
    after = client.get(shifts_url(team), {"from": (NOW + day).isoformat()}).json()["results"]
    assert [s["id"] for s in after] == [late.pk]
    assert client.get(shifts_url(team), {"from": NOW.isoformat(), "to": NOW.isoformat()}).status_code == 400
    assert client.get(shifts_url(team), {"agent": 999999}).json()["results"] == []


def test_update_is_validated_and_audited(client_for, team, team_admin, agent):
    shift = ShiftFactory(team=team, agent=agent, starts_at=NOW, ends_at=NOW + timedelta(hours=8))
    client = client_for(team_admin)
    bad = client.patch(shifts_url(team, shift.pk), {"ends_at": (NOW - timedelta(hours=1)).isoformat()}, format="json")
    assert bad.status_code == 400
    colleague = member(team, team_role=TeamRole.AGENT)
    response = client.patch(shifts_url(team, shift.pk), {"priority": 3, "agent_id": colleague.pk}, format="json")
    assert response.status_code == 200
    shift.refresh_from_db()
    assert (shift.priority, shift.agent_id, shift.ends_at) == (3, colleague.pk, NOW + timedelta(hours=8))
    changes = AuditEntry.objects.get(action="shift.updated").data["changes"]
    assert changes == {"agent_id": {"from": agent.pk, "to": colleague.pk}, "priority": {"from": 1, "to": 3}}


def test_delete_is_audited(client_for, team, team_admin, agent):
    shift = ShiftFactory(team=team, agent=agent)
    assert client_for(team_admin).delete(shifts_url(team, shift.pk)).status_code == 204
    assert not ShiftAssignment.objects.filter(pk=shift.pk).exists()
    entry = AuditEntry.objects.get(action="shift.deleted")
    assert entry.target_id == str(shift.pk) and entry.team_id == team.pk


def test_on_call_lists_who_is_on_duty_in_priority_order(client_for, team, viewer):
    primary = member(team, email="primary@example.com")
    backup = member(team, email="backup@example.com")
    off_duty = member(team, email="off@example.com")
    gone = member(team, email="gone@example.com")
    hour = timedelta(hours=1)
    ShiftFactory(team=team, agent=backup, starts_at=NOW - hour, ends_at=NOW + hour, priority=2)
    first_window = ShiftFactory(team=team, agent=primary, starts_at=NOW - 2 * hour, ends_at=NOW + hour, priority=1)
    ShiftFactory(team=team, agent=off_duty, starts_at=NOW + hour, ends_at=NOW + 5 * hour, priority=1)
    ShiftFactory(team=team, agent=gone, starts_at=NOW - hour, ends_at=NOW + hour, priority=1)
    User.objects.filter(pk=gone.pk).update(is_active=False)

    body = client_for(viewer).get(f"/api/v1/teams/{team.pk}/on-call").json()
    assert body["timezone"] == "Europe/London"
    assert body["at"] == "2026-07-01T13:00:00+01:00"
    assert [entry["agent"]["email"] for entry in body["on_call"]] == ["primary@example.com", "backup@example.com"]
    assert body["on_call"][0]["shifts"] == [
        {
            "id": first_window.pk,
            "starts_at": "2026-07-01T11:00:00+01:00",
            "ends_at": "2026-07-01T14:00:00+01:00",
            "priority": 1,
        }
    ]
    later = client_for(viewer).get(f"/api/v1/teams/{team.pk}/on-call", {"at": (NOW + 2 * hour).isoformat()}).json()
    assert [entry["agent"]["email"] for entry in later["on_call"]] == ["off@example.com"]


def test_customer_cannot_read_shifts(client_for, team):
    customer_member = member(team, role=UserRole.CUSTOMER)
    assert client_for(customer_member).get(shifts_url(team)).status_code == 404
    assert client_for(UserFactory(role=UserRole.CUSTOMER)).get(f"/api/v1/teams/{team.pk}/on-call").status_code == 404
