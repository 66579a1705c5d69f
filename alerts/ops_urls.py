"""Operations API (alert rules, SLA policies, ops settings, summaries) under /api/v1/."""

from __future__ import annotations

from alerts.ops.urls import urlpatterns

__all__ = ["urlpatterns"]
