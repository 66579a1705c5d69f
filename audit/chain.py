"""The hash chain: canonical form of an entry and its hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_payload(
    *,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    team_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    data: Any,
    ip_address: str | None,
) -> str:
    return json.dumps(
        {
            "created_at": created_at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "team_id": team_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "data": data,
            "ip_address": ip_address,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def entry_hash(payload: str, prev_hash: str) -> str:
    return hashlib.sha256((payload + prev_hash).encode("utf-8")).hexdigest()
