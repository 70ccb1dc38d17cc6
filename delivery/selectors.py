"""Reads of the delivery app that need more than a one-line query."""
import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Prefetch, Q, Sum
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from delivery import rules
from delivery.choices import OrderStatus, PaymentMethod, StatementStatus, StoreStatus
from delivery.models import Brand, CommissionContract, Operator, Order, Statement, Store, StoreListing
from delivery.rules import STATEMENT_FIGURES
from jinju_portal import actors


def operator_of(actor) -> Operator | None:
    """The operator a delivery_operator key belongs to (ApiClient.operator_slug), or None. Every
    operator-facing read and write starts here: an operator sees only its own stores, orders and
    statements, and anything else answers 404 (API.md)."""
    client = actors.client_of(actor)
    if client is None or not client.operator_slug:
        return None
    return Operator.objects.filter(slug=client.operator_slug).first()


# --- the registry (operators, stores, the public directory) -----------------------------------------

def operators_overview(*, day) -> list[dict]:
    """Every operator with its brands and the rate in force on `day` (GET operators/)."""
    operators = list(Operator.objects.prefetch_related("brands").order_by("name", "id"))
    rates = {}  # the latest contract on or before `day` per operator (a few rows; no DISTINCT ON, so SQLite too)
    for operator_id, rate in (CommissionContract.objects.filter(effective_from__lte=day)
                              .order_by("operator_id", "effective_from").values_list("operator_id", "rate")):
        rates[operator_id] = rate
    return [{"slug": o.slug, "name": o.name, "brands": [b.name for b in o.brands.all()],
             "commission_rate": rates.get(o.pk), "status": o.status, "operator": o} for o in operators]


def _with_listings(queryset):
    return queryset.prefetch_related(
        Prefetch("listings", queryset=StoreListing.objects.select_related("operator", "brand").order_by("operator_id")))


def operator_stores(operator: Operator):
    """The stores with a listing of this operator (an operator sees only those: API.md)."""
    return _with_listings(Store.objects.filter(listings__operator=operator).order_by("id"))


def operator_store(operator: Operator, store_id: int):
    """One of the operator's stores, or None (another operator's store is not found: 404)."""
    return operator_stores(operator).filter(pk=store_id).first()


def store_with_listings(store_id: int):
    return _with_listings(Store.objects.filter(pk=store_id)).first()


def brand_names() -> list[str]:
    return list(Brand.objects.order_by("name").values_list("name", flat=True))


def directory(*, brand=None, category=None, dong=None, q=None):
    """Approved stores for the public (the API's directory/ and the /delivery/stores/ page): by
    brand (a listing under it), category (code), 동, and the name (q, partial)."""
    stores = Store.objects.filter(status=StoreStatus.APPROVED)
    if brand:
        stores = stores.filter(pk__in=StoreListing.objects.filter(brand__name=brand).values("store_id"))
    if category:
        stores = stores.filter(category=category)
    if dong:
        stores = stores.filter(dong=dong)
    if q:
        stores = stores.filter(name__icontains=q)
    return _with_listings(stores.order_by("name", "id"))


def brand_store_counts() -> dict[str, int]:
    """Approved stores listed under each brand."""
    rows = (StoreListing.objects.filter(store__status=StoreStatus.APPROVED, brand__isnull=False)
            .values_list("brand__name").annotate(n=Count("store_id", distinct=True)))
    return dict(rows)


def directory_dongs() -> list[str]:
    """The 동 that have approved stores, in the order of rules.JINJU_DONGS (then any others)."""
    present = set(Store.objects.filter(status=StoreStatus.APPROVED).exclude(dong="")
                  .values_list("dong", flat=True).distinct())
    order = {name: i for i, name in enumerate(rules.JINJU_DONGS)}
    return sorted(present, key=lambda d: (order.get(d, len(order)), d))


def owner_stores(user):
    """The stores a signed-in owner applied for, with their listings (/delivery/my/)."""
    return _with_listings(Store.objects.filter(owner=user).order_by("created_at", "id"))


def store_brands(store) -> list[str]:
    """Names of the brands a store is listed under (from prefetched listings)."""
    return sorted({listing.brand.name for listing in store.listings.all() if listing.brand_id})


def store_operators(store) -> list[str]:
    return [listing.operator.slug for listing in store.listings.all()]


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


# --- statements ---------------------------------------------------------------------------------------

def statements_for(actor, *, month=None):
    """The statements an operator's key may read: its own only (staff: every operator's)."""
    rows = Statement.objects.select_related("store").order_by("-month", "store_id", "operator_id")
    if month is not None:
        rows = rows.filter(month=month)
    if actors.is_staff(actor):
        return rows
    operator = operator_of(actor)
    return rows.filter(operator=operator) if operator is not None else rows.none()


