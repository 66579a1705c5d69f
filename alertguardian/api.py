"""API conventions shared by every app: the error hierarchy, the one JSON error body
``{"code", "message", "details"}``, and the default pagination."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """Base of every domain error; the handler renders it with its code and status."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_message = "The request is invalid."

    def __init__(self, message: str | None = None, *, details: Any = None, code: str | None = None) -> None:
        self.message = message or self.default_message
        self.details = details if details is not None else {}
        if code:
            self.code = code
        super().__init__(self.message)


class InvalidInput(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_message = "The request is invalid."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    default_message = "You do not have permission to do this."


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The resource changed; the request conflicts with its current state."


class TooManyRequests(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"
    default_message = "Too many requests."


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"
    default_message = "Temporarily unavailable; retry later."


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details if details is not None else {}}


def error_json_response(status_code: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status_code)


_DRF_CODES: dict[type[Exception], tuple[str, str]] = {
    drf_exceptions.ParseError: ("malformed_request", "The request body could not be parsed."),
    drf_exceptions.NotAuthenticated: ("not_authenticated", "Authentication credentials were not provided."),
    drf_exceptions.AuthenticationFailed: ("authentication_failed", "Authentication failed."),
    drf_exceptions.PermissionDenied: ("forbidden", "You do not have permission to do this."),
    drf_exceptions.NotFound: ("not_found", "Not found."),
    drf_exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed."),
    drf_exceptions.NotAcceptable: ("not_acceptable", "Not acceptable."),
    drf_exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type."),
    drf_exceptions.Throttled: ("throttled", "Too many requests."),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error as ``{"code", "message", "details"}`` (DRF's EXCEPTION_HANDLER)."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=_django_validation_details(exc))
    elif isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(
            error_body("payload_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )

    if not isinstance(exc, drf_exceptions.APIException):
        return None  # a genuine server error: let Django log it and answer 500

    set_rollback()
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]

    if isinstance(exc, drf_exceptions.ValidationError):
        body = error_body("invalid", "The request is invalid.", exc.detail)
    else:
        code, message = _DRF_CODES.get(type(exc), (str(getattr(exc, "default_code", "error")), ""))
        detail = exc.detail
        details: Any = {}
        if isinstance(detail, dict):
            details = detail
            detail_message = detail.get("detail")
            message = str(detail_message) if detail_message else message
        elif detail:
            message = str(detail)
        body = error_body(code, message or str(exc), details)
    return Response(body, status=exc.status_code, headers=headers)


def _django_validation_details(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


class DefaultCursorPagination(CursorPagination):
    """Cursor pagination, newest first; stable under concurrent inserts."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200


def json_404(request: Any, exception: Exception | None = None) -> JsonResponse:
    return error_json_response(404, "not_found", "Not found.")


def json_500(request: Any) -> JsonResponse:
    return error_json_response(500, "server_error", "An unexpected error occurred; it has been logged.")
