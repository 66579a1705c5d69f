"""The ops console for escalation: policies with ordered inline steps go through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import UserRole
from audit.models import AuditEntry
from escalation.models import EscalationPolicy, Notification
from escalation.services.notifications import notifications_create
from escalation.services.runs import run_start
from escalation.tests.conftest import OnCallTeam
from escalation.tests.factories import new_alert, new_user, notify_on_duty, policy_with_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def console() -> Client:
    client = Client()
    client.force_login(new_user(role=UserRole.ADMIN, is_staff=True, is_superuser=True))
    return client


def inline(rows: list[dict[str, Any]], initial: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": str(initial),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"steps-{index}-{key}"] = value
    return data


def policy_form(oncall: OnCallTeam, **fields: Any) -> dict[str, Any]:
    return {
        "team": oncall.team.pk,
        "name": "Console policy",
        "description": "",
        "match_severities": "[]",
        "match_types": "[]",
        "priority": "100",
        "enabled": "on",
        **fields,
    }


def test_pages_render(console: Client, oncall: OnCallTeam) -> None:
    policy = policy_with_steps(oncall.team, notify_on_duty())
    run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
    for url in (
        "/admin/escalation/escalationpolicy/",
        "/admin/escalation/escalationpolicy/add/",
        f"/admin/escalation/escalationpolicy/{policy.pk}/change/",
        "/admin/escalation/escalationrun/",
        "/admin/escalation/notification/",
        "/admin/escalation/subscription/",
    ):
        assert console.get(url).status_code == 200, url


def test_adding_a_policy_with_inline_steps_goes_through_the_service(console: Client, oncall: OnCallTeam) -> None:
    rows = [
        {"position": "1", "kind": "notify_role", "target_role": "admin", "ack_window_seconds": "60", "channels": "[]"},
        {"position": "0", "kind": "notify_on_duty", "ack_window_seconds": "120", "channels": "[]"},
    ]
    response = console.post(
        "/admin/escalation/escalationpolicy/add/", {**policy_form(oncall, is_default="on"), **inline(rows)}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = EscalationPolicy.objects.get(name="Console policy")
    assert list(policy.steps.order_by("position").values_list("kind", flat=True)) == ["notify_on_duty", "notify_role"]
    assert policy.is_default and AuditEntry.objects.filter(action="escalation.policy_created").exists()


def test_an_invalid_step_is_shown_and_nothing_is_saved(console: Client, oncall: OnCallTeam) -> None:
    rows = [{"position": "0", "kind": "repeat", "repeat_to_position": "3", "repeat_times": "2", "channels": "[]"}]
    response = console.post("/admin/escalation/escalationpolicy/add/", {**policy_form(oncall), **inline(rows)})
    assert response.status_code == 200
    assert "repeat_to_position" in response.content.decode()
    assert not EscalationPolicy.objects.exists()


def test_retry_action_requeues_failed_deliveries(console: Client, oncall: OnCallTeam) -> None:
    notification = notifications_create(recipient=oncall.first, channel="email", key="k", title="t")
    Notification.objects.filter(pk=notification.pk).update(status="failed", attempts=5)
    response = console.post(
        "/admin/escalation/notification/", {"action": "retry_now", "_selected_action": [notification.pk]}
    )
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.status == "pending" and notification.attempts == 0
    assert AuditEntry.objects.filter(action="notification.retried").exists()
