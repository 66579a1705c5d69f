from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import TeamRole
from accounts.tests.factories import TeamFactory, member
from alerts.models import Alert, AlertStatus
from alerts.ops.checks import sla_check
from alerts.ops.models import SlaEvent, SlaPolicy
from alerts.services import alert_acknowledge, alert_assign, alert_resolve
from alerts.tests.ops_factories import frozen, raise_at

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def team():
    team = TeamFactory(timezone="Europe/Paris")
    SlaPolicy.objects.create(
        team=team, severity="high", ack_within_minutes=30, resolve_within_minutes=240, at_risk_buffer_minutes=10
    )
    return team


def run_check(at: datetime) -> dict[str, int]:
    with frozen(at):
        return sla_check()


def sla_alerts(**filters):
    return Alert.objects.filter(type__in=["sla_at_risk", "sla_breached"], **filters).order_by("pk")


def test_ack_at_risk_then_breached_to_the_owner_and_never_twice(team):
    agent = member(team)
    original = raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA1 delayed 3h")
    with frozen(T0):
        alert_assign(alert_id=original.pk, by=None, assignee=agent)

    assert run_check(minutes(19))["fired"] == 0
    assert not sla_alerts().exists()

    assert run_check(minutes(21))["fired"] == 1
    at_risk = sla_alerts().get()
    assert at_risk.type == "sla_at_risk"
    assert at_risk.severity == "medium"
    assert at_risk.source == "system"
    assert at_risk.assignee == agent
    assert at_risk.dedup_key == f"sla:{original.pk}:ack:at_risk"
    assert at_risk.metadata["alert_id"] == original.pk
    assert at_risk.metadata["audience"] == "assignee"
    assert at_risk.metadata["deadline"] == minutes(30).isoformat()
    assert "10:30 CET" in at_risk.title  # deadline shown in the team's time zone

    assert run_check(minutes(22))["fired"] == 0
    at_risk.refresh_from_db()
    assert at_risk.occurrences == 1
    assert sla_alerts().count() == 1

    assert run_check(minutes(31))["fired"] == 1
    breached = sla_alerts(type="sla_breached").get()
    assert breached.severity == "critical"
    assert breached.assignee == agent
    assert breached.dedup_key == f"sla:{original.pk}:ack:breached"
    at_risk.refresh_from_db()
    assert at_risk.status == AlertStatus.RESOLVED  # superseded by the breach

    assert run_check(minutes(45))["fired"] == 0
    assert sla_alerts().count() == 2
    assert set(SlaEvent.objects.values_list("kind", "stage")) == {("ack", "at_risk"), ("ack", "breached")}


def test_unassigned_alert_goes_to_the_team_and_clears_on_acknowledge(team):
    agent = member(team)
    original = raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA2 delayed")
    run_check(minutes(35))
    breached = sla_alerts().get()
    # The check ran after the deadline: no at-risk warning, straight to breached.
    assert breached.type == "sla_breached"
    assert breached.assignee is None
    assert breached.metadata["audience"] == "team"

    with frozen(minutes(36)):
        alert_acknowledge(alert_id=original.pk, by=agent)
    result = run_check(minutes(37))
    assert result["cleared"] == 1
    breached.refresh_from_db()
    assert breached.status == AlertStatus.RESOLVED
    # The breach stays on record for the summaries.
    assert SlaEvent.objects.filter(alert=original, stage="breached").count() == 1


def test_resolve_deadline_runs_while_acknowledged(team):
    agent = member(team)
    original = raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA3 delayed")
    with frozen(minutes(5)):
        alert_acknowledge(alert_id=original.pk, by=agent)
    assert run_check(minutes(60))["fired"] == 0  # acknowledged in time: no ack SLA alert
    assert run_check(minutes(231))["fired"] == 1
    assert sla_alerts().get().dedup_key == f"sla:{original.pk}:resolve:at_risk"
    assert run_check(minutes(241))["fired"] == 1
    assert sla_alerts(status__in=["triggered", "acknowledged"]).get().dedup_key == f"sla:{original.pk}:resolve:breached"
    with frozen(minutes(250)):
        alert_resolve(alert_id=original.pk, by=agent)
    run_check(minutes(251))
    assert not sla_alerts(status__in=["triggered", "acknowledged"]).exists()


def test_a_manually_resolved_sla_alert_is_not_raised_again(team):
    raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA4 delayed")
    run_check(minutes(21))
    at_risk = sla_alerts().get()
    with frozen(minutes(22)):
        alert_resolve(alert_id=at_risk.pk, by=None, note="seen")
    assert run_check(minutes(23))["fired"] == 0
    assert sla_alerts().count() == 1


def test_other_severities_disabled_policies_and_sla_alerts_themselves_are_ignored(team):
    SlaPolicy.objects.create(team=team, severity="critical", ack_within_minutes=5, at_risk_buffer_minutes=0)
    SlaPolicy.objects.create(team=team, severity="medium", ack_within_minutes=5, at_risk_buffer_minutes=0)
    SlaPolicy.objects.filter(team=team, severity="high").update(enabled=False)
    raise_at(T0, team=team, type="flight_delayed", severity="high", title="high, policy disabled")
    raise_at(T0, team=team, type="flight_delayed", severity="low", title="low, no policy")
    critical = raise_at(T0, team=team, type="flight_cancelled", severity="critical", title="critical")
    run_check(minutes(6))
    assert list(sla_alerts().values_list("metadata__alert_id", flat=True)) == [critical.pk]
    # The breach alert is critical and the medium at-risk policy exists, yet neither is
    # itself subject to an SLA (no alerts about alerts about alerts).
    assert run_check(minutes(30))["fired"] == 0


def test_another_teams_alerts_are_not_checked_against_this_policy(team):
    other = TeamFactory()
    raise_at(T0, team=other, type="flight_delayed", severity="high", title="other team")
    assert run_check(minutes(31))["fired"] == 0


def test_owner_who_left_the_team_leaves_the_sla_alert_with_the_team(team):
    agent = member(team)
    original = raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA5 delayed")
    with frozen(T0):
        alert_assign(alert_id=original.pk, by=None, assignee=agent)
    agent.memberships.all().delete()
    run_check(minutes(31))
    breached = sla_alerts().get()
    assert breached.assignee is None
    assert breached.metadata["assignee_id"] == agent.pk


def test_team_admin_is_not_the_owner_of_team_alerts(team):
    member(team, team_role=TeamRole.ADMIN)
    raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA6 delayed")
    run_check(minutes(21))
    assert sla_alerts().get().assignee is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_fire_once():
    import threading

    from django.db import connection

    team = TeamFactory()
    SlaPolicy.objects.create(team=team, severity="high", ack_within_minutes=30, at_risk_buffer_minutes=0)
    originals = [raise_at(T0, team=team, type="flight_delayed", severity="high", title=f"UA{n}") for n in range(5)]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            sla_check()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    with frozen(minutes(31)):  # one clock for all threads
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert sla_alerts().count() == len(originals)
    assert SlaEvent.objects.count() == len(originals)
