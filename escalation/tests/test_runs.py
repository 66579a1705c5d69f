"""The escalation engine with controlled time: every step kind, stop/restart, stale messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from alerts.models import Alert, AlertEvent, AlertEventKind, AlertSource, AlertStatus
from alerts.services import alert_acknowledge, alert_reopen, alert_resolve, alert_unacknowledge
from audit.models import AuditEntry
from escalation import signals
from escalation.models import EscalationRun, EscalationStep, Notification, RunStatus
from escalation.services.runs import run_advance, run_restart, run_start, run_stop
from escalation.tests.conftest import OnCallTeam
from escalation.tests.factories import new_alert, notify_on_duty, notify_role, policy_with_steps

pytestmark = pytest.mark.django_db


def advance_at(run: EscalationRun, seconds: float, base: Any) -> str:
    run.refresh_from_db()
    return run_advance(run_id=run.pk, token=run.active_token, now=base + timedelta(seconds=seconds))


def step_events(alert_id: int) -> list[dict[str, Any]]:
    return [
        event.data
        for event in AlertEvent.objects.filter(alert_id=alert_id, kind=AlertEventKind.ESCALATION).order_by("id")
        if event.data.get("event") == "step"
    ]


def inbox(user_id: int) -> list[Notification]:
    return list(Notification.objects.filter(recipient_id=user_id, channel="in_app").order_by("id"))


def test_start_notifies_the_agents_on_duty_in_priority_order_and_sets_the_deadline(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=120), notify_role("admin", window=60))
    alert = new_alert(oncall.team)

    run = run_start(alert_id=alert.pk, now=oncall.now)

    assert run is not None and run.status == RunStatus.ACTIVE
    assert run.current_step == 1 and run.step_seq == 1
    assert run.next_run_at == oncall.now + timedelta(seconds=120)
    alert.refresh_from_db()
    assert alert.ack_deadline == run.next_run_at
    (event,) = step_events(alert.pk)
    assert [r["user_id"] for r in event["recipients"]] == [oncall.first.pk, oncall.second.pk]
    assert event["kind"] == "notify_on_duty" and event["lateness_ms"] == 0
    assert len(inbox(oncall.first.pk)) == 1 and len(inbox(oncall.second.pk)) == 1
    assert inbox(oncall.admin.pk) == []
    assert AuditEntry.objects.filter(action="escalation.run_started", target_id=str(run.pk)).exists()


def test_each_step_runs_when_due_and_the_run_completes_after_the_last_window(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=30))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None

    assert advance_at(run, 59, oncall.now) == "early"  # not due: nothing happens
    assert inbox(oncall.admin.pk) == []

    assert advance_at(run, 60.5, oncall.now) == "advanced"
    assert len(inbox(oncall.admin.pk)) == 1
    second = step_events(alert.pk)[-1]
    assert second["kind"] == "notify_role" and second["lateness_ms"] == 500

    assert advance_at(run, 95, oncall.now) == "advanced"
    run.refresh_from_db()
    alert.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.active_token == "" and run.next_run_at is None
    assert alert.ack_deadline is None
    assert AuditEntry.objects.filter(action="escalation.run_completed", target_id=str(run.pk)).exists()


def test_a_stale_token_or_a_duplicate_message_changes_nothing(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    token = run.active_token
    later = oncall.now + timedelta(seconds=61)

    assert run_advance(run_id=run.pk, token=token, now=later) == "advanced"
    assert run_advance(run_id=run.pk, token=token, now=later) == "stale"  # the same message again
    assert run_advance(run_id=run.pk, token="not-a-token", now=later) == "stale"
    assert run_advance(run_id=999_999, token=token, now=later) == "stale"
    assert len(step_events(alert.pk)) == 2
    assert len(inbox(oncall.admin.pk)) == 1


def test_wait_step_delays_the_next_one(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, {"kind": "wait", "wait_seconds": 300}, notify_role("admin"))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None and run.next_run_at == oncall.now + timedelta(seconds=300)
    assert inbox(oncall.admin.pk) == []
    assert advance_at(run, 300, oncall.now) == "advanced"
    assert len(inbox(oncall.admin.pk)) == 1


def test_repeat_goes_back_at_most_n_times(oncall: OnCallTeam) -> None:
    policy_with_steps(
        oncall.team,
        notify_on_duty(window=10),
        {"kind": "repeat", "repeat_to_position": 0, "repeat_times": 2},
        notify_role("admin", window=10),
    )
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    for seconds in (10, 20, 30, 40):
        advance_at(run, seconds, oncall.now)
    run.refresh_from_db()
    kinds = [event["kind"] for event in step_events(alert.pk)]
    assert kinds == [
        "notify_on_duty",
        "repeat",
        "notify_on_duty",
        "repeat",
        "notify_on_duty",
        "repeat",
        "notify_role",
    ]
    assert run.repeat_counts == {"1": 2}
    assert len(inbox(oncall.first.pk)) == 3  # one per execution: the step number is in the key
    assert run.status == RunStatus.COMPLETED


def test_acknowledge_stops_the_run_and_late_messages_do_nothing(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    token = run.active_token
    alert_acknowledge(alert_id=alert.pk, by=oncall.first)

    # The timer fires before the stop message is processed: the run sees the ack and stops.
    assert run_advance(run_id=run.pk, token=token, now=oncall.now + timedelta(seconds=61)) == "stopped"
    run.refresh_from_db()
    assert run.status == RunStatus.STOPPED and run.stop_reason == "alert acknowledged"
    assert inbox(oncall.admin.pk) == []
    assert run_stop(alert_id=alert.pk, reason="acknowledged") is None  # the stop message: nothing left to stop


def test_stop_message_stops_and_does_not_stop_a_retriggered_alert(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team)
    run_start(alert_id=alert.pk, now=oncall.now)
    alert_acknowledge(alert_id=alert.pk, by=oncall.first)
    stopped = run_stop(alert_id=alert.pk, reason="acknowledged")
    assert stopped is not None and stopped.status == RunStatus.STOPPED

    other = new_alert(oncall.team)
    run_start(alert_id=other.pk, now=oncall.now)
    assert run_stop(alert_id=other.pk, reason="acknowledged") is None  # still triggered: keep escalating
    assert EscalationRun.objects.get(alert=other).status == RunStatus.ACTIVE


def test_unacknowledge_restarts_from_the_first_step(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    alert = new_alert(oncall.team)
    first_run = run_start(alert_id=alert.pk, now=oncall.now)
    assert first_run is not None
    advance_at(first_run, 61, oncall.now)
    alert_acknowledge(alert_id=alert.pk, by=oncall.first)
    run_stop(alert_id=alert.pk, reason="acknowledged")
    alert_unacknowledge(alert_id=alert.pk, by=oncall.first)

    second_run = run_restart(alert_id=alert.pk, reason="unacknowledged", now=oncall.now + timedelta(seconds=90))

    assert second_run is not None and second_run.pk != first_run.pk
    assert second_run.step_seq == 1 and second_run.current_step == 1
    assert len(inbox(oncall.first.pk)) == 2  # notified again by the new run's first step
    first_run.refresh_from_db()
    assert first_run.status == RunStatus.STOPPED


def test_reopen_restarts_and_resolve_stops(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team)
    run_start(alert_id=alert.pk, now=oncall.now)
    alert_resolve(alert_id=alert.pk, by=oncall.first)
    run_stop(alert_id=alert.pk, reason="resolved")
    assert not EscalationRun.objects.filter(alert=alert, status=RunStatus.ACTIVE).exists()

    alert_reopen(alert_id=alert.pk, by=oncall.admin)
    run = run_restart(alert_id=alert.pk, reason="reopened", now=oncall.now)
    assert run is not None and run.status == RunStatus.ACTIVE
    assert EscalationRun.objects.filter(alert=alert).count() == 2


def test_restart_while_a_run_is_active_replaces_it(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team)
    old = run_start(alert_id=alert.pk, now=oncall.now)
    assert old is not None
    retrigger(alert.pk)
    new = run_restart(alert_id=alert.pk, reason="unacknowledged", now=oncall.now)
    assert new is not None and new.pk != old.pk
    old.refresh_from_db()
    assert old.status == RunStatus.STOPPED and old.stop_reason.startswith("restarted")
    assert run_advance(run_id=old.pk, token=old.active_token, now=oncall.now + timedelta(hours=1)) == "stale"


def retrigger(alert_id: int) -> None:
    """What an un-acknowledge leaves in the timeline (without the stop it would also cause)."""
    AlertEvent.objects.create(alert_id=alert_id, kind=AlertEventKind.UNACKNOWLEDGED)


def test_a_duplicated_restart_message_leaves_the_new_run_alone(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    alert = new_alert(oncall.team)
    first = run_start(alert_id=alert.pk, now=oncall.now)
    assert first is not None
    retrigger(alert.pk)
    second = run_restart(alert_id=alert.pk, reason="unacknowledged", now=oncall.now)
    assert second is not None and second.pk != first.pk
    sent = Notification.objects.count()

    again = run_restart(alert_id=alert.pk, reason="unacknowledged", now=oncall.now + timedelta(seconds=5))

    assert again is not None and again.pk == second.pk
    second.refresh_from_db()
    assert second.status == RunStatus.ACTIVE and second.step_seq == 1
    assert EscalationRun.objects.filter(alert=alert).count() == 2
    assert Notification.objects.count() == sent


def completed_run(oncall: OnCallTeam) -> Alert:
    """An alert still triggered whose one-step run has completed."""
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    assert advance_at(run, 61, oncall.now) == "advanced"
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    return alert


def test_a_restart_without_a_retrigger_does_nothing(oncall: OnCallTeam) -> None:
    alert = completed_run(oncall)

    assert run_restart(alert_id=alert.pk, reason="unacknowledged", now=oncall.now + timedelta(minutes=5)) is None
    assert EscalationRun.objects.filter(alert=alert).count() == 1


def test_a_late_start_after_the_run_completed_does_not_escalate_again(oncall: OnCallTeam) -> None:
    """A redelivered start message, or a severity raise, after the alert's run completed."""
    alert = completed_run(oncall)

    assert run_start(alert_id=alert.pk, now=oncall.now + timedelta(minutes=5)) is None
    assert EscalationRun.objects.filter(alert=alert).count() == 1
    assert len(inbox(oncall.first.pk)) == 1


