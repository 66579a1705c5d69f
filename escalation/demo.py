"""Demo data for ``manage.py seed_demo``: the demo team's default escalation policy."""

from __future__ import annotations

from accounts.demo import SEED_ACTOR, DemoContext
from escalation.models import EscalationPolicy
from escalation.services.policies import policy_create

DEMO_POLICY_NAME = "Demo default"
DEMO_STEPS = [
    {"kind": "notify_on_duty", "ack_window_seconds": 300},
    {"kind": "notify_role", "target_role": "owner", "ack_window_seconds": 300},
    {"kind": "repeat", "repeat_to_position": 0, "repeat_times": 1},
]


def seed_demo(ctx: DemoContext) -> None:
    ctx.write("escalation: the demo team's default policy")
    team = ctx.objects["team"]
    if EscalationPolicy.objects.filter(team=team).exists():
        return
    policy_create(
        team=team,
        by=SEED_ACTOR,
        data={"name": DEMO_POLICY_NAME, "is_default": True, "steps": DEMO_STEPS},
    )
    ctx.write("  created: on duty (5 min) → team owner (5 min) → once more from the top")
    ctx.notes.append("Escalation: new alerts notify the agents on duty, then the team owner, every 5 minutes.")
