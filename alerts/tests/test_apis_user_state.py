"""POST /api/v1/alerts/<id>/read|unread|dismiss|undismiss."""

from __future__ import annotations

import pytest

from alerts.models import AlertUserState
from alerts.tests.factories import AlertFactory
from alerts.tests.helpers import api, make_cast, published_events

pytestmark = pytest.mark.django_db

LIST = "/api/v1/alerts"


@pytest.fixture
def cast():
    return make_cast()


def test_read_unread_dismiss_undismiss_round_trip(cast, django_capture_on_commit_callbacks):
    alert = AlertFactory(team=cast.team)
    AlertFactory(team=cast.team)
    client = api(cast.viewer)  # reading and dismissing need only visibility
    with published_events() as sent, django_capture_on_commit_callbacks(execute=True):
        read = client.post(f"{LIST}/{alert.pk}/read")
    assert read.status_code == 200
    body = read.json()
    assert body["alert_id"] == alert.pk
    assert body["read_at"] is not None
    assert body["dismissed_at"] is None
    assert body["unread_count"] == 1
    assert [(group, event["count"]) for group, event in sent] == [(f"user.{cast.viewer.pk}", 1)]
    assert client.post(f"{LIST}/{alert.pk}/read").json()["read_at"] == body["read_at"]  # idempotent

    dismissed = client.post(f"{LIST}/{alert.pk}/dismiss").json()
    assert dismissed["dismissed_at"] is not None
    assert alert.pk not in [item["id"] for item in client.get(LIST).json()["results"]]
    assert client.post(f"{LIST}/{alert.pk}/unread").json()["read_at"] is None
    restored = client.post(f"{LIST}/{alert.pk}/undismiss").json()
    assert restored["dismissed_at"] is None
    assert restored["unread_count"] == 2
    assert alert.pk in [item["id"] for item in client.get(LIST).json()["results"]]


def test_customer_marks_own_report_read(cast):
    alert = AlertFactory(team=cast.team, reported_by=cast.customer)
    response = api(cast.customer).post(f"{LIST}/{alert.pk}/read")
    assert response.status_code == 200
    assert response.json()["unread_count"] == 0


@pytest.mark.parametrize("action", ["read", "unread", "dismiss", "undismiss"])
def test_state_of_invisible_alerts_is_404_and_writes_nothing(cast, action):
    foreign = AlertFactory(team=cast.other_team)
    assert api(cast.agent).post(f"{LIST}/{foreign.pk}/{action}").status_code == 404
    assert api(cast.customer).post(f"{LIST}/{foreign.pk}/{action}").status_code == 404
    assert api().post(f"{LIST}/{foreign.pk}/{action}").status_code == 401
    assert not AlertUserState.objects.exists()
