"""Reads of the delivery app that need more than a one-line query."""
import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from delivery.models import CommissionContract, Operator, Order, Store, StoreListing
from jinju_portal import actors


def operator_of(actor) -> Operator | None:
    """The operator a delivery_operator key belongs to (ApiClient.operator_slug), or None. Every
    operator-facing read and write starts here: an operator sees only its own stores, orders and
    statements, and anything else answers 404 (API.md)."""
    client = actors.client_of(actor)
    if client is None or not client.operator_slug:
        return None
    return Operator.objects.filter(slug=client.operator_slug).first()


# --- orders ------------------------------------------------------------------------------------------
# The order path reads the same few rows on every report: the key's operator, the store's listing with
# this operator, the contract of the order's day. They change rarely (a status change, a new contract),
# so each process remembers them for DELIVERY_LOOKUP_CACHE_SECONDS, and forgets them at once when a row
# of theirs is saved or deleted in this process (the receivers below); other processes see a change
# within that many seconds (as the API key cache, jinju_portal/api/authentication.py).

class _TimedCache:
    """A small per-process map whose entries live `settings.DELIVERY_LOOKUP_CACHE_SECONDS`."""

    def __init__(self, limit=20_000):
        self._data: dict = {}
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, key):
        hit = self._data.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return _MISSING

    def put(self, key, value):
        with self._lock:
            if len(self._data) >= self._limit:
                self._data.clear()  # bounded: a burst of unknown keys never grows the process
            self._data[key] = (value, time.monotonic() + settings.DELIVERY_LOOKUP_CACHE_SECONDS)
        return value

    def clear(self):
        with self._lock:
            self._data.clear()


_MISSING = object()
_operators = _TimedCache()  # ApiClient pk → Operator | None
_stores = _TimedCache()  # operator id → {store id: OrderStore | None}
_contracts = _TimedCache()  # (operator id, day) → CommissionContract | None


def forget_order_lookups() -> None:
    """Forget every cached operator, listing and contract of this process (tests, the admin)."""
    for cache in (_operators, _stores, _contracts):
        cache.clear()


@receiver(post_save, sender=Operator)
@receiver(post_delete, sender=Operator)
@receiver(post_save, sender=Store)
@receiver(post_delete, sender=Store)
@receiver(post_save, sender=StoreListing)
@receiver(post_delete, sender=StoreListing)
@receiver(post_save, sender=CommissionContract)
@receiver(post_delete, sender=CommissionContract)
def _forget_on_write(sender, **kwargs):
    forget_order_lookups()


def order_operator(actor) -> Operator | None:
    """operator_of(actor), remembered per key for a few seconds (its status included: a wound-down or
    suspended operator is refused new orders in every process within DELIVERY_LOOKUP_CACHE_SECONDS)."""
    client = actors.client_of(actor)
    if client is None:
        return None
    found = _operators.get(client.pk)
    if found is _MISSING:
        found = _operators.put(client.pk, operator_of(client))
    return found


@dataclass(frozen=True)
class OrderStore:
    """What a report needs of a store listed with the reporting operator."""
    id: int
    status: str
    merchant_business_number: str | None  # the linked voucher merchant's, for jinju_love


def order_store(*, store_id: int, operator_id: int) -> OrderStore | None:
    """The store if it has this operator's listing (None otherwise: 400 invalid_store), remembered.
    An operator's listings are read all at once (450 stores: one query per operator and process every
    DELIVERY_LOOKUP_CACHE_SECONDS, rather than one per store); a store not among them is looked up by
    itself (listed a moment ago in another process) and that answer remembered too."""
    listings = _stores.get(operator_id)
    if listings is _MISSING:
        rows = (Store.objects.filter(listings__operator_id=operator_id)
                .values_list("id", "status", "merchant__business_number"))
        listings = _stores.put(operator_id, {row[0]: OrderStore(*row) for row in rows})
    found = listings.get(store_id, _MISSING)
    if found is _MISSING:
        row = (Store.objects.filter(pk=store_id, listings__operator_id=operator_id)
               .values_list("id", "status", "merchant__business_number").first())
        found = listings[store_id] = OrderStore(*row) if row else None  # bounded by the cache's lifetime
        if len(listings) > 100_000:
            _stores.clear()
    return found


def contract_on(operator_id: int, day: dt.date) -> CommissionContract | None:
    """The operator's contract in force on `day` (an Asia/Seoul date): the latest effective_from on or
    before it. A change is a new row, so history never moves; a new row is seen in this process at once
    and in the others within DELIVERY_LOOKUP_CACHE_SECONDS (contracts are added ahead of their day)."""
    key = (operator_id, day)
    found = _contracts.get(key)
    if found is _MISSING:
        found = _contracts.put(key, CommissionContract.objects.filter(operator_id=operator_id, effective_from__lte=day)
                               .order_by("-effective_from").first())
    return found


def own_order(actor, order_id) -> Order | None:
    """One of the calling operator's orders (another operator's, or none: None → 404)."""
    operator = operator_of(actor)
    if operator is None:
        return None
    return Order.objects.filter(pk=order_id, operator=operator).first()


def orders_of(actor, *, month: str | None = None, status: str | None = None):
    """The calling operator's orders, newest first, optionally of one month or status."""
    operator = operator_of(actor)
    if operator is None:
        return Order.objects.none()
    orders = Order.objects.filter(operator=operator)
    if month is not None:
        orders = orders.filter(month=month)
    if status is not None:
        orders = orders.filter(status=status)
    return orders.order_by("-ordered_at", "-id")
