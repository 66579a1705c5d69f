"""Admin registrations of the alerts app."""

from __future__ import annotations

# The ops console (SLA policies, ops settings, alert rules, summaries) lives in alerts/ops/admin.py.
from alerts.ops import admin as ops_admin  # noqa: F401
