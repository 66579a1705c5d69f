from __future__ import annotations

from alertguardian.api import ApplicationError


class IntegrationDisabled(ApplicationError):
    """The token is known but its integration is paused or revoked (401)."""

    status_code = 401
    code = "integration_disabled"
    default_message = "This integration is disabled."
