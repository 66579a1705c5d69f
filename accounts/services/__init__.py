"""Writes of the accounts domain. Each service is keyword-only, atomic, audited in the same
transaction and publishes live events only after commit. Authorization of the caller is the
selectors' job (``accounts.selectors.team_access`` and friends); services enforce invariants
(last owner, last platform admin, on-call eligibility) and the owner-role rule."""

from __future__ import annotations

from accounts.services.auth import TokenPair, auth_login, auth_logout, auth_token_refresh
from accounts.services.invitations import (
    invitation_accept,
    invitation_accept_url,
    invitation_create,
    invitation_revoke,
    invitations_consume_for_user,
)
from accounts.services.shifts import shift_create, shift_delete, shift_update, shift_validate
from accounts.services.teams import (
    membership_add,
    membership_remove,
    membership_role_change,
    team_create,
    team_update,
    timezone_validate,
)
from accounts.services.users import (
    UNSET,
    normalize_email,
    password_validate,
    platform_admin_guard,
    user_create,
    user_register,
    user_update,
    user_update_validate,
)

__all__ = [
    "UNSET",
    "TokenPair",
    "auth_login",
    "auth_logout",
    "auth_token_refresh",
    "invitation_accept",
    "invitation_accept_url",
    "invitation_create",
    "invitation_revoke",
    "invitations_consume_for_user",
    "membership_add",
    "membership_remove",
    "membership_role_change",
    "normalize_email",
    "password_validate",
    "platform_admin_guard",
    "shift_create",
    "shift_delete",
    "shift_update",
    "shift_validate",
    "team_create",
    "team_update",
    "timezone_validate",
    "user_create",
    "user_register",
    "user_update",
    "user_update_validate",
]
