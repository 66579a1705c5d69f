"""Shared bits of the accounts services: the actor type and the "not given" marker."""

from __future__ import annotations

import enum
from typing import Final

from accounts.models import User
from audit.services import AuditActor

# A user acting through the API/console, a named non-user actor (seed_demo), or the system.
Actor = User | AuditActor | None


class _Unset(enum.Enum):
    """Marks a keyword a partial update did not receive (``None`` can be a real value)."""

    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET
Unset = _Unset
