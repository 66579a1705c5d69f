"""GET /api/v1/alerts, /alerts/<id>, /alerts/unread-count: visibility, filters, pages, queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from accounts.models import UserRole
from accounts.tests.factories import UserFactory
from alerts.hooks import CUSTOMER_VISIBILITY_HOOKS, register_customer_visibility_hook
from alerts.models import AlertStatus, AlertUserState
from alerts.services import alert_acknowledge, alert_note_add, alert_raise, alert_resolve
from alerts.tests.factories import AlertFactory
from alerts.tests.helpers import api, make_cast

pytestmark = pytest.mark.django_db

LIST = "/api/v1/alerts"


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def cast():
    return make_cast()


def test_staff_see_their_teams_alerts_newest_first_and_admins_see_all(cast):
    first = AlertFactory(team=cast.team)
    second = AlertFactory(team=cast.team)
    foreign = AlertFactory(team=cast.other_team)
    assert ids(api(cast.agent).get(LIST)) == [second.pk, first.pk]
    assert ids(api(cast.viewer).get(LIST)) == [second.pk, first.pk]
    assert ids(api(cast.other_agent).get(LIST)) == [foreign.pk]
    assert ids(api(cast.platform_admin).get(LIST)) == [foreign.pk, second.pk, first.pk]


def test_list_requires_authentication():
    response = api().get(LIST)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_item_shape_carries_my_read_and_dismissed_flags(cast):
    alert = AlertFactory(team=cast.team, assignee=cast.agent, resource="UA1-2013-01-01-EWR")
    AlertUserState.objects.create(alert=alert, user=cast.agent, read_at=datetime.now(UTC))
    [mine] = api(cast.agent).get(LIST).json()["results"]
    [theirs] = api(cast.owner).get(LIST).json()["results"]
    assert mine["read"] is True
    assert theirs["read"] is False
    assert mine["dismissed"] is False
    assert mine["team"] == {"id": cast.team.pk, "name": cast.team.name}
    assert mine["assignee"] == {"id": cast.agent.pk, "full_name": cast.agent.full_name}
    assert mine["resource"] == "UA1-2013-01-01-EWR"
    assert set(mine) >= {"status", "severity", "type", "title", "created_at", "ack_deadline", "occurrences"}


def test_customer_sees_own_reports_and_hooked_alerts_only(cast):
    own = AlertFactory(team=cast.team, reported_by=cast.customer)
    about_booking = AlertFactory(team=cast.team, resource="booking-of-customer")
    AlertFactory(team=cast.team)
    AlertFactory(team=cast.team, reported_by=UserFactory(role=UserRole.CUSTOMER))

    def hook(user):
        return Q(resource="booking-of-customer") if user.pk == cast.customer.pk else Q(pk__in=[])

    register_customer_visibility_hook(hook)
    try:
        assert ids(api(cast.customer).get(LIST)) == [about_booking.pk, own.pk]
    finally:
        CUSTOMER_VISIBILITY_HOOKS.remove(hook)
    assert ids(api(cast.customer).get(LIST)) == [own.pk]


def test_filters_status_severity_type_team(cast):
    triggered = AlertFactory(team=cast.team, severity="low", type="flight_delayed")
    acked = AlertFactory(team=cast.team, status=AlertStatus.ACKNOWLEDGED, severity="high", type="flight_cancelled")
    resolved = AlertFactory(team=cast.team, status=AlertStatus.RESOLVED, severity="critical", type="flight_delayed")
    other = AlertFactory(team=cast.other_team, severity="medium")
    client = api(cast.platform_admin)
    assert ids(client.get(LIST, {"status": ["triggered", "acknowledged"], "team": cast.team.pk})) == [
        acked.pk,
        triggered.pk,
    ]
    assert ids(client.get(LIST, {"status": "triggered,resolved", "team": cast.team.pk})) == [resolved.pk, triggered.pk]
    assert ids(client.get(LIST, {"severity": ["critical", "high"]})) == [resolved.pk, acked.pk]
    assert ids(client.get(LIST, {"type": "flight_delayed", "team": cast.team.pk})) == [resolved.pk, triggered.pk]
    assert ids(client.get(LIST, {"team": cast.other_team.pk})) == [other.pk]
    # A team the caller cannot see filters to nothing (and reveals nothing).
    assert ids(api(cast.agent).get(LIST, {"team": cast.other_team.pk})) == []


def test_filters_assigned_unread_dismissed(cast):
    mine = AlertFactory(team=cast.team, assignee=cast.agent)
    unassigned = AlertFactory(team=cast.team)
    read = AlertFactory(team=cast.team, assignee=cast.owner)
    dismissed = AlertFactory(team=cast.team)
    now = datetime.now(UTC)
    AlertUserState.objects.create(alert=read, user=cast.agent, read_at=now)
    AlertUserState.objects.create(alert=dismissed, user=cast.agent, dismissed_at=now)
    client = api(cast.agent)
    assert ids(client.get(LIST, {"assigned": "me"})) == [mine.pk]
    assert ids(client.get(LIST, {"assigned": "none"})) == [unassigned.pk]
    assert ids(client.get(LIST, {"unread": "true"})) == [unassigned.pk, mine.pk]
    assert ids(client.get(LIST, {"unread": "false"})) == [read.pk]
    assert ids(client.get(LIST)) == [read.pk, unassigned.pk, mine.pk]
    assert ids(client.get(LIST, {"include_dismissed": "true"})) == [dismissed.pk, read.pk, unassigned.pk, mine.pk]
    # Dismissing is personal: the owner still sees it.
    assert dismissed.pk in ids(api(cast.owner).get(LIST))


def test_filters_created_range_and_search(cast):
    jan = AlertFactory(team=cast.team, created_at=datetime(2026, 1, 10, tzinfo=UTC), title="Hotel Ritz overbooked")
    feb = AlertFactory(team=cast.team, created_at=datetime(2026, 2, 10, tzinfo=UTC), message="gate moved to B12")
    mar = AlertFactory(team=cast.team, created_at=datetime(2026, 3, 10, tzinfo=UTC), resource="UA1545-2013-01-01-EWR")
    client = api(cast.agent)
    assert ids(client.get(LIST, {"created_since": "2026-02-01T00:00:00Z"})) == [mar.pk, feb.pk]
    assert ids(client.get(LIST, {"created_until": "2026-02-10T00:00:00+00:00"})) == [feb.pk, jan.pk]
    assert ids(client.get(LIST, {"created_since": "2026-01-11T00:00:00Z", "created_until": "2026-03-01T00:00Z"})) == [
        feb.pk
    ]
    assert ids(client.get(LIST, {"search": "ritz"})) == [jan.pk]
    assert ids(client.get(LIST, {"search": "B12"})) == [feb.pk]
    assert ids(client.get(LIST, {"search": "ua1545"})) == [mar.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "open"}, "status"),
        ({"status": ["triggered", "bogus"]}, "status"),
        ({"severity": "urgent"}, "severity"),
        ({"team": "abc"}, "team"),
        ({"team": "99999999999999999999999"}, "team"),
        ({"assigned": "someone"}, "assigned"),
        ({"unread": "maybe"}, "unread"),
        ({"include_dismissed": "2"}, "include_dismissed"),
        ({"created_since": "yesterday"}, "created_since"),
        ({"created_since": "2026-02-01T00:00:00Z", "created_until": "2026-01-01T00:00:00Z"}, "created_until"),
        ({"search": "x" * 201}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(cast, params, field):
    response = api(cast.agent).get(LIST, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["details"]


def test_cursor_pages_cover_every_alert_once(cast):
    created = [AlertFactory(team=cast.team).pk for _ in range(7)]
    client = api(cast.agent)
    seen = []
    url = f"{LIST}?page_size=3"
    pages = 0
    while url:
        response = client.get(url)
        seen += ids(response)
        url = response.json()["next"]
        pages += 1
    assert pages == 3
    assert seen == sorted(created, reverse=True)


def _alerts_with_state(cast, count):
    now = datetime.now(UTC)
    for index in range(count):
        alert = AlertFactory(team=cast.team, assignee=cast.agent if index % 2 else cast.owner)
        AlertUserState.objects.create(alert=alert, user=cast.agent, read_at=now if index % 3 else None)


def _list_queries(client, page_size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, {"page_size": page_size, "status": "triggered"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    return len(queries)


def test_list_runs_a_constant_number_of_queries(cast, django_assert_max_num_queries):
    _alerts_with_state(cast, 40)
    client = api(cast.agent)
    small = _list_queries(client, 2)
    large = _list_queries(client, 40)
    assert small == large
    with django_assert_max_num_queries(2):  # the caller's teams, then the page itself
        client.get(LIST, {"page_size": 40})


def test_detail_for_staff_has_all_fields_timeline_and_my_state(cast):
    alert = alert_raise(team=cast.team, type="flight_delayed", severity="high", title="UA1 delayed").alert
    alert_acknowledge(alert_id=alert.pk, by=cast.agent, note="on it")
    alert_note_add(alert_id=alert.pk, by=cast.agent, note="called the hotel")
    AlertUserState.objects.create(alert=alert, user=cast.owner, read_at=datetime.now(UTC))

    body = api(cast.owner).get(f"{LIST}/{alert.pk}").json()
    assert body["alert"]["id"] == alert.pk
    assert body["alert"]["status"] == "acknowledged"
    assert body["alert"]["acknowledged_by"]["id"] == cast.agent.pk
    assert body["alert"]["read"] is True
    assert body["alert"]["read_at"] is not None
    assert body["alert"]["dismissed_at"] is None
    assert {"message", "metadata", "dedup_key", "resolution_note", "integration_id"} <= set(body["alert"])
    assert [entry["kind"] for entry in body["timeline"]] == ["triggered", "acknowledged", "note"]
    assert body["timeline"][2]["message"] == "called the hotel"
    assert body["timeline"][2]["actor_label"] == cast.agent.email


def test_detail_runs_a_constant_number_of_queries(cast, django_assert_max_num_queries):
    alert = alert_raise(team=cast.team, type="flight_delayed", severity="high", title="UA1 delayed").alert
    for index in range(30):
        alert_note_add(alert_id=alert.pk, by=cast.agent if index % 2 else cast.owner, note=f"note {index}")
    with django_assert_max_num_queries(3):  # the caller's teams, the alert with its people, the timeline
        response = api(cast.agent).get(f"{LIST}/{alert.pk}")
    assert len(response.json()["timeline"]) == 31


def test_detail_for_customer_hides_internal_notes_and_actors(cast):
    alert = alert_raise(
        team=cast.team,
        type="hotel_overbooked",
        severity="high",
        title="Hotel overbooked",
        reported_by=cast.customer,
        metadata={"internal": "x"},
    ).alert
    alert_note_add(alert_id=alert.pk, by=cast.agent, note="customer is difficult")
    alert_resolve(alert_id=alert.pk, by=cast.agent, note="rebooked")

    body = api(cast.customer).get(f"{LIST}/{alert.pk}").json()
    assert [entry["kind"] for entry in body["timeline"]] == ["triggered", "resolved"]
    assert body["timeline"][0] == {"kind": "triggered", "created_at": body["timeline"][0]["created_at"]}
    assert "metadata" not in body["alert"]
    assert "assignee" not in body["alert"]
    assert "difficult" not in str(body)
    assert body["alert"]["status"] == "resolved"


@pytest.mark.parametrize("alert_id", ["0", "999999", "99999999999999999999999"])
def test_detail_of_unknown_alert_is_404(cast, alert_id):
    response = api(cast.agent).get(f"{LIST}/{alert_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_other_tenants_alert_is_404_for_every_endpoint(cast):
    foreign = AlertFactory(team=cast.other_team)
    client = api(cast.agent)
    assert client.get(f"{LIST}/{foreign.pk}").status_code == 404
    for action in ("acknowledge", "unacknowledge", "resolve", "reopen", "assign", "notes", "read", "dismiss"):
        response = client.post(f"{LIST}/{foreign.pk}/{action}", {"note": "x", "assignee_id": None}, format="json")
        assert response.status_code == 404, action
    assert client.get(f"{LIST}/{AlertFactory(team=cast.team).pk}").status_code == 200


def test_customer_cannot_see_others_alerts(cast):
    alert = AlertFactory(team=cast.team)
    assert api(cast.customer).get(f"{LIST}/{alert.pk}").status_code == 404


def test_unread_count_counts_open_unread_undismissed_visible_alerts(cast):
    unread = AlertFactory(team=cast.team)
    AlertFactory(team=cast.team, status=AlertStatus.ACKNOWLEDGED)
    AlertFactory(team=cast.team, status=AlertStatus.RESOLVED)
    read = AlertFactory(team=cast.team)
    dismissed = AlertFactory(team=cast.team)
    AlertFactory(team=cast.other_team)
    now = datetime.now(UTC)
    AlertUserState.objects.create(alert=read, user=cast.agent, read_at=now)
    AlertUserState.objects.create(alert=dismissed, user=cast.agent, dismissed_at=now)
    AlertUserState.objects.create(alert=unread, user=cast.owner, read_at=now)  # someone else's state

    assert api(cast.agent).get(f"{LIST}/unread-count").json() == {"count": 2}
    listed = ids(api(cast.agent).get(LIST, {"unread": "true", "status": "triggered,acknowledged"}))
    assert len(listed) == 2
    assert api(cast.owner).get(f"{LIST}/unread-count").json() == {"count": 3}
    assert api(cast.customer).get(f"{LIST}/unread-count").json() == {"count": 0}


def test_created_filters_accept_offsets(cast):
    alert = AlertFactory(team=cast.team, created_at=datetime(2026, 1, 1, 12, tzinfo=UTC))
    client = api(cast.agent)
    # 13:30+02:00 is 11:30 UTC: before the alert.
    assert ids(client.get(LIST, {"created_since": "2026-01-01T13:30:00+02:00"})) == [alert.pk]
    assert (
        ids(
            client.get(
                LIST, {"created_since": (datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(seconds=1)).isoformat()}
            )
        )
        == []
    )
