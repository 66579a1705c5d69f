"""Errors of the accounts domain: each carries its HTTP status and a stable ``code``."""

from __future__ import annotations

from rest_framework import exceptions as drf_exceptions
from rest_framework import status

from alertguardian.api import ApplicationError, Conflict, InvalidInput


class RoleNotAllowed(InvalidInput):
    """Self-registration asked for a role other than customer (or for console flags)."""

    code = "role_not_allowed"
    default_message = "Registration creates customer accounts only; staff accounts are created by an administrator."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    default_message = "Email or password is incorrect."


class InvalidToken(ApplicationError):
    """A refresh token that is malformed, expired, already rotated or logged out."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_message = "The token is invalid, expired or no longer usable."


class LoginThrottled(drf_exceptions.Throttled):
    """Too many failed logins for this account or from this address (429 + Retry-After).

    A DRF ``Throttled`` so the project's handler adds the ``Retry-After`` header.
    """

    default_code = "login_throttled"
    default_detail = "Too many failed sign-in attempts; try again later."


class LastOwner(Conflict):
    code = "last_owner"
    default_message = "A team must keep at least one owner."


class LastPlatformAdmin(Conflict):
    code = "last_platform_admin"
    default_message = "At least one active platform admin must remain."


class AlreadyMember(Conflict):
    code = "already_member"
    default_message = "This user is already a member of the team."


class UserNotStaff(InvalidInput):
    code = "user_not_staff"
    default_message = "Only agents and admins can be team members; invite a customer to make them staff."


class InvitationNotPending(Conflict):
    code = "invitation_not_pending"
    default_message = "The invitation was already accepted."


class InvitationGone(ApplicationError):
    """Expired or revoked: the link will never work again (410)."""

    status_code = status.HTTP_410_GONE
    code = "invitation_gone"
    default_message = "The invitation is no longer valid."


class InvitationEmailMismatch(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "invitation_email_mismatch"
    default_message = "This invitation was sent to another email address; sign in with that account."


class InvalidShift(InvalidInput):
    code = "invalid_shift"
    default_message = "The shift is invalid."
