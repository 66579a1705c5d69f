"""Extension points that apps downstream of ``alerts`` fill in, so alerts never imports them.

Two registries, both plain lists that a downstream app appends to in its
``AppConfig.ready()`` (use the ``register_*`` helpers: they ignore a second
registration of the same function, since ``ready()`` may run more than once):

``CUSTOMER_VISIBILITY_HOOKS: list[Callable[[User], Q]]``
    Each returns a ``Q`` on ``Alert`` naming extra alerts a customer may see (alerts
    about their bookings). OR-ed with "the customer reported it".

``BOOKING_RESOLVERS: list[Callable[[User, str], BookingRef | None]]``
    Used when a customer reports a problem (``POST /api/v1/alerts``). Called with the
    customer and the booking they typed (a booking reference or id, exactly as sent,
    stripped of surrounding spaces). Return a ``BookingRef`` **only for a booking that
    customer owns**; ``None`` if this resolver does not know it (or it is someone
    else's: never reveal other customers' bookings). Resolvers are asked in order; the
    first non-``None`` answer wins. No answer → the report is refused with 400 on
    the ``booking`` field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import Q

    from accounts.models import User


@dataclass(frozen=True)
class BookingRef:
    """What alerts needs to know about a customer's booking to raise an alert on it.

    ``team_id``: the team (tenant) that handles the booking; the report goes to it.
    ``booking_id``: the booking's primary key (stored in the alert's metadata, used in
    the dedup key so that a repeated report folds into the open alert).
    ``reference``: the human booking reference (e.g. ``"AG7K2Q"``), shown in the title.
    ``resource``: the affected leg or resource, in the same vocabulary as other alerts
    (e.g. a flight leg ``"UA1545-2013-01-01-EWR"``, ``"hotel:42"``); may be blank.
    """

    team_id: int
    booking_id: int
    reference: str
    resource: str = ""


BookingResolver = Callable[["User", str], BookingRef | None]
CustomerVisibilityHook = Callable[["User"], "Q"]

BOOKING_RESOLVERS: list[BookingResolver] = []
CUSTOMER_VISIBILITY_HOOKS: list[CustomerVisibilityHook] = []


def register_booking_resolver(resolver: BookingResolver) -> BookingResolver:
    """Add ``resolver`` once (usable as a decorator)."""
    if resolver not in BOOKING_RESOLVERS:
        BOOKING_RESOLVERS.append(resolver)
    return resolver


def register_customer_visibility_hook(hook: CustomerVisibilityHook) -> CustomerVisibilityHook:
    """Add ``hook`` once (usable as a decorator)."""
    if hook not in CUSTOMER_VISIBILITY_HOOKS:
        CUSTOMER_VISIBILITY_HOOKS.append(hook)
    return hook


def booking_resolve(*, user: User, booking: str) -> BookingRef | None:
    """The first resolver's answer for this customer's booking, or ``None``."""
    for resolver in BOOKING_RESOLVERS:
        found = resolver(user, booking)
        if found is not None:
            return found
    return None
