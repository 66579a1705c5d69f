"""Selectors: the list's state annotations, unread count and audience, authorizing lookups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts import capabilities as caps
from accounts.models import TeamRole, UserRole
from accounts.tests.factories import MembershipFactory, UserFactory
from alertguardian.api import Forbidden, NotFound
from alerts.exceptions import InvalidAssignee
from alerts.hooks import BOOKING_RESOLVERS, BookingRef, booking_resolve, register_booking_resolver
from alerts.models import AlertEventKind, AlertStatus, AlertUserState
from alerts.selectors import (
    alert_detail_get,
    alert_get_for_user,
    alert_list,
    alert_unread_audience,
    alert_unread_count,
    assignee_get_for_team,
    team_get_for_alert_action,
)
from alerts.services import alert_note_add, alert_raise
from alerts.tests.factories import AlertFactory
from alerts.tests.helpers import make_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def test_alert_list_annotates_only_the_callers_state(cast):
    alert = AlertFactory(team=cast.team)
    read_at = datetime(2026, 1, 1, tzinfo=UTC)
    AlertUserState.objects.create(alert=alert, user=cast.owner, read_at=read_at)
    [for_agent] = alert_list(user=cast.agent)
    [for_owner] = alert_list(user=cast.owner)
    assert for_agent.my_read_at is None
    assert for_owner.my_read_at == read_at
    assert for_owner.my_dismissed_at is None


def test_unread_count_equals_the_documented_list(cast):
    now = datetime.now(UTC)
    for status in (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED):
        for state in ("none", "read", "dismissed"):
            alert = AlertFactory(team=cast.team, status=status)
            if state == "read":
                AlertUserState.objects.create(alert=alert, user=cast.agent, read_at=now)
            elif state == "dismissed":
                AlertUserState.objects.create(alert=alert, user=cast.agent, dismissed_at=now)
    documented = alert_list(
        user=cast.agent, filters={"unread": True, "status": [AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED]}
    )
    assert alert_unread_count(user=cast.agent) == documented.count() == 2


def test_unread_audience(cast):
    MembershipFactory(team=cast.team, user=UserFactory(role=UserRole.CUSTOMER), role=TeamRole.AGENT)
    MembershipFactory(team=cast.team, user=UserFactory(is_active=False), role=TeamRole.AGENT)
    alert = AlertFactory(team=cast.team, reported_by=cast.customer)
    audience = {user.pk for user in alert_unread_audience(alert=alert)}
    assert audience == {
        cast.owner.pk,
        cast.team_admin.pk,
        cast.agent.pk,
        cast.viewer.pk,
        cast.platform_admin.pk,
        cast.customer.pk,
    }


def test_detail_timeline_for_customers_keeps_state_changes_only(cast):
    alert = alert_raise(
        team=cast.team, type="route_blocked", severity="high", title="Road closed", reported_by=cast.customer
    ).alert
    alert_note_add(alert_id=alert.pk, by=cast.agent, note="internal")
    staff = alert_detail_get(user=cast.agent, alert_id=alert.pk)
    customer = alert_detail_get(user=cast.customer, alert_id=alert.pk)
    assert [event.kind for event in staff.timeline] == [AlertEventKind.TRIGGERED, AlertEventKind.NOTE]
    assert [event.kind for event in customer.timeline] == [AlertEventKind.TRIGGERED]
    assert customer.for_customer
    assert not staff.for_customer


@pytest.mark.parametrize("alert_id", [0, -1, 2**63, 10**30])
def test_out_of_range_ids_are_not_found(cast, alert_id):
    with pytest.raises(NotFound):
        alert_get_for_user(user=cast.agent, alert_id=alert_id)
    with pytest.raises(NotFound):
        alert_detail_get(user=cast.agent, alert_id=alert_id)


def test_team_get_for_alert_action(cast):
    assert team_get_for_alert_action(user=cast.owner, team_id=cast.team.pk, capability=caps.ALERTS_BROADCAST)
    with pytest.raises(Forbidden):
        team_get_for_alert_action(user=cast.agent, team_id=cast.team.pk, capability=caps.ALERTS_BROADCAST)
    with pytest.raises(NotFound):
        team_get_for_alert_action(user=cast.agent, team_id=cast.other_team.pk, capability=caps.ALERTS_MANAGE)
    with pytest.raises(NotFound):
        team_get_for_alert_action(user=cast.customer, team_id=cast.team.pk, capability=caps.ALERTS_MANAGE)
    with pytest.raises(NotFound):
        team_get_for_alert_action(user=cast.owner, team_id=2**64, capability=caps.ALERTS_MANAGE)


def test_assignee_must_be_active_staff_of_the_team(cast):
    assert assignee_get_for_team(team_id=cast.team.pk, assignee_id=cast.viewer.pk) == cast.viewer
    for outsider in (cast.other_agent.pk, cast.customer.pk, cast.platform_admin.pk, 2**70):
        with pytest.raises(InvalidAssignee) as excinfo:
            assignee_get_for_team(team_id=cast.team.pk, assignee_id=outsider)
        assert "assignee_id" in excinfo.value.details


def test_booking_resolvers_first_answer_wins_and_registration_is_idempotent(cast):
    ref = BookingRef(team_id=cast.team.pk, booking_id=7, reference="ABC123")

    def knows_nothing(user, typed):
        return None

    def knows_abc(user, typed):
        return ref if typed == "ABC123" else None

    def knows_everything(user, typed):
        return BookingRef(team_id=cast.other_team.pk, booking_id=8, reference=typed)

    for resolver in (knows_nothing, knows_abc, knows_abc, knows_everything):
        register_booking_resolver(resolver)
    try:
        assert BOOKING_RESOLVERS.count(knows_abc) == 1
        assert booking_resolve(user=cast.customer, booking="ABC123") == ref
        assert booking_resolve(user=cast.customer, booking="XYZ").booking_id == 8
    finally:
        for resolver in (knows_nothing, knows_abc, knows_everything):
            BOOKING_RESOLVERS.remove(resolver)
    assert booking_resolve(user=cast.customer, booking="ABC123") is None
