"""Which policy escalates an alert (see ``EscalationPolicy``'s docstring for the rules)."""

from __future__ import annotations

from alerts.models import Alert
from escalation.models import EscalationPolicy


def policy_matches(policy: EscalationPolicy, alert: Alert) -> bool:
    severities = policy.match_severities or []
    types = policy.match_types or []
    return (not severities or alert.severity in severities) and (not types or alert.type in types)


def policy_for_alert(alert: Alert) -> EscalationPolicy | None:
    policies = list(EscalationPolicy.objects.filter(team_id=alert.team_id, enabled=True).order_by("priority", "id"))
    for policy in policies:
        if not policy.is_default and policy_matches(policy, alert):
            return policy
    return next((policy for policy in policies if policy.is_default), None)
