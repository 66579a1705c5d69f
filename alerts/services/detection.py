"""Disruption detection: which rules a change of a flight leg matches.

Rules are data (``DetectionRule``). ``effective_rules`` merges a team's rules over the
global defaults: a team that has any enabled rule of a condition replaces the global
rules of that condition. ``detect`` compares a leg before and after an ingest and
returns one finding per alert kind (cancelled, delay, diverted, gate, other); when several
rules of a kind match, the highest severity wins (ties: lowest ``ordering``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from alertguardian.memo import ProcessMemo
from alerts.models import SEVERITY_RANK, DetectionCondition, DetectionRule, FlightLegStatus

# Alert kinds, each with its own dedup key ``flight:<leg>:<kind>`` and alert type.
KIND_CANCELLED = "cancelled"
KIND_DELAY = "delay"
KIND_DIVERTED = "diverted"
KIND_GATE = "gate"
KIND_OTHER = "status"

ALERT_TYPES = {
    KIND_CANCELLED: "flight_cancelled",
    KIND_DELAY: "flight_delayed",
    KIND_DIVERTED: "flight_diverted",
    KIND_GATE: "flight_gate_changed",
    KIND_OTHER: "flight_status_changed",
}


def dedup_key(leg_key: str, kind: str) -> str:
    return f"flight:{leg_key}:{kind}"


@dataclass(frozen=True)
class LegState:
    """What detection looks at in a flight leg."""

    status: str
    delay_minutes: int | None
    departure_local_date: date | None  # local date at the origin of the latest known departure
    service_date: date
    gate: str
    terminal: str

    @property
    def later_local_day(self) -> bool:
        return self.departure_local_date is not None and self.departure_local_date > self.service_date


@dataclass(frozen=True)
class Finding:
    kind: str
    rule: DetectionRule
    reason: str

    @property
    def severity(self) -> str:
        return self.rule.severity


def effective_rules(rules: Iterable[DetectionRule], *, team_id: int) -> dict[str, list[DetectionRule]]:
    """Enabled rules per condition; team rules replace the global rules of the same condition."""
    team_rules: dict[str, list[DetectionRule]] = {}
    global_rules: dict[str, list[DetectionRule]] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.team_id == team_id:
            team_rules.setdefault(rule.condition, []).append(rule)
        elif rule.team_id is None:
            global_rules.setdefault(rule.condition, []).append(rule)
    return {**global_rules, **team_rules}


_team_rules: ProcessMemo[dict[str, list[DetectionRule]]] = ProcessMemo("detection_rules")
_team_rules.clear_on_change(DetectionRule)


def rules_for_team(team_id: int) -> dict[str, list[DetectionRule]]:
    """The team's effective rules, memoized per process (``alertguardian.memo``): every
    flight-event transaction asks. Treat the result as read-only."""

    def load() -> dict[str, list[DetectionRule]]:
        rules = DetectionRule.objects.filter(Q(team_id=team_id) | Q(team__isnull=True), enabled=True)
        return effective_rules(rules, team_id=team_id)

    return _team_rules.get(team_id, load)


def _strongest(rules: list[DetectionRule]) -> DetectionRule | None:
    if not rules:
        return None
    return min(rules, key=lambda rule: (-SEVERITY_RANK[rule.severity], rule.ordering, rule.pk or 0))


def _finding(kind: str, rules: list[DetectionRule], reason: str) -> Finding | None:
    rule = _strongest(rules)
    return Finding(kind=kind, rule=rule, reason=reason) if rule else None


def detect(
    *, rules: dict[str, list[DetectionRule]], before: LegState | None, after: LegState, event_types: set[str]
) -> list[Finding]:
    """Findings for one leg whose state went from ``before`` (None: first seen) to ``after``."""
    findings: list[Finding | None] = []
    was = before.status if before else None
    if after.status == FlightLegStatus.CANCELLED and was != FlightLegStatus.CANCELLED:
        findings.append(_finding(KIND_CANCELLED, rules.get(DetectionCondition.CANCELLED, []), "cancelled"))
    if after.status == FlightLegStatus.DIVERTED and was != FlightLegStatus.DIVERTED:
        findings.append(_finding(KIND_DIVERTED, rules.get(DetectionCondition.DIVERTED, []), "diverted"))
    if after.status != FlightLegStatus.CANCELLED and after.delay_minutes is not None:
        delay_changed = before is None or (before.delay_minutes, before.later_local_day) != (
            after.delay_minutes,
            after.later_local_day,
        )
        if delay_changed:
            matching = [
                rule
                for rule in rules.get(DetectionCondition.DELAY_MINUTES, [])
                if rule.threshold_minutes is not None and after.delay_minutes >= rule.threshold_minutes
            ]
            if after.later_local_day and after.delay_minutes > 0:
                matching += rules.get(DetectionCondition.LATER_LOCAL_DAY, [])
            findings.append(_finding(KIND_DELAY, matching, f"departure delay {after.delay_minutes} min"))
    # A first gate assignment is not a change, unless the sender calls it one.
    if (
        before is not None
        and (before.gate, before.terminal) != (after.gate, after.terminal)
        and ("gate_change" in event_types or before.gate or before.terminal)
    ):
        findings.append(_finding(KIND_GATE, rules.get(DetectionCondition.GATE_CHANGE, []), "gate change"))
    found = [finding for finding in findings if finding is not None]
    if not found and before is not None and before != after:
        other = _finding(KIND_OTHER, rules.get(DetectionCondition.OTHER, []), f"status {after.status}")
        if other:
            found.append(other)
    return found
