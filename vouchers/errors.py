"""Every error code the vouchers app answers, its HTTP status and its Korean message: read by the
services (what they raise), the citizen pages (what they show) and the OpenAPI docs (what they list).

A message is a gettext template with named figures (`%(remaining)s`), translated in this one place;
`refuse(Code.X, remaining=won(…))` builds the exception a service raises.
"""
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from jinju_portal.errors import Catalogue, documented  # noqa: F401  (documented: re-exported)


class Code(StrEnum):
    # 400: the input itself is wrong
    INVALID_FACE_VALUE = "invalid_face_value"
    INVALID_BUYER = "invalid_buyer"
    INVALID_TRANCHE = "invalid_tranche"
    INVALID_CHANNEL = "invalid_channel"
    INVALID_MEDIUM = "invalid_medium"
    INVALID_QUOTA = "invalid_quota"
    INVALID_DISCOUNT_RATE = "invalid_discount_rate"
    INVALID_PERIOD = "invalid_period"
    INVALID_SCHEDULE = "invalid_schedule"
    INVALID_POLICY = "invalid_policy"
    INVALID_REFERENCE = "invalid_reference"
    AMOUNT_MISMATCH = "amount_mismatch"
    INVALID_BUSINESS_NUMBER = "invalid_business_number"
    INVALID_MERCHANT = "invalid_merchant"
    INVALID_CATEGORY = "invalid_category"
    INVALID_REASON = "invalid_reason"
    INVALID_FILTER = "invalid_filter"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_USERNAME = "invalid_username"  # a merchant's staff account: shape, or already taken
    INVALID_PASSWORD = "invalid_password"  # Django's password validators said no
    INVALID_ROLE = "invalid_role"
    INVALID_SERIALS = "invalid_serials"  # an exchange's or a balance refund's serials: shape, size, duplicates
    INVALID_EXCHANGE_CAP = "invalid_exchange_cap"
    INVALID_DATE = "invalid_date"  # a settlement day: YYYY-MM-DD
    INVALID_BANK_ACCOUNT = "invalid_bank_account"
    INVALID_FINE = "invalid_fine"  # a cash-out fine outside the law's bounds
    # 404
    NOT_FOUND = "not_found"
    # 409: a business rule refuses it
    TRANCHE_NOT_OPEN = "tranche_not_open"
    NOT_ROTATION_DAY = "not_rotation_day"
    MONTHLY_LIMIT_EXCEEDED = "monthly_limit_exceeded"
    YEARLY_LIMIT_EXCEEDED = "yearly_limit_exceeded"
    TRANCHE_SOLD_OUT = "tranche_sold_out"
    BUSY = "busy"
    CANCEL_WINDOW_CLOSED = "cancel_window_closed"
    ALREADY_USED = "already_used"
    ALREADY_CANCELLED = "already_cancelled"  # the cancel page says so (the service answers 200)
    RESERVATION_EXPIRED = "reservation_expired"
    CITIZEN_LINKED_ELSEWHERE = "citizen_linked_elsewhere"
    QUOTA_BELOW_SOLD = "quota_below_sold"
    TRANCHE_ON_SALE = "tranche_on_sale"
    POLICY_IN_FORCE = "policy_in_force"
    REFUND_DONE = "refund_done"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    MERCHANT_ALREADY_REGISTERED = "merchant_already_registered"
    MERCHANT_BANNED = "merchant_banned"  # cancelled for illegal exchange less than a year ago
    MERCHANT_REVENUE_OVER_LIMIT = "merchant_revenue_over_limit"
    MERCHANT_CATEGORY_EXCLUDED = "merchant_category_excluded"
    MERCHANT_STATUS_CONFLICT = "merchant_status_conflict"
    INVALID_PAY_CODE = "invalid_pay_code"  # unknown, expired, used or voided (409 as API.md says)
    MERCHANT_NOT_ACTIVE = "merchant_not_active"
    MERCHANT_NOT_MOBILE = "merchant_not_mobile"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"
    REFUND_WINDOW_CLOSED = "refund_window_closed"
    NOT_MERCHANT_OWNER = "not_merchant_owner"
    MERCHANT_HAS_OWNER = "merchant_has_owner"
    MEMBER_IS_OWNER = "member_is_owner"  # an owner cannot switch off their own account
    REFUND_THRESHOLD_NOT_MET = "refund_threshold_not_met"  # balance refund: less than the policy's share used
    NOTHING_TO_REFUND = "nothing_to_refund"  # balance refund: no unspent (unexpired, unrefunded) credit or note
    SETTLEMENT_STATUS_CONFLICT = "settlement_status_conflict"  # calculated → sent → paid, forward only
    FRAUD_SIGNAL_DECIDED = "fraud_signal_decided"  # another clerk acted on the signal first
    IDEMPOTENT_REPLAY = "idempotent_replay"  # internal: the caller replays the stored answer


