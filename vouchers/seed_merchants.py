"""Demo merchants for `seed_demo` (FACTS.md): the industry list with its excluded categories, and
exactly 4,500 approved merchants taking paper and 7,000 taking mobile, overlapping as in life
(3,000 take both, 1,500 paper only, 4,000 mobile only: 8,500 shops), in real Jinju 읍면동.

Generated deterministically (the same shops on every machine) with valid business numbers under
Jinju's tax-office code 613, and written with bulk_create (one insert per 1,000 rows, each with its
`merchant_approved` event), so `make run` stays quick. Idempotent: rows already there are kept."""
import random

from django.db import transaction

from jinju_portal import bizno
from vouchers import merchant_codes, services
from vouchers.choices import EventKind, MerchantStatus
from vouchers.models import Merchant, MerchantCategory, VoucherEvent
from vouchers.services import events

# code, name, excluded reason ("" = eligible)
CATEGORIES = [
    ("restaurant", "일반음식점", ""),
    ("cafe", "카페·제과점", ""),
    ("grocery", "슈퍼마켓·식료품", ""),
    ("butcher", "정육점", ""),
    ("produce", "농축수산물", ""),
    ("traditional_market", "전통시장 점포", ""),
    ("beauty", "미용실·이용원", ""),
    ("pharmacy", "약국", ""),
    ("clinic", "의원·한의원", ""),
    ("optician", "안경점", ""),
    ("clothing", "의류·잡화", ""),
    ("bookstore", "서점·문구", ""),
    ("academy", "학원", ""),
    ("flower", "꽃집", ""),
    ("hardware", "철물·생활용품", ""),
    ("laundry", "세탁소", ""),
    ("bakery", "떡집·방앗간", ""),
    ("fitness", "체육시설", ""),
    # the excluded list (FACTS.md: ministry guideline as reported); staff edit it in the admin
    ("gambling", "사행성 업종 (복권방·게임장 등)", "사행성 업종: 가맹 제한 업종"),
    ("adult_entertainment", "유흥주점", "유흥·사치 업종: 가맹 제한 업종"),
    ("large_mart", "대형마트·기업형 슈퍼마켓", "대규모점포: 중소상공인 지원 취지에 맞지 않음"),
    ("hospital", "병원·종합병원", "대형 의료기관: 가맹 제외"),
    ("company_convenience", "직영 편의점", "본사 직영 편의점: 가맹 제외 (가맹점주 운영 편의점은 가능)"),
    ("department_store", "백화점·면세점", "대규모점포: 가맹 제외"),
]
ELIGIBLE = [code for code, _name, reason in CATEGORIES if not reason]

DONGS = ["충무공동", "평거동", "가좌동", "상대동", "하대동", "초장동", "이현동", "신안동", "상봉동", "봉안동",
         "중앙동", "성북동", "천전동", "판문동", "문산읍", "금산면", "집현면", "정촌면", "명석면", "대곡면",
         "진성면", "일반성면", "이반성면", "사봉면", "지수면", "대평면", "수곡면", "미천면", "내동면", "금곡면"]
ROADS = {"충무공동": "충의로", "평거동": "평거로", "가좌동": "진주대로", "상대동": "동진로", "하대동": "도동천로",
         "초장동": "초전북로", "이현동": "이현로", "신안동": "신안로", "상봉동": "상봉로", "봉안동": "봉곡로",
         "중앙동": "중앙시장길", "성북동": "진양호로", "천전동": "망경로", "판문동": "판문로", "문산읍": "문산로"}
STEMS = ["남강", "촉석", "비봉", "망경", "진양", "월아", "선학", "새벼리", "하나", "행복", "우리", "소망", "대박",
         "청춘", "할매", "옛날", "진주", "논개", "의암", "장대", "동방", "경상", "서부", "새벽", "한빛", "푸른",
         "참", "늘봄", "꽃길", "다온"]
SUFFIXES = {
    "restaurant": ["식당", "국밥", "냉면", "비빔밥", "한정식", "돼지국밥", "칼국수", "분식", "횟집", "갈비"],
    "cafe": ["카페", "커피", "베이커리", "제과", "다방"],
    "grocery": ["마트", "슈퍼", "식자재", "상회"],
    "butcher": ["정육점", "축산", "한우"],
    "produce": ["청과", "수산", "농산", "건어물"],
    "traditional_market": ["상회", "상점", "반찬", "건어물"],
    "beauty": ["미용실", "헤어", "이용원", "네일"],
    "pharmacy": ["약국"],
    "clinic": ["의원", "한의원", "치과의원", "내과의원"],
    "optician": ["안경", "안경원"],
    "clothing": ["의류", "양품점", "신발", "가방"],
    "bookstore": ["서점", "문구", "문고"],
    "academy": ["학원", "수학학원", "영어학원", "피아노"],
    "flower": ["꽃집", "플라워"],
    "hardware": ["철물", "생활용품", "공구"],
    "laundry": ["세탁소", "크리닝"],
    "bakery": ["떡집", "방앗간"],
    "fitness": ["헬스", "태권도", "필라테스"],
}
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "수아", "영호", "미경", "성민", "정희", "상철", "은영", "재원", "혜진"]