def savings_by_month() -> list[dict]:
    """City-wide, month by month (oldest first), from ISSUED statements only (a draft month is still
    moving): [{month, order_count, food_total, commission, commercial_commission_low/high, saved_low,
    saved_high}]. commission is what the stores paid on the month's orders (adjustments of later
    cancels are counted in the month they happened, on each statement, not here)."""
    rows = (Statement.objects.filter(status=StatementStatus.ISSUED).values("month")
            .annotate(order_count=Sum("order_count"), food_total=Sum("food_total"), commission=Sum("commission"),
                      commercial_commission_low=Sum("commercial_commission_low"),
                      commercial_commission_high=Sum("commercial_commission_high"),
                      saved_low=Sum("saved_low"), saved_high=Sum("saved_high"))
            .order_by("month"))
    return list(rows)


def store_totals_by_month(store_id) -> list[dict]:
    """A store's statements summed across operators, month by month (newest first), each with its
    per-operator lines: what the owner sees. [{month, status, <figures>, lines: [Statement]}];
    a month is `issued` only when every operator's statement of it is."""
    out = {}
    for row in (Statement.objects.filter(store_id=store_id).select_related("operator")
                .order_by("-month", "operator__name", "operator_id")):
        month = out.setdefault(row.month, {"month": row.month, "status": StatementStatus.ISSUED, "lines": [],
                                           **{name: 0 for name in STATEMENT_FIGURES}})
        for name in STATEMENT_FIGURES:
            month[name] += getattr(row, name)
        if row.status != StatementStatus.ISSUED:
            month["status"] = StatementStatus.DRAFT
        month["lines"].append(row)
    return list(out.values())


def operator_health(*, month=None) -> list[dict]:
    """For the city, per operator: its status; orders, cancellations and the cancellation rate by
    payment method (a store refusing voucher orders shows up as a high jinju_love rate); orders per
    store; and the commission outstanding (issued statements' commission + adjustments not yet
    received). `month` limits the order figures to one month (default: every month)."""
    orders = Order.objects.all() if month is None else Order.objects.filter(month=month)
    by_method = {}
    for row in (orders.values("operator_id", "payment_method")
                .annotate(n=Count("id"), cancelled=Count("id", filter=Q(status=OrderStatus.CANCELLED)))):
        by_method.setdefault(row["operator_id"], {})[row["payment_method"]] = row
    stores = dict(orders.values("operator_id").annotate(s=Count("store_id", distinct=True))
                  .values_list("operator_id", "s"))
    outstanding = dict(Statement.objects.filter(status=StatementStatus.ISSUED, commission_received_at__isnull=True)
                       .values("operator_id").annotate(t=Sum("commission") + Sum("adjustments"))
                       .values_list("operator_id", "t"))
    out = []
    for operator in Operator.objects.order_by("name", "id"):
        methods = []
        total = cancelled = 0
        for method in PaymentMethod:
            row = by_method.get(operator.pk, {}).get(method.value, {"n": 0, "cancelled": 0})
            total += row["n"]
            cancelled += row["cancelled"]
            methods.append({"method": method.value, "label": method.label, "orders": row["n"],
                            "cancelled": row["cancelled"], "rate": _rate(row["cancelled"], row["n"])})
        store_count = stores.get(operator.pk, 0)
        out.append({"operator": operator, "orders": total, "cancelled": cancelled, "rate": _rate(cancelled, total),
                    "by_method": methods, "stores": store_count,
                    "orders_per_store": round(total / store_count, 1) if store_count else 0,
                    "outstanding": outstanding.get(operator.pk) or 0})
    return out


def store_cancellation_by_method(*, operator_id=None, month=None, min_orders=5, limit=50) -> list[dict]:
    """Stores whose jinju_love orders are cancelled far more often than their other orders (a store
    refusing voucher orders): [{store_id, store__name, operator_id, orders, voucher_orders,
    voucher_cancelled, voucher_rate, other_rate}], worst first."""
    rows = Order.objects.all()
    if month is not None:
        rows = rows.filter(month=month)
    if operator_id is not None:
        rows = rows.filter(operator_id=operator_id)
    voucher = Q(payment_method=PaymentMethod.JINJU_LOVE)
    cancelled = Q(status=OrderStatus.CANCELLED)
    out = []
    for row in (rows.values("store_id", "store__name", "operator_id", "operator__name")
                .annotate(orders=Count("id"), voucher_orders=Count("id", filter=voucher),
                          voucher_cancelled=Count("id", filter=voucher & cancelled),
                          other_cancelled=Count("id", filter=~voucher & cancelled))
                .filter(voucher_orders__gte=min_orders)):
        other = row["orders"] - row["voucher_orders"]
        row["voucher_rate"] = _rate(row["voucher_cancelled"], row["voucher_orders"])
        row["other_rate"] = _rate(row["other_cancelled"], other)
        out.append(row)
    out.sort(key=lambda r: (r["other_rate"] - r["voucher_rate"], -r["voucher_orders"]))
    return out[:limit]


def _rate(part, whole) -> float:
    return round(part / whole, 4) if whole else 0.0
