"""seed_demo, after delivery.seed: a deterministic few months of orders at the approved stores' listings,
and their statements built, so that `make run`'s "what stores saved" page has a chart.

Idempotent: the orders carry external ids "DEMO-…", and a second run finds them and writes nothing.
Rows are made in bulk (not through report_order: a demo of 8,000 orders through the service would
take a minute on SQLite); their commission follows the same rule (the contract of the order's day,
its waiver, floor(food × rate))."""
import datetime as dt
import hashlib

from django.utils import timezone

from delivery import services
from delivery.choices import OperatorStatus, OrderStatus, StoreStatus
from delivery.models import CommissionContract, Order, StoreListing
from jinju_portal.money import apply_rate
from vouchers import months

MONTHS_BACK = 3       # the three months before the current one, all issued
ORDERS_PER_LISTING = 3  # a month
PREFIX = "DEMO-"


def run(out):
    if Order.objects.filter(external_id__startswith=PREFIX).exists():
        out.step("배달 주문 데모: 이미 있습니다")
        return
    listings = list(StoreListing.objects.filter(store__status=StoreStatus.APPROVED,
                                                operator__status=OperatorStatus.ACTIVE)
                    .select_related("operator").order_by("store_id", "operator_id")[:1350])
    if not listings:
        out.step("배달 주문 데모: 승인된 가맹점이 없어 건너뜁니다")
        return
    now = timezone.now()
    current = months.month_of(now)
    contracts = {}
    for contract in CommissionContract.objects.order_by("operator_id", "effective_from"):
        contracts.setdefault(contract.operator_id, []).append(contract)
    rows, n = [], 0
    for back in range(MONTHS_BACK, 0, -1):
        month = months.add_months(current, -back)
        start = months.month_start(month)
        for listing in listings:
            waived_so_far = 0
            for k in range(ORDERS_PER_LISTING):
                n += 1
                ordered_at = start + dt.timedelta(days=(listing.store_id * 7 + k * 9) % 28,
                                                  hours=11 + (n % 10), minutes=n % 60)
                contract = _in_force(contracts.get(listing.operator_id, []), ordered_at)
                if contract is None:
                    continue
                food = 8_000 + (n * 3_517) % 40_000
                waived = min(food, max(contract.waiver_monthly_food - waived_so_far, 0))
                waived_so_far += waived
                cancelled = n % 25 == 0
                external_id = f"{PREFIX}{month}-{n:06d}"
                rows.append(Order(
                    operator_id=listing.operator_id, store_id=listing.store_id, external_id=external_id,
                    food_amount=food, delivery_fee=3_000, payment_method=("card", "cash")[n % 4 == 0],
                    ordered_at=ordered_at, month=month, contract=contract, commission_rate=contract.rate,
                    commission_waived=waived, commission=apply_rate(food - waived, contract.rate),
                    request_hash=hashlib.sha256(external_id.encode()).hexdigest(), reported_at=ordered_at,
                    status=OrderStatus.CANCELLED if cancelled else OrderStatus.PLACED,
                    cancelled_at=ordered_at + dt.timedelta(minutes=15) if cancelled else None,
                    cancel_reason="데모 취소" if cancelled else ""))
    Order.objects.bulk_create(rows, batch_size=2_000)
    out.created(f"배달 주문 데모 {len(rows):,}건 ({MONTHS_BACK}개월)")
    for back in range(MONTHS_BACK, 0, -1):
        result = services.build_statements(month=months.add_months(current, -back), now=now)
        out.step(f"{result.month} 정산서 {result.rows:,}건")


def _in_force(contracts, ordered_at):
    day = months.seoul(ordered_at).date()
    found = None
    for contract in contracts:
        if contract.effective_from <= day:
            found = contract
    return found
