"""Demo data of `delivery` for `seed_demo` (FACTS.md): the three operators chosen by the 2020 public
call (㈜스마트로, ㈜아람솔루션, ㈜허니비즈) with their agreements, the two brands ('배달의 진주' run by
스마트로, '띵동' by 허니비즈; 아람솔루션 runs none), a 2 % contract each from March 2021 (the launch), and
exactly 450 approved stores in real Jinju 읍면동, each listed with all three operators.

300 of the stores (two thirds) are the seeded mobile Jinju Love restaurants and cafés
(vouchers/seed_merchants.py: same business number, name and address) and are linked to them, so
they can take vouchers; the other 150 have business numbers of their own. Generated
deterministically and written with bulk_create (stores, listings, events), so `make run` stays
quick. Idempotent: what is there already is kept."""
import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from delivery import rules, services
from delivery.choices import EventKind, ListingSource, StoreStatus
from delivery.models import Brand, CommissionContract, DeliveryEvent, Operator, Store, StoreListing
from delivery.services import events
from jinju_portal import bizno
from vouchers import seed_merchants
from vouchers.choices import MerchantStatus
from vouchers.models import Merchant

# The public call's dates are not in FACTS.md: demo dates within 2020 (call, selection, agreements).
SELECTED_ON = dt.date(2020, 11, 13)
AGREEMENT_SIGNED_ON = dt.date(2020, 12, 22)
OPERATORS = [
    # slug, company, business number serial (613-81-…, corporate head office), brands
    ("smartro", "㈜스마트로", 1, ["배달의 진주"]),
    ("aramsolution", "㈜아람솔루션", 2, []),
    ("honeybees", "㈜허니비즈", 3, ["띵동"]),
]
RATE = Decimal("0.0200")
CONTRACT_FROM = dt.date(2021, 3, 1)  # FACTS.md: launched in March 2021

STORES = 450
LINKED = 300  # two thirds share a seeded mobile merchant's business number
SEED = 20210408  # official launch day
TAX_OFFICE = seed_merchants.TAX_OFFICE
# delivery categories by the seeded merchant's name (the vouchers categories are coarser)
LINKED_CATEGORY = [("돼지국밥", "korean"), ("국밥", "korean"), ("냉면", "korean"), ("비빔밥", "korean"),
                   ("한정식", "korean"), ("칼국수", "korean"), ("갈비", "korean"), ("식당", "korean"),
                   ("분식", "snack"), ("횟집", "japanese"), ("카페", "cafe"), ("커피", "cafe"),
                   ("베이커리", "cafe"), ("제과", "cafe"), ("다방", "cafe")]
OWN_NAMES = {
    "chicken": ["치킨", "통닭", "닭강정"], "pizza": ["피자"], "chinese": ["반점", "중화요리", "짬뽕"],
    "jokbal": ["족발", "보쌈"], "night": ["야식", "포차"], "lunchbox": ["도시락"], "asian": ["쌀국수", "마라탕"],
    "western": ["파스타", "수제버거"], "japanese": ["돈가스", "초밥"], "snack": ["떡볶이", "김밥"],
}
DONG_ROADS = {"평거동": "평거로", "가좌동": "진주대로", "충무공동": "충의로", "상대동": "동진로", "하대동": "도동천로",
              "초장동": "초전북로", "신안동": "신안로", "이현동": "이현로", "상봉동": "상봉로", "판문동": "판문로",
              "중앙동": "중앙시장길", "성북동": "진양호로", "천전동": "망경로", "상평동": "상평로", "가호동": "가좌길",
              "문산읍": "문산로", "금산면": "금산순환로", "정촌면": "정촌로"}


def operator_business_number(serial: int) -> str:
    first_nine = f"{TAX_OFFICE}81{9000 + serial:04d}"
    return first_nine + str(bizno.check_digit(first_nine))


def own_business_number(i: int) -> str:
    """The i-th demo store that is no voucher merchant: 613-20-… (the demo merchants are 613-10-…)."""
    first_nine = f"{TAX_OFFICE}20{i:04d}"
    return first_nine + str(bizno.check_digit(first_nine))


def _linked_category(name: str) -> str | None:
    for stem, category in LINKED_CATEGORY:
        if stem in name:
            return category
    return None


