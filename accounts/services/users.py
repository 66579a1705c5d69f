"""Accounts: self-registration (customers only), staff accounts, role and status changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.exceptions import EmailTaken, LastPlatformAdmin, RoleNotAllowed
from accounts.models import TeamMembership, User, UserRole
from accounts.services.common import UNSET, Actor, Unset
from accounts.services.invitations import invitations_consume_for_user
from alertguardian.api import Conflict, InvalidInput
from audit.services import audit_record


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def password_validate(*, password: str, user: User | None = None) -> None:
    """Django's password validators, as a 400 with the reasons under ``details.password``."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput(
            "The password does not meet the requirements.",
            details={"password": list(exc.messages)},
            code="weak_password",
        ) from exc


def _console_flags(role: str) -> dict[str, bool]:
    # Platform admins hold every capability, so the ops console (Django admin) is theirs too.
    is_admin = role == UserRole.ADMIN
    return {"is_staff": is_admin, "is_superuser": is_admin}


def _save_new_user(user: User) -> User:
    if User.objects.filter(email__iexact=user.email).exists():
        raise EmailTaken()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration of the same email won
        raise EmailTaken() from exc
    return user


@transaction.atomic
def user_register(
    *, email: str, password: str, full_name: str = "", phone: str = "", ip: str | None = None
) -> tuple[User, list[TeamMembership]]:
    """Self-service sign-up: always a customer. Pending invitations for the email are accepted
    in the same transaction (invitation before registration) and their memberships returned."""
    user = User(email=normalize_email(email), full_name=full_name, phone=phone, role=UserRole.CUSTOMER)
    password_validate(password=password, user=user)
    user.set_password(password)
    _save_new_user(user)
    audit_record(actor=user, action="account.registered", target=user, data={"email": user.email}, ip_address=ip)
    memberships = invitations_consume_for_user(user=user, ip=ip)
    return user, memberships


@transaction.atomic
def user_create(
    *,
    by: Actor,
    email: str,
    password: str | None,
    role: str,
    full_name: str = "",
    phone: str = "",
    is_active: bool = True,
) -> User:
    """An account made by a platform admin (API or console). ``password=None`` leaves it unusable
    (the person signs in after an admin sets one)."""
    if role not in UserRole.values:
        raise RoleNotAllowed(f"Unknown role {role!r}.", details={"role": [f"choose one of {UserRole.values}"]})
    user = User(
        email=normalize_email(email),
        full_name=full_name,
        phone=phone,
        role=role,
        is_active=is_active,
        **_console_flags(role),
    )
    if password is None:
        user.set_unusable_password()
    else:
        password_validate(password=password, user=user)
        user.set_password(password)
    _save_new_user(user)
    audit_record(actor=by, action="user.created", target=user, data={"email": user.email, "role": role})
    return user


def platform_admin_guard(*, user: User, role: str, is_active: bool) -> None:
    """Refuse to demote or deactivate the last active platform admin."""
    if user.role != UserRole.ADMIN or not user.is_active:
        return
    if role == UserRole.ADMIN and is_active:
        return
    others = User.objects.filter(role=UserRole.ADMIN, is_active=True).exclude(pk=user.pk)
    if not others.exists():
        raise LastPlatformAdmin()


def _lock_platform_admins() -> None:
    # Lock every active admin row, in id order, before touching one: two admins stepping down
    # at once then run one after the other (and cannot deadlock), so one of them is refused.
    list(User.objects.select_for_update().filter(role=UserRole.ADMIN, is_active=True).order_by("pk").values_list("pk"))


def _blacklist_outstanding_tokens(user: User) -> int:
    """Deactivation also ends every session: outstanding refresh tokens are blacklisted."""
    tokens = OutstandingToken.objects.filter(user_id=user.pk, expires_at__gt=timezone.now()).exclude(
        pk__in=BlacklistedToken.objects.values("token_id")
    )
    count = 0
    for token in tokens:
        BlacklistedToken.objects.get_or_create(token=token)
        count += 1
    return count


def user_update_validate(*, user: User, role: str, is_active: bool) -> None:
    """The invariants of a role/status change (also used by the console form to show errors)."""
    if role not in UserRole.values:
        raise InvalidInput(f"Unknown role {role!r}.", details={"role": [f"choose one of {UserRole.values}"]})
    platform_admin_guard(user=user, role=role, is_active=is_active)
    if role == UserRole.CUSTOMER and user.role != UserRole.CUSTOMER:
        team_ids = list(TeamMembership.objects.filter(user_id=user.pk).values_list("team_id", flat=True))
        if team_ids:
            # A customer's team role would grant nothing; remove the memberships first, on purpose.
            raise Conflict(
                "Remove this user from their teams before making them a customer.",
                details={"team_ids": team_ids},
                code="user_has_memberships",
            )


@transaction.atomic
def user_update(
    *,
    user: User,
    by: Actor,
    role: str | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    full_name: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    email: str | Unset = UNSET,
) -> User:
    """Change what a platform admin may change; each kind of change is its own audit row."""
    if UserRole.ADMIN in {user.role, role}:
        _lock_platform_admins()
    locked = User.objects.select_for_update().get(pk=user.pk)
    new_role = locked.role if isinstance(role, Unset) else role
    new_active = locked.is_active if isinstance(is_active, Unset) else is_active
    user_update_validate(user=locked, role=new_role, is_active=new_active)
    if not isinstance(email, Unset):
        email = normalize_email(email)
        if User.objects.filter(email__iexact=email).exclude(pk=locked.pk).exists():
            raise EmailTaken()

    fields: list[str] = []
    if new_role != locked.role:
        old_role = locked.role
        locked.role = new_role
        fields.append("role")
        if UserRole.ADMIN in {old_role, new_role}:
            for flag, flag_value in _console_flags(new_role).items():
                setattr(locked, flag, flag_value)
            fields += ["is_staff", "is_superuser"]
        audit_record(actor=by, action="user.role_changed", target=locked, data={"from": old_role, "to": new_role})
    if new_active != locked.is_active:
        locked.is_active = new_active
        fields.append("is_active")
        data: dict[str, Any] = {}
        if not new_active:
            data["sessions_ended"] = _blacklist_outstanding_tokens(locked)
        audit_record(actor=by, action="user.activated" if new_active else "user.deactivated", target=locked, data=data)
    profile: dict[str, Any] = {}
    profile_values: tuple[tuple[str, str | Unset], ...] = (("full_name", full_name), ("phone", phone), ("email", email))
    for name, value in profile_values:
        if not isinstance(value, Unset) and value != getattr(locked, name):
            profile[name] = {"from": getattr(locked, name), "to": value}
            setattr(locked, name, value)
            fields.append(name)
    if profile:
        audit_record(actor=by, action="user.updated", target=locked, data={"changes": profile})
    if fields:
        locked.save(update_fields=fields)
    return locked
