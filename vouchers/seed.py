"""Demo data of `vouchers` for `seed_demo`: the 2021 plan, January's tranches, the limit policy and
a few purchases made through the services (FACTS.md figures exactly). Idempotent."""
import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from jinju_portal.identity import hash_identity
from jinju_portal.seed import DEMO_MERCHANT_ACCOUNTS, DEMO_PASSWORD
from vouchers import months, seed_merchants, services
from vouchers.models import Citizen, IssuancePlan, LimitPolicy, Merchant, Purchase, Tranche
from vouchers.months import SEOUL

PLANS_2021 = {"paper": 6_000_000_000, "mobile": 19_000_000_000}
JANUARY_2021 = {"paper": 2_000_000_000, "mobile": 8_000_000_000}
SALE_DAY = dt.datetime(2021, 1, 4, 10, 0, tzinfo=SEOUL)
DEMO_BUYERS = [
    # key, CI (demo only), name, birth year, medium, face value
    ("seed-demo-1", "DEMO-CI-0001", "김하늘", 1978, "paper", 300_000),
    ("seed-demo-2", "DEMO-CI-0002", "박서준", 1991, "mobile", 300_000),
    ("seed-demo-3", "DEMO-CI-0003", "최민지", 1985, "paper", 100_000),
    ("seed-demo-4", "DEMO-CI-0003", "최민지", 1985, "mobile", 150_000),
    ("seed-demo-5", "DEMO-CI-0004", "정우성", 1969, "mobile", 50_000),
]
CITIZEN_CI = "DEMO-CI-CITIZEN"
# A tranche open this month, outside every plan (so the 2021 figures stay exact), so that the
# citizen pages of `make run` have something on sale.
DEMO_OPEN_QUOTA = {"paper": 100_000_000, "mobile": 500_000_000}


def run(out):
    policy, created = LimitPolicy.objects.get_or_create(
        effective_from=dt.date(2021, 1, 1),
        defaults={"monthly_limit": 300_000, "refund_ratio": Decimal("0.60"), "note": "2021년 업무보고: 1인 월 30만 원"})
    if created:
        out.created("구매 한도 정책 2021-01부터 월 300,000원")

    plans = {}
    for medium, planned in PLANS_2021.items():
        plans[medium], created = IssuancePlan.objects.get_or_create(
            year=2021, medium=medium, defaults={"planned": planned, "carry_unsold": True})
        if created:
            out.created(f"2021년 {medium} 발행 계획 {planned:,}원")

    tranches = {}
    for medium, quota in JANUARY_2021.items():
        label = "지류" if medium == "paper" else "모바일"
        tranches[medium] = Tranche.objects.filter(plan=plans[medium], month="2021-01").first()
        if tranches[medium] is None:
            tranches[medium] = services.create_tranche(
                name=f"2021년 1월 조기 발행 ({label})", medium=medium, quota=quota, discount_rate=Decimal("0.10"),
                opens_at=dt.datetime(2021, 1, 4, 9, 0, tzinfo=SEOUL),
                closes_at=dt.datetime(2021, 2, 1, 0, 0, tzinfo=SEOUL), plan=plans[medium], month="2021-01")
            out.created(f"2021년 1월 {label} 회차 {quota:,}원")
    out.step("2021년 계획: 지류 6,000,000,000원 + 모바일 19,000,000,000원; 1월 조기 발행 10,000,000,000원")

    for key, ci, name, year, medium, amount in DEMO_BUYERS:
        if Purchase.objects.filter(idempotency_key=key).exists():
            continue
        services.purchase_vouchers(tranche_id=tranches[medium].pk, buyer_ci=ci, face_value=amount,
                                   channel="branch" if medium == "paper" else "zeropay_app", buyer_name=name,
                                   buyer_birth_year=year, idempotency_key=key, now=SALE_DAY)
        out.created(f"데모 구매 {name} {amount:,}원 ({medium})")

    user = get_user_model().objects.filter(username="citizen").first()
    if user is not None:
        citizen = Citizen.objects.filter(ci_hash=hash_identity(CITIZEN_CI)).first()
        if citizen is None:
            citizen = Citizen.objects.create(ci_hash=hash_identity(CITIZEN_CI), name="이진주", birth_year=1985,
                                             user=user)
            out.created("데모 시민 이진주 (계정 citizen)")
        if not Purchase.objects.filter(idempotency_key="seed-demo-citizen").exists():
            services.purchase_vouchers(tranche_id=tranches["mobile"].pk, citizen=citizen, face_value=100_000,
                                       channel="web", actor=user, idempotency_key="seed-demo-citizen",
                                       now=SALE_DAY + dt.timedelta(hours=1))
            out.created("citizen 계정의 모바일 지갑 100,000원")
    out.step("데모 구매와 citizen 계정의 모바일 지갑")
    seed_open_demo_tranches(out)
    seed_merchants.run(out)
    seed_merchant_logins(out)


def seed_open_demo_tranches(out, now=None):
    """This month's demonstration tranches (one per medium), open from the 1st to the end of the month."""
    now = now or timezone.now()
    month = months.month_of(now)
    opens_at = dt.datetime.combine(months.first_day(month), dt.time(0, 0), tzinfo=SEOUL)
    closes_at = (opens_at + dt.timedelta(days=32)).replace(day=1)
    for medium, quota in DEMO_OPEN_QUOTA.items():
        label = "지류" if medium == "paper" else "모바일"
        name = f"{month} 시연용 판매 회차 ({label})"
        if Tranche.objects.filter(name=name, plan__isnull=True).exists():
            continue
        services.create_tranche(name=name, medium=medium, quota=quota, discount_rate=Decimal("0.10"),
                                opens_at=opens_at, closes_at=closes_at, plan=None, month=month)
        out.created(f"{name} {quota:,}원")
    out.step(f"{month} 시연용 판매 회차 (발행 계획 밖: 2021년 실적에 들어가지 않음)")


def seed_merchant_logins(out):
    """The first demo merchant (it takes paper and mobile) gets an owner and a cashier sign-in for
    its own pages, through the member service (password validators, events)."""
    merchant = Merchant.objects.filter(business_number=seed_merchants.business_number(0)).first()
    if merchant is None:
        return
    User = get_user_model()
    for username, role in DEMO_MERCHANT_ACCOUNTS:
        if User.objects.filter(username=username).exists():
            continue
        services.add_member(merchant_id=merchant.pk, username=username, password=DEMO_PASSWORD, role=role, actor=None)
        out.created(f"가맹점 계정 {username} ({merchant.name}, {role})")
    out.step(f"데모 가맹점 {merchant.name} ({merchant.code})의 계정: "
             + ", ".join(name for name, _role in DEMO_MERCHANT_ACCOUNTS) + f" (비밀번호 {DEMO_PASSWORD})")
