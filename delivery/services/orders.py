"""The orders operators report (DESIGN.md invariant 5), their commission and waiver, paying them with
Jinju Love, and cancelling them.

- `report_order`: counted once per (operator, external_id). The rate of the contract in force on the
  order's Asia/Seoul day is copied in; commission = floor((food − waived) × rate), the delivery fee
  never in the base. A jinju_love order debits the citizen's wallet by food + fee through the vouchers
  pay-code payment, to the store's linked merchant, in the same transaction as the order.
- `cancel_order`: the operator's own order; the payment goes back to the wallet in full and the waived
  food back to the month's waiver, in the same transaction.
"""
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from delivery import inputs, selectors
from delivery.choices import EventKind, OperatorStatus, OrderStatus, PaymentMethod, StoreStatus
from delivery.errors import refuse
from delivery.models import Order, Store, WaiverUsage
from delivery.services import events
from jinju_portal import actors, clock, db_health
from jinju_portal.errors import ServiceError
from jinju_portal.money import apply_rate
from vouchers import months
from vouchers import services as vouchers

UNIQUE_EXTERNAL_ID = "order_operator_external_id_unique"
OPERATOR_ACTIVE = "order_operator_active"  # the INSERT's own checks of the statuses (migration 0003)
STORE_ACTIVE = "order_store_active"

# What the vouchers pay-code payment refuses, as delivery names it (API.md "Delivery").
_PAYMENT_REFUSALS = {
    "invalid_pay_code": "invalid_pay_code",
    "insufficient_balance": "insufficient_balance",
    "merchant_not_active": "store_not_voucher_merchant",
    "merchant_not_mobile": "store_not_voucher_merchant",
    "busy": "busy",
}


def report_order(*, actor, store, external_id, food_amount, delivery_fee, payment_method, ordered_at,
                 pay_code=None, now=None) -> tuple[Order, bool]:
    """Record an order the operator's app took → (order, created). The same external_id again with the
    same body answers the first order (created False); with another body 409 duplicate_external_id.

    Not decorated: the order is one transaction (`_place`), and a duplicate is told apart after it rolled
    back. Two reports of one external_id racing both run `_place`; the second's INSERT waits on the
    first's unique index entry and fails once the first commits, which rolls back everything the second
    did (its waiver claim, its payment: a loser never pays) before it reads and answers the winner.
    A card or cash order without a waiver is the single INSERT, in autocommit.

    Refusals, in order: the inputs (400, delivery/inputs.py), operator_not_active (409: suspended or wound
    down), invalid_store (400: unknown, or no listing of this operator), store_not_active (409),
    invalid_contract (400: no contract on that day), store_not_voucher_merchant, invalid_pay_code,
    insufficient_balance (409, jinju_love). A refusal writes nothing, the order included."""
    now = clock.now_or(now)
    data = inputs.clean_order(store=store, external_id=external_id, food_amount=food_amount,
                              delivery_fee=delivery_fee, payment_method=payment_method, ordered_at=ordered_at,
                              pay_code=pay_code, now=now)
    operator = selectors.order_operator(actor)
    if operator is None:
        raise refuse("not_found.operator")
    if operator.status != OperatorStatus.ACTIVE:
        raise refuse("operator_not_active")
    listed = selectors.order_store(store_id=data["store"], operator_id=operator.pk)
    if listed is None:
        raise refuse("invalid_store", on="store")
    if listed.status != StoreStatus.APPROVED:
        raise refuse("store_not_active", status=StoreStatus(listed.status).label)
    local = months.seoul(data["ordered_at"])
    contract = selectors.contract_on(operator.pk, local.date())
    if contract is None:
        raise refuse("invalid_contract.none", on="ordered_at", day=local.date().isoformat())
    jinju_love = data["payment_method"] == PaymentMethod.JINJU_LOVE
    if jinju_love and listed.merchant_business_number is None:
        raise refuse("store_not_voucher_merchant")
    request_hash = inputs.order_request_hash(**{k: v for k, v in data.items() if k != "pay_code"})
    order = Order(
        operator=operator, store_id=listed.id, external_id=data["external_id"], food_amount=data["food_amount"],
        delivery_fee=data["delivery_fee"], payment_method=data["payment_method"], ordered_at=data["ordered_at"],
        month=f"{local.year:04d}-{local.month:02d}", status=OrderStatus.PLACED, contract=contract,
        commission_rate=contract.rate, commission_waived=0, commission=apply_rate(data["food_amount"], contract.rate),
        request_hash=request_hash, api_client=actors.client_of(actor), reported_at=now)
    # The request's first query: skip Django's `SELECT 1` health check for a session that has just
    # answered (jinju_portal/db_health.py), as the sale and the POS payment do.
    db_health.skip_if_fresh()
    try:
        if jinju_love or contract.waiver_monthly_food:
            _place(order, contract=contract, pay_code=data["pay_code"], merchant=listed.merchant_business_number,
                   actor=actor, now=now)
        elif connection.in_atomic_block:  # a caller's transaction: the INSERT in a savepoint of its own
            with transaction.atomic():
                order.save(force_insert=True)
        else:
            order.save(force_insert=True)  # one INSERT, its own transaction
        db_health.mark_answered()
        return order, True
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint == OPERATOR_ACTIVE:  # suspended or wound down since this process cached it
            selectors.forget_order_lookups()
            raise refuse("operator_not_active") from None
        if constraint == STORE_ACTIVE:  # suspended or withdrawn since this process cached it
            selectors.forget_order_lookups()
            status = Store.objects.filter(pk=order.store_id).values_list("status", flat=True).first()
            raise refuse("store_not_active", status=StoreStatus(status).label) from None
        if constraint != UNIQUE_EXTERNAL_ID:
            raise
    except ServiceError:
        # A payment refused because a twin report already spent the code (or took the balance) and
        # committed: the answer is that twin's order. Otherwise the refusal stands.
        if not Order.objects.filter(operator=operator, external_id=data["external_id"]).exists():
            raise
    return _first_report(operator=operator, external_id=data["external_id"], request_hash=request_hash), False


