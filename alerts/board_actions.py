"""Board actions: plain form POSTs that call one service each, then redirect (POST/redirect/GET).

The board works without JavaScript. ``board.js`` enhances the same forms: it posts them
with ``Accept: application/json`` and gets ``{"ok", "message"}`` back instead of a
redirect, while the live event (``/ws/board/``, ``/ws/alerts/<id>/``) redraws the page.
Another team's alert is 404; a missing capability or a state conflict (someone else
acted first) becomes a message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import capabilities as caps
from accounts.models import User
from alertguardian.api import ApplicationError, InvalidInput, NotFound
from alerts import board_selectors as board
from alerts.models import Alert
from alerts.selectors import alert_get_for_user
from alerts.services import (
    alert_acknowledge,
    alert_assign,
    alert_note_add,
    alert_reopen,
    alert_resolve,
    alert_unacknowledge,
)
from alerts.views import html_not_found, request_user

NOTE_MAX_LENGTH = 5000


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _note(request: HttpRequest, *, required: bool = False) -> str:
    note = request.POST.get("note", "").strip()
    if required and not note:
        raise InvalidInput("Write a note first.", details={"note": ["This field is required."]})
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(f"A note can be at most {NOTE_MAX_LENGTH} characters.", details={"note": ["too long"]})
    return note


def _after_action(request: HttpRequest, alert_id: int) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return reverse("board:alert-detail", args=[alert_id])


def _perform(
    request: HttpRequest, alert_id: int, action: Callable[[Alert, User], str], capability: str = caps.ALERTS_MANAGE
) -> HttpResponseBase:
    """Fetch with the capability check, run ``action``, then redirect (or JSON for board.js).

    Another team's alert is 404; a missing capability or a state conflict (someone else
    acted first) becomes a message on the page the agent came from.
    """
    user = request_user(request)
    status = 200
    if not user.is_staff_member:
        raise Http404("Alert not found.")
    try:
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=capability)
        message, ok = action(alert, user), True
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        message, ok, status = exc.message, False, exc.status_code
    if _wants_json(request):
        return JsonResponse({"ok": ok, "message": message}, status=status)
    (messages.success if ok else messages.error)(request, message)
    return redirect(_after_action(request, alert_id))


@login_required
@html_not_found
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    def act(alert: Alert, user: User) -> str:
        alert_acknowledge(alert_id=alert.pk, by=user, note=_note(request))
        return f"Alert #{alert.pk} acknowledged."

    return _perform(request, alert_id, act)


@login_required
@html_not_found
@require_POST
def alert_unacknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    def act(alert: Alert, user: User) -> str:
        alert_unacknowledge(alert_id=alert.pk, by=user)
        return f"Alert #{alert.pk} is triggered again; escalation restarts."

    return _perform(request, alert_id, act)


@login_required
@html_not_found
@require_POST
def alert_resolve_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    def act(alert: Alert, user: User) -> str:
        alert_resolve(alert_id=alert.pk, by=user, note=_note(request))
        return f"Alert #{alert.pk} resolved."

    return _perform(request, alert_id, act)


@login_required
@html_not_found
@require_POST
def alert_reopen_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    def act(alert: Alert, user: User) -> str:
        alert_reopen(alert_id=alert.pk, by=user, note=_note(request))
        return f"Alert #{alert.pk} reopened."

    return _perform(request, alert_id, act, capability=caps.ALERTS_REOPEN)


@login_required
@html_not_found
@require_POST
def alert_assign_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    def act(alert: Alert, user: User) -> str:
        raw = request.POST.get("assignee", "").strip()
        if raw == "me" or request.POST.get("assign_to_me"):
            assignee: User | None = user
        elif raw in ("", "none"):
            assignee = None
        else:
            assignee = board.board_assignable_staff(team_id=alert.team_id).filter(pk=_int(raw)).first()
            if assignee is None:
                raise InvalidInput("Choose a staff member of this team.", details={"assignee": ["not in this team"]})
        alert_assign(alert_id=alert.pk, by=user, assignee=assignee)
        return f"Alert #{alert.pk} assigned to {assignee.email}." if assignee else f"Alert #{alert.pk} unassigned."

    return _perform(request, alert_id, act)


@login_required
@html_not_found
@require_POST
def alert_note_view(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    def act(alert: Alert, user: User) -> str:
        alert_note_add(alert_id=alert.pk, by=user, note=_note(request, required=True))
        return "Note added."

    return _perform(request, alert_id, act)


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        return 0
