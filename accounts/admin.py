"""The ops console for accounts: users, teams (with members), invitations, on-call shifts.

Changes that matter go through the services, so the console writes the same audit rows as
the API: role/status/profile changes, team edits, memberships, invitations and shifts.
Invariants the services enforce (last owner, last platform admin, on-call eligibility) are
checked in the forms first, so the console shows a form error rather than a failure page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from accounts import services
from accounts.models import ShiftAssignment, Team, TeamInvitation, TeamMembership, TeamRole, User
from accounts.selectors import pending_invitations_q
from alertguardian.api import ApplicationError

PROFILE_FIELDS = ("email", "full_name", "phone", "role", "is_active")


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved instance the row a service created (the admin keeps using it
    for inlines and the redirect)."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def _as_form_error(exc: ApplicationError) -> forms.ValidationError:
    details = exc.details if isinstance(exc.details, dict) else {}
    reasons = [str(reason) for values in details.values() if isinstance(values, list) for reason in values]
    return forms.ValidationError(" ".join([exc.message, *reasons]))


# --- Users -------------------------------------------------------------------------------


class UserAddForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "role")

    def clean_email(self) -> str:
        email = services.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        email = services.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "role" in cleaned and "is_active" in cleaned:
            current = User.objects.get(pk=self.instance.pk)
            try:
                services.user_update_validate(user=current, role=cleaned["role"], is_active=cleaned["is_active"])
            except ApplicationError as exc:
                raise _as_form_error(exc) from exc
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserAddForm
    list_display = ("email", "full_name", "role", "is_active", "is_staff", "team_count", "last_login", "date_joined")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "memberships__team")
    search_fields = ("email", "full_name", "phone")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "phone")}),
        (
            "Role and access",
            {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(team_total=Count("memberships", distinct=True))

    @admin.display(description="Teams", ordering="team_total")
    def team_count(self, obj: Any) -> int:
        return int(getattr(obj, "team_total", 0))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor: Any = request.user
        if not change:
            usable = form.cleaned_data.get("set_usable_password", True)
            created = services.user_create(
                by=actor,
                email=obj.email,
                password=form.cleaned_data.get("password1") if usable else None,
                role=obj.role,
                full_name=obj.full_name,
            )
            _adopt(obj, created)
            return
        managed = {name: form.cleaned_data[name] for name in PROFILE_FIELDS if name in form.changed_data}
        original = User.objects.get(pk=obj.pk)
        for name in managed:
            setattr(obj, name, getattr(original, name))
        obj.save()  # console-only fields (is_staff, is_superuser); groups follow in save_related
        if managed:
            _adopt(obj, services.user_update(user=obj, by=actor, **managed))


# --- Teams and memberships -----------------------------------------------------------------


class MembershipFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        owners_before = (
            self.instance.pk and TeamMembership.objects.filter(team_id=self.instance.pk, role=TeamRole.OWNER).exists()
        )
        owners_after = 0
        for form in self.forms:
            if not getattr(form, "cleaned_data", None):
                continue
            deleting = form.cleaned_data.get("DELETE", False)
            user = form.cleaned_data.get("user")
            if form.instance.pk is not None and "user" in form.changed_data:
                # Changing who a membership belongs to is a removal plus an addition: do those.
                form.add_error("user", "Remove this membership and add a new one instead.")
            if not deleting and form.instance.pk is None and user is not None and not user.is_staff_member:
                form.add_error("user", "Only agents and admins can be members; invite a customer instead.")
            if not deleting and form.cleaned_data.get("role") == TeamRole.OWNER:
                owners_after += 1
        if owners_before and owners_after == 0:
            raise forms.ValidationError("A team must keep at least one owner.")


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("name", "slug", "timezone")

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if Team.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A team with this name already exists.")
        return name

    def clean_timezone(self) -> str:
        try:
            return services.timezone_validate(self.cleaned_data["timezone"])
        except ApplicationError as exc:
            raise _as_form_error(exc) from exc


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "slug", "timezone", "member_total", "created_at")
    search_fields = ("name", "slug")
    list_filter = ("timezone",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    @admin.display(description="Members", ordering="member_count")
    def member_total(self, obj: Any) -> int:
        return int(getattr(obj, "member_count", 0))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("slug", "created_at") if obj is not None else ("created_at",)

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj is not None else {"slug": ("name",)}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor: Any = request.user
        if change:
            changes: dict[str, Any] = {}
            if "name" in form.changed_data:
                changes["name"] = obj.name
            if "timezone" in form.changed_data:
                changes["timezone_name"] = obj.timezone
            _adopt(obj, services.team_update(team=obj, by=actor, **changes))
        else:
            _adopt(obj, services.team_create(name=obj.name, slug=obj.slug, timezone_name=obj.timezone, by=actor))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not TeamMembership:
            super().save_formset(request, form, formset, change)
            return
        actor: Any = request.user
        formset.save(commit=False)
        team = form.instance
        try:
            for membership in formset.new_objects:
                services.membership_add(team=team, user=membership.user, role=membership.role, by=actor)
            for membership, changed in formset.changed_objects:
                if "role" in changed:
                    services.membership_role_change(membership=membership, role=membership.role, by=actor)
            for membership in formset.deleted_objects:
                services.membership_remove(membership=membership, by=actor)
        except ApplicationError as exc:
            self.message_user(request, f"Members not fully saved: {exc.message}", level=messages.ERROR)


# --- Invitations ---------------------------------------------------------------------------


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "Pending"), ("accepted", "Accepted"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        value = self.value()
        if value == "pending":
            return queryset.filter(pending_invitations_q(now))
        if value == "accepted":
            return queryset.filter(accepted_at__isnull=False)
        if value == "revoked":
            return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
        return queryset


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = TeamInvitation
        fields = ("team", "email", "role")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        team, email = cleaned.get("team"), cleaned.get("email")
        if team and email and TeamMembership.objects.filter(team=team, user__email__iexact=email).exists():
            raise forms.ValidationError("This email already belongs to a member of the team.")
        return cleaned


@admin.register(TeamInvitation)
class TeamInvitationAdmin(admin.ModelAdmin):
    """Invitations are sent here or through the API; the token is shown once after adding.
    They are never edited or deleted (history); revoke instead."""

    list_display = ("email", "team", "role", "status", "invited_by", "created_at", "expires_at", "accepted_by")
    list_filter = (InvitationStatusFilter, "role", "team")
    search_fields = ("email", "team__name")
    date_hierarchy = "created_at"
    autocomplete_fields = ("team",)
    actions = ["revoke_selected"]
    readonly_fields = (
        "team", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "accepted_by",
        "revoked_at",
    )  # fmt: skip
    exclude = ("token_hash",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("team", "email", "role")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # every field is read-only
        actor: Any = request.user
        invitation, token = services.invitation_create(team=obj.team, email=obj.email, role=obj.role, by=actor)
        _adopt(obj, invitation)
        self.message_user(
            request,
            f"Invitation emailed to {invitation.email}. Its link, shown only now: {services.invitation_accept_url(token)}",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected invitations")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[TeamInvitation]) -> None:
        actor: Any = request.user
        revoked = skipped = 0
        for invitation in queryset.filter(accepted_at__isnull=True):
            services.invitation_revoke(invitation=invitation, by=actor)
            revoked += 1
        skipped = queryset.filter(accepted_at__isnull=False).count()
        note = f" ({skipped} already accepted, left as they are)" if skipped else ""
        self.message_user(request, f"{revoked} invitation(s) revoked{note}.")


# --- Shifts --------------------------------------------------------------------------------


class ShiftForm(forms.ModelForm):
    class Meta:
        model = ShiftAssignment
        fields = ("team", "agent", "starts_at", "ends_at", "priority")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # On change the team is read-only (not in the form): take it from the shift.
        team = cleaned.get("team") or (self.instance.team if self.instance.pk else None)
        agent = cleaned.get("agent")
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if team and agent and starts_at and ends_at:
            try:
                services.shift_validate(
                    team=team, agent=agent, starts_at=starts_at, ends_at=ends_at, priority=cleaned.get("priority") or 1
                )
            except ApplicationError as exc:
                raise _as_form_error(exc) from exc
        return cleaned


class OnCallNowFilter(admin.SimpleListFilter):
    title = "on call now"
    parameter_name = "now"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "On call now"), ("upcoming", "Upcoming"), ("past", "Past")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "past":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(ShiftAssignment)
class ShiftAssignmentAdmin(admin.ModelAdmin):
    form = ShiftForm
    list_display = ("agent", "team", "starts_at", "ends_at", "priority", "on_call_now")
    list_filter = (OnCallNowFilter, "team", "priority")
    search_fields = ("agent__email", "agent__full_name", "team__name")
    date_hierarchy = "starts_at"
    autocomplete_fields = ("team", "agent")
    list_select_related = ("agent", "team")

    @admin.display(boolean=True, description="On call now")
    def on_call_now(self, obj: ShiftAssignment) -> bool:
        now = timezone.now()
        return obj.starts_at <= now < obj.ends_at

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor: Any = request.user
        data = {name: form.cleaned_data[name] for name in ("agent", "starts_at", "ends_at", "priority")}
        if change:
            _adopt(obj, services.shift_update(shift=obj, by=actor, **data))
        else:
            _adopt(obj, services.shift_create(team=form.cleaned_data["team"], by=actor, **data))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Moving a shift to another team is a delete plus a create: keep each team's history true.
        return ("team",) if obj is not None else ()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.shift_delete(shift=obj, by=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for shift in queryset:
            services.shift_delete(shift=shift, by=request.user)  # type: ignore[arg-type]
