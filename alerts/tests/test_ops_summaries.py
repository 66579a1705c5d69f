"""Daily summaries: contents, schedule in the team's time zone, email and live delivery, API."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import TeamRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from alertguardian.realtime import team_group
from alertguardian.tests.live import captured_groups
from alerts.ops.checks import sla_check
from alerts.ops.models import DailySummary, SlaPolicy, TeamOpsSettings
from alerts.ops.summaries import daily_summaries_dispatch
from alerts.services import alert_acknowledge, alert_resolve
from alerts.tests.ops_factories import frozen, raise_at
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

# Europe/Paris is UTC+1 in March 2026 before the 29th: 08:00 local is 07:00 UTC.
PERIOD_START = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
PERIOD_END = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def at(hours: float, day: int = 1) -> datetime:
    """``hours`` after the start of the period (day 1) or a day later (day 2)."""
    return PERIOD_START + timedelta(days=day - 1, hours=hours)


@pytest.fixture
def desk():
    team = TeamFactory(name="Paris desk", timezone="Europe/Paris")
    agent = member(team)
    subscriber = member(team, team_role=TeamRole.ADMIN)
    former = member(team)
    settings_row = TeamOpsSettings.objects.create(team=team, summary_time=time(8, 0))
    settings_row.summary_subscribers.set([subscriber, former])
    former.memberships.all().delete()  # left the team: no more summaries
    SlaPolicy.objects.create(team=team, severity="critical", ack_within_minutes=30, at_risk_buffer_minutes=0)

    def flight(hours, type_, severity, origin=None, day=1):
        metadata = {"origin": origin} if origin else {}
        return raise_at(
            at(hours, day), team=team, type=type_, severity=severity, title=f"{type_} {hours}", metadata=metadata
        )

    early = flight(-12, "flight_delayed", "high", "LGA")  # before the period, resolved inside it
    a1 = flight(1, "flight_cancelled", "critical", "EWR")
    a2 = flight(2, "flight_delayed", "high", "JFK")
    flight(3, "flight_cancelled", "critical", "EWR")
    flight(5, "gate_change", "low")
    flight(0.5, "flight_delayed", "medium", "EWR", day=2)  # after the period
    with frozen(at(1 + 10 / 60)):
        alert_acknowledge(alert_id=a1.pk, by=agent)
    with frozen(at(2 + 20 / 60)):
        alert_acknowledge(alert_id=a2.pk, by=agent)
    with frozen(at(1 + 70 / 60)):
        alert_resolve(alert_id=a1.pk, by=agent)
    with frozen(at(1)):
        alert_resolve(alert_id=early.pk, by=agent)
    with frozen(at(3.6)):
        sla_check()  # a3 was not acknowledged within 30 minutes: one breach (and its alert)
    return {"team": team, "agent": agent, "subscriber": subscriber, "former": former}


def dispatch(moment: datetime) -> int:
    with frozen(moment):
        return daily_summaries_dispatch()


def test_summary_contents(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch(PERIOD_END + timedelta(minutes=1)) == 1
    summary = DailySummary.objects.get()
    assert summary.date.isoformat() == "2026-03-02"
    assert (summary.period_start, summary.period_end) == (PERIOD_START, PERIOD_END)
    data = summary.data
    assert data["alerts"]["created"] == 5  # four flights and the SLA breach alert
    assert data["alerts"]["by_severity"] == {"critical": 3, "high": 1, "medium": 0, "low": 1}
    assert data["alerts"]["by_type"] == {
        "flight_cancelled": 2,
        "flight_delayed": 1,
        "gate_change": 1,
        "sla_breached": 1,
    }
    assert data["alerts"]["resolved"] == 2
    assert data["alerts"]["open_now"] == 5
    assert data["acknowledged"] == 2
    assert data["mean_time_to_acknowledge_seconds"] == (10 * 60 + 20 * 60) / 2
    assert data["mean_time_to_resolve_seconds"] == (70 * 60 + 13 * 3600) / 2
    assert data["sla_breaches"] == {"total": 1, "ack": 1, "resolve": 0, "assign": 0}
    assert data["top_disrupted_airports"] == [{"airport": "EWR", "alerts": 2}, {"airport": "JFK", "alerts": 1}]
    assert AuditEntry.objects.filter(action="ops.summary_generated", target_id=str(summary.pk)).count() == 1


def test_built_once_after_the_local_summary_time(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch(PERIOD_END - timedelta(minutes=1)) == 0  # 07:59 in Paris
        assert dispatch(PERIOD_END + timedelta(minutes=1)) == 1
        assert dispatch(PERIOD_END + timedelta(minutes=2)) == 0
        assert dispatch(PERIOD_END + timedelta(hours=20)) == 0
        assert dispatch(PERIOD_END + timedelta(days=1, minutes=1)) == 1
    assert list(DailySummary.objects.order_by("date").values_list("date", flat=True)) == [
        datetime(2026, 3, 2).date(),
        datetime(2026, 3, 3).date(),
    ]


def test_emailed_to_subscribed_staff_only(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(PERIOD_END + timedelta(minutes=1))
    assert [message.to for message in mail.outbox] == [[desk["subscriber"].email]]
    message = mail.outbox[0]
    assert message.subject == "[Alert Guardian] Paris desk summary for 2026-03-02"
    assert "Alerts created: 5" in message.body
    assert "Top disrupted airports: EWR 2, JFK 1" in message.body
    assert DailySummary.objects.get().emailed_to == 1


def test_disabled_summaries_are_not_built(desk):
    TeamOpsSettings.objects.filter(team=desk["team"]).update(summary_enabled=False)
    assert dispatch(PERIOD_END + timedelta(minutes=1)) == 0


def test_summary_ready_is_published_to_the_team_group(desk, django_capture_on_commit_callbacks):
    with captured_groups(team_group(desk["team"].pk)) as received, django_capture_on_commit_callbacks(execute=True):
        dispatch(PERIOD_END + timedelta(minutes=1))
    event = next(e for e in received[team_group(desk["team"].pk)] if e["type"] == "summary.ready")
    summary = DailySummary.objects.get()
    assert event["version"] == 1
    assert event["summary"]["id"] == summary.pk
    assert event["summary"]["date"] == "2026-03-02"


def test_summaries_api(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(PERIOD_END + timedelta(minutes=1))
        dispatch(PERIOD_END + timedelta(days=1, minutes=1))
    client = APIClient()
    client.force_authenticate(desk["agent"])
    url = f"/api/v1/teams/{desk['team'].pk}/summaries"
    response = client.get(url)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["date"] for r in results] == ["2026-03-03", "2026-03-02"]
    assert results[1]["data"]["alerts"]["created"] == 5
    assert [r["date"] for r in client.get(url + "?date_to=2026-03-02").json()["results"]] == ["2026-03-02"]
    detail = client.get(f"{url}/{results[0]['id']}")
    assert detail.status_code == 200
    assert detail.json()["kind"] == "daily"
    assert client.get(url + "?date_from=soon").status_code == 400

    stranger = APIClient()
    stranger.force_authenticate(member(TeamFactory()))
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"{url}/{results[0]['id']}").status_code == 404
    customer = APIClient()
    customer.force_authenticate(UserFactory(role="customer"))
    assert customer.get(url).status_code == 404


def test_summary_ready_signal_names_the_subscribers_for_in_app_notifications(desk, django_capture_on_commit_callbacks):
    from alerts.ops.signals import summary_ready

    received = []
    summary_ready.connect(lambda sender, signal, **kw: received.append(kw), weak=False, dispatch_uid="ops-test")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            dispatch(PERIOD_END + timedelta(minutes=1))
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        summary_ready.disconnect(dispatch_uid="ops-test")
    summary = DailySummary.objects.get()
    assert received == [
        {"summary_id": summary.pk, "team_id": desk["team"].pk, "recipient_ids": [desk["subscriber"].pk]}
    ]
