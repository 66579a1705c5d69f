from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.exceptions import InvalidShift
from accounts.services import shift_create, shift_delete, shift_validate
from accounts.tests.realtime import events_after
from alertguardian.realtime import team_group

pytestmark = pytest.mark.django_db


def test_shift_changes_reach_the_team_group(team, agent, owner, django_capture_on_commit_callbacks):
    now = timezone.now()
    created = []

    def create():
        with django_capture_on_commit_callbacks(execute=True):
            created.append(
                shift_create(team=team, agent=agent, starts_at=now, ends_at=now + timedelta(hours=8), by=owner)
            )

    def delete():
        with django_capture_on_commit_callbacks(execute=True):
            shift_delete(shift=created[0], by=owner)

    [event] = events_after(create, {team_group(team.pk): 1})[team_group(team.pk)]
    assert event["type"] == "team.on_call" and event["action"] == "shift_created"
    assert event["shift_id"] == created[0].pk and event["agent_id"] == agent.pk
    [deleted] = events_after(delete, {team_group(team.pk): 1})[team_group(team.pk)]
    assert deleted["action"] == "shift_deleted" and deleted["shift_id"] == event["shift_id"]


def test_validate_refuses_naive_times_and_reports_every_problem(team, viewer):
    with pytest.raises(InvalidShift) as excinfo:
        shift_validate(
            team=team, agent=viewer, starts_at=datetime(2026, 1, 1, 8), ends_at=datetime(2026, 1, 1, 9), priority=0
        )
    assert set(excinfo.value.details) == {"starts_at", "ends_at", "priority", "agent_id"}
