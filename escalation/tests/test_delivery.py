"""Delivery: email, SMS, signed webhooks against a real local server, retries, exhaustion."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from alerts.models import AlertEvent
from escalation.delivery.sms import MemorySMSBackend
from escalation.models import EscalationRun, Notification
from escalation.selectors import subscribed_channels
from escalation.services.notifications import backoff_delay, notification_deliver, notifications_create
from escalation.services.runs import run_start
from escalation.tests.conftest import OnCallTeam
from escalation.tests.factories import new_alert, notify_on_duty, policy_with_steps

pytestmark = pytest.mark.django_db


class Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status_codes: list[int] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append({"headers": self.headers, "body": body})  # case-insensitive
        self.send_response(Hook.status_codes.pop(0) if Hook.status_codes else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    Hook.received, Hook.status_codes = [], []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def email_notification(oncall: OnCallTeam, key: str = "k1") -> Notification:
    alert = new_alert(oncall.team, title="UA1 cancelled")
    return notifications_create(recipient=oncall.first, channel="email", key=key, title="UA1 cancelled", alert=alert)


def test_email_is_sent_once_even_when_the_task_is_delivered_twice(oncall: OnCallTeam) -> None:
    notification = email_notification(oncall)
    assert notification.status == "pending" and notification.target == oncall.first.email

    assert notification_deliver(notification_id=notification.pk) == "sent"
    assert notification_deliver(notification_id=notification.pk) == "skipped"

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [oncall.first.email]
    assert f"/board/alerts/{notification.alert_id}/" in mail.outbox[0].body
    notification.refresh_from_db()
    assert notification.status == "sent" and notification.attempts == 1
    outcome = AlertEvent.objects.get(alert=notification.alert, kind="notified")
    assert outcome.data["outcome"] == "sent" and outcome.data["channel"] == "email"


def test_creating_twice_returns_the_first_row(oncall: OnCallTeam) -> None:
    first = email_notification(oncall, key="same")
    again = notifications_create(recipient=oncall.first, channel="email", key="same", title="other")
    assert again.pk == first.pk and Notification.objects.filter(idempotency_key="same").count() == 1


def test_failures_back_off_exponentially_then_the_notification_fails(oncall: OnCallTeam, settings: Any) -> None:
    settings.EMAIL_BACKEND = "escalation.tests.test_delivery.BrokenEmailBackend"
    notification = email_notification(oncall)
    now = timezone.now()
    outcomes = []
    for attempt in range(1, notification.max_attempts + 1):
        outcomes.append(notification_deliver(notification_id=notification.pk, now=now))
        notification.refresh_from_db()
        if notification.status == "pending":
            assert notification.next_attempt_at == now + backoff_delay(attempt)
            assert notification_deliver(notification_id=notification.pk, now=now) == "skipped"  # not due yet
            now = notification.next_attempt_at
    assert outcomes == ["retry", "retry", "retry", "retry", "failed"]
    assert [backoff_delay(n).total_seconds() for n in (1, 2, 3, 4, 20)] == [2, 4, 8, 16, 300]
    assert notification.status == "failed" and notification.attempts == 5
    assert "SMTP is down" in notification.last_error
    failed = AlertEvent.objects.get(alert=notification.alert, kind="notified")
    assert failed.data["outcome"] == "failed" and "after 5 attempts" in failed.message


class BrokenEmailBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("SMTP is down")


def test_sms_goes_through_the_configured_backend_and_needs_a_phone(oncall: OnCallTeam, settings: Any) -> None:
    settings.SMS_BACKEND = "escalation.delivery.sms.MemorySMSBackend"
    MemorySMSBackend.outbox = []
    oncall.first.phone = "+441234567890"
    oncall.first.save()
    notification = notifications_create(recipient=oncall.first, channel="sms", key="sms1", title="Hotel overbooked")
    assert notification_deliver(notification_id=notification.pk) == "sent"
    assert MemorySMSBackend.outbox[0][0] == "+441234567890" and "Hotel overbooked" in MemorySMSBackend.outbox[0][1]

    assert "sms" not in subscribed_channels(oncall.second, alert_type="x", severity="high")  # no phone


def test_webhook_is_signed_and_retried_until_it_succeeds(oncall: OnCallTeam, hook_url: str) -> None:
    policy_with_steps(
        oncall.team, {"kind": "webhook", "webhook_url": hook_url, "webhook_secret": "s3cret"}, notify_on_duty()
    )
    alert = new_alert(oncall.team)
    run = run_start(alert_id=alert.pk, now=oncall.now)
    assert run is not None
    hook = Notification.objects.get(run=run, channel="webhook")
    Hook.status_codes = [500]

    assert notification_deliver(notification_id=hook.pk) == "retry"
    hook.refresh_from_db()
    assert notification_deliver(notification_id=hook.pk, now=hook.next_attempt_at) == "sent"

    assert len(Hook.received) == 2
    request = Hook.received[-1]
    timestamp = request["headers"]["X-AlertGuardian-Timestamp"]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-AlertGuardian-Signature"] == f"sha256={expected}"
    assert request["headers"]["Idempotency-Key"] == hook.idempotency_key
    payload = json.loads(request["body"])
    assert payload["alert"]["id"] == alert.pk and payload["run_id"] == run.pk


def test_an_unreachable_webhook_fails_after_its_attempts(oncall: OnCallTeam) -> None:
    policy_with_steps(
        oncall.team,
        {
            "kind": "webhook",
            "webhook_url": "http://127.0.0.1:9/",
            "webhook_max_attempts": 2,
            "webhook_timeout_seconds": 1,
        },
    )
    run = run_start(alert_id=new_alert(oncall.team).pk, now=oncall.now)
    assert run is not None
    hook = Notification.objects.get(run=run)
    now = timezone.now()
    assert notification_deliver(notification_id=hook.pk, now=now) == "retry"
    assert notification_deliver(notification_id=hook.pk, now=now + timedelta(minutes=1)) == "failed"
    assert EscalationRun.objects.get(pk=run.pk).status == "completed"  # the run never waited on delivery


@pytest.mark.parametrize(
    ("subscriptions", "alert_type", "severity", "expected"),
    [
        ([], "flight_delayed", "high", ["in_app", "email"]),  # the defaults
        ([("", "", ["sms"])], "flight_delayed", "high", ["in_app", "sms"]),
        ([("", "", ["email"]), ("", "critical", ["sms", "email"])], "x", "critical", ["in_app", "sms", "email"]),
        (
            [("", "critical", ["sms"]), ("flight_cancelled", "", ["email"])],
            "flight_cancelled",
            "critical",
            ["in_app", "email"],
        ),
        ([("flight_cancelled", "critical", [])], "flight_cancelled", "critical", ["in_app"]),  # in_app always on
    ],
)
def test_the_most_specific_subscription_wins(
    oncall: OnCallTeam,
    subscriptions: list[tuple[str, str, list[str]]],
    alert_type: str,
    severity: str,
    expected: list[str],
) -> None:
    from escalation.models import Subscription

    oncall.first.phone = "+15550001"
    oncall.first.save()
    for row_type, row_severity, channels in subscriptions:
        Subscription.objects.create(user=oncall.first, alert_type=row_type, severity=row_severity, channels=channels)
    assert subscribed_channels(oncall.first, alert_type=alert_type, severity=severity) == expected