def test_start_is_idempotent(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team)
    first = run_start(alert_id=alert.pk, now=oncall.now)
    again = run_start(alert_id=alert.pk, now=oncall.now)
    assert first is not None and again is not None and first.pk == again.pk
    assert len(inbox(oncall.first.pk)) == 1


def test_a_run_keeps_its_snapshot_when_the_policy_is_edited(oncall: OnCallTeam) -> None:
    policy = policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    EscalationStep.objects.filter(policy=policy, position=1).update(kind="wait", wait_seconds=3600, target_role="")

    advance_at(run, 61, oncall.now)
    assert step_events(alert.pk)[-1]["kind"] == "notify_role"  # the snapshot, not the edited policy
    later = new_alert(oncall.team)
    later_run = run_start(alert_id=later.pk, now=oncall.now)
    assert later_run is not None and later_run.policy_snapshot["steps"][1]["kind"] == "wait"


def test_nobody_to_notify_moves_on_at_once(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_role("viewer", window=600), notify_role("admin", window=60))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    events = step_events(alert.pk)
    assert events[0]["nobody"] is True and events[1]["kind"] == "notify_role"
    assert len(inbox(oncall.admin.pk)) == 1 and run.next_run_at == oncall.now + timedelta(seconds=60)


def test_notify_user_targets_one_staff_member(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, {"kind": "notify_user", "target_user": oncall.second, "ack_window_seconds": 60})
    alert = new_alert(oncall.team)
    run_start(alert_id=alert.pk, now=oncall.now)
    assert len(inbox(oncall.second.pk)) == 1 and inbox(oncall.first.pk) == []


