"""The trail: one VoucherEvent per state change, written inside the changing transaction."""
import datetime as dt
from decimal import Decimal

from django.db import transaction

from jinju_portal import actors
from vouchers.models import VoucherEvent


def _json(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def build(kind, *, actor=None, now, before=None, after=None, note="", **targets) -> VoucherEvent:
    """An unsaved event (for bulk_create); `targets` are the objects it is about (tranche=…, purchase=…)."""
    return VoucherEvent(kind=kind, at=now, user=actors.user_of(actor), api_client=actors.client_of(actor),
                        actor=actors.label(actor), before=_json(before or {}), after=_json(after or {}),
                        note=str(note), **targets)


def record(kind, *, actor=None, now, before=None, after=None, note="", **targets) -> VoucherEvent:
    """Write one event. Must run inside the transaction that makes the change (so both or neither)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a VoucherEvent is written inside the transaction that makes the change")
    event = build(kind, actor=actor, now=now, before=before, after=after, note=note, **targets)
    event.save(force_insert=True)
    return event


def fields_of(obj, names) -> dict:
    return {name: getattr(obj, name) for name in names}


def apply_changes(obj, changed: dict, kind, *, actor, now, **targets):
    """Write exactly the `changed` fields of a locked row (never a full save, which would write back
    stale counters) and record the change with its before and after."""
    before = fields_of(obj, changed)
    for name, value in changed.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(changed))
    return record(kind, actor=actor, now=now, before=before, after=fields_of(obj, changed), **targets)
