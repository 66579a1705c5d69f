"""The alert page's "Affected bookings & fallbacks" panel and its form posts.

Registered into ``alerts.views.ALERT_DETAIL_PANELS`` (alerts never imports fallbacks). The
panel shows the options the fallbacks app already stored for the alert (they are computed
when the disruption is raised and on "Refresh suggestions"), so rendering is read-only and
a constant number of queries. Actions are plain POSTs that call one service each and
redirect back with a message, like the board's other actions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import capabilities as caps
from accounts.selectors import user_has_capability
from alertguardian.api import ApplicationError, Forbidden, NotFound
from alerts.models import Alert
from alerts.selectors import alert_get_for_user
from alerts.views import html_not_found, request_user
from fallbacks.engine.model import disruption_from_alert
from fallbacks.models import Booking, FallbackAction, FallbackOption, OptionStatus
from fallbacks.selectors import (
    affected_bookings,
    booking_get_for_user,
    bookings_ever_on_leg,
    bookings_visible_to,
    option_get_for_user,
)
from fallbacks.services.apply import booking_auto_rebook, fallback_option_apply
from fallbacks.services.bulk import alert_reaccommodate
from fallbacks.services.suggestions import booking_options_current

PANEL_BOOKINGS = 50  # more is the API's job (GET /api/v1/alerts/<id>/fallbacks, paginated)
OPTIONS_PER_BOOKING = 4


def _panel_bookings(alert: Alert, leg_key: str, user: Any) -> list[Booking]:
    visible = bookings_visible_to(user=user).values("pk")
    return list(
        bookings_ever_on_leg(team_id=alert.team_id, leg_key=leg_key)
        .filter(pk__in=visible)
        .select_related("customer")
        .prefetch_related(
            Prefetch(
                "fallback_actions",
                queryset=FallbackAction.objects.filter(alert=alert).order_by("-id"),
                to_attr="alert_actions",
            ),
        )
        .order_by("id")[: PANEL_BOOKINGS + 1]
    )


def alert_fallbacks_panel(request: HttpRequest, alert: Alert) -> str | None:
    disruption = disruption_from_alert(alert)
    if disruption is None:
        return None  # not about a flight leg: nothing to rebook
    user = request_user(request)
    bookings = _panel_bookings(alert, disruption.leg_key, user)
    more = len(bookings) > PANEL_BOOKINGS
    bookings = bookings[:PANEL_BOOKINGS]
    options: dict[int, list[FallbackOption]] = defaultdict(list)
    stored = FallbackOption.objects.filter(
        booking__in=[booking.pk for booking in bookings],
        alert=alert,
        status=OptionStatus.OPEN,
        expires_at__gt=timezone.now(),
    ).order_by("booking_id", "rank", "id")
    for option in stored:
        if len(options[option.booking_id]) < OPTIONS_PER_BOOKING:
            options[option.booking_id].append(option)
    rows = [
        {
            "booking": booking,
            "on_leg": any(segment.leg_key == disruption.leg_key for segment in booking.active_segments),  # type: ignore[attr-defined]  # prefetched
            "actions": booking.alert_actions,  # type: ignore[attr-defined]  # prefetched
            "options": options.get(booking.pk, []),
        }
        for booking in bookings
    ]
    context = {
        "alert": alert,
        "rows": rows,
        "more": more,
        "leg_key": disruption.leg_key,
        "cancelled": disruption.kind == "cancelled",
        "can_manage": user_has_capability(user=user, capability=caps.BOOKINGS_MANAGE, team_id=alert.team_id),
        "api_url": f"/api/v1/alerts/{alert.pk}/fallbacks",
    }
    return render_to_string("fallbacks/panel.html", context, request=request)


def _back(alert_id: int | None) -> HttpResponseBase:
    return redirect(reverse("board:alert-detail", args=[alert_id]) if alert_id else reverse("board:index"))


def option_alert_id(option_id: int) -> int | None:
    return FallbackOption.objects.filter(pk=option_id).values_list("alert_id", flat=True).first()


def _alert_for_action(request: HttpRequest, alert_id: int) -> Alert:
    """The alert if the user can see it as staff (else 404); the capability to act on its
    bookings is checked by ``_require_manage`` inside the action, so a viewer gets a message."""
    user = request_user(request)
    if not user.is_staff_member:
        raise Http404("Alert not found.")
    try:
        return alert_get_for_user(user=user, alert_id=alert_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _require_manage(request: HttpRequest, team_id: int) -> None:
    if not user_has_capability(user=request_user(request), capability=caps.BOOKINGS_MANAGE, team_id=team_id):
        raise Forbidden(f"You need the {caps.BOOKINGS_MANAGE} permission on this team.")


def _report(request: HttpRequest, action: Any) -> None:
    """Run ``action`` and turn its outcome (or a domain error such as 409 sold out) into a message."""
    try:
        messages.success(request, action())
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        next_best = (exc.details or {}).get("next_best") if isinstance(exc.details, dict) else None
        hint = f" Next best: {next_best['kind']} (option #{next_best['id']}): {next_best['why']}" if next_best else ""
        messages.error(request, f"{exc.message}{hint}")


@login_required
@html_not_found
@require_POST
def option_apply_view(request: HttpRequest, option_id: int) -> HttpResponseBase:
    user = request_user(request)
    if not user.is_staff_member:
        raise Http404("Option not found.")
    try:
        option = option_get_for_user(user=user, option_id=option_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:  # a viewer: the option is no secret, the action is not theirs
        messages.error(request, exc.message)
        return _back(option_alert_id(option_id))

    def act() -> str:
        action = fallback_option_apply(option_id=option.pk, by=user)
        return f"Applied to booking {option.booking.reference}: {action.summary}"

    _report(request, act)
    return _back(option.alert_id)


@login_required
@html_not_found
@require_POST
def booking_auto_rebook_view(request: HttpRequest, alert_id: int, booking_id: int) -> HttpResponseBase:
    alert = _alert_for_action(request, alert_id)
    user = request_user(request)
    try:
        booking = booking_get_for_user(user=user, booking_id=booking_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc

    def act() -> str:
        _require_manage(request, alert.team_id)
        result = booking_auto_rebook(booking=booking, by=user, alert=alert)
        done = "was already rebooked" if result.already_applied else "rebooked"
        return f"Booking {booking.reference} {done}: {result.action.summary}"

    _report(request, act)
    return _back(alert.pk)


@login_required
@html_not_found
@require_POST
def alert_reaccommodate_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    alert = _alert_for_action(request, alert_id)

    def act() -> str:
        _require_manage(request, alert.team_id)
        result = alert_reaccommodate(alert_id=alert.pk, by=request_user(request))
        failed = "; ".join(
            f"{row.get('reference', row.get('booking_id'))}: {row.get('reason', '')}" for row in result.failed
        )
        text = f"Re-accommodation: {len(result.rebooked)} rebooked, {len(result.already_handled)} already handled"
        return f"{text}, {len(result.failed)} failed ({failed})." if result.failed else f"{text}."

    _report(request, act)
    return _back(alert.pk)


@login_required
@html_not_found
@require_POST
def alert_fallbacks_refresh_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    alert = _alert_for_action(request, alert_id)
    disruption = disruption_from_alert(alert)
    if disruption is None:
        raise Http404("This alert is not about a flight leg.")

    def act() -> str:
        _require_manage(request, alert.team_id)
        bookings = list(
            affected_bookings(team_id=alert.team_id, leg_key=disruption.leg_key)
            .filter(pk__in=bookings_visible_to(user=request_user(request)).values("pk"))
            .order_by("id")[:PANEL_BOOKINGS]
        )
        total = sum(len(booking_options_current(booking=booking, alert=alert, refresh=True)) for booking in bookings)
        return f"Suggestions refreshed: {total} options for {len(bookings)} bookings."

    _report(request, act)
    return _back(alert.pk)
