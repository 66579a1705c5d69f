"""Team invitations: single-use, expiring, stored only as the sha256 of their token.

The invited email may have no account yet: registering with it accepts every pending
invitation in the same transaction; an existing account accepts with the token.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.events import publish_membership_event
from accounts.exceptions import (
    AlreadyMember,
    InvitationEmailMismatch,
    InvitationGone,
    InvitationNotPending,
)
from accounts.models import Team, TeamInvitation, TeamMembership, TeamRole, User, UserRole
from accounts.selectors import invitation_token_hash, pending_invitations_q
from accounts.services.common import Actor
from accounts.services.teams import require_ownership_for
from alertguardian.api import NotFound
from audit.services import audit_record

logger = logging.getLogger(__name__)

DEFAULT_ACCEPT_URL = "{base}/api/v1/invitations/{token}/accept"


def invitation_accept_url(token: str) -> str:
    template = getattr(settings, "INVITATION_ACCEPT_URL", DEFAULT_ACCEPT_URL)
    return str(template).format(base=str(settings.PUBLIC_BASE_URL).rstrip("/"), token=token)


def _send_invitation_email(*, invitation_id: int, token: str) -> None:
    """Runs after commit. A mail server failure is logged, not raised: the invitation exists and
    the inviter was shown the token, so they can pass it on another way."""
    invitation = TeamInvitation.objects.select_related("team", "invited_by").filter(pk=invitation_id).first()
    if invitation is None:
        return
    body = render_to_string(
        "accounts/email/invitation.txt",
        {
            "team": invitation.team,
            "role": invitation.get_role_display(),
            "email": invitation.email,
            "inviter": (invitation.invited_by.full_name or invitation.invited_by.email)
            if invitation.invited_by
            else "An administrator",
            "accept_url": invitation_accept_url(token),
            "expires_at": invitation.expires_at,
        },
    )
    try:
        send_mail(
            f"Invitation to {invitation.team.name} on Alert Guardian",
            body,
            None,
            [invitation.email],
        )
    except Exception:
        logger.exception("sending invitation %s failed", invitation_id)


def _revoke(invitation: TeamInvitation, *, by: Actor, reason: str) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        actor=by, action="invitation.revoked", target=invitation, data={"email": invitation.email, "reason": reason}
    )


@transaction.atomic
def invitation_create(*, team: Team, email: str, role: str, by: Actor) -> tuple[TeamInvitation, str]:
    """Invite ``email`` to ``team``; returns the invitation and its token (shown once, never stored).

    A new invitation to the same address supersedes (revokes) a pending one, so "resend" is
    just inviting again.
    """
    email = User.objects.normalize_email(email.strip()).lower()
    if role == TeamRole.OWNER:
        require_ownership_for(team=team, by=by)
    if TeamMembership.objects.filter(team_id=team.pk, user__email__iexact=email).exists():
        raise AlreadyMember("This email already belongs to a member of the team.")
    for previous in TeamInvitation.objects.select_for_update().filter(
        pending_invitations_q(), team_id=team.pk, email__iexact=email
    ):
        _revoke(previous, by=by, reason="superseded")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = TeamInvitation.objects.create(
        team=team,
        email=email,
        role=role,
        token_hash=invitation_token_hash(token),
        invited_by=by if isinstance(by, User) else None,
        created_at=now,
        expires_at=now + timedelta(days=int(settings.INVITATION_TTL_DAYS)),
    )
    audit_record(
        actor=by,
        action="invitation.sent",
        target=invitation,
        data={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation_id=invitation.pk, token=token))
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: TeamInvitation, by: Actor) -> TeamInvitation:
    """Revoke a pending invitation. Revoking twice is a no-op; an accepted one cannot be revoked."""
    locked = TeamInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise InvitationNotPending("The invitation was already accepted; remove the member instead.")
    if locked.revoked_at is None:
        _revoke(locked, by=by, reason="revoked")
    return locked


def _promote_customer(user: User, *, invitation: TeamInvitation, ip: str | None) -> None:
    # A team role means nothing to a customer (capabilities_for ignores it), so accepting a
    # team manager's invitation makes the person staff. The invitee consents by accepting.
    if user.role != UserRole.CUSTOMER:
        return
    user.role = UserRole.AGENT
    user.save(update_fields=["role"])
    audit_record(
        actor=user,
        action="user.role_changed",
        target=user,
        data={"from": UserRole.CUSTOMER, "to": UserRole.AGENT, "reason": "invitation", "invitation_id": invitation.pk},
        ip_address=ip,
    )


def _consume(invitation: TeamInvitation, *, user: User, ip: str | None) -> TeamMembership:
    """Accept a locked, pending invitation for ``user`` (the caller holds the transaction)."""
    _promote_customer(user, invitation=invitation, ip=ip)
    membership, created = TeamMembership.objects.get_or_create(
        team_id=invitation.team_id, user=user, defaults={"role": invitation.role}
    )
    if created:
        audit_record(
            actor=user,
            action="team.member_added",
            target=membership,
            data={"user_id": user.pk, "email": user.email, "role": membership.role, "via": "invitation"},
            ip_address=ip,
        )
        publish_membership_event(action="added", membership=membership)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=user,
        action="invitation.accepted",
        target=invitation,
        # An existing membership is kept as it is: accepting never demotes an owner.
        data={"email": invitation.email, "role": invitation.role, "membership_created": created},
        ip_address=ip,
    )
    return membership


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip: str | None = None) -> TeamMembership:
    invitation = TeamInvitation.objects.select_for_update().filter(token_hash=invitation_token_hash(token)).first()
    if invitation is None:
        raise NotFound("Invitation not found.", code="invitation_not_found")
    if invitation.accepted_at is not None:
        raise InvitationNotPending("This invitation was already used.", code="invitation_already_used")
    if invitation.revoked_at is not None:
        raise InvitationGone("This invitation was revoked.", code="invitation_revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationGone(
            "This invitation has expired; ask for a new one.",
            code="invitation_expired",
            details={"expired_at": invitation.expires_at.isoformat()},
        )
    if invitation.email.lower() != user.email.lower():
        raise InvitationEmailMismatch()
    locked_user = User.objects.select_for_update().get(pk=user.pk)
    membership = _consume(invitation, user=locked_user, ip=ip)
    user.role = locked_user.role
    return membership


def invitations_consume_for_user(*, user: User, ip: str | None = None) -> list[TeamMembership]:
    """Accept every pending invitation for the user's email (called inside registration)."""
    invitations = TeamInvitation.objects.select_for_update().filter(pending_invitations_q(), email__iexact=user.email)
    return [_consume(invitation, user=user, ip=ip) for invitation in invitations.order_by("id")]
