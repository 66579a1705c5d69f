"""Signals escalation sends to apps downstream of it (sent after the step's transaction commits).

- ``fallback_requested(alert_id, run_id, mode)``: a ``fallback`` step ran; the fallbacks app
  suggests options, tells customers, or auto-rebooks (``mode`` is a ``FallbackMode``).
"""

from __future__ import annotations

from django.dispatch import Signal

fallback_requested = Signal()
