"""Escalation's part in operations: summary notifications in the inbox, retention of read ones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from alerts.ops.models import DailySummary
from alerts.ops.retention import retention_run
from escalation.models import Notification
from escalation.receivers import on_summary_ready
from escalation.services.notifications import notifications_create
from escalation.services.summaries import summary_notifications_create
from escalation.tests.conftest import OnCallTeam

pytestmark = pytest.mark.django_db


def test_a_daily_summary_lands_once_in_each_recipients_inbox(oncall: OnCallTeam) -> None:
    now = timezone.now()
    summary = DailySummary.objects.create(
        team=oncall.team,
        date=date(2026, 11, 22),
        period_start=now - timedelta(days=1),
        period_end=now,
        data={"alerts": {"created": 12}},
    )
    recipients = [oncall.first.pk, oncall.admin.pk]
    assert summary_notifications_create(summary_id=summary.pk, recipient_ids=recipients) == 2
    summary_notifications_create(summary_id=summary.pk, recipient_ids=recipients)  # a redelivered task
    inbox = Notification.objects.filter(kind="summary")
    assert sorted(inbox.values_list("recipient_id", flat=True)) == sorted(recipients)
    assert "12 alerts" in inbox.first().body  # type: ignore[union-attr]
    assert summary_notifications_create(summary_id=999_999, recipient_ids=recipients) == 0


def test_the_summary_signal_only_enqueues(oncall: OnCallTeam, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, object]] = []
    monkeypatch.setattr("escalation.tasks.summary_notify.delay", lambda **kwargs: sent.append(kwargs))
    on_summary_ready(None, summary_id=5, team_id=oncall.team.pk, recipient_ids=[oncall.first.pk])
    on_summary_ready(None, summary_id=6, team_id=oncall.team.pk, recipient_ids=[])
    assert sent == [{"summary_id": 5, "recipient_ids": [oncall.first.pk]}]


def test_retention_removes_read_notifications_after_the_period_only(oncall: OnCallTeam, settings: object) -> None:
    now = timezone.now()
    old_read = notifications_create(recipient=oncall.first, channel="in_app", key="old-read", title="a")
    old_unread = notifications_create(recipient=oncall.first, channel="in_app", key="old-unread", title="b")
    fresh_read = notifications_create(recipient=oncall.first, channel="in_app", key="fresh-read", title="c")
    Notification.objects.filter(pk=old_read.pk).update(read_at=now - timedelta(days=31))
    Notification.objects.filter(pk=fresh_read.pk).update(read_at=now - timedelta(days=2))

    dry = retention_run(dry_run=True, now=now)
    assert dry.targets["read_notifications"] == {"escalation.Notification": 1}
    assert Notification.objects.count() == 3

    retention_run(now=now)
    assert set(Notification.objects.values_list("pk", flat=True)) == {old_unread.pk, fresh_read.pk}
