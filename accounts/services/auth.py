"""Sign-in (with failed-login lockout), refresh-token rotation and sign-out.

Tokens are simplejwt's. Rotation is done here rather than by simplejwt's view so that it is
atomic: the old refresh token's outstanding row is locked and blacklisted before a new one is
issued, so two concurrent refreshes with the same token cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import throttling
from accounts.exceptions import InvalidCredentials, InvalidToken, LoginThrottled
from accounts.models import User
from alertguardian.api import InvalidInput
from audit.services import AuditActor, audit_record

ANONYMOUS = AuditActor(label="anonymous")


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _issue(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _login_target(email: str) -> tuple[str, str]:
    """The account a failed sign-in aimed at (its id, or empty when no such account exists)."""
    known = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
    return ("accounts.user", str(known) if known is not None else "")


def auth_login(*, email: str, password: str, ip: str | None) -> TokenPair:
    """Exchange email + password for tokens.

    Refused with 429 while the account or the address is locked (even with the right password);
    every failure and success is audited with the email and address, never the password.
    """
    email = email.strip().lower()
    audit_data: dict[str, Any] = {"email": email, "ip": ip}
    lock = throttling.login_lock(email=email, ip=ip)
    if lock is not None:
        if throttling.lock_notice_first(lock=lock, email=email, ip=ip):
            audit_record(
                actor=ANONYMOUS,
                action="auth.login_failed",
                target=_login_target(email),
                data={**audit_data, "reason": "locked", "scope": lock.scope},
                ip_address=ip,
            )
        raise LoginThrottled(wait=lock.retry_after)

    user = authenticate(email=email, password=password)
    if not isinstance(user, User):
        throttling.login_failure_record(email=email, ip=ip)
        audit_record(
            actor=ANONYMOUS,
            action="auth.login_failed",
            target=_login_target(email),
            data={**audit_data, "reason": "invalid_credentials"},
            ip_address=ip,
        )
        raise InvalidCredentials()

    throttling.login_failures_clear(email=email)
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        tokens = _issue(user)
        audit_record(actor=user, action="auth.login_succeeded", target=user, data=audit_data, ip_address=ip)
    return tokens


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc


def _blacklist_once(token: RefreshToken) -> bool:
    """Blacklist ``token``; False when it already was (a concurrent rotation or logout won)."""
    jti = token[jwt_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).order_by("pk").first()
    if outstanding is None:
        token.outstand()
        outstanding = OutstandingToken.objects.select_for_update().order_by("pk").get(jti=jti)
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    return created


def _token_user(token: RefreshToken) -> User | None:
    user_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
    return User.objects.filter(pk=user_id).first() if user_id else None


@transaction.atomic
def auth_token_refresh(*, refresh: str) -> TokenPair:
    """Rotate: the given refresh token is blacklisted and a new pair is issued."""
    token = _decode_refresh(refresh)
    user = _token_user(token)
    if user is None or not user.is_active:
        raise InvalidToken("No active account for this token.")
    if not _blacklist_once(token):
        raise InvalidToken("Token is blacklisted")
    token.set_jti()
    token.set_exp()
    token.set_iat()
    token.outstand()
    return TokenPair(access=str(token.access_token), refresh=str(token))


@transaction.atomic
def auth_logout(*, refresh: str, ip: str | None = None) -> None:
    """Blacklist the refresh token (sign-out). An access token stays valid until it expires
    (minutes); clients drop it. A bad, expired or already used token is a 400. Whoever holds
    a refresh token may end it: holding it already means holding that session."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidInput(str(exc), code="invalid_token") from exc
    owner = _token_user(token)
    if not _blacklist_once(token):
        raise InvalidInput("Token is blacklisted", code="invalid_token")
    audit_record(
        actor=owner or ANONYMOUS,
        action="auth.logged_out",
        target=owner or ("accounts.user", ""),
        data={"ip": ip},
        ip_address=ip,
    )
