"""Broadcasts: a team admin tells every staff member of the team something at once."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Team, User
from accounts.selectors import team_staff
from alertguardian.realtime import publish_on_commit, user_group
from alerts import signals
from alerts.events import broadcast_event
from alerts.models import Alert, AlertSource
from alerts.services.lifecycle import alert_raise
from audit.services import audit_record

BROADCAST_ALERT_TYPE = "broadcast"


@transaction.atomic
def alert_broadcast(*, team: Team, by: User, title: str, message: str, severity: str) -> Alert:
    """Raise a broadcast alert (source ``broadcast``) on the team board and, on commit, push
    it to each active staff member's personal channel (``alert.broadcast``) and send the
    ``alert_broadcast`` domain signal (for other delivery channels). Authorization
    (``alerts.broadcast`` on the team) is the caller's."""
    alert = alert_raise(
        team=team,
        type=BROADCAST_ALERT_TYPE,
        severity=severity,
        title=title,
        message=message,
        source=AlertSource.BROADCAST,
        metadata={"broadcast_by": by.pk},
        actor=by,
    ).alert
    recipient_ids = list(team_staff(team_id=team.pk).values_list("pk", flat=True))
    event = broadcast_event(alert)
    for user_id in recipient_ids:
        publish_on_commit(user_group(user_id), event)
    audit_record(actor=by, action="alert.broadcast", target=alert, data={"recipients": recipient_ids})
    signals.send_on_commit(signals.alert_broadcast, alert_id=alert.pk, team_id=team.pk)
    return alert
