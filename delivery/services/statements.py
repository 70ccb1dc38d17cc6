"""Monthly statements (DESIGN.md invariant 6), the month close, and an operator's wind-down.

A statement is one operator's orders at one store in one month (UNIQUE store, operator, month). Its
figures are taken as of a *mark* T, one per operator and month:
- the month is closed (MonthClose(operator, month) exists): T is its `closed_at`, and the statements
  are `issued`. A rebuild uses the recorded mark, so it gives the same figures and writes nothing.
- the month has ended (now >= the 1st of the next month, Asia/Seoul) but is not closed: the build
  closes it now (MonthClose(closed_at=now)) and issues its statements.
- the current month: T is now and the statements are `draft` (rebuilt freely, never in savings).

As of T, a month's own figures are its orders with reported_at <= T that were not cancelled by T.
What changes after a month closed is an adjustment of the month in which it happened (Asia/Seoul),
never of the issued statement: a cancel is its commission negative, a late report (an order of an
already-closed month reported after the close) its commission positive (API.md names the cancels;
the late report is our addition, so that such an order is neither lost nor counted twice). Both
after the close, they net out. A change that falls after the close of its own month (an operator
wound down mid-month) counts in the next month.

Why a close waits for order writers (db.lock_orders_for_close): an order stamped 02:59:59 that
commits at 03:00:01 would be missed by a close at 03:00:00 and never be late either. The close takes
a SHARE lock on the orders table: every writer in flight commits first, new ones wait for the build.

Two builds of one month at once give one result: each locks the operators' rows in primary-key order
(delivery/locks.py: the operator comes first) before reading a mark. FOR NO KEY UPDATE, not FOR
UPDATE: an order being reported checks its operator foreign key at commit with FOR KEY SHARE, and
a build holding FOR UPDATE while waiting for that order's commit (the close's table lock) would
deadlock with it.
"""
import datetime as dt
from dataclasses import dataclass, field

from django.db import OperationalError, transaction
from django.db.models import Count, Q, Sum

from delivery import inputs, rules
from delivery.choices import OPERATOR_TRANSITIONS, EventKind, OperatorStatus, OrderStatus, StatementStatus
from delivery.db import statements as db
from delivery.errors import refuse
from delivery.models import MonthClose, Operator, Order, Statement
from delivery.services import events
from jinju_portal import clock
from vouchers import months

ONE_MICROSECOND = dt.timedelta(microseconds=1)  # PostgreSQL's resolution: t >= start  <=>  t > start − 1 µs
REASON_MAX = 200  # Operator.status_reason


@dataclass
class BuildResult:
    month: str
    statuses: dict = field(default_factory=dict)   # operator slug -> "draft" | "issued"
    closed: list = field(default_factory=list)     # slugs of the operators whose month this build closed
    created: int = 0
    updated: int = 0
    emptied: int = 0   # draft statements whose orders were all cancelled (kept, at zero)
    rows: int = 0      # statements with figures as of the marks

    def as_dict(self) -> dict:
        return {"month": self.month, "statuses": self.statuses, "closed": self.closed, "created": self.created,
                "updated": self.updated, "emptied": self.emptied, "rows": self.rows}


def clean_build_month(month, *, now) -> str:
    """A "YYYY-MM" month that has begun (the current one included), else 400."""
    month = inputs.clean_month(month)
    if months.month_start(month) > now:
        raise refuse("invalid_month.future", on="month", month=month)
    return month


def build_statements(*, month, actor=None, now=None) -> BuildResult:
    """Build (or rebuild) every operator's statements of `month`; close the month first if it has
    ended and is not closed. Idempotent: a second run writes nothing. One transaction (below)."""
    now = clock.now_or(now)
    month = clean_build_month(month, now=now)
    try:
        with transaction.atomic():
            operators = list(Operator.objects.select_for_update(no_key=True).order_by("pk"))
            return _build_month(month=month, operators=operators, actor=actor, now=now, close_now=False)
    except OperationalError as exc:  # lock_timeout: an order writer held its transaction for 10 s
        raise refuse("busy") from exc


