"""SMS backends. The gateway is outside the product: pick one with ``settings.SMS_BACKEND``.

A backend is a class with ``send(*, to: str, text: str) -> None`` that raises on failure
(the notification is then retried with backoff). The default only writes to the log.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("alertguardian.sms")


class LogSMSBackend:
    def send(self, *, to: str, text: str) -> None:
        logger.info("SMS to %s: %s", to, text)


class MemorySMSBackend:
    """Keeps messages in ``MemorySMSBackend.outbox`` (tests and demos), like Django's locmem email."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, to: str, text: str) -> None:
        MemorySMSBackend.outbox.append((to, text))