_400 = {Code.INVALID_FACE_VALUE, Code.INVALID_BUYER, Code.INVALID_TRANCHE, Code.INVALID_CHANNEL, Code.INVALID_MEDIUM,
        Code.INVALID_QUOTA, Code.INVALID_DISCOUNT_RATE, Code.INVALID_PERIOD, Code.INVALID_SCHEDULE,
        Code.INVALID_POLICY, Code.INVALID_REFERENCE, Code.AMOUNT_MISMATCH, Code.INVALID_BUSINESS_NUMBER,
        Code.INVALID_MERCHANT, Code.INVALID_CATEGORY, Code.INVALID_REASON, Code.INVALID_FILTER, Code.INVALID_AMOUNT,
        Code.INVALID_USERNAME, Code.INVALID_PASSWORD, Code.INVALID_ROLE, Code.INVALID_SERIALS,
        Code.INVALID_EXCHANGE_CAP, Code.INVALID_DATE, Code.INVALID_BANK_ACCOUNT, Code.INVALID_FINE}

_403 = {Code.NOT_MERCHANT_OWNER}

STATUS = {code: 400 if code in _400 else 403 if code in _403 else 404 if code == Code.NOT_FOUND else 409
          for code in Code}

# One sentence per code (and per variant where the figures differ), as a citizen or clerk reads it.
MESSAGES = {
    "invalid_face_value": _("액면가는 1원 이상의 정수(원)여야 합니다."),
    "invalid_face_value.mobile_units": _("금액은 1,000원 단위로 입력해 주세요."),
    "invalid_face_value.paper_units": _("지류 상품권은 %(units)s원권으로 나누어 떨어지는 금액만 살 수 있습니다."),
    "invalid_face_value.too_large": _("한 번에 살 수 있는 최대 금액을 넘습니다."),
    "invalid_buyer": _("본인확인 정보(이름·출생 연도)가 올바르지 않습니다."),
    "invalid_buyer.ci": _("buyer_ci는 1–%(max)d자의 인쇄 가능한 문자여야 합니다."),
    "invalid_buyer.name": _("구매자 이름이 올바르지 않습니다."),
    "invalid_buyer.birth_year": _("출생 연도는 1900년부터 올해 사이의 연도여야 합니다."),
    "invalid_buyer.birth_year_needed": _("5부제 판매 회차에는 구매자의 출생 연도(buyer_birth_year)가 필요합니다."),
    "invalid_tranche": _("발행 회차를 찾을 수 없습니다. 판매 중인 회차를 골라 주세요."),
    "invalid_tranche.not_mobile": _("누리집에서는 모바일 상품권만 살 수 있습니다. 판매 중인 모바일 상품권 회차를 골라 주세요."),
    "invalid_channel": _("판매 경로는 %(choices)s 중 하나여야 합니다."),
    "invalid_medium": _("종류는 paper 또는 mobile 이어야 합니다."),
    "invalid_quota": _("발행 한도는 1원 이상 10^15원 이하의 정수여야 합니다."),
    "invalid_discount_rate": _("할인율은 0 이상 1 미만이어야 합니다."),
    "invalid_period": _("판매 종료는 시작보다 뒤여야 합니다."),
    "invalid_schedule": _("월별 일정이 올바르지 않습니다."),
    "invalid_schedule.month": _("%(year)d년의 YYYY-MM 월이어야 합니다: %(month)s"),
    "invalid_schedule.amount": _("금액은 0 이상의 정수여야 합니다: %(month)s"),
    "invalid_schedule.over_plan": _("월별 일정의 합(%(total)s)이 발행 계획액(%(planned)s)을 넘습니다."),
    "invalid_policy": _("한도 정책이 올바르지 않습니다."),
    "invalid_reference": _("결제 참조가 없습니다."),
    "amount_mismatch": _("결제 금액이 예약 금액과 다릅니다."),
    "not_found": _("찾을 수 없습니다."),
    "not_found.purchase": _("구매 내역을 찾을 수 없습니다."),
    "not_found.buyer": _("구매자를 찾을 수 없습니다."),
    "not_found.reservation": _("예약을 찾을 수 없습니다."),
    "not_found.tranche": _("발행 회차를 찾을 수 없습니다."),
    "not_found.refund": _("환불 내역을 찾을 수 없습니다."),
    "not_found.plan": _("발행 계획을 찾을 수 없습니다."),
    "not_found.policy": _("한도 정책을 찾을 수 없습니다."),
    "tranche_not_open": _("지금은 이 회차의 판매 기간이 아닙니다. 판매 중인 회차를 골라 주세요."),
    "not_rotation_day": _("오늘은 5부제 판매 %(day)d일째라 출생 연도 끝자리가 %(a)d 또는 %(b)d인 분만 살 수 있습니다. "
                          "판매 6일째부터는 누구나 살 수 있습니다."),
    "monthly_limit_exceeded": _("이번 달 구매 한도를 넘습니다. 이번 달에 더 살 수 있는 금액은 %(remaining)s입니다."),
    "monthly_limit_exceeded.medium": _("이번 달 %(medium)s 구매 한도 %(limit)s을 넘습니다."),
    "yearly_limit_exceeded": _("올해 구매 한도 %(limit)s을 넘습니다."),
    "tranche_sold_out": _("이 회차의 남은 발행 한도(%(remaining)s)가 구매 금액보다 적습니다."),
    "busy": _("요청이 몰려 처리하지 못했습니다. 잠시 뒤 다시 시도해 주세요."),
    "cancel_window_closed": _("구매 후 7일이 지나 취소할 수 없습니다."),
    "already_used": _("이미 사용한 금액이 있어 취소할 수 없습니다."),
    "already_used.paper": _("이미 사용(환전)된 상품권이 있어 취소할 수 없습니다."),
    "already_cancelled": _("이미 취소된 구매입니다."),
    "reservation_expired": _("결제 기한(10분)이 지나 예약이 해제되었습니다. 처음부터 다시 구매해 주세요."),
    "citizen_linked_elsewhere": _("이 본인확인 정보는 이미 다른 계정과 연결되어 있습니다."),
    "quota_below_sold": _("이미 %(sold)s이 팔렸습니다. 발행 한도를 그보다 작게 정할 수 없습니다."),
    "tranche_on_sale": _("판매가 시작된 회차의 %(names)s은(는) 바꿀 수 없습니다. 조기 마감 후 새 회차를 만들어 주세요."),
    "policy_in_force": _("이미 시작된 달의 한도 정책은 바꿀 수 없습니다. 다음 달 1일부터 적용할 새 정책을 추가해 주세요."),
    "refund_done": _("이미 환불된 결제입니다."),
    "insufficient_balance": _("지갑 잔액이 부족합니다."),
    # paying merchants
    "invalid_amount": _("금액은 1원 이상의 정수(원)여야 합니다."),
    "invalid_pay_code": _("결제 코드가 올바르지 않거나 이미 사용·만료되었습니다. 새 결제 코드를 받아 주세요."),
    "invalid_pay_code.format": _("결제 코드는 QR 값 또는 6자리 숫자여야 합니다."),
    "merchant_not_active": _("지금 상품권 결제를 받을 수 없는 가맹점입니다 (승인된 가맹점만 받습니다)."),
    "merchant_not_mobile": _("모바일 상품권을 받지 않는 가맹점입니다."),
    "refund_exceeds_payment": _("환불 금액이 남은 결제 금액(%(left)s)보다 많습니다."),
    "refund_window_closed": _("결제한 지 30일이 지나 환불할 수 없습니다."),
    "not_merchant_owner": _("환불과 직원 계정 추가는 대표(점주) 계정만 할 수 있습니다."),
    "invalid_merchant.code": _("가맹점 코드를 찾을 수 없습니다. QR 포스터의 코드를 확인해 주세요."),
    # the merchant's staff accounts
    "invalid_username": _("아이디는 1–%(max)d자의 영문·숫자·한글과 @ . + - _ 로 정해 주세요."),
    "invalid_username.taken": _("이미 쓰이는 아이디입니다. 다른 아이디를 정해 주세요."),
    "invalid_password": _("비밀번호가 안전 기준에 맞지 않습니다."),
    "invalid_role": _("역할은 대표(owner) 또는 직원(cashier)이어야 합니다."),
    "merchant_has_owner": _("이 가맹점에는 이미 대표(점주) 계정이 있습니다."),
    "member_is_owner": _("대표(점주) 계정은 여기서 사용 중지할 수 없습니다. 시청 담당자에게 문의해 주세요."),
    "not_found.member": _("가맹점 계정을 찾을 수 없습니다."),
    "idempotent_replay": _("이미 처리된 요청입니다."),
    # balance refunds (잔액 환불)
    "refund_threshold_not_met": _("상품권 액면가의 %(ratio)s%% 이상을 쓴 구매만 남은 금액을 환불받을 수 있습니다. "
                                  "가장 많이 쓴 구매도 %(used)s%%만 썼습니다."),
    "refund_threshold_not_met.web": _("아직 액면가의 %(ratio)s%% 이상을 쓴 구매가 없어 잔액을 환불받을 수 없습니다."),
    "refund_threshold_not_met.paper": _("구매 #%(purchase)s의 지류 상품권은 %(used)s%%만 사용(환전)되었습니다. "
                                        "액면가의 %(ratio)s%% 이상이 사용된 구매의 남은 상품권만 환불받을 수 있습니다."),
    "nothing_to_refund": _("환불받을 남은 금액이 없습니다 (이미 다 썼거나, 유효기간이 지났거나, 이미 환불받았습니다)."),
    "nothing_to_refund.elsewhere": _("누리집에서는 누리집에서 카드 등으로 결제한 구매만 환불합니다. 은행 창구나 앱에서 산 "
                                     "상품권의 잔액은 은행 창구나 그 앱에서 환불받을 수 있습니다."),
    "nothing_to_refund.note": _("일련번호 %(serial)s 상품권은 %(status)s 상태라 환불할 수 없습니다."),
    "nothing_to_refund.note_expired": _("일련번호 %(serial)s 상품권은 유효기간이 지나 환불할 수 없습니다."),
    "invalid_serials.unknown": _("이 구매자가 산 상품권이 아닌 일련번호가 있습니다: %(serials)s"),
    "invalid_serials.counter_only": _("지류 상품권의 잔액 환불은 판매대행점(은행 창구)에서만 합니다."),
    # merchants (가맹점)
    "invalid_business_number": _("사업자등록번호가 올바르지 않습니다 (XXX-XX-XXXXX, 검증번호 확인)."),
    "invalid_merchant": _("가맹점 정보가 올바르지 않습니다."),
    "invalid_merchant.text": _("%(field)s은(는) 1–%(max)d자의 인쇄 가능한 문자여야 합니다."),
    "invalid_merchant.optional_text": _("%(field)s은(는) %(max)d자 이하의 인쇄 가능한 문자여야 합니다."),
    "invalid_merchant.revenue": _("연 매출액은 0원 이상의 정수(원)여야 합니다."),
    "invalid_merchant.accepts": _("지류와 모바일 중 하나 이상은 받아야 합니다."),
    # the merchant list import (가맹점 명단): one sentence per bad cell or row
    "invalid_merchant.missing": _("%(field)s이(가) 비어 있습니다."),
    "invalid_merchant.revenue_cell": _("연매출은 원 단위 숫자로 적어 주세요 (예: 350,000,000): %(value)s"),
    "invalid_merchant.yes_no": _("%(field)s에는 예 또는 아니오(O/X, Y/N, 1/0)를 적어 주세요: %(value)s"),
    "invalid_merchant.duplicate_in_file": _("같은 사업자등록번호가 파일의 %(lines)s행에 있습니다. 한 행만 남겨 주세요."),
    "invalid_merchant.headers": _("필요한 열이 없습니다: %(columns)s. 견본 파일의 머리글을 그대로 써 주세요."),
    "invalid_merchant.headers_twice": _("같은 열이 두 번 있습니다: %(columns)s."),
    "invalid_merchant.empty_file": _("가져올 행이 없습니다. 머리글 아래에 가맹점을 한 줄에 하나씩 적어 주세요."),
    "invalid_category.unknown": _("없는 업종입니다: %(value)s. 업종 이름(예: 일반음식점)이나 코드(예: restaurant)를 적어 주세요."),
    "invalid_category": _("업종을 찾을 수 없습니다."),
    "invalid_category.code": _("업종 코드는 1–%(max)d자의 영문 소문자·숫자·밑줄이어야 합니다."),
    "invalid_category.name": _("업종 이름은 1–%(max)d자여야 합니다."),
    "invalid_category.exists": _("같은 코드의 업종이 이미 있습니다."),
    "invalid_category.reason_needed": _("제외 업종에는 제외 사유를 적어 주세요."),
    "invalid_reason": _("사유를 1–%(max)d자로 적어 주세요."),
    "invalid_filter": _("검색 조건이 올바르지 않습니다."),
    "invalid_filter.q": _("q는 %(max)d자 이하로 입력해 주세요."),
    "invalid_filter.accepts": _("accepts는 paper 또는 mobile 이어야 합니다."),
    "invalid_filter.category": _("없는 업종입니다: %(value)s"),
    "invalid_filter.dong": _("dong은 %(max)d자 이하로 입력해 주세요."),
    "not_found.merchant": _("가맹점을 찾을 수 없습니다."),
    "not_found.payment": _("결제 내역을 찾을 수 없습니다."),
    "not_found.category": _("업종을 찾을 수 없습니다."),
    "merchant_already_registered": _("이미 등록된 사업자등록번호입니다 (%(business_number)s)."),
    "merchant_banned": _("상품권 불법 환전(깡)으로 해지된 가맹점은 1년 동안 다시 등록할 수 없습니다. "
                         "%(until)s부터 다시 신청할 수 있습니다."),
    "merchant_revenue_over_limit": _("연 매출액 %(revenue)s이 가맹점 기준 %(limit)s을 넘어 승인할 수 없습니다."),
    "merchant_category_excluded": _("가맹 제외 업종(%(category)s)이라 승인할 수 없습니다: %(reason)s"),
    # paper exchange (환전) at the bank counter
    "invalid_merchant.business_number": _("등록된 가맹점의 사업자등록번호가 아닙니다 (XXX-XX-XXXXX, 검증번호 확인)."),
    "invalid_serials": _("serials는 일련번호(문자열) 1–%(max)d개의 목록이어야 합니다."),
    "invalid_serials.item": _("일련번호는 1–%(length)d자의 인쇄 가능한 문자여야 합니다: %(position)s번째"),
    "invalid_serials.duplicate": _("같은 일련번호가 두 번 이상 있습니다: %(serials)s. 한 번씩만 보내 주세요."),
    "invalid_exchange_cap": _("월 환전 한도는 0원 이상의 정수(원)이거나, 기본값(연 매출액의 12분의 1)으로 비워 두어야 합니다."),
    "not_found.exchange": _("환전 내역을 찾을 수 없습니다."),
    "merchant_status_conflict": _("지금 상태(%(status)s)에서는 할 수 없는 처리입니다."),
    "merchant_status_conflict.approve": _("%(status)s 상태의 가맹점은 승인할 수 없습니다."),
    "merchant_status_conflict.suspend": _("%(status)s 상태의 가맹점은 정지할 수 없습니다. 승인된 가맹점만 정지합니다."),
    "merchant_status_conflict.cancel": _("이미 해지된 가맹점입니다."),
    # daily settlement (정산)
    "invalid_date": _("날짜는 YYYY-MM-DD 형식의 실제 날짜여야 합니다 (예: 2026-12-01)."),
    "invalid_date.future": _("아직 끝나지 않은 날(%(day)s)은 정산할 수 없습니다."),
    "invalid_bank_account.bank_code": _("은행 코드는 숫자 3자리여야 합니다 (예: 011)."),
    "invalid_bank_account.bank_name": _("은행 이름을 1–%(max)d자로 적어 주세요."),
    "invalid_bank_account.number": _("계좌번호는 숫자 %(min)d–%(max)d자리여야 합니다 (- 는 넣어도 됩니다)."),
    "invalid_bank_account.holder": _("예금주를 1–%(max)d자로 적어 주세요."),
    "settlement_status_conflict": _("정산 상태(%(status)s)에서는 할 수 없는 처리입니다. 정산은 계산 → 전송 → 입금 순서로만 바뀝니다."),
    "not_found.settlement": _("정산 내역을 찾을 수 없습니다."),
    # cash-out (깡) signals
    "not_found.fraud_signal": _("깡 의심 신호를 찾을 수 없습니다."),
    "fraud_signal_decided": _("이미 처리된 신호입니다 (%(status)s, %(actor)s, %(at)s). 목록을 새로 고쳐 확인해 주세요."),
    "invalid_fine": _("과태료는 원 단위 정수로 적어 주세요."),
    "invalid_fine.first_offence": _("첫 위반의 과태료는 %(first)s입니다."),
    "invalid_fine.range": _("과태료는 %(least)s 이상 %(most)s 이하로 정해 주세요."),
}


_CATALOGUE = Catalogue(Code, STATUS, MESSAGES)
message = _CATALOGUE.message  # the catalogue's sentence for "code" or "code.variant"
refuse = _CATALOGUE.refuse  # the exception a service raises: raise refuse("tranche_sold_out", …)