BOTH, PAPER_ONLY, MOBILE_ONLY = 3_000, 1_500, 4_000  # 4,500 take paper, 7,000 take mobile
TOTAL = BOTH + PAPER_ONLY + MOBILE_ONLY
TAX_OFFICE = "613"  # 진주세무서
SEED = 20210104
BATCH = 1_000


def business_number(i: int) -> str:
    """The i-th demo business number: 613 (진주), a personal-business type code, a serial, the check digit."""
    first_nine = f"{TAX_OFFICE}{10 + i // 10_000:02d}{i % 10_000:04d}"
    return first_nine + str(bizno.check_digit(first_nine))


def demo_rows():
    """The 8,500 demo merchants as dicts, the same on every run."""
    rng = random.Random(SEED)
    codes = set()
    for i in range(TOTAL):
        category = ELIGIBLE[rng.randrange(len(ELIGIBLE))]
        dong = DONGS[min(int(rng.paretovariate(1.2)) - 1, len(DONGS) - 1) if rng.random() < 0.5
                     else rng.randrange(len(DONGS))]
        name = f"{rng.choice(STEMS)}{rng.choice(SUFFIXES[category])}"
        if rng.random() < 0.15:
            name += f" {rng.randint(2, 5)}호점"
        code = merchant_codes.new_code(rng)
        while code in codes:
            code = merchant_codes.new_code(rng)
        codes.add(code)
        road = ROADS.get(dong)
        address = (f"경상남도 진주시 {road} {rng.randint(1, 400)}" if road
                   else f"경상남도 진주시 {dong} {rng.choice(['중앙길', '시장길', '마을길'])} {rng.randint(1, 200)}")
        yield {
            "business_number": business_number(i), "name": name, "category": category, "dong": dong,
            "address": address, "phone": f"055-{rng.randint(700, 799)}-{rng.randint(0, 9999):04d}",
            "representative": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "annual_revenue": rng.randrange(20_000_000, 2_500_000_000, 1_000_000),
            "accepts_paper": i < BOTH + PAPER_ONLY, "accepts_mobile": i < BOTH or i >= BOTH + PAPER_ONLY,
            "code": code,
        }


def run(out, now=None):
    from django.utils import timezone

    now = now or timezone.now()
    known = set(MerchantCategory.objects.values_list("code", flat=True))
    for code, name, reason in CATEGORIES:
        if code not in known:
            services.create_merchant_category(code=code, name=name, excluded=bool(reason), excluded_reason=reason,
                                              now=now)
            out.created(f"가맹점 업종 {name}{' (제외)' if reason else ''}")
    out.step(f"가맹점 업종 {len(CATEGORIES)}개 (제외 업종 {len(CATEGORIES) - len(ELIGIBLE)}개)")

    categories = dict(MerchantCategory.objects.values_list("code", "pk"))
    existing = set(Merchant.objects.filter(business_number__startswith=TAX_OFFICE).values_list("business_number",
                                                                                                  flat=True))
    taken = set(Merchant.objects.values_list("code", flat=True))
    missing = [row for row in demo_rows() if row["business_number"] not in existing and row["code"] not in taken]
    for start in range(0, len(missing), BATCH):
        with transaction.atomic():
            merchants = Merchant.objects.bulk_create([
                Merchant(**{k: v for k, v in row.items() if k != "category"}, category_id=categories[row["category"]],
                         status=MerchantStatus.APPROVED,
                         status_reason="seed_demo", status_changed_at=now, created_at=now)
                for row in missing[start:start + BATCH]])
            VoucherEvent.objects.bulk_create([
                events.build(EventKind.MERCHANT_APPROVED, now=now, merchant=m, note="seed_demo",
                             after={"status": MerchantStatus.APPROVED})
                for m in merchants])
    if missing:
        out.created(f"가맹점 {len(missing):,}곳")
    out.step(f"승인 가맹점 {TOTAL:,}곳: 지류 {BOTH + PAPER_ONLY:,}곳, 모바일 {BOTH + MOBILE_ONLY:,}곳 "
             f"(둘 다 {BOTH:,}곳)")