def test_fallback_step_asks_the_fallbacks_app_after_commit(
    oncall: OnCallTeam, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.fallback_requested.connect(receiver, dispatch_uid="test-fallback")
    try:
        policy_with_steps(oncall.team, {"kind": "fallback", "fallback_mode": "auto_rebook"}, notify_on_duty())
        alert = new_alert(oncall.team)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run = run_start(alert_id=alert.pk, now=oncall.now)
        assert received == []  # nothing before commit
        for callback in callbacks:
            if callback.__qualname__.startswith("_fallback"):
                callback()
    finally:
        signals.fallback_requested.disconnect(dispatch_uid="test-fallback")
    assert run is not None
    assert [(r["alert_id"], r["run_id"], r["mode"]) for r in received] == [(alert.pk, run.pk, "auto_rebook")]
    assert [e["kind"] for e in step_events(alert.pk)] == ["fallback", "notify_on_duty"]


def test_webhook_step_queues_one_signed_delivery_and_moves_on(oncall: OnCallTeam) -> None:
    policy_with_steps(
        oncall.team,
        {"kind": "webhook", "webhook_url": "https://hooks.example.com/x", "webhook_secret": "s3cret"},
        notify_on_duty(),
    )
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    hook = Notification.objects.get(run=run, channel="webhook")
    assert hook.status == "pending" and hook.target == "https://hooks.example.com/x"
    assert hook.idempotency_key == f"run:{run.pk}:step:1:webhook" and hook.data["step_position"] == 0
    assert len(inbox(oncall.first.pk)) == 1


@pytest.mark.parametrize(
    ("fields", "escalates"),
    [
        ({}, True),
        ({"source": AlertSource.BROADCAST}, False),
        ({"metadata": {"escalate": False}}, False),
        ({"status": AlertStatus.ACKNOWLEDGED}, False),
        ({"status": AlertStatus.RESOLVED}, False),
    ],
)
def test_which_alerts_escalate(oncall: OnCallTeam, fields: dict[str, Any], escalates: bool) -> None:
    policy_with_steps(oncall.team, notify_on_duty())
    alert = new_alert(oncall.team, **fields)
    assert (run_start(alert_id=alert.pk, now=oncall.now) is not None) is escalates


def test_notifications_are_unique_per_run_step_recipient_and_channel(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60, channels=["in_app", "email"]))
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    keys = set(Notification.objects.filter(run=run).values_list("idempotency_key", flat=True))
    assert keys == {
        f"run:{run.pk}:step:1:user:{user.pk}:{channel}"
        for user in (oncall.first, oncall.second)
        for channel in ("in_app", "email")
    }
