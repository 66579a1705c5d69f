"""POST /api/v1/alerts (customer report, manual alert) and POST /api/v1/alerts/broadcast."""

from __future__ import annotations

import pytest

from accounts.models import UserRole
from accounts.tests.factories import UserFactory
from alerts import signals
from alerts.hooks import BookingRef
from alerts.models import Alert, AlertSource
from alerts.tests.helpers import api, booking_resolver, make_cast, published_events
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LIST = "/api/v1/alerts"
BROADCAST = "/api/v1/alerts/broadcast"


@pytest.fixture
def cast():
    return make_cast()


@pytest.fixture
def bookings(cast):
    """The customer owns booking AG7K2Q (id 41) handled by ``cast.team``."""
    known = {
        (cast.customer.pk, "AG7K2Q"): BookingRef(
            team_id=cast.team.pk, booking_id=41, reference="AG7K2Q", resource="UA1545-2013-01-01-EWR"
        ),
        (cast.customer.pk, "41"): BookingRef(
            team_id=cast.team.pk, booking_id=41, reference="AG7K2Q", resource="UA1545-2013-01-01-EWR"
        ),
    }
    with booking_resolver(known):
        yield known


def test_customer_reports_problem_with_their_booking(cast, bookings):
    response = api(cast.customer).post(
        LIST, {"kind": "hotel_overbooked", "booking": " AG7K2Q ", "message": "No room at the Ritz"}, format="json"
    )
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["id"])
    assert alert.team_id == cast.team.pk
    assert alert.source == AlertSource.CUSTOMER_REPORT
    assert alert.type == "hotel_overbooked"
    assert alert.severity == "high"
    assert alert.reported_by_id == cast.customer.pk
    assert alert.resource == "UA1545-2013-01-01-EWR"
    assert alert.metadata == {"booking_id": 41, "booking_reference": "AG7K2Q", "report_kind": "hotel_overbooked"}
    assert "AG7K2Q" in alert.title
    assert alert.message == "No room at the Ritz"
    entry = AuditEntry.objects.get(action="alert.raised", target_id=str(alert.pk))
    assert entry.actor_id == cast.customer.pk
    # The reporter sees their report; the handling team sees it too; other teams do not.
    assert [item["id"] for item in api(cast.customer).get(LIST).json()["results"]] == [alert.pk]
    assert api(cast.agent).get(f"{LIST}/{alert.pk}").status_code == 200
    assert api(cast.other_agent).get(f"{LIST}/{alert.pk}").status_code == 404


