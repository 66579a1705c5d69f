"""Teams (tenants) and their memberships."""

from __future__ import annotations

import zoneinfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import capabilities as caps
from accounts.events import publish_membership_event, publish_shift_event
from accounts.exceptions import AlreadyMember, LastOwner, UserNotStaff
from accounts.models import ShiftAssignment, Team, TeamMembership, TeamRole, User
from accounts.selectors import user_has_capability
from accounts.services.common import UNSET, Actor, Unset
from alertguardian.api import Conflict, Forbidden, InvalidInput
from audit.services import audit_record


def timezone_validate(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"Unknown time zone {name!r}.", details={"timezone": ["use an IANA name such as Europe/London"]}
        ) from exc
    return name


def require_ownership_for(*, team: Team, by: Actor) -> None:
    """Granting, changing or removing the owner role needs ``team.ownership`` (owners and
    platform admins); a team admin manages everyone else. Non-user actors (seed, system) pass."""
    if isinstance(by, User) and not user_has_capability(user=by, capability=caps.TEAM_OWNERSHIP, team_id=team.pk):
        raise Forbidden("Only an owner of the team can grant, change or remove the owner role.")


def _unique_slug(name: str, slug: str) -> str:
    base = slugify(slug or name)[:100] or "team"
    candidate, n = base, 2
    while Team.objects.filter(slug=candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@transaction.atomic
def team_create(*, name: str, by: Actor, timezone_name: str = "UTC", slug: str = "", owner: User | None = None) -> Team:
    """A new tenant. Through the API the creator (a platform admin) becomes its first owner."""
    name = name.strip()
    if not name:
        raise InvalidInput("A team needs a name.", details={"name": ["This field may not be blank."]})
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict("A team with this name already exists.", code="team_name_taken")
    if slug and Team.objects.filter(slug=slug).exists():
        raise Conflict("A team with this slug already exists.", code="team_slug_taken")
    try:
        with transaction.atomic():
            team = Team.objects.create(
                name=name, slug=_unique_slug(name, slug), timezone=timezone_validate(timezone_name)
            )
    except IntegrityError as exc:
        raise Conflict("A team with this name already exists.", code="team_name_taken") from exc
    audit_record(actor=by, action="team.created", target=team, data={"name": team.name, "slug": team.slug})
    if owner is not None:
        membership_add(team=team, user=owner, role=TeamRole.OWNER, by=by)
    return team


@transaction.atomic
def team_update(*, team: Team, by: Actor, name: str | Unset = UNSET, timezone_name: str | Unset = UNSET) -> Team:
    locked = Team.objects.select_for_update().get(pk=team.pk)
    changes: dict[str, dict[str, str]] = {}
    if not isinstance(name, Unset) and name.strip() != locked.name:
        name = name.strip()
        if not name:
            raise InvalidInput("A team needs a name.", details={"name": ["This field may not be blank."]})
        if Team.objects.filter(name__iexact=name).exclude(pk=locked.pk).exists():
            raise Conflict("A team with this name already exists.", code="team_name_taken")
        changes["name"] = {"from": locked.name, "to": name}
        locked.name = name
    if not isinstance(timezone_name, Unset) and timezone_name != locked.timezone:
        changes["timezone"] = {"from": locked.timezone, "to": timezone_validate(timezone_name)}
        locked.timezone = timezone_name
    if changes:
        locked.save(update_fields=list(changes))
        audit_record(actor=by, action="team.updated", target=locked, data={"changes": changes})
    return locked


@transaction.atomic
def membership_add(*, team: Team, user: User, role: str, by: Actor) -> TeamMembership:
    if role not in TeamRole.values:
        raise InvalidInput(f"Unknown team role {role!r}.", details={"role": [f"choose one of {TeamRole.values}"]})
    if not user.is_staff_member:
        raise UserNotStaff()
    if role == TeamRole.OWNER:
        require_ownership_for(team=team, by=by)
    if TeamMembership.objects.filter(team_id=team.pk, user_id=user.pk).exists():
        raise AlreadyMember()
    try:
        with transaction.atomic():
            membership = TeamMembership.objects.create(team=team, user=user, role=role)
    except IntegrityError as exc:
        raise AlreadyMember() from exc
    audit_record(
        actor=by,
        action="team.member_added",
        target=membership,
        data={"user_id": user.pk, "email": user.email, "role": role},
    )
    publish_membership_event(action="added", membership=membership)
    return membership


def _lock_membership(membership_id: int) -> TeamMembership:
    """Lock the team row first, then the membership: membership changes of one team run one at
    a time (two owners demoting each other concurrently cannot both pass the last-owner check,
    and always lock in the same order, so they cannot deadlock)."""
    team_id = TeamMembership.objects.values_list("team_id", flat=True).get(pk=membership_id)
    Team.objects.select_for_update().filter(pk=team_id).values_list("pk", flat=True).get()
    return TeamMembership.objects.select_for_update().select_related("team").get(pk=membership_id)


def _guard_last_owner(membership: TeamMembership) -> None:
    """Called under ``_lock_membership``: is another owner left?"""
    if membership.role != TeamRole.OWNER:
        return
    others = TeamMembership.objects.filter(team_id=membership.team_id, role=TeamRole.OWNER).exclude(pk=membership.pk)
    if not others.exists():
        raise LastOwner()


def _end_on_call(membership: TeamMembership, *, by: Actor, reason: str) -> None:
    """Someone who can no longer work the team's alerts must not stay on call: their future
    shifts are deleted and a running one ends now (past shifts stay as history)."""
    now = timezone.now()
    shifts = ShiftAssignment.objects.select_for_update().filter(
        team_id=membership.team_id, agent_id=membership.user_id, ends_at__gt=now
    )
    for shift in shifts:
        data = {"agent_id": shift.agent_id, "reason": reason}
        if shift.starts_at < now:
            old_end = shift.ends_at
            shift.ends_at = now
            shift.save(update_fields=["ends_at"])
            audit_record(
                actor=by,
                action="shift.updated",
                target=shift,
                data={**data, "changes": {"ends_at": {"from": old_end.isoformat(), "to": now.isoformat()}}},
            )
            publish_shift_event(action="shift_updated", shift=shift)
        else:
            publish_shift_event(action="shift_deleted", shift=shift)
            audit_record(actor=by, action="shift.deleted", target=shift, data=data)
            shift.delete()


@transaction.atomic
def membership_role_change(*, membership: TeamMembership, role: str, by: Actor) -> TeamMembership:
    if role not in TeamRole.values:
        raise InvalidInput(f"Unknown team role {role!r}.", details={"role": [f"choose one of {TeamRole.values}"]})
    locked = _lock_membership(membership.pk)
    if role == locked.role:
        return locked
    if TeamRole.OWNER in {role, locked.role}:
        require_ownership_for(team=locked.team, by=by)
    if role != TeamRole.OWNER:
        _guard_last_owner(locked)
    old_role = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    audit_record(
        actor=by,
        action="team.member_role_changed",
        target=locked,
        data={"user_id": locked.user_id, "from": old_role, "to": role},
    )
    if role not in caps.team_roles_with(caps.ON_CALL_CAPABILITY):
        _end_on_call(locked, by=by, reason="role_changed")
    publish_membership_event(action="role_changed", membership=locked)
    return locked


@transaction.atomic
def membership_remove(*, membership: TeamMembership, by: Actor) -> None:
    locked = _lock_membership(membership.pk)
    is_self = isinstance(by, User) and by.pk == locked.user_id
    if locked.role == TeamRole.OWNER and not is_self:
        require_ownership_for(team=locked.team, by=by)
    _guard_last_owner(locked)
    _end_on_call(locked, by=by, reason="member_removed")
    audit_record(
        actor=by,
        action="team.member_removed",
        target=locked,
        data={"user_id": locked.user_id, "role": locked.role, "left": is_self},
    )
    publish_membership_event(action="removed", membership=locked)
    locked.delete()
