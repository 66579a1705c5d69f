from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts.tests.factories import TeamFactory, UserFactory
from audit.chain import GENESIS_HASH
from audit.models import AuditEntry, AuditLogIsAppendOnly
from audit.services import AuditActor, audit_chain_verify, audit_record


@pytest.mark.django_db
def test_entries_link_into_a_chain_that_verifies():
    user = UserFactory()
    team = TeamFactory()
    first = audit_record(actor=user, action="team.created", target=team, data={"name": team.name})
    second = audit_record(actor=AuditActor("integration:7"), action="alert.raised", target=("alerts.alert", 3))
    third = audit_record(actor=None, action="system.tick")
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert first.team_id == team.pk and first.actor_id == user.pk and first.actor_label == user.email
    assert second.actor_label == "integration:7" and third.actor_label == "system"
    assert audit_chain_verify() == (3, None)


@pytest.mark.django_db
def test_entry_is_written_in_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="x.y")
        raise RuntimeError("roll back")
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_orm_refuses_update_and_delete():
    entry = audit_record(actor=None, action="a.b", data={"k": 1})
    entry.action = "c.d"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="c.d")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()


@pytest.mark.django_db
def test_data_round_trips_so_the_hash_still_verifies():
    audit_record(
        actor=None, action="a.b", data={"when": "2013-02-08T10:00:00+00:00", "n": 1.5, "nested": {"z": [1, "x"]}}
    )
    assert audit_chain_verify() == (1, None)


def _tamper(sql: str, params: list[str | int]) -> None:
    """What an attacker with raw database access does (on PostgreSQL the trigger must be off first)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


@pytest.mark.django_db
def test_audit_verify_names_the_first_edited_entry():
    entries = [audit_record(actor=None, action=f"step.{i}", data={"i": i}) for i in range(5)]
    call_command("audit_verify")
    _tamper("UPDATE audit_auditentry SET data = %s WHERE id = %s", ['{"i": 99}', entries[2].pk])
    with pytest.raises(CommandError, match=f"entry #{entries[2].pk}.*edited"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_audit_verify_detects_a_removed_entry():
    entries = [audit_record(actor=None, action=f"step.{i}") for i in range(4)]
    _tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    with pytest.raises(CommandError, match=f"entry #{entries[2].pk}.*removed"):
        call_command("audit_verify")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_trigger_refuses_raw_update_and_delete():
    entry = audit_record(actor=None, action="a.b")
    for sql in ("UPDATE audit_auditentry SET action = 'x' WHERE id = %s", "DELETE FROM audit_auditentry WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "a.b"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain():
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    audit_record(actor=None, action=f"writer.{n}", data={"i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert audit_chain_verify() == (80, None)
