"""The trail: one DeliveryEvent per state change, written inside the changing transaction."""
from django.db import transaction

from delivery.models import DeliveryEvent
from jinju_portal import actors
from vouchers.services.events import _json, fields_of


def build(kind, *, actor=None, now, before=None, after=None, note="", **targets) -> DeliveryEvent:
    """An unsaved event (for bulk_create); `targets` are the objects it is about (store=…, order=…)."""
    return DeliveryEvent(kind=kind, at=now, user=actors.user_of(actor), api_client=actors.client_of(actor),
                         actor=actors.label(actor), before=_json(before or {}), after=_json(after or {}),
                         note=str(note), **targets)


def record(kind, *, actor=None, now, before=None, after=None, note="", **targets) -> DeliveryEvent:
    """Write one event. Must run inside the transaction that makes the change (so both or neither)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a DeliveryEvent is written inside the transaction that makes the change")
    event = build(kind, actor=actor, now=now, before=before, after=after, note=note, **targets)
    event.save(force_insert=True)
    return event


def apply_changes(obj, changed: dict, kind, *, actor, now, **targets):
    """Write exactly the `changed` fields of a locked row and record the change with before and after."""
    before = fields_of(obj, changed)
    for name, value in changed.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(changed))
    return record(kind, actor=actor, now=now, before=before, after=fields_of(obj, changed), **targets)