@transaction.atomic
def _place(order: Order, *, contract, pay_code, merchant, actor, now) -> None:
    """The order with its waiver claim and its payment, in one transaction. Locks (delivery/locks.py):
    the waiver usage (4), then the wallet and its pay code (5), then the new order row's unique entry."""
    if contract.waiver_monthly_food:
        order.commission_waived = _claim_waiver(order, limit=contract.waiver_monthly_food)
        order.commission = apply_rate(order.food_amount - order.commission_waived, order.commission_rate)
    if order.payment_method == PaymentMethod.JINJU_LOVE:
        try:
            order.payment = vouchers.pay_with_code(pay_code=pay_code, amount=order.food_amount + order.delivery_fee,
                                                   actor=actor, merchant_business_number=merchant, now=now)
        except ServiceError as exc:
            if exc.code in _PAYMENT_REFUSALS:
                raise refuse(_PAYMENT_REFUSALS[exc.code]) from None
            raise
    order.save(force_insert=True)


def _claim_waiver(order: Order, *, limit: int) -> int:
    """How much of this order's food the month's waiver still covers, taken from the store's
    WaiverUsage row of (store, operator, month): the row is claimed by INSERT … ON CONFLICT DO NOTHING,
    then locked and moved once. The row's limit follows the contract of the latest order."""
    WaiverUsage.objects.bulk_create([WaiverUsage(store_id=order.store_id, operator_id=order.operator_id,
                                                 month=order.month, waived=0, waiver_limit=limit)],
                                    ignore_conflicts=True)
    usage = WaiverUsage.objects.select_for_update().get(store_id=order.store_id, operator_id=order.operator_id,
                                                        month=order.month)
    taken = max(0, min(order.food_amount, limit - usage.waived))
    new_limit = max(limit, usage.waived + taken)
    if taken or new_limit != usage.waiver_limit:
        WaiverUsage.objects.filter(pk=usage.pk).update(waived=usage.waived + taken, waiver_limit=new_limit)
    return taken


def _first_report(*, operator, external_id, request_hash) -> Order:
    winner = Order.objects.filter(operator=operator, external_id=external_id).first()
    if winner is None:  # cannot happen: the unique index named it
        raise refuse("busy")
    if winner.request_hash != request_hash:
        raise refuse("duplicate_external_id", external_id=external_id)
    return winner


@transaction.atomic
def cancel_order(*, actor, order_id, reason="", now=None) -> Order:
    """Cancel one of the operator's own orders (another's: 404), also for a suspended or wound-down
    operator. Idempotent: an order already cancelled is answered as it is. A jinju_love order's payment
    goes back to the wallet in full, and the food the waiver covered back to its month's waiver.
    Locks (delivery/locks.py): the order (3), its waiver usage (4), then the wallet and payment (5)."""
    now = clock.now_or(now)
    reason = inputs.clean_cancel_reason(reason)
    operator = selectors.operator_of(actor)
    order = None
    if operator is not None:
        order = Order.objects.select_for_update().filter(pk=order_id, operator=operator).first()
    if order is None:
        raise refuse("not_found.order")
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.commission_waived:
        WaiverUsage.objects.filter(store_id=order.store_id, operator_id=order.operator_id, month=order.month,
                                   waived__gte=order.commission_waived).update(
            waived=F("waived") - order.commission_waived)
    if order.payment_id is not None:
        vouchers.refund_payment_in_full(payment_id=order.payment_id, actor=actor, now=now,
                                        note=f"delivery order {order.pk} cancelled ({operator.slug}:{order.external_id})")
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.cancel_reason = reason
    order.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    events.record(EventKind.ORDER_CANCELLED, actor=actor, now=now, order=order, operator=operator,
                  store_id=order.store_id, month=order.month, note=reason,
                  before={"status": OrderStatus.PLACED},
                  after={"status": OrderStatus.CANCELLED, "commission": order.commission,
                         "commission_waived": order.commission_waived,
                         "refunded": order.food_amount + order.delivery_fee if order.payment_id else 0})
    return order
