from __future__ import annotations

from typing import Any, cast

from accounts.models import Team, User
from accounts.tests.factories import TeamFactory, UserFactory
from alerts.models import Alert
from alerts.tests.factories import AlertFactory
from escalation.models import EscalationPolicy, EscalationStep


def policy_with_steps(team: Team, *steps: dict[str, Any], **fields: Any) -> EscalationPolicy:
    """A policy whose steps are given as dicts of EscalationStep fields, in order."""
    fields.setdefault("name", f"policy {EscalationPolicy.objects.count() + 1}")
    fields.setdefault("is_default", True)
    policy = EscalationPolicy.objects.create(team=team, **fields)
    for position, step in enumerate(steps):
        EscalationStep.objects.create(policy=policy, position=position, **step)
    return policy


def notify_on_duty(window: int = 60, **extra: Any) -> dict[str, Any]:
    return {"kind": "notify_on_duty", "ack_window_seconds": window, **extra}


def notify_role(role: str = "admin", window: int = 60) -> dict[str, Any]:
    return {"kind": "notify_role", "target_role": role, "ack_window_seconds": window}


def new_alert(team: Team, **fields: Any) -> Alert:
    """A triggered alert of ``team`` (``AlertFactory`` typed as the model)."""
    return cast(Alert, AlertFactory(team=team, **fields))


def new_user(**fields: Any) -> User:
    return cast(User, UserFactory(**fields))


def new_team() -> Team:
    return cast(Team, TeamFactory())
