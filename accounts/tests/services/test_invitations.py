from __future__ import annotations

import smtplib
from unittest import mock

import pytest
from django.core import mail

from accounts.models import TeamInvitation, TeamMembership
from accounts.services import invitation_accept, invitation_create
from accounts.tests.factories import UserFactory
from accounts.tests.services.test_auth import run_concurrently
from audit.models import AuditEntry


@pytest.mark.django_db
def test_the_email_goes_out_only_after_commit(team, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation_create(team=team, email="x@example.com", role="agent", by=owner)
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_mail_server_failure_keeps_the_invitation(team, owner, django_capture_on_commit_callbacks, caplog):
    failing_smtp = mock.patch("accounts.services.invitations.send_mail", side_effect=smtplib.SMTPException("down"))
    with failing_smtp, django_capture_on_commit_callbacks(execute=True):
        invitation, token = invitation_create(team=team, email="x@example.com", role="agent", by=owner)
    assert TeamInvitation.objects.filter(pk=invitation.pk).exists()
    assert token
    assert "sending invitation" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_of_one_invitation_create_one_membership(team, owner):
    invitee = UserFactory(email="invitee@example.com")
    _, token = invitation_create(team=team, email=invitee.email, role="agent", by=owner)
    results = run_concurrently(3, lambda: invitation_accept(token=token, user=invitee))
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert TeamMembership.objects.filter(team=team, user=invitee).count() == 1
    assert AuditEntry.objects.filter(action="invitation.accepted").count() == 1