def test_repeated_report_folds_into_the_open_one(cast, bookings):
    client = api(cast.customer)
    first = client.post(LIST, {"kind": "route_blocked", "booking": "AG7K2Q"}, format="json")
    second = client.post(LIST, {"kind": "route_blocked", "booking": "41", "message": "still blocked"}, format="json")
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["occurrences"] == 2
    other_kind = client.post(LIST, {"kind": "other", "booking": "AG7K2Q", "message": "and lost luggage"}, format="json")
    assert other_kind.status_code == 201
    assert Alert.objects.count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "hotel_overbooked", "booking": "ZZZZZZ"}, "booking"),
        ({"kind": "hotel_overbooked"}, "booking"),
        ({"kind": "hotel_overbooked", "booking": ""}, "booking"),
        ({"kind": "volcano", "booking": "AG7K2Q"}, "kind"),
        ({"booking": "AG7K2Q"}, "kind"),
        ({"kind": "other", "booking": "AG7K2Q"}, "message"),
        ({"kind": "other", "booking": "AG7K2Q", "message": "   "}, "message"),
        ({"kind": ["other"], "booking": "AG7K2Q"}, "kind"),
        ({"kind": "hotel_overbooked", "booking": {"id": 41}}, "booking"),
        ({"kind": "hotel_overbooked", "booking": "AG7K2Q", "message": "x" * 4001}, "message"),
    ],
)
def test_bad_customer_reports_are_400_naming_the_field(cast, bookings, payload, field):
    response = api(cast.customer).post(LIST, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["details"]
    assert not Alert.objects.exists()


def test_someone_elses_booking_is_unknown(cast, bookings):
    stranger = UserFactory(role=UserRole.CUSTOMER)
    response = api(stranger).post(LIST, {"kind": "hotel_overbooked", "booking": "AG7K2Q"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_booking"
    assert not Alert.objects.exists()


def test_without_any_resolver_a_report_is_400(cast):
    response = api(cast.customer).post(LIST, {"kind": "route_blocked", "booking": "AG7K2Q"}, format="json")
    assert response.status_code == 400
    assert "booking" in response.json()["details"]


def test_customer_cannot_pick_a_team(cast, bookings):
    """A customer's body is a report; a staff-shaped body is refused, not honoured."""
    payload = {"team": cast.other_team.pk, "type": "x", "severity": "low", "title": "Hi"}
    response = api(cast.customer).post(LIST, payload, format="json")
    assert response.status_code == 400
    assert not Alert.objects.exists()


MANUAL = {"type": "payment_failed", "severity": "critical", "title": "Card processor down", "message": "All declines"}


@pytest.mark.parametrize("role", ["agent", "owner", "platform_admin"])
def test_staff_raise_manual_alert_for_a_team_they_manage(cast, role):
    user = getattr(cast, role)
    response = api(user).post(LIST, {**MANUAL, "team": cast.team.pk, "resource": "psp:stripe"}, format="json")
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["id"])
    assert (alert.team_id, alert.type, alert.severity, alert.resource) == (
        cast.team.pk,
        "payment_failed",
        "critical",
        "psp:stripe",
    )
    assert alert.metadata == {"origin": "manual", "created_by": user.pk}
    assert AuditEntry.objects.get(action="alert.raised", target_id=str(alert.pk)).actor_id == user.pk


def test_manual_alert_permissions(cast):
    assert api(cast.viewer).post(LIST, {**MANUAL, "team": cast.team.pk}, format="json").status_code == 403
    assert api(cast.agent).post(LIST, {**MANUAL, "team": cast.other_team.pk}, format="json").status_code == 404
    assert api(cast.agent).post(LIST, {**MANUAL, "team": 987654321}, format="json").status_code == 404
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"severity": "urgent"}, "severity"),
        ({"type": "Has Spaces"}, "type"),
        ({"type": ""}, "type"),
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"team": "abc"}, "team"),
        ({"team": None}, "team"),
        ({"team": 99999999999999999999999}, "team"),
    ],
)
def test_manual_alert_bad_input_is_400(cast, change, field):
    response = api(cast.agent).post(LIST, {**MANUAL, "team": cast.team.pk, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["details"]
    assert not Alert.objects.exists()


def test_broadcast_by_team_admin_reaches_every_staff_member(cast, django_capture_on_commit_callbacks):
    received = []
    signals.alert_broadcast.connect(
        lambda sender, signal, **kw: received.append(kw), weak=False, dispatch_uid="t-broadcast"
    )
    try:
        with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
            response = api(cast.team_admin).post(
                BROADCAST,
                {"team": cast.team.pk, "title": "Storm in ORD", "message": "Expect cancellations", "severity": "high"},
                format="json",
            )
    finally:
        signals.alert_broadcast.disconnect(dispatch_uid="t-broadcast")
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["id"])
    assert (alert.source, alert.type, alert.severity, alert.message) == (
        "broadcast",
        "broadcast",
        "high",
        "Expect cancellations",
    )
    broadcast_groups = sorted(group for group, event in sent if event["type"] == "alert.broadcast")
    staff = [cast.owner, cast.team_admin, cast.agent, cast.viewer]
    assert broadcast_groups == sorted(f"user.{user.pk}" for user in staff)
    assert f"user.{cast.other_agent.pk}" not in {group for group, _ in sent}
    event = next(event for group, event in sent if event["type"] == "alert.broadcast")
    assert event == {
        "type": "alert.broadcast",
        "version": 1,
        "alert": event["alert"],
        "message": "Expect cancellations",
    }
    assert event["alert"]["id"] == alert.pk
    assert received == [{"alert_id": alert.pk, "team_id": cast.team.pk}]
    entry = AuditEntry.objects.get(action="alert.broadcast", target_id=str(alert.pk))
    assert entry.actor_id == cast.team_admin.pk
    assert sorted(entry.data["recipients"]) == sorted(user.pk for user in staff)


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("viewer", 403), ("other_agent", 404), ("customer", 404)])
def test_broadcast_needs_the_broadcast_permission(cast, role, status):
    response = api(getattr(cast, role)).post(
        BROADCAST, {"team": cast.team.pk, "title": "Hi", "message": "there"}, format="json"
    )
    assert response.status_code == status
    assert not Alert.objects.exists()


def test_broadcast_bad_input(cast):
    response = api(cast.owner).post(BROADCAST, {"team": cast.team.pk, "title": "Hi", "severity": "loud"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"message", "severity"}
