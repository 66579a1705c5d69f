"""DRF permission classes built from the capability map (``accounts.capabilities``).

Team-scoped checks are not permission classes: they need the team, so views call
``accounts.selectors.team_access(user=..., team_id=..., capability=...)`` which answers 404
for other tenants and 403 for readers lacking the capability.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from accounts.selectors import user_has_capability


class PlatformCapability(BasePermission):
    """Holds ``capability`` everywhere (platform role), e.g. ``users.manage``."""

    capability: str = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        self.message = f"You need the {self.capability} permission."
        return user_has_capability(user=user, capability=self.capability)


def platform_capability(capability: str) -> type[PlatformCapability]:
    """``permission_classes = [IsAuthenticated, platform_capability(caps.USERS_MANAGE)]``."""
    name = "Has" + "".join(part.title() for part in capability.replace(".", "_").split("_"))
    return type(name, (PlatformCapability,), {"capability": capability})
