"""The suggestion engine: from a booking and its disruption to ranked, costed plans.

Reads only (providers and the inventory); ``services.suggestions`` persists the result
as ``FallbackOption`` rows. The search, for the disrupted leg i and the legs that
connect after it (the "journey" i..k, see ``rules.is_connection``):

1. first-hop flights from the origin or a nearby airport with scheduled service
   (great-circle radius, reached by a ground transfer) to the next stop, to the final
   destination directly, or to an airport near the final destination;
2. for each, the rest of the original routing: the original onward legs when the
   minimum connection time still holds, otherwise the first onward flight that does;
3. a bus/train instead of the first hop when the distance is short;
4. staying on the delayed flight, for delays;
5. a hotel for every plan whose new departure is on a later local day;
6. the refund, when eligible, always ranked last (the "decline all" path).

Each plan gets its arrival delay against the original final arrival, its cost, a
score (``rules.option_score``) and a human-readable ``why``.

The search window starts at the planned departure. For live operations (planned
departure less than 24 h ago or in the future) options also start no earlier than
45 minutes from now; for replays of historical days (2013 data) the wall clock is
ignored, otherwise nothing would ever be suggested.
"""

from __future__ import annotations

from fallbacks.engine.context import SearchContext, forget_served_airports, served_airports
from fallbacks.engine.model import (
    Candidate,
    Disruption,
    Plan,
    Step,
    disruption_from_alert,
    has_connection_at,
    journey_bounds,
    segment_fares,
)
from fallbacks.engine.planner import Planner, plan_for_booking

__all__ = [
    "Candidate",
    "Disruption",
    "Plan",
    "Planner",
    "SearchContext",
    "Step",
    "disruption_from_alert",
    "forget_served_airports",
    "has_connection_at",
    "journey_bounds",
    "plan_for_booking",
    "segment_fares",
    "served_airports",
]
