"""What escalation publishes live, checked against the documented schemas (docs/events.md)."""

from __future__ import annotations

from typing import Any

import pytest

from alertguardian.realtime import alert_group, team_group, user_group
from alertguardian.tests.live import captured_groups
from alerts.services import alert_acknowledge
from alerts.tests.event_schemas import assert_event_valid
from escalation.services.notifications import notification_mark_read
from escalation.services.runs import run_start, run_stop
from escalation.tests.conftest import OnCallTeam
from escalation.tests.factories import new_alert, notify_on_duty, policy_with_steps

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_step_moves_the_countdown_and_notifies_live(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=90, channels=["in_app"]))
    alert = new_alert(oncall.team)
    groups = (team_group(oncall.team.pk), alert_group(alert.pk), user_group(oncall.first.pk))
    with captured_groups(*groups) as events:
        run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    team_events = events[team_group(oncall.team.pk)]
    assert [e["type"] for e in team_events] == ["alert.escalated"]
    assert team_events[0]["data"]["kind"] == "notify_on_duty" and team_events[0]["alert"]["ack_deadline"]
    personal = [e for e in events[user_group(oncall.first.pk)] if e["type"] == "notification.created"]
    assert len(personal) == 1 and personal[0]["unread_notifications"] == 1
    for event in (*team_events, *events[alert_group(alert.pk)], *personal):
        assert_event_valid(event)

    notification_id = personal[0]["notification"]["id"]
    with captured_groups(user_group(oncall.first.pk), team_group(oncall.team.pk)) as later:
        notification_mark_read(user=oncall.first, notification_id=notification_id)
        alert_acknowledge(alert_id=alert.pk, by=oncall.first)
        run_stop(alert_id=alert.pk, reason="acknowledged")
    read: list[dict[str, Any]] = [e for e in later[user_group(oncall.first.pk)] if e["type"] == "notification.read"]
    assert read and read[0]["ids"] == [notification_id] and read[0]["unread_notifications"] == 0
    for event in (*read, *later[team_group(oncall.team.pk)]):
        assert_event_valid(event)
