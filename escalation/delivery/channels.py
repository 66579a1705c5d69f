"""Channel senders. Each raises ``DeliveryError`` (or any exception) when a delivery attempt fails.

``in_app`` needs no sender: the row is the message, stored as sent and pushed live.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from escalation.models import Channel, Notification

DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-AlertGuardian-Signature"
TIMESTAMP_HEADER = "X-AlertGuardian-Timestamp"


class DeliveryError(Exception):
    pass


class Sender(Protocol):
    def __call__(self, notification: Notification) -> None: ...


def alert_link(notification: Notification) -> str:
    if notification.alert_id is None:
        return settings.PUBLIC_BASE_URL
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/board/alerts/{notification.alert_id}/"


def send_email(notification: Notification) -> None:
    if not notification.target:
        raise DeliveryError("no email address")
    body = f"{notification.body}\n\n{alert_link(notification)}".strip()
    EmailMessage(subject=notification.title, body=body, to=[notification.target]).send(fail_silently=False)


def send_sms(notification: Notification) -> None:
    if not notification.target:
        raise DeliveryError("no phone number")
    backend = import_string(settings.SMS_BACKEND)()
    backend.send(to=notification.target, text=f"{notification.title} {alert_link(notification)}"[:480])


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>`` with the step's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_step(notification: Notification) -> dict[str, Any]:
    """The webhook step (secret, timeout) from the run's policy snapshot."""
    position = (notification.data or {}).get("step_position")
    steps = notification.run.policy_snapshot.get("steps", []) if notification.run else []
    if not isinstance(position, int) or not 0 <= position < len(steps):
        raise DeliveryError("the webhook step is missing from the run's policy snapshot")
    step: dict[str, Any] = steps[position]
    return step


def send_webhook(notification: Notification) -> None:
    step = webhook_step(notification)
    body = json.dumps(notification.data.get("payload", {}), separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 (the URL is an admin-configured http(s) URL)
        notification.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "AlertGuardian-Webhook/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: webhook_signature(step.get("webhook_secret") or "", timestamp, body),
            # Receivers can drop a repeat: a crash after their 2xx but before our commit resends.
            "Idempotency-Key": notification.idempotency_key,
        },
    )
    timeout = step.get("webhook_timeout_seconds") or DEFAULT_WEBHOOK_TIMEOUT_SECONDS
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"unreachable: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


SENDERS: dict[str, Sender] = {
    Channel.EMAIL: send_email,
    Channel.SMS: send_sms,
    Channel.WEBHOOK: send_webhook,
}
