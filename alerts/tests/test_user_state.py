"""Per-user read/dismiss services, the unread.count live event and its fan-out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.tests.factories import member
from alertguardian.celery import app as celery_app
from alertguardian.tests.live import captured_groups
from alerts.events import USER_EVENT_TYPES, unread_count_event
from alerts.models import AlertStatus, AlertUserState
from alerts.services import (
    alert_dismiss,
    alert_mark_read,
    alert_mark_unread,
    alert_raise,
    alert_resolve,
    alert_undismiss,
    alert_unread_counts_publish,
)
from alerts.services.user_state import alerts_unread_counts_publish
from alerts.tests.factories import AlertFactory
from alerts.tests.helpers import make_cast, published_events
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def unread_events(sent) -> list[tuple[str, int]]:
    return [(group, event["count"]) for group, event in sent if event["type"] == "unread.count"]


def test_unread_count_event_schema():
    assert unread_count_event(3) == {"type": "unread.count", "version": 1, "count": 3}
    assert "unread.count" in USER_EVENT_TYPES


def test_mark_read_is_idempotent_audited_once_and_publishes_on_commit(cast, django_capture_on_commit_callbacks):
    alert = AlertFactory(team=cast.team)
    AlertFactory(team=cast.team)
    with published_events() as sent:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            state = alert_mark_read(alert=alert, user=cast.agent)
        assert sent == []  # nothing leaves before commit
        for callback in callbacks:
            callback()
    assert state.read_at is not None
    assert unread_events(sent) == [(f"user.{cast.agent.pk}", 1)]

    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        again = alert_mark_read(alert=alert, user=cast.agent)
    assert again.read_at == state.read_at
    assert sent == []
    assert AuditEntry.objects.filter(action="alert.read", target_id=str(alert.pk)).count() == 1
    assert AlertUserState.objects.filter(alert=alert, user=cast.agent).count() == 1


def test_unread_and_dismiss_publish_only_when_the_count_moves(cast, django_capture_on_commit_callbacks):
    alert = AlertFactory(team=cast.team)
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        alert_mark_read(alert=alert, user=cast.agent)  # 1 → 0
        alert_dismiss(alert=alert, user=cast.agent)  # already read: count unchanged
        alert_mark_unread(alert=alert, user=cast.agent)  # dismissed: still not counted
        alert_undismiss(alert=alert, user=cast.agent)  # unread and back: 0 → 1
    assert unread_events(sent) == [(f"user.{cast.agent.pk}", 0), (f"user.{cast.agent.pk}", 1)]
    actions = list(AuditEntry.objects.filter(target_id=str(alert.pk)).order_by("id").values_list("action", "actor_id"))
    assert actions == [
        ("alert.read", cast.agent.pk),
        ("alert.dismissed", cast.agent.pk),
        ("alert.unread", cast.agent.pk),
        ("alert.undismissed", cast.agent.pk),
    ]


def test_state_of_a_resolved_alert_does_not_move_the_count(cast, django_capture_on_commit_callbacks):
    alert = AlertFactory(team=cast.team, status=AlertStatus.RESOLVED)
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        alert_mark_read(alert=alert, user=cast.agent)
        alert_dismiss(alert=alert, user=cast.agent)
    assert unread_events(sent) == []


def test_state_is_personal(cast):
    alert = AlertFactory(team=cast.team)
    alert_dismiss(alert=alert, user=cast.agent)
    owner_state = alert_mark_read(alert=alert, user=cast.owner)
    assert owner_state.dismissed_at is None
    assert AlertUserState.objects.get(alert=alert, user=cast.agent).read_at is None


@pytest.mark.django_db(transaction=True)
def test_unread_count_reaches_the_users_channel_group():
    """Through the real channel layer (Redis with REDIS_URL, in-memory otherwise)."""
    cast = make_cast()
    alert = AlertFactory(team=cast.team)
    with captured_groups(f"user.{cast.agent.pk}") as received:
        alert_mark_read(alert=alert, user=cast.agent)  # autocommit: on_commit runs at once
    assert received[f"user.{cast.agent.pk}"] == [{"type": "unread.count", "version": 1, "count": 0}]


def test_fan_out_tells_everyone_whose_count_moved(cast, django_capture_on_commit_callbacks):
    inactive = member(cast.team, is_active=False)
    alert = AlertFactory(team=cast.team, reported_by=cast.customer)
    AlertFactory(team=cast.other_team)
    alert_mark_read(alert=alert, user=cast.owner)
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        told = alert_unread_counts_publish(alert_id=alert.pk)
    counts = dict(unread_events(sent))
    expected = {
        cast.owner.pk: 0,
        cast.team_admin.pk: 1,
        cast.agent.pk: 1,
        cast.viewer.pk: 1,
        cast.customer.pk: 1,
        cast.platform_admin.pk: 2,
    }
    assert counts == {f"user.{user_id}": count for user_id, count in expected.items()}
    assert told == len(expected)
    assert f"user.{inactive.pk}" not in counts
    assert alert_unread_counts_publish(alert_id=987654321) == 0


def test_fan_out_for_alerts_raised_together_tells_each_user_once(cast, django_capture_on_commit_callbacks):
    alerts = [AlertFactory(team=cast.team), AlertFactory(team=cast.team), AlertFactory(team=cast.other_team)]
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        told = alerts_unread_counts_publish(alert_ids=[alert.pk for alert in alerts])
    groups = [group for group, _ in unread_events(sent)]
    assert len(groups) == len(set(groups)) == told  # nobody twice
    assert f"user.{cast.agent.pk}" in groups and f"user.{cast.platform_admin.pk}" in groups
    assert dict(unread_events(sent))[f"user.{cast.agent.pk}"] == 2


@pytest.fixture
def eager_celery() -> Iterator[None]:
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@pytest.mark.usefixtures("eager_celery")
def test_raise_and_resolve_push_new_counts_through_the_task(cast, django_capture_on_commit_callbacks):
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise(team=cast.team, type="flight_cancelled", severity="critical", title="UA1 cancelled").alert
    assert (f"user.{cast.agent.pk}", 1) in unread_events(sent)
    assert f"user.{cast.other_agent.pk}" not in dict(unread_events(sent))

    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        alert_resolve(alert_id=alert.pk, by=cast.agent)
    assert (f"user.{cast.agent.pk}", 0) in unread_events(sent)
