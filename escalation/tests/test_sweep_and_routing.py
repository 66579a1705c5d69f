"""Routing, the sweeper (overdue runs, lost starts, lost deliveries) and concurrent steps."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertEventKind, Severity
from escalation.models import EscalationRun, Notification, RunStatus
from escalation.services.routing import policy_for_alert
from escalation.services.runs import run_advance, run_start
from escalation.services.sweep import runs_sweep
from escalation.services.timers import CLAIM_TTL, runs_claim_due, runs_perform_due, runs_wake
from escalation.tests.conftest import OnCallTeam
from escalation.tests.factories import new_alert, notify_on_duty, notify_role, policy_with_steps

pytestmark = pytest.mark.django_db


def test_routing_picks_the_matching_policy_by_priority_then_the_default(oncall: OnCallTeam) -> None:
    default = policy_with_steps(oncall.team, notify_on_duty(), name="default")
    critical = policy_with_steps(
        oncall.team, notify_on_duty(), name="critical", is_default=False, match_severities=["critical"], priority=20
    )
    cancellations = policy_with_steps(
        oncall.team,
        notify_on_duty(),
        name="cancellations",
        is_default=False,
        match_types=["flight_cancelled"],
        match_severities=["critical", "high"],
        priority=10,
    )
    policy_with_steps(oncall.team, notify_on_duty(), name="disabled", is_default=False, enabled=False, priority=1)

    def route(**fields: str) -> str | None:
        policy = policy_for_alert(Alert(team=oncall.team, **fields))
        return policy.name if policy else None

    assert route(type="flight_cancelled", severity=Severity.CRITICAL) == cancellations.name
    assert route(type="flight_delayed", severity=Severity.CRITICAL) == critical.name
    assert route(type="flight_delayed", severity=Severity.LOW) == default.name


def test_no_policy_means_no_run(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(), is_default=False, match_severities=["critical"])
    alert = new_alert(oncall.team, severity=Severity.LOW)
    assert run_start(alert_id=alert.pk) is None
    assert runs_sweep(now=timezone.now() + timedelta(minutes=5)).started == 0


def test_sweeper_performs_overdue_steps_only(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    due = run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
    not_due = run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now + timedelta(seconds=30))
    assert due is not None and not_due is not None

    result = runs_sweep(now=oncall.now + timedelta(seconds=61))

    assert (result.overdue, result.advanced) == (1, 1)
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert (due.step_seq, not_due.step_seq) == (2, 1)
    # The timer message for the step the sweeper performed is now stale.
    assert run_advance(run_id=due.pk, token="old", now=oncall.now + timedelta(seconds=62)) == "stale"


def test_sweeper_starts_runs_whose_start_message_was_lost(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    lost = new_alert(oncall.team, updated_at=oncall.now - timedelta(minutes=1))
    fresh = new_alert(oncall.team, updated_at=oncall.now)  # its start message is still on its way
    completed = new_alert(oncall.team, updated_at=oncall.now - timedelta(minutes=1))
    EscalationRun.objects.create(alert=completed, status=RunStatus.COMPLETED, policy_snapshot={"steps": []})

    result = runs_sweep(now=oncall.now)

    assert result.started == 1
    assert EscalationRun.objects.filter(alert=lost, status=RunStatus.ACTIVE).exists()
    assert not EscalationRun.objects.filter(alert=fresh).exists()
    assert not EscalationRun.objects.filter(alert=completed, status=RunStatus.ACTIVE).exists()


def test_sweeper_restarts_a_retriggered_alert_whose_restart_message_was_lost(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team, updated_at=oncall.now - timedelta(minutes=1))
    stopped = EscalationRun.objects.create(alert=alert, status=RunStatus.STOPPED, policy_snapshot={"steps": []})
    AlertEvent.objects.create(
        alert=alert, kind=AlertEventKind.ESCALATION, data={"run_id": stopped.pk, "event": "started"}
    )
    # Stopped, and not un-acknowledged since: nothing to restart (e.g. metadata opt-in toggled).
    assert runs_sweep(now=oncall.now).started == 0
    AlertEvent.objects.create(alert=alert, kind=AlertEventKind.UNACKNOWLEDGED)
    assert runs_sweep(now=oncall.now).started == 1
    assert runs_sweep(now=oncall.now).started == 0
    assert EscalationRun.objects.filter(alert=alert, status=RunStatus.ACTIVE).count() == 1


def test_sweeper_never_starts_a_second_run_after_one_completed(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60))
    alert = new_alert(oncall.team, updated_at=oncall.now - timedelta(minutes=1))
    run = run_start(alert_id=alert.pk, now=oncall.now - timedelta(minutes=1))
    assert run is not None
    assert run_advance(run_id=run.pk, token=run.active_token, now=oncall.now) == "advanced"
    assert runs_sweep(now=oncall.now + timedelta(minutes=1)).started == 0
    assert EscalationRun.objects.filter(alert=alert).count() == 1


def test_sweeper_reenqueues_lost_deliveries(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60, channels=["email"]))
    run = run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
    assert run is not None
    pending = Notification.objects.filter(run=run, channel="email", status="pending")
    assert pending.count() == 2
    assert runs_sweep(now=timezone.now()).redelivered == 0  # within the grace period
    assert runs_sweep(now=timezone.now() + timedelta(minutes=1)).redelivered == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_message_perform_the_step_once(oncall: OnCallTeam) -> None:
    assert connection.vendor == "postgresql"
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    run = run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
    assert run is not None
    token = run.active_token
    later = oncall.now + timedelta(seconds=61)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        try:
            barrier.wait()
            outcomes.append(run_advance(run_id=run.pk, token=token, now=later))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(3)]

    def sweep() -> None:
        try:
            barrier.wait()
            runs_sweep(now=later)
        finally:
            connections.close_all()

    sweeper = threading.Thread(target=sweep)
    for thread in [*threads, sweeper]:
        thread.start()
    for thread in [*threads, sweeper]:
        thread.join(timeout=30)

    assert sorted(outcomes).count("advanced") <= 1
    run.refresh_from_db()
    assert run.step_seq == 2  # performed exactly once, by a message or by the sweeper
    steps = AlertEvent.objects.filter(alert_id=run.alert_id, kind="escalation", data__event="step")
    assert steps.count() == 2
    assert Notification.objects.filter(run=run, recipient=oncall.admin, channel="in_app").count() == 1


def test_the_periodic_sweep_performs_overdue_steps(oncall: OnCallTeam) -> None:
    from escalation.tasks import sweep_runs

    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    now = timezone.now()
    run = run_start(alert_id=new_alert(oncall.team).pk, now=now - timedelta(seconds=120))
    assert run is not None
    result = sweep_runs.apply().get()  # the task body, run here as a worker would run it
    assert (result["overdue"], result["advanced"]) == (1, 1)
    run.refresh_from_db()
    assert run.step_seq == 2 and run.swept_at is None
    assert Notification.objects.filter(run=run, recipient=oncall.admin, channel="in_app").count() == 1


def test_claims_side_by_side_take_disjoint_runs_and_lapse_when_the_claimer_died(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    runs = [run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now) for _ in range(3)]
    later = oncall.now + timedelta(seconds=90)

    claimed = runs_claim_due(now=later, limit=2)
    assert len(claimed) == 2
    assert [claim.run_id for claim in runs_claim_due(now=later, limit=10)] == [
        run.pk for run in runs if run and run.pk not in {claim.run_id for claim in claimed}
    ]  # a second worker meanwhile: only the unclaimed one
    assert runs_claim_due(now=later, limit=10) == []
    assert len(runs_claim_due(now=later + CLAIM_TTL + timedelta(seconds=1), limit=10)) == 3  # dead claims lapse

    EscalationRun.objects.update(swept_at=None)
    out_of_time = runs_sweep(now=later, budget_seconds=0)  # no time left: nothing claimed
    assert (out_of_time.overdue, out_of_time.advanced) == (0, 0)
    assert not EscalationRun.objects.filter(swept_at__isnull=False).exists()
    assert runs_sweep(now=later).advanced == 3
    assert not EscalationRun.objects.filter(swept_at__isnull=False).exists()  # a step ends the claim


def test_one_batch_performs_every_due_run_with_one_entry_each(oncall: OnCallTeam) -> None:
    from audit.models import AuditEntry
    from audit.services import audit_chain_verify

    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    runs = [run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now) for _ in range(5)]
    later = oncall.now + timedelta(seconds=61)

    outcomes = runs_perform_due(now=later)

    assert outcomes == {run.pk: "advanced" for run in runs if run}
    for run in runs:
        assert run is not None
        run.refresh_from_db()
        assert (run.status, run.step_seq) == (RunStatus.COMPLETED, 2) or (run.step_seq, run.current_step) == (2, 2)
        steps = AlertEvent.objects.filter(alert_id=run.alert_id, kind="escalation", data__event="step")
        assert steps.count() == 2
        assert Notification.objects.filter(run=run, recipient=oncall.admin, channel="in_app").count() == 1
        assert AuditEntry.objects.filter(target_type="escalation.escalationrun", target_id=str(run.pk)).count() == 2
    assert audit_chain_verify()[1] is None  # the batch's entries are chained in order


def test_one_run_that_fails_does_not_hold_up_its_batch(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    runs = [run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now) for _ in range(3)]
    poisoned = runs[1]
    assert poisoned is not None
    snapshot = poisoned.policy_snapshot
    snapshot["steps"][1] = {"kind": "wait", "wait_seconds": "not a number"}  # its step raises
    EscalationRun.objects.filter(pk=poisoned.pk).update(policy_snapshot=snapshot)

    outcomes = runs_perform_due(now=oncall.now + timedelta(seconds=61))

    assert outcomes == {run.pk: "failed" if run is poisoned else "advanced" for run in runs if run}
    assert [EscalationRun.objects.get(pk=run.pk).step_seq for run in runs if run] == [2, 1, 2]


def test_a_batch_costs_the_same_number_of_queries_for_3_or_30_runs(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=60), notify_role("admin", window=60))
    later = oncall.now + timedelta(seconds=61)

    def queries_for(count: int) -> int:
        for _ in range(count):
            run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
        with CaptureQueriesContext(connection) as captured:
            assert len(runs_perform_due(now=later)) == count
        return len(captured)

    few, many = queries_for(3), queries_for(30)
    # SQLite splits the 120 notifications' INSERT in two (its limit on query parameters).
    assert many == few or (connection.vendor == "sqlite" and many == few + 1)
    assert few <= 22


def test_a_timer_message_performs_every_due_run_and_the_others_find_theirs_stale(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=1), notify_role("admin", window=60))
    runs = [run_start(alert_id=new_alert(oncall.team).pk, now=timezone.now() - timedelta(seconds=5)) for _ in range(3)]
    tokens = [(run.pk, run.active_token) for run in runs if run]

    assert runs_wake([tokens[1]]) == {tokens[1][0]: "advanced"}

    assert runs_wake(tokens) == {pk: "stale" for pk, _ in tokens}
    assert [EscalationRun.objects.get(pk=pk).step_seq for pk, _ in tokens] == [2, 2, 2]


def test_an_early_timer_message_changes_nothing(oncall: OnCallTeam) -> None:
    policy_with_steps(oncall.team, notify_on_duty(window=3600))
    run = run_start(alert_id=new_alert(oncall.team).pk)
    assert run is not None
    assert runs_wake([(run.pk, run.active_token)]) == {run.pk: "early"}
    run.refresh_from_db()
    assert run.step_seq == 1 and run.swept_at is None


def test_alerts_raised_together_are_started_by_one_task(
    oncall: OnCallTeam, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from alerts.models import AlertSource
    from alerts.services.lifecycle import NewAlert, alerts_raise_many
    from escalation import tasks

    enqueued: list[dict[str, list[int]]] = []
    monkeypatch.setattr(tasks.start_runs, "delay", lambda **kwargs: enqueued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        results = alerts_raise_many(
            team=oncall.team,
            source=AlertSource.FLIGHT_EVENTS,
            alerts=[
                NewAlert(type="flight_cancelled", severity="critical", title=f"UA{n}", dedup_key=f"k{n}")
                for n in range(3)
            ],
        )
    assert enqueued == [{"alert_ids": [result.alert.pk for result in results]}]


def test_a_storm_of_alerts_is_started_in_chunks_that_spread_over_the_workers(oncall: OnCallTeam, monkeypatch) -> None:
    from alerts import signals
    from escalation import tasks

    enqueued: list[list[int]] = []
    monkeypatch.setattr(tasks.start_runs, "delay", lambda alert_ids: enqueued.append(alert_ids))
    ids = list(range(1, 2 * signals.ALERTS_PER_TASK + 2))
    signals.alerts_raised.send(sender=None, alert_ids=ids)
    assert [len(chunk) for chunk in enqueued] == [signals.ALERTS_PER_TASK, signals.ALERTS_PER_TASK, 1]
    assert [alert_id for chunk in enqueued for alert_id in chunk] == ids


def test_start_runs_starts_each_alert_and_one_failure_does_not_stop_the_others(oncall: OnCallTeam, monkeypatch) -> None:
    from escalation.services import runs
    from escalation.tasks import start_runs

    policy_with_steps(oncall.team, notify_on_duty())
    alerts = [new_alert(oncall.team) for _ in range(3)]
    real = runs.run_start

    def failing_for_the_second(*, alert_id: int, now: object = None) -> object:
        if alert_id == alerts[1].pk:
            raise RuntimeError("boom")
        return real(alert_id=alert_id)

    monkeypatch.setattr(runs, "run_start", failing_for_the_second)
    start_runs(alert_ids=[alert.pk for alert in alerts])
    started = set(EscalationRun.objects.filter(alert__in=alerts).values_list("alert_id", flat=True))
    assert started == {alerts[0].pk, alerts[2].pk}  # the sweeper starts the second later
    assert set(Notification.objects.filter(recipient=oncall.first).values_list("alert_id", flat=True)) == started
