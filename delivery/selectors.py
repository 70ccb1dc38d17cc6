"""Reads of the delivery app that need more than a one-line query."""
from django.db.models import Count, Q, Sum

from delivery.choices import OrderStatus, PaymentMethod, StatementStatus
from delivery.models import Operator, Order, Statement
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