def demo_rows(merchants: dict[str, dict]):
    """The 450 demo stores as dicts (business_number, name, category, address, dong, phone, merchant),
    the same on every run: the first 300 seeded mobile restaurants and cafés, then 150 of their own."""
    rows = []
    for row in seed_merchants.demo_rows():
        if len(rows) == LINKED:
            break
        merchant = merchants.get(row["business_number"])
        category = _linked_category(row["name"])
        if merchant is None or category is None or row["category"] not in ("restaurant", "cafe"):
            continue
        address = row["address"] if row["dong"] in row["address"] else f"{row['address']} ({row['dong']})"
        rows.append({"business_number": row["business_number"], "name": row["name"], "category": category,
                     "address": address, "dong": row["dong"], "phone": row["phone"], "merchant_id": merchant["pk"]})
    rng = random.Random(SEED)
    dongs = rules.JINJU_HAENGJEONG_DONG + rules.JINJU_EUP_MYEON[:4]
    categories = sorted(OWN_NAMES)
    for i in range(STORES - LINKED):
        category = categories[rng.randrange(len(categories))]
        dong = dongs[rng.randrange(len(dongs))]
        road = DONG_ROADS.get(dong, "중앙길")
        rows.append({"business_number": own_business_number(i),
                     "name": f"{rng.choice(seed_merchants.STEMS)}{rng.choice(OWN_NAMES[category])}",
                     "category": category, "address": f"경상남도 진주시 {road} {rng.randint(1, 300)} ({dong})",
                     "dong": dong, "phone": f"055-{rng.randint(740, 799)}-{rng.randint(0, 9999):04d}",
                     "merchant_id": None})
    return rows


def seed_operators(out, now):
    for slug, name, serial, brands in OPERATORS:
        operator = Operator.objects.filter(slug=slug).first()
        if operator is None:
            operator = services.register_operator(slug=slug, name=name, business_number=operator_business_number(serial),
                                                  selected_on=SELECTED_ON, agreement_signed_on=AGREEMENT_SIGNED_ON,
                                                  brands=brands, actor=None, now=now)
            out.created(f"배달앱 운영사 {name}" + (f" ({', '.join(brands)})" if brands else ""))
        if not CommissionContract.objects.filter(operator=operator, effective_from=CONTRACT_FROM).exists():
            # a contract from a past day: add_contract refuses it on purpose, the seed writes history
            contract = CommissionContract.objects.create(operator=operator, rate=RATE, effective_from=CONTRACT_FROM,
                                                         note="공모 협약: 중개수수료 2%", created_at=now)
            events.record(EventKind.CONTRACT_ADDED, now=now, operator=operator, contract=contract, note="seed_demo",
                          after={"rate": RATE, "effective_from": CONTRACT_FROM, "waiver_monthly_food": 0})
            out.created(f"{name} 수수료 계약 2% ({CONTRACT_FROM:%Y-%m-%d}부터)")
    out.step("운영사 3곳 (2020년 공모 선정·협약), 브랜드 '배달의 진주'(스마트로)·'띵동'(허니비즈), 수수료 2%")


def seed_stores(out, now):
    operators = list(Operator.objects.filter(slug__in=[slug for slug, *_ in OPERATORS]).order_by("pk"))
    brand_of = {b.operator_id: b.pk for b in Brand.objects.filter(operator__in=operators)}
    numbers = [row["business_number"] for row in seed_merchants.demo_rows()]
    merchants = {m["business_number"]: m for m in Merchant.objects.filter(
        business_number__in=numbers, accepts_mobile=True, status=MerchantStatus.APPROVED).values("pk",
                                                                                                 "business_number")}
    rows = demo_rows(merchants)
    existing = set(Store.objects.filter(business_number__in=[r["business_number"] for r in rows])
                   .values_list("business_number", flat=True))
    missing = [row for row in rows if row["business_number"] not in existing]
    if missing:
        with transaction.atomic():
            stores = Store.objects.bulk_create([
                Store(**row, status=StoreStatus.APPROVED, status_reason="seed_demo", status_changed_at=now,
                      approved_at=now, created_at=now) for row in missing])
            StoreListing.objects.bulk_create([
                StoreListing(store=store, operator=operator, brand_id=brand_of.get(operator.pk),
                             source=ListingSource.CITY, created_at=now)
                for store in stores for operator in operators])
            DeliveryEvent.objects.bulk_create([
                events.build(EventKind.STORE_APPROVED, now=now, store=store, note="seed_demo",
                             after={"status": StoreStatus.APPROVED, "merchant": store.merchant_id,
                                    "operators": [o.slug for o in operators]})
                for store in stores])
        out.created(f"배달앱 가맹점 {len(missing):,}곳")
    linked = sum(1 for row in rows if row["merchant_id"])
    out.step(f"승인 가맹점 {len(rows):,}곳, 모두 운영사 3곳에 입점 (진주사랑상품권 모바일 가맹점 연결 {linked:,}곳)")


def run(out, now=None):
    now = now or timezone.now()
    seed_operators(out, now)
    seed_stores(out, now)
