"""``audit_record`` is the one way to write the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, canonical_payload, entry_hash
from audit.models import AuditEntry

# Any constant works; it names the one advisory lock that serializes chain appends.
_CHAIN_LOCK_KEY = 0x41_55_44_49_54  # "AUDIT"


def _lock_chain_and_read_head() -> str:
    """Serialize appends so each entry links to the true previous one; return that one's hash.

    PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback), then the
    head, sent together as one round trip (this runs in every ingest transaction). In READ
    COMMITTED each statement of a multi-statement query takes its own snapshot, so the head
    is read after the lock is held and sees the previous holder's committed entries
    (``test_concurrent_appends_keep_one_unbroken_chain``). Two statements in one call need
    Django's default client-side parameter binding (not the ``server_side_binding`` option).
    SQLite: every write transaction already holds the database lock (IMMEDIATE mode).
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(AuditEntry._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s); SELECT hash FROM {table} ORDER BY id DESC LIMIT 1",  # noqa: S608
                [_CHAIN_LOCK_KEY],
            )
            cursor.nextset()
            row = cursor.fetchone()
    else:
        row = AuditEntry.objects.order_by("-id").values_list("hash").first()
    return row[0] if row else GENESIS_HASH


def _describe_target(target: Any) -> tuple[str, str, int | None]:
    if target is None:
        return "", "", None
    if isinstance(target, models.Model):
        team_id = getattr(target, "team_id", None)
        if team_id is None and target._meta.label_lower == "accounts.team":
            team_id = target.pk
        return target._meta.label_lower, str(target.pk), team_id
    if isinstance(target, tuple) and len(target) == 2:
        return str(target[0]), str(target[1]), None
    raise TypeError(f"audit target must be a model instance or (type, id), not {type(target).__name__}")


def _normalize(data: Any) -> Any:
    # Store exactly what will be read back, so the hash verifies after a round trip.
    return json.loads(json.dumps(data or {}, default=str, sort_keys=True))


@dataclass(frozen=True)
class AuditActor:
    """An actor that is not a user: an integration, the scheduler, a management command."""

    label: str
    id: int | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One entry for ``audit_record_many`` (the arguments of ``audit_record``)."""

    actor: Any
    action: str
    target: Any = None
    data: dict[str, Any] | None = None
    team_id: int | None = None
    ip_address: str | None = None


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Any = None,
    data: dict[str, Any] | None = None,
    team_id: int | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    """Append one entry, inside the caller's transaction (opens one if there is none).

    ``actor`` is a user, an ``AuditActor`` or ``None`` (the system).
    ``target`` is a model instance or a ``(type, id)`` pair.
    """
    record = AuditRecord(actor=actor, action=action, target=target, data=data, team_id=team_id, ip_address=ip_address)
    return audit_record_many([record])[0]


def audit_record_many(records: list[AuditRecord]) -> list[AuditEntry]:
    """Append ``records`` in order with one chain lock and one INSERT (a batch of engine steps
    writes one entry per step for the price of one)."""
    if not records:
        return []
    # No savepoint of its own (2 round trips): a failed append fails the caller's transaction.
    with transaction.atomic(savepoint=False):
        previous = _lock_chain_and_read_head()
        now = timezone.now()
        entries = []
        for record in records:
            fields = _entry_fields(record, now=now)
            digest = entry_hash(canonical_payload(**fields), previous)
            entries.append(AuditEntry(prev_hash=previous, hash=digest, **fields))
            previous = digest
        # Ids follow list order (one multi-row INSERT under the chain lock), so the chain walks
        # them in the order they were linked.
        return AuditEntry.objects.bulk_create(entries)


def _entry_fields(record: AuditRecord, *, now: Any) -> dict[str, Any]:
    target_type, target_id, target_team = _describe_target(record.target)
    actor = record.actor
    if actor is None:
        actor_id, actor_label = None, "system"
    elif isinstance(actor, AuditActor):
        actor_id, actor_label = actor.id, actor.label
    elif getattr(actor, "is_authenticated", False):
        actor_id, actor_label = actor.pk, str(getattr(actor, "email", actor))
    else:
        actor_id, actor_label = None, "anonymous"
    return {
        "created_at": now,
        "actor_id": actor_id,
        "actor_label": actor_label[:254],
        "team_id": record.team_id if record.team_id is not None else target_team,
        "action": record.action,
        "target_type": target_type,
        "target_id": target_id,
        "data": _normalize(record.data),
        "ip_address": record.ip_address,
    }


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def audit_chain_verify(*, batch_size: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order; return (entries checked, first break or None)."""
    previous = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return checked, None
        for entry in batch:
            if entry.prev_hash != previous:
                return checked, ChainBreak(
                    entry.pk, "previous hash does not match: an earlier entry was removed or edited"
                )
            payload = canonical_payload(
                created_at=entry.created_at,
                actor_id=entry.actor_id,
                actor_label=entry.actor_label,
                team_id=entry.team_id,
                action=entry.action,
                target_type=entry.target_type,
                target_id=entry.target_id,
                data=entry.data,
                ip_address=entry.ip_address,
            )
            if entry_hash(payload, entry.prev_hash) != entry.hash:
                return checked, ChainBreak(entry.pk, "content does not match its hash: the entry was edited")
            previous = entry.hash
            checked += 1
            last_id = entry.pk
