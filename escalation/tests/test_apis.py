"""The escalation API: policies and steps, runs, notifications, subscriptions."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import TeamRole, User, UserRole
from accounts.tests.factories import member
from audit.models import AuditEntry
from escalation.models import EscalationPolicy, EscalationStep, Notification, Subscription
from escalation.services.notifications import NotificationSpec, notifications_create, notifications_create_many
from escalation.services.runs import run_start
from escalation.tests.conftest import OnCallTeam
from escalation.tests.factories import new_alert, new_team, new_user, notify_on_duty, policy_with_steps

pytestmark = pytest.mark.django_db

POLICIES = "/api/v1/escalation-policies"


def client(user: User) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return api


def three_steps(oncall: OnCallTeam) -> list[dict[str, Any]]:
    return [
        {"kind": "notify_on_duty", "ack_window_seconds": 120},
        {"kind": "notify_role", "target_role": "admin", "ack_window_seconds": 60, "channels": ["email"]},
        {"kind": "repeat", "repeat_to_position": 0, "repeat_times": 2},
    ]


def test_team_admin_creates_a_policy_with_ordered_steps(oncall: OnCallTeam) -> None:
    body = {"team": oncall.team.pk, "name": "Default", "is_default": True, "steps": three_steps(oncall)}
    response = client(oncall.admin).post(POLICIES, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [step["kind"] for step in data["steps"]] == ["notify_on_duty", "notify_role", "repeat"]
    assert [step["position"] for step in data["steps"]] == [0, 1, 2]
    assert data["steps"][0]["channels"] == [] and data["steps"][2]["ack_window_seconds"] is None
    assert AuditEntry.objects.filter(action="escalation.policy_created").count() == 1

    listed = client(oncall.first).get(POLICIES, {"team": oncall.team.pk}).json()  # agents read
    assert [policy["name"] for policy in listed["results"]] == ["Default"]
    assert "in flight keep the snapshot" in client(oncall.admin).get("/api/v1/schema/").content.decode()


def test_webhook_secret_is_generated_and_shown_once(oncall: OnCallTeam) -> None:
    steps = [{"kind": "webhook", "webhook_url": "https://hooks.example.com/a"}]
    created = client(oncall.admin).post(
        POLICIES, {"team": oncall.team.pk, "name": "Hook", "steps": steps}, format="json"
    )
    assert created.status_code == 201
    step_id = str(created.json()["steps"][0]["id"])
    secret = created.json()["webhook_secrets"][step_id]
    assert len(secret) >= 32 and EscalationStep.objects.get(pk=step_id).webhook_secret == secret
    read = client(oncall.admin).get(f"{POLICIES}/{created.json()['id']}").json()
    assert "webhook_secrets" not in read and read["steps"][0]["webhook_secret_set"] is True
    assert secret not in str(AuditEntry.objects.values_list("data", flat=True))


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"kind": "teleport"}, "steps[0].kind"),
        ({"kind": "notify_on_duty", "ack_window_seconds": 5}, "steps[0].ack_window_seconds"),
        ({"kind": "notify_on_duty", "ack_window_seconds": "soon"}, "steps[0].ack_window_seconds"),
        ({"kind": "notify_on_duty", "channels": ["pigeon"]}, "steps[0].channels"),
        ({"kind": "notify_on_duty", "channels": "email"}, "steps[0].channels"),
        ({"kind": "notify_user"}, "steps[0].target_user"),
        ({"kind": "notify_role", "target_role": "wizard"}, "steps[0].target_role"),
        ({"kind": "wait"}, "steps[0].wait_seconds"),
        ({"kind": "wait", "wait_seconds": 10**12}, "steps[0].wait_seconds"),
        ({"kind": "repeat", "repeat_to_position": 0, "repeat_times": 1}, "steps[0].repeat_to_position"),
        ({"kind": "fallback"}, "steps[0].fallback_mode"),
        ({"kind": "webhook", "webhook_url": "ftp://x"}, "steps[0].webhook_url"),
        ({"kind": "webhook", "webhook_url": "https://x.example", "webhook_secret": "short"}, "steps[0].webhook_secret"),
    ],
)
def test_a_bad_step_is_a_400_naming_the_field_and_changes_nothing(
    oncall: OnCallTeam, step: dict[str, Any], field: str
) -> None:
    response = client(oncall.admin).post(
        POLICIES, {"team": oncall.team.pk, "name": "Bad", "steps": [step]}, format="json"
    )
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] in ("invalid", "invalid_policy") and body["message"]
    flat = str(body["details"])
    assert field.split(".")[-1] in flat
    assert not EscalationPolicy.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "steps": [{"kind": "wait", "wait_seconds": 5}]},  # no team
        {"team": "abc", "name": "x", "steps": []},
        {"team": 1, "name": "x", "steps": "notify"},
        {"team": 1, "name": "x", "steps": [{"kind": "wait", "wait_seconds": 5}] * 51},
        {"team": 1, "name": None, "steps": [{"kind": "wait", "wait_seconds": 5}]},
        {"team": 1, "name": "x", "match_severities": ["apocalyptic"], "steps": [{"kind": "wait", "wait_seconds": 5}]},
        ["not", "an", "object"],
    ],
)
def test_malformed_policies_are_400(oncall: OnCallTeam, body: Any) -> None:
    response = client(oncall.admin).post(POLICIES, body, format="json")
    assert response.status_code == 400 and {"code", "message", "details"} <= set(response.json())
    assert not EscalationPolicy.objects.exists()


def test_notify_user_must_be_staff_of_the_team(oncall: OnCallTeam) -> None:
    outsider = member(new_team())
    steps = [{"kind": "notify_user", "target_user": outsider.pk}]
    response = client(oncall.admin).post(POLICIES, {"team": oncall.team.pk, "name": "x", "steps": steps}, format="json")
    assert response.status_code == 400 and "steps[0].target_user" in response.json()["details"]
    steps = [{"kind": "notify_user", "target_user": oncall.second.pk}]
    assert (
        client(oncall.admin)
        .post(POLICIES, {"team": oncall.team.pk, "name": "x", "steps": steps}, format="json")
        .status_code
        == 201
    )


def test_permissions(oncall: OnCallTeam) -> None:
    policy = policy_with_steps(oncall.team, notify_on_duty())
    other_admin = member(new_team(), team_role=TeamRole.ADMIN)
    customer = new_user(role=UserRole.CUSTOMER)
    body = {"team": oncall.team.pk, "name": "x", "steps": [{"kind": "wait", "wait_seconds": 5}]}

    assert client(oncall.first).post(POLICIES, body, format="json").status_code == 403  # agents read only
    assert client(oncall.first).patch(f"{POLICIES}/{policy.pk}", {"name": "y"}, format="json").status_code == 403
    assert client(other_admin).get(f"{POLICIES}/{policy.pk}").status_code == 404  # another tenant
    assert client(other_admin).post(POLICIES, body, format="json").status_code == 404
    assert client(customer).get(f"{POLICIES}/{policy.pk}").status_code == 404
    assert client(customer).get(POLICIES).json()["results"] == []
    assert APIClient().get(POLICIES).status_code == 401
    assert client(oncall.admin).get(f"{POLICIES}/{2**70}").status_code == 404


def test_one_default_per_team(oncall: OnCallTeam) -> None:
    first = policy_with_steps(oncall.team, notify_on_duty(), name="first")
    body = {"team": oncall.team.pk, "name": "second", "is_default": True, "steps": [{"kind": "notify_on_duty"}]}
    assert client(oncall.admin).post(POLICIES, body, format="json").status_code == 201
    first.refresh_from_db()
    assert first.is_default is False
    assert EscalationPolicy.objects.filter(team=oncall.team, is_default=True).get().name == "second"


def test_add_edit_reorder_and_delete_steps(oncall: OnCallTeam) -> None:
    policy = policy_with_steps(oncall.team, notify_on_duty(), {"kind": "wait", "wait_seconds": 60})
    api = client(oncall.admin)
    first, wait = policy.steps.order_by("position")

    added = api.post(
        f"{POLICIES}/{policy.pk}/steps", {"kind": "notify_role", "target_role": "admin", "position": 1}, format="json"
    )
    assert added.status_code == 201
    assert [s["kind"] for s in added.json()["steps"]] == ["notify_on_duty", "notify_role", "wait"]
    role_id = added.json()["steps"][1]["id"]

    edited = api.patch(f"{POLICIES}/{policy.pk}/steps/{wait.pk}", {"wait_seconds": 90}, format="json")
    assert edited.status_code == 200 and edited.json()["wait_seconds"] == 90

    order = api.put(f"{POLICIES}/{policy.pk}/steps/order", {"step_ids": [wait.pk, role_id, first.pk]}, format="json")
    assert order.status_code == 200
    assert [s["id"] for s in order.json()["steps"]] == [wait.pk, role_id, first.pk]

    bad_order = api.put(
        f"{POLICIES}/{policy.pk}/steps/order", {"step_ids": [wait.pk, wait.pk, first.pk]}, format="json"
    )
    assert bad_order.status_code == 400 and "step_ids" in bad_order.json()["details"]

    assert api.delete(f"{POLICIES}/{policy.pk}/steps/{role_id}").status_code == 204
    assert list(policy.steps.order_by("position").values_list("pk", "position")) == [(wait.pk, 0), (first.pk, 1)]
    assert api.delete(f"{POLICIES}/{policy.pk}/steps/{role_id}").status_code == 404
    assert AuditEntry.objects.filter(action__startswith="escalation.step").count() == 4


def test_deleting_a_step_a_repeat_points_at_is_refused(oncall: OnCallTeam) -> None:
    policy = policy_with_steps(
        oncall.team, notify_on_duty(), {"kind": "repeat", "repeat_to_position": 0, "repeat_times": 1}
    )
    first = policy.steps.get(position=0)
    response = client(oncall.admin).delete(f"{POLICIES}/{policy.pk}/steps/{first.pk}")
    assert response.status_code == 400 and "steps[0].repeat_to_position" in response.json()["details"]
    assert policy.steps.count() == 2


def test_editing_a_policy_keeps_runs_in_flight_on_their_snapshot(oncall: OnCallTeam) -> None:
    policy = policy_with_steps(oncall.team, notify_on_duty(window=60))
    run = run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
    response = client(oncall.admin).put(
        f"{POLICIES}/{policy.pk}", {"name": "renamed", "steps": [{"kind": "wait", "wait_seconds": 5}]}, format="json"
    )
    assert response.status_code == 200
    assert run is not None
    run.refresh_from_db()
    assert run.policy_snapshot["steps"][0]["kind"] == "notify_on_duty"
    runs = client(oncall.admin).get("/api/v1/escalation-runs", {"alert": run.alert_id}).json()
    assert runs[0]["id"] == run.pk and runs[0]["current_step_kind"] is None and runs[0]["status"] == "active"


def test_policy_list_has_a_constant_number_of_queries(oncall: OnCallTeam, django_assert_max_num_queries: Any) -> None:
    for n in range(12):
        policy_with_steps(oncall.team, notify_on_duty(), notify_on_duty(), name=f"p{n}", is_default=False)
    with django_assert_max_num_queries(8):
        response = client(oncall.admin).get(POLICIES)
    assert len(response.json()["results"]) == 12


def test_inbox_unread_first_mark_read_and_read_all(oncall: OnCallTeam) -> None:
    for key in ("a", "b", "c"):
        notifications_create(recipient=oncall.first, channel="in_app", key=key, title=key)
    notifications_create(recipient=oncall.second, channel="in_app", key="other", title="not mine")
    api = client(oncall.first)
    older = Notification.objects.get(idempotency_key="a")

    assert api.post(f"/api/v1/notifications/{older.pk}/read").status_code == 200
    listed = api.get("/api/v1/notifications")
    assert [n["title"] for n in listed.json()["results"]] == ["c", "b", "a"]  # unread first, then newest
    assert listed["X-Unread-Count"] == "2"
    assert [n["title"] for n in api.get("/api/v1/notifications", {"unread": "true"}).json()["results"]] == ["c", "b"]
    other = Notification.objects.get(idempotency_key="other")
    assert api.post(f"/api/v1/notifications/{other.pk}/read").status_code == 404  # not mine
    assert api.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert api.get("/api/v1/notifications", {"unread": "maybe"}).status_code == 400


def test_the_unread_count_is_a_badge_counted_up_to_1000(oncall: OnCallTeam) -> None:
    notifications_create_many(
        [NotificationSpec(recipient=oncall.first, channel="in_app", key=f"n{n}", title="x") for n in range(1003)]
    )
    notifications_create(recipient=oncall.second, channel="in_app", key="one", title="x")
    assert client(oncall.first).get("/api/v1/notifications")["X-Unread-Count"] == "1000"  # shown as "999+"
    assert client(oncall.second).get("/api/v1/notifications")["X-Unread-Count"] == "1"


def test_subscriptions_replace_the_set_and_validate(oncall: OnCallTeam) -> None:
    api = client(oncall.first)
    rows = [{"severity": "critical", "channels": ["sms", "email"]}, {"alert_type": "flight_delayed", "channels": []}]
    assert api.put("/api/v1/subscriptions", {"subscriptions": rows}, format="json").status_code == 200
    assert api.get("/api/v1/subscriptions").json()["subscriptions"] == [
        {"alert_type": "", "severity": "critical", "channels": ["sms", "email"]},
        {"alert_type": "flight_delayed", "severity": "", "channels": []},
    ]
    for bad in (
        {"subscriptions": [{"channels": ["pigeon"]}]},
        {"subscriptions": [{"severity": "apocalyptic", "channels": []}]},
        {"subscriptions": [{"channels": ["email"]}, {"channels": ["sms"]}]},  # the same scope twice
        {"subscriptions": "all"},
        {},
    ):
        response = api.put("/api/v1/subscriptions", bad, format="json")
        assert response.status_code == 400, bad
        assert {"code", "message", "details"} <= set(response.json())
    assert Subscription.objects.filter(user=oncall.first).count() == 2  # unchanged by the bad requests
    customer = new_user(role=UserRole.CUSTOMER)
    assert client(customer).put("/api/v1/subscriptions", {"subscriptions": []}, format="json").status_code == 403