def wind_down_operator(*, operator_id, reason, actor, now=None) -> Operator:
    """Withdraw an operator (OPERATOR_TRANSITIONS): it takes no new orders (report_order refuses a
    non-active operator) and its statements are closed out: every month with its orders, up to and
    including the current one, is closed now and issued. One transaction; refusals write nothing."""
    now = clock.now_or(now)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not 1 <= len(reason) <= REASON_MAX:
        raise refuse("invalid_reason", on="reason", max=REASON_MAX)
    try:
        with transaction.atomic():
            operator = Operator.objects.select_for_update(no_key=True).filter(pk=operator_id).first()
            if operator is None:
                raise refuse("not_found.operator")
            if OperatorStatus.WITHDRAWN not in OPERATOR_TRANSITIONS[OperatorStatus(operator.status)]:
                raise refuse("operator_status_conflict", status=operator.get_status_display())
            events.apply_changes(operator, {"status": OperatorStatus.WITHDRAWN, "status_reason": reason,
                                            "status_changed_at": now},
                                 EventKind.OPERATOR_WOUND_DOWN, actor=actor, now=now, operator=operator, note=reason)
            current = months.month_of(now)
            held = set(Order.objects.filter(operator=operator).values_list("month", flat=True).distinct())
            if held:
                held.add(current)
            for month in sorted(m for m in held if m <= current):
                _build_month(month=month, operators=[operator], actor=actor, now=now, close_now=True)
            return operator
    except OperationalError as exc:
        raise refuse("busy") from exc


close_out_operator = wind_down_operator  # the issue's word for the same act


def _build_month(*, month, operators, actor, now, close_now) -> BuildResult:
    """Inside the caller's transaction, with `operators` locked: marks, closes, then the statements."""
    result = BuildResult(month=month)
    if not operators:
        return result
    ended = months.month_start(months.add_months(month, 1)) <= now
    closes = {c.operator_id: c for c in MonthClose.objects.filter(month=month, operator__in=operators)}
    previous = dict(MonthClose.objects.filter(month=months.add_months(month, -1), operator__in=operators)
                    .values_list("operator_id", "closed_at"))
    start, next_start = months.month_start(month), months.month_start(months.add_months(month, 1))
    to_close = [op for op in operators if op.pk not in closes and (ended or close_now)]
    if to_close and db.fast_sql():
        db.lock_orders_for_close()
    ops = []
    for op in operators:
        close = closes.get(op.pk)
        if close is None and op in to_close:
            close = MonthClose.objects.create(operator=op, month=month, closed_at=now, created_at=now)
            events.record(EventKind.MONTH_CLOSED, actor=actor, now=now, operator=op, month=month,
                          after={"closed_at": now})
            closes[op.pk] = close
            result.closed.append(op.slug)
        status = StatementStatus.ISSUED if close is not None else StatementStatus.DRAFT
        mark = close.closed_at if close is not None else now
        before_close = previous.get(op.pk)
        adj_lo = before_close if before_close is not None and before_close < start else start - ONE_MICROSECOND
        ops.append({"operator_id": op.pk, "mark": mark, "adj_lo": adj_lo, "adj_hi": next_start, "status": status})
        result.statuses[op.slug] = str(status)
    counts = db.build(month=month, ops=ops, now=now) if db.fast_sql() else _build_orm(month=month, ops=ops, now=now)
    for op in operators:
        c = counts.get(op.pk, {"created": 0, "updated": 0, "emptied": 0, "rows": 0})
        result.created += c["created"]
        result.updated += c["updated"]
        result.emptied += c["emptied"]
        result.rows += c["rows"]
        if c["created"] or c["updated"] or c["emptied"]:
            events.record(EventKind.STATEMENTS_BUILT, actor=actor, now=now, operator=op, month=month,
                          after={"status": result.statuses[op.slug], "created": c["created"],
                                 "updated": c["updated"], "emptied": c["emptied"], "statements": c["rows"]})
    return result


