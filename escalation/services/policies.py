"""Writes of escalation policies and their ordered steps.

Every write validates the policy's whole step list as it will be after the change (a step
edit can break a ``repeat`` that points at it), audits, and bumps ``updated_at``. Runs in
flight keep the snapshot they started with; only runs started afterwards see the change.
Positions are unique per policy, so moves are written in two passes (out of the way, then home).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Team, TeamRole, User
from accounts.selectors import team_staff
from alerts.models import Severity
from alerts.services import Actor
from audit.services import audit_record
from escalation.exceptions import InvalidPolicy
from escalation.models import (
    DEFAULT_ACK_WINDOW_SECONDS,
    NOTIFY_KINDS,
    Channel,
    EscalationPolicy,
    EscalationStep,
    FallbackMode,
    StepKind,
)

MAX_STEPS = 50
ACK_WINDOW_RANGE = (10, 24 * 3600)
WAIT_RANGE = (1, 7 * 24 * 3600)
REPEAT_TIMES_RANGE = (1, 10)
WEBHOOK_TIMEOUT_RANGE = (1, 30)
WEBHOOK_ATTEMPTS_RANGE = (1, 10)
DEFAULT_WEBHOOK_TIMEOUT = 5
DEFAULT_WEBHOOK_ATTEMPTS = 5
NOTIFY_CHANNELS = (Channel.IN_APP, Channel.EMAIL, Channel.SMS)

# The fields a step of each kind uses; the others are cleared so a kind change leaves no residue.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    StepKind.NOTIFY_ON_DUTY: ("ack_window_seconds", "channels"),
    StepKind.NOTIFY_USER: ("ack_window_seconds", "channels", "target_user"),
    StepKind.NOTIFY_ROLE: ("ack_window_seconds", "channels", "target_role"),
    StepKind.WAIT: ("wait_seconds",),
    StepKind.REPEAT: ("repeat_to_position", "repeat_times"),
    StepKind.FALLBACK: ("fallback_mode",),
    StepKind.WEBHOOK: ("webhook_url", "webhook_secret", "webhook_timeout_seconds", "webhook_max_attempts"),
}
STEP_FIELDS = (
    "ack_window_seconds",
    "channels",
    "target_user",
    "target_role",
    "wait_seconds",
    "repeat_to_position",
    "repeat_times",
    "fallback_mode",
    "webhook_url",
    "webhook_secret",
    "webhook_timeout_seconds",
    "webhook_max_attempts",
)
EMPTY: dict[str, Any] = {
    "ack_window_seconds": None,
    "channels": [],
    "target_user": None,
    "target_role": "",
    "wait_seconds": None,
    "repeat_to_position": None,
    "repeat_times": None,
    "fallback_mode": "",
    "webhook_url": "",
    "webhook_secret": "",
    "webhook_timeout_seconds": None,
    "webhook_max_attempts": None,
}


class StepErrors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self, message: str = "The escalation policy is invalid.") -> None:
        if self.errors:
            raise InvalidPolicy(message, details=self.errors)


def _in_range(errors: StepErrors, prefix: str, name: str, value: Any, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors.add(f"{prefix}.{name}", f"Must be a whole number from {low} to {high}.")


def _user_id(value: Any) -> int | None:
    return value.pk if isinstance(value, User) else value


def steps_normalise(*, team: Team, steps: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Validate a whole step list; returns it with defaults filled and unused fields cleared,
    and the webhook secrets generated here by position (shown once to the caller)."""
    errors = StepErrors()
    if not 1 <= len(steps) <= MAX_STEPS:
        errors.add("steps", f"A policy has from 1 to {MAX_STEPS} steps.")
        errors.raise_if_any()
    staff_ids = set(team_staff(team_id=team.pk).values_list("pk", flat=True))
    normalised: list[dict[str, Any]] = []
    generated: dict[int, str] = {}
    for position, raw in enumerate(steps):
        prefix = f"steps[{position}]"
        kind = raw.get("kind")
        if kind not in KIND_FIELDS:
            errors.add(f"{prefix}.kind", f"Unknown kind; one of {', '.join(KIND_FIELDS)}.")
            continue
        step = {**EMPTY, **{name: raw[name] for name in KIND_FIELDS[kind] if raw.get(name) is not None}}
        step["kind"] = kind
        if kind in NOTIFY_KINDS:
            step["ack_window_seconds"] = step["ack_window_seconds"] or DEFAULT_ACK_WINDOW_SECONDS
            _in_range(errors, prefix, "ack_window_seconds", step["ack_window_seconds"], ACK_WINDOW_RANGE)
            channels = step["channels"]
            if not isinstance(channels, list) or any(channel not in NOTIFY_CHANNELS for channel in channels):
                errors.add(f"{prefix}.channels", f"A list of: {', '.join(NOTIFY_CHANNELS)} (empty = subscriptions).")
            elif len(set(channels)) != len(channels):
                errors.add(f"{prefix}.channels", "Each channel once.")
        if kind == StepKind.NOTIFY_USER:
            step["target_user"] = _user_id(step["target_user"])
            if step["target_user"] not in staff_ids:
                errors.add(f"{prefix}.target_user", "Must be an active agent or admin of the policy's team.")
        if kind == StepKind.NOTIFY_ROLE and step["target_role"] not in TeamRole.values:
            errors.add(f"{prefix}.target_role", f"One of {', '.join(TeamRole.values)}.")
        if kind == StepKind.WAIT:
            _in_range(errors, prefix, "wait_seconds", step["wait_seconds"], WAIT_RANGE)
        if kind == StepKind.REPEAT:
            target = step["repeat_to_position"]
            if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < position:
                errors.add(f"{prefix}.repeat_to_position", "Must point at an earlier step (0-based position).")
            _in_range(errors, prefix, "repeat_times", step["repeat_times"], REPEAT_TIMES_RANGE)
        if kind == StepKind.FALLBACK and step["fallback_mode"] not in FallbackMode.values:
            errors.add(f"{prefix}.fallback_mode", f"One of {', '.join(FallbackMode.values)}.")
        if kind == StepKind.WEBHOOK:
            url = step["webhook_url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 500:
                errors.add(f"{prefix}.webhook_url", "An http(s) URL of at most 500 characters.")
            if not step["webhook_secret"]:
                step["webhook_secret"] = generated[position] = secrets.token_urlsafe(32)
            elif not isinstance(step["webhook_secret"], str) or not 16 <= len(step["webhook_secret"]) <= 128:
                errors.add(f"{prefix}.webhook_secret", "From 16 to 128 characters (or omit it to get one).")
            step["webhook_timeout_seconds"] = step["webhook_timeout_seconds"] or DEFAULT_WEBHOOK_TIMEOUT
            step["webhook_max_attempts"] = step["webhook_max_attempts"] or DEFAULT_WEBHOOK_ATTEMPTS
            _in_range(errors, prefix, "webhook_timeout_seconds", step["webhook_timeout_seconds"], WEBHOOK_TIMEOUT_RANGE)
            _in_range(errors, prefix, "webhook_max_attempts", step["webhook_max_attempts"], WEBHOOK_ATTEMPTS_RANGE)
        normalised.append(step)
    errors.raise_if_any()
    return normalised, generated


def _routing_validate(data: dict[str, Any]) -> None:
    errors = StepErrors()
    severities = data.get("match_severities")
    if severities is not None and (
        not isinstance(severities, list) or any(value not in Severity.values for value in severities)
    ):
        errors.add("match_severities", f"A list of: {', '.join(Severity.values)}.")
    types = data.get("match_types")
    if types is not None and (
        not isinstance(types, list) or any(not isinstance(value, str) or not 0 < len(value) <= 64 for value in types)
    ):
        errors.add("match_types", "A list of alert types (1 to 64 characters each).")
    errors.raise_if_any()


def _step_fields(step: EscalationStep) -> dict[str, Any]:
    fields = {name: getattr(step, name) for name in STEP_FIELDS}
    fields["target_user"] = step.target_user_id
    fields["kind"] = step.kind
    return fields


def _write_steps(policy: EscalationPolicy, steps: list[dict[str, Any]]) -> list[EscalationStep]:
    policy.steps.all().delete()
    created = [
        EscalationStep(
            policy=policy,
            position=position,
            **{**{k: v for k, v in step.items() if k != "target_user"}, "target_user_id": step["target_user"]},
        )
        for position, step in enumerate(steps)
    ]
    return EscalationStep.objects.bulk_create(created)


def _make_room_for_default(team_id: int, keep_id: int | None = None) -> None:
    """Before a policy becomes the team's default: lock the team (two concurrent "make me the
    default" requests queue here instead of colliding on the unique constraint) and unset
    the current default."""
    Team.objects.select_for_update().filter(pk=team_id).first()
    others = EscalationPolicy.objects.filter(team_id=team_id, is_default=True)
    if keep_id is not None:
        others = others.exclude(pk=keep_id)
    others.update(is_default=False, updated_at=timezone.now())


def _name_taken(team_id: int, name: str, exclude_id: int | None = None) -> bool:
    qs = EscalationPolicy.objects.filter(team_id=team_id, name__iexact=name)
    return qs.exclude(pk=exclude_id).exists() if exclude_id else qs.exists()


def _describe(policy: EscalationPolicy) -> dict[str, Any]:
    snapshot = policy.snapshot()
    for step in snapshot["steps"]:
        step.pop("webhook_secret", None)  # never in the audit log
    return {**snapshot, "is_default": policy.is_default, "enabled": policy.enabled, "priority": policy.priority}


POLICY_FIELDS = ("name", "description", "is_default", "match_severities", "match_types", "priority", "enabled")


@transaction.atomic
def policy_create(*, team: Team, by: Actor, data: dict[str, Any]) -> tuple[EscalationPolicy, dict[int, str]]:
    """Create a policy with its steps; returns it and the generated webhook secrets by step id."""
    _routing_validate(data)
    if _name_taken(team.pk, data["name"]):
        raise InvalidPolicy("A policy with this name exists.", details={"name": ["already used in this team"]})
    steps, generated = steps_normalise(team=team, steps=data.get("steps") or [])
    if data.get("is_default"):
        _make_room_for_default(team.pk)
    policy = EscalationPolicy.objects.create(team=team, **{k: data[k] for k in POLICY_FIELDS if k in data})
    created = _write_steps(policy, steps)
    audit_record(actor=by, action="escalation.policy_created", target=policy, data=_describe(policy))
    return policy, {created[position].pk: secret for position, secret in generated.items()}


@transaction.atomic
def policy_update(
    *, policy: EscalationPolicy, by: Actor, data: dict[str, Any]
) -> tuple[EscalationPolicy, dict[int, str]]:
    """Change fields; ``steps`` (if given) replaces the whole list (new step ids)."""
    if data.get("is_default"):
        _make_room_for_default(policy.team_id, keep_id=policy.pk)
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    _routing_validate(data)
    if "name" in data and _name_taken(policy.team_id, data["name"], exclude_id=policy.pk):
        raise InvalidPolicy("A policy with this name exists.", details={"name": ["already used in this team"]})
    generated_by_id: dict[int, str] = {}
    if "steps" in data:
        steps, generated = steps_normalise(team=policy.team, steps=data["steps"] or [])
        created = _write_steps(policy, steps)
        generated_by_id = {created[position].pk: secret for position, secret in generated.items()}
    for name in POLICY_FIELDS:
        if name in data:
            setattr(policy, name, data[name])
    policy.updated_at = timezone.now()
    policy.save()
    audit_record(actor=by, action="escalation.policy_updated", target=policy, data=_describe(policy))
    return policy, generated_by_id


@transaction.atomic
def policy_delete(*, policy: EscalationPolicy, by: Actor) -> None:
    audit_record(actor=by, action="escalation.policy_deleted", target=policy, data=_describe(policy))
    policy.delete()


def _replace_steps_keeping_ids(
    policy: EscalationPolicy, ordered: list[EscalationStep | None], new_fields: list[dict[str, Any]]
) -> dict[int, str]:
    """Validate ``new_fields`` (the whole list, in order) and write it onto ``ordered`` (existing
    step rows, or None for a new one), keeping ids; returns generated webhook secrets by step id."""
    steps, generated = steps_normalise(team=policy.team, steps=new_fields)
    keep = [step for step in ordered if step is not None]
    policy.steps.exclude(pk__in=[step.pk for step in keep]).delete()
    # Two passes: move every kept step out of the way, then write the final positions.
    for step in keep:
        EscalationStep.objects.filter(pk=step.pk).update(position=step.position + 10_000)
    secrets_by_id: dict[int, str] = {}
    for position, (row, fields) in enumerate(zip(ordered, steps, strict=True)):
        values = {k: v for k, v in fields.items() if k != "target_user"}
        values["target_user_id"] = fields["target_user"]
        if row is None:
            row = EscalationStep.objects.create(policy=policy, position=position, **values)
        else:
            EscalationStep.objects.filter(pk=row.pk).update(position=position, **values)
        if position in generated:
            secrets_by_id[row.pk] = generated[position]
    policy.updated_at = timezone.now()
    policy.save(update_fields=["updated_at"])
    return secrets_by_id


def _locked_steps(policy: EscalationPolicy) -> tuple[EscalationPolicy, list[EscalationStep]]:
    policy = EscalationPolicy.objects.select_for_update().select_related("team").get(pk=policy.pk)
    return policy, list(policy.steps.order_by("position"))


@transaction.atomic
def step_add(
    *, policy: EscalationPolicy, by: Actor, data: dict[str, Any], position: int | None = None
) -> tuple[EscalationStep, dict[int, str]]:
    policy, steps = _locked_steps(policy)
    position = len(steps) if position is None else position
    if not 0 <= position <= len(steps):
        raise InvalidPolicy("No such position.", details={"position": [f"From 0 to {len(steps)}."]})
    ordered: list[EscalationStep | None] = [*steps[:position], None, *steps[position:]]
    fields = [_step_fields(step) for step in steps]
    fields.insert(position, data)
    generated = _replace_steps_keeping_ids(policy, ordered, fields)
    step = policy.steps.get(position=position)
    audit_record(actor=by, action="escalation.step_added", target=policy, data=_describe(policy))
    return step, generated


@transaction.atomic
def step_update(*, step: EscalationStep, by: Actor, data: dict[str, Any]) -> tuple[EscalationStep, dict[int, str]]:
    policy, steps = _locked_steps(step.policy)
    fields = [_step_fields(row) for row in steps]
    index = next(i for i, row in enumerate(steps) if row.pk == step.pk)
    fields[index] = {**fields[index], **data}
    if data.get("kind") and data["kind"] != steps[index].kind:
        fields[index] = {"kind": data["kind"], **data}  # a new kind starts from its own fields only
    generated = _replace_steps_keeping_ids(policy, list(steps), fields)
    audit_record(actor=by, action="escalation.step_updated", target=policy, data=_describe(policy))
    return EscalationStep.objects.get(pk=step.pk), generated


@transaction.atomic
def step_delete(*, step: EscalationStep, by: Actor) -> None:
    policy, steps = _locked_steps(step.policy)
    remaining = [row for row in steps if row.pk != step.pk]
    _replace_steps_keeping_ids(policy, list(remaining), [_step_fields(row) for row in remaining])
    audit_record(actor=by, action="escalation.step_deleted", target=policy, data=_describe(policy))


@transaction.atomic
def steps_reorder(*, policy: EscalationPolicy, by: Actor, step_ids: list[int]) -> EscalationPolicy:
    policy, steps = _locked_steps(policy)
    by_id = {step.pk: step for step in steps}
    if sorted(step_ids) != sorted(by_id):
        raise InvalidPolicy(
            "Give every step of the policy exactly once.",
            details={"step_ids": [f"Expected a permutation of {sorted(by_id)}."]},
        )
    ordered: list[EscalationStep | None] = [by_id[step_id] for step_id in step_ids]
    _replace_steps_keeping_ids(policy, ordered, [_step_fields(by_id[step_id]) for step_id in step_ids])
    audit_record(actor=by, action="escalation.steps_reordered", target=policy, data=_describe(policy))
    return policy
