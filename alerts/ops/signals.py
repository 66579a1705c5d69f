"""Domain signals of the operations package, for apps downstream of ``alerts``.

Sent after the transaction that made the change commits. Receivers (e.g. escalation's
in-app notifications) live in the other app's ``receivers.py`` and only enqueue work.
"""

from __future__ import annotations

from django.dispatch import Signal

summary_ready = Signal()  # summary_id, team_id, recipient_ids (subscribed staff)
