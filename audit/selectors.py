"""Reads of the audit log, authorized: platform admins see everything, team admins their teams."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import team_ids_with_capability
from alertguardian.api import Forbidden
from audit.models import AuditEntry


def audit_entries_for_user(
    *,
    user: User,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    team_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    team_ids = team_ids_with_capability(user=user, capability=caps.AUDIT_READ)
    if team_ids == []:
        raise Forbidden("You need the audit.read permission.")
    entries = AuditEntry.objects.all()
    if team_ids is not None:
        entries = entries.filter(team_id__in=team_ids)
    if actor:
        entries = entries.filter(Q(actor_id=int(actor)) if actor.isdigit() else Q(actor_label__iexact=actor))
    if action:
        # "alert." matches every alert action; "alert.resolved" only that one.
        entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id)
    if team_id is not None:
        entries = entries.filter(team_id=team_id)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    return entries
