from __future__ import annotations

from alertguardian.api import InvalidInput, NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    default_message = "No such notification."


class PolicyNotFound(NotFound):
    code = "policy_not_found"
    default_message = "No such escalation policy."


class StepNotFound(NotFound):
    code = "step_not_found"
    default_message = "No such step in this policy."


class InvalidPolicy(InvalidInput):
    code = "invalid_policy"


class InvalidSubscriptions(InvalidInput):
    code = "invalid_subscriptions"