def statement_sums(*, month, op) -> dict:
    """{store_id: figures} of one operator's `month` as of op["mark"] (the ORM twin's arithmetic)."""
    mark = op["mark"]
    sums = {}
    own = (Order.objects.filter(month=month, operator_id=op["operator_id"], reported_at__lte=mark)
           .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=mark))
           .values("store_id").annotate(n=Count("id"), food=Sum("food_amount"), comm=Sum("commission")))
    for row in own:
        sums[row["store_id"]] = {"n": row["n"], "food": row["food"], "comm": row["comm"], "k": 0, "adj": 0}
    closed = dict(MonthClose.objects.filter(operator_id=op["operator_id"], month__lt=month)
                  .values_list("month", "closed_at"))
    if closed:
        window = {"gt": op["adj_lo"], "lt": op["adj_hi"], "lte": mark}
        late = (Order.objects.filter(operator_id=op["operator_id"], month__in=list(closed))
                .filter(Q(**{f"cancelled_at__{k}": v for k, v in window.items()})
                        | Q(**{f"reported_at__{k}": v for k, v in window.items()}))
                .values_list("store_id", "month", "commission", "reported_at", "cancelled_at", "status"))

        def inside(t):
            return t is not None and window["gt"] < t < window["lt"] and t <= mark

        for store_id, order_month, commission, reported_at, cancelled_at, status in late:
            c = closed[order_month]
            entry = sums.setdefault(store_id, {"n": 0, "food": 0, "comm": 0, "k": 0, "adj": 0})
            if status == OrderStatus.CANCELLED and inside(cancelled_at) and cancelled_at > c:
                entry["k"] += 1
                entry["adj"] -= commission
            # a late report arrived after its own month ended (and after that month's close): the
            # same predicate as the SQL's partial index (db.REPORTED_LATE)
            if inside(reported_at) and reported_at > c and reported_at >= months.month_start(
                    months.add_months(order_month, 1)):
                entry["k"] += 1
                entry["adj"] += commission
        sums = {k: v for k, v in sums.items() if v["n"] or v["k"]}
    return sums


def _build_orm(*, month, ops, now) -> dict:
    """The ORM twin of db.build (SQLite, DELIVERY_FAST_SQL=False): the same figures, the same writes."""
    out = {}
    for op in ops:
        counts = {"created": 0, "updated": 0, "emptied": 0, "rows": 0}
        sums = statement_sums(month=month, op=op)
        existing = {s.store_id: s for s in Statement.objects.filter(operator_id=op["operator_id"], month=month)}
        new_rows, changed = [], []
        zero = {"n": 0, "food": 0, "comm": 0, "k": 0, "adj": 0}
        for store_id in sorted(set(sums) | set(existing)):
            row = existing.get(store_id)
            if store_id not in sums and (row is None or row.status != StatementStatus.DRAFT):
                continue
            s = sums.get(store_id, zero)
            figures = rules.statement_figures(order_count=s["n"], food_total=s["food"], commission=s["comm"],
                                              adjustments=s["adj"], adjustment_count=s["k"])
            figures["status"] = op["status"]
            if row is None:
                new_rows.append(Statement(store_id=store_id, operator_id=op["operator_id"], month=month,
                                          built_at=now, **figures))
                counts["created"] += 1
            elif row.status == StatementStatus.DRAFT and any(getattr(row, k) != v for k, v in figures.items()):
                for k, v in figures.items():
                    setattr(row, k, v)
                row.built_at = now
                changed.append(row)
                counts["updated" if store_id in sums else "emptied"] += 1
        counts["rows"] = len(sums)
        Statement.objects.bulk_create(new_rows, batch_size=1000)
        Statement.objects.bulk_update(changed, ["status", *rules.STATEMENT_FIGURES, "built_at"], batch_size=1000)
        out[op["operator_id"]] = counts
    return out


@transaction.atomic
def mark_commission_received(*, statement_ids, actor, now=None) -> list[Statement]:
    """The operator paid these issued statements' commission: stamp them received (the operator-health
    figure "commission outstanding" drops them). Drafts, or ones already received, are refused whole."""
    now = clock.now_or(now)
    ids = sorted(set(statement_ids))
    rows = list(Statement.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(rows) != len(ids):
        raise refuse("not_found")
    for row in rows:
        if row.status != StatementStatus.ISSUED or row.commission_received_at is not None:
            raise refuse("statement_status_conflict", status=row.get_status_display())
    for row in rows:
        events.apply_changes(row, {"commission_received_at": now}, EventKind.COMMISSION_RECEIVED, actor=actor,
                             now=now, operator_id=row.operator_id, store_id=row.store_id, month=row.month)
    return rows
