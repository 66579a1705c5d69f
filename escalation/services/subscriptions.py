"""A staff member's notification subscriptions: replaced as a whole set (PUT semantics)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User, UserRole
from alertguardian.api import Forbidden
from audit.services import audit_record
from escalation.exceptions import InvalidSubscriptions
from escalation.models import Subscription


@transaction.atomic
def subscriptions_replace(*, user: User, rows: list[dict[str, Any]]) -> list[Subscription]:
    if user.role == UserRole.CUSTOMER:
        raise Forbidden("Subscriptions are for staff; customers get trip notices.")
    seen: dict[tuple[str, str], int] = {}
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        scope = (row.get("alert_type", ""), row.get("severity", ""))
        if scope in seen:
            errors[f"subscriptions[{index}]"] = [f"Same alert_type and severity as subscriptions[{seen[scope]}]."]
        seen.setdefault(scope, index)
    if errors:
        raise InvalidSubscriptions("Each alert_type and severity pair may appear once.", details=errors)
    Subscription.objects.filter(user=user).delete()
    now = timezone.now()
    created = Subscription.objects.bulk_create(
        Subscription(
            user=user,
            alert_type=row.get("alert_type", ""),
            severity=row.get("severity", ""),
            channels=list(dict.fromkeys(row["channels"])),
            updated_at=now,
        )
        for row in rows
    )
    audit_record(
        actor=user,
        action="escalation.subscriptions_replaced",
        target=user,
        data={
            "subscriptions": [
                {"alert_type": s.alert_type, "severity": s.severity, "channels": s.channels} for s in created
            ]
        },
    )
    return created
