"""Enumerations of the vouchers app (media, channels, statuses, ledger entry kinds)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Medium(models.TextChoices):
    PAPER = "paper", _("지류")
    MOBILE = "mobile", _("모바일")


class Channel(models.TextChoices):
    BRANCH = "branch", _("은행 창구")
    ZEROPAY_APP = "zeropay_app", _("제로페이 앱")
    WEB = "web", _("누리집")


class PurchaseStatus(models.TextChoices):
    COMPLETED = "completed", _("구매 완료")
    CANCELLED = "cancelled", _("구매 취소")


class NoteStatus(models.TextChoices):
    ISSUED = "issued", _("발행")
    REDEEMED = "redeemed", _("환전")
    EXPIRED = "expired", _("기한 만료")
    CANCELLED = "cancelled", _("취소")
    REFUNDED = "refunded", _("잔액 환불")  # handed back at the counter once the purchase was mostly used


# Forward-only transitions of a paper note (DESIGN.md invariant 4); the database trigger in
# migration 0002 enforces the same table.
NOTE_TRANSITIONS = {
    NoteStatus.ISSUED: {NoteStatus.REDEEMED, NoteStatus.EXPIRED, NoteStatus.CANCELLED, NoteStatus.REFUNDED},
    NoteStatus.REDEEMED: set(),
    NoteStatus.EXPIRED: set(),
    NoteStatus.CANCELLED: set(),
    NoteStatus.REFUNDED: set(),
}


class ExchangeRefusalReason(models.TextChoices):
    """Why one serial of an exchange was not paid (API.md: the per-serial refusal codes)."""
    UNKNOWN = "unknown", _("없는 일련번호")
    ALREADY_REDEEMED = "already_redeemed", _("이미 환전됨")
    EXPIRED = "expired", _("유효기간 지남")
    NOT_ISSUED = "not_issued", _("발행되지 않음 (취소된 구매)")
    NOT_ACCEPTED_BY_MERCHANT = "not_accepted_by_merchant", _("지류를 취급하지 않는 가맹점")
    EXCHANGE_CAP_EXCEEDED = "exchange_cap_exceeded", _("가맹점 월 환전 한도 초과")


class ReservationStatus(models.TextChoices):
    HELD = "held", _("결제 대기")
    CONFIRMED = "confirmed", _("결제 완료")
    RELEASED = "released", _("기한 경과로 해제")
    FAILED = "failed", _("결제 실패")


class EntryKind(models.TextChoices):
    PURCHASE = "purchase", _("구매 충전")
    CANCEL = "cancel", _("구매 취소")
    PAYMENT = "payment", _("결제")
    REFUND = "refund", _("결제 환불")
    EXPIRY = "expiry", _("유효기간 만료")
    ADJUSTMENT = "adjustment", _("조정")
    # the unspent rest of a mostly used purchase paid back to the citizen (잔액 환불), tied to its purchase
    BALANCE_REFUND = "balance_refund", _("잔액 환불")


class PlanLayout(models.TextChoices):
    EQUAL = "equal", _("남은 계획액을 남은 달에 균등 배분")
    SCHEDULE = "schedule", _("담당자가 정한 월별 일정")


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("환불 대기")
    DONE = "done", _("환불 완료")
    FAILED = "failed", _("환불 실패")


class RefundReason(models.TextChoices):
    CANCELLED = "cancelled", _("구매 취소")
    LATE_PAYMENT = "late_payment", _("예약 해제 뒤 도착한 결제")
    DUPLICATE_PAYMENT = "duplicate_payment", _("이미 결제된 예약의 중복 결제")
    BALANCE_REFUND = "balance_refund", _("잔액 환불")


class RefundPayout(models.TextChoices):
    """Who hands a refund's money to the citizen. `gateway`: the card/easy-pay gateway that took a web
    payment, by the refund task. `agent`: the sales agent (bank counter, wallet app) that asked for a
    balance refund pays it out itself at once (cash at the counter, the app's linked account); the city
    owes the agent that sum, which the row records (api_client, amount, done_at)."""
    GATEWAY = "gateway", _("결제대행사(카드) 환불")
    AGENT = "agent", _("판매대행점 지급")


class EventKind(models.TextChoices):
    """What a VoucherEvent records (one row per state change, with who and before/after)."""
    PURCHASE_CANCELLED = "purchase_cancelled", _("구매 취소")
    RESERVATION_CONFIRMED = "reservation_confirmed", _("온라인 구매 결제 완료")
    RESERVATION_FAILED = "reservation_failed", _("온라인 구매 결제 실패")
    RESERVATION_RELEASED = "reservation_released", _("결제 기한 경과로 예약 해제")
    REFUND_ORDERED = "refund_ordered", _("환불 결정")
    REFUND_ATTEMPTED = "refund_attempted", _("환불 시도")
    REFUND_RETRIED = "refund_retried", _("환불 다시 시도")
    TRANCHE_CREATED = "tranche_created", _("발행 회차 생성")
    TRANCHE_CHANGED = "tranche_changed", _("발행 회차 정보 변경")
    QUOTA_RAISED = "quota_raised", _("발행 한도 변경")
    TRANCHE_CLOSED = "tranche_closed", _("발행 회차 마감")
    PLAN_CHANGED = "plan_changed", _("발행 계획 변경")
    POLICY_CREATED = "policy_created", _("구매 한도 정책 추가")
    POLICY_CHANGED = "policy_changed", _("구매 한도 정책 변경")
    CITIZEN_LINKED = "citizen_linked", _("누리집 계정 연결")
    NOTES_EXPIRED = "notes_expired", _("지류 상품권 유효기간 만료")
    CREDIT_EXPIRED = "credit_expired", _("모바일 충전액 유효기간 만료")
    MERCHANT_REGISTERED = "merchant_registered", _("가맹점 등록 신청")
    MERCHANT_REREGISTERED = "merchant_reregistered", _("해지 가맹점 재등록 신청")
    MERCHANT_APPROVED = "merchant_approved", _("가맹점 승인")
    MERCHANT_SUSPENDED = "merchant_suspended", _("가맹점 정지")
    MERCHANT_CANCELLED = "merchant_cancelled", _("가맹점 해지")
    MERCHANT_CHANGED = "merchant_changed", _("가맹점 정보 변경")
    CATEGORY_CREATED = "category_created", _("업종 추가")
    CATEGORY_CHANGED = "category_changed", _("업종 변경")
    PAYMENT_REFUNDED = "payment_refunded", _("결제 환불 (가맹점)")
    MEMBER_ADDED = "member_added", _("가맹점 계정 추가")
    MEMBER_REMOVED = "member_removed", _("가맹점 계정 해제")
    NOTES_EXCHANGED = "notes_exchanged", _("지류 상품권 환전")
    EXCHANGE_CAP_CHANGED = "exchange_cap_changed", _("가맹점 월 환전 한도 변경")
    BALANCE_REFUNDED = "balance_refunded", _("잔액 환불")
    SETTLEMENT_RECALCULATED = "settlement_recalculated", _("정산 다시 계산")
    SETTLEMENT_SENT = "settlement_sent", _("정산 이체 파일 전송")
    SETTLEMENT_PAID = "settlement_paid", _("정산 입금 확인")
    BANK_ACCOUNT_CHANGED = "bank_account_changed", _("가맹점 정산 계좌 변경")
    FRAUD_DISMISSED = "fraud_dismissed", _("깡 의심 신호 기각")
    FRAUD_WARNED = "fraud_warned", _("깡 의심 신호: 경고")
    FRAUD_SUSPENDED = "fraud_suspended", _("깡 의심 신호: 가맹점 정지")
    FRAUD_CANCELLED = "fraud_cancelled", _("깡 의심 신호: 가맹점 해지 (불법 환전)")
    FRAUD_FINED = "fraud_fined", _("깡 의심 신호: 과태료 부과 기록")


class SettlementStatus(models.TextChoices):
    """A daily settlement moves forward only: calculated → sent (in a bank transfer file) → paid."""
    CALCULATED = "calculated", _("계산됨")
    SENT = "sent", _("이체 파일 전송")
    PAID = "paid", _("입금 완료")


class PayCodeStatus(models.TextChoices):
    ACTIVE = "active", _("사용 가능")
    USED = "used", _("사용됨")
    VOIDED = "voided", _("새 코드로 무효")
    LAPSED = "lapsed", _("시간 만료")  # set lazily, when its short code is drawn again


class PaymentMethod(models.TextChoices):
    PAY_CODE = "pay_code", _("결제 코드 제시 (CPM)")
    MERCHANT_QR = "merchant_qr", _("가맹점 QR 스캔 (MPM)")


class PaymentStatus(models.TextChoices):
    PAID = "paid", _("결제 완료")
    PARTIALLY_REFUNDED = "partially_refunded", _("부분 환불")
    REFUNDED = "refunded", _("전액 환불")


class MemberRole(models.TextChoices):
    OWNER = "owner", _("대표 (점주)")
    CASHIER = "cashier", _("직원 (계산대)")


class MerchantStatus(models.TextChoices):
    PENDING = "pending", _("승인 대기")
    APPROVED = "approved", _("승인")
    SUSPENDED = "suspended", _("정지")
    CANCELLED = "cancelled", _("해지")


# Which status a merchant may move to from each status. A cancelled merchant is history: it comes
# back only by registering again (register_merchant), after the ban if it was cancelled for illegal exchange.
MERCHANT_TRANSITIONS = {
    MerchantStatus.PENDING: {MerchantStatus.APPROVED, MerchantStatus.CANCELLED},
    MerchantStatus.APPROVED: {MerchantStatus.SUSPENDED, MerchantStatus.CANCELLED},
    MerchantStatus.SUSPENDED: {MerchantStatus.APPROVED, MerchantStatus.CANCELLED},
    MerchantStatus.CANCELLED: set(),
}


class FraudRule(models.TextChoices):
    """The cash-out (상품권 깡) patterns the nightly scan looks for (services/fraud.py, db/fraud.py)."""
    EXCHANGE_SPIKE = "exchange_spike", _("환전액이 최근 3개월 평균보다 크게 많음")
    EXCHANGE_ABOVE_CATEGORY = "exchange_above_category", _("환전액이 같은 업종 중앙값보다 크게 많음")
    EXCHANGE_ABOVE_REVENUE = "exchange_above_revenue", _("환전(시도)액이 신고 매출로 가능한 한도 이상")
    QUICK_SELF_EXCHANGE = "quick_self_exchange", _("판매 직후 환전: 구매자가 가맹점 대표자와 같은 이름")
    QUICK_CONCENTRATED = "quick_concentrated", _("판매 직후 환전: 한 구매자의 상품권 대부분이 한 가맹점으로")
    BUYER_RING = "buyer_ring", _("여러 구매자의 상품권이 며칠 안에 모두 한 가맹점으로")
    LIMIT_BUYER = "limit_buyer", _("매달 한도까지 산 구매자의 상품권이 한 가맹점으로")
    REFUSED_SERIAL = "refused_serial", _("이미 환전됐거나 없는 일련번호의 환전 시도")


class FraudSeverity(models.IntegerChoices):
    LOW = 1, _("낮음")
    MEDIUM = 2, _("보통")
    HIGH = 3, _("높음")


class FraudStatus(models.TextChoices):
    OPEN = "open", _("검토 대기")
    DISMISSED = "dismissed", _("기각")
    WARNED = "warned", _("경고")
    SUSPENDED = "suspended", _("가맹점 정지")
    CANCELLED = "cancelled", _("가맹점 해지")
    FINED = "fined", _("과태료")


class FraudActionKind(models.TextChoices):
    DISMISS = "dismiss", _("기각")
    WARN = "warn", _("경고")
    SUSPEND = "suspend", _("가맹점 정지")
    CANCEL = "cancel", _("가맹점 해지 (불법 환전, 1년 재등록 금지)")
    FINE = "fine", _("과태료 부과 기록")


# What each action leaves the signal as; an action is taken on an open signal only, once.
FRAUD_ACTION_STATUS = {
    FraudActionKind.DISMISS: FraudStatus.DISMISSED,
    FraudActionKind.WARN: FraudStatus.WARNED,
    FraudActionKind.SUSPEND: FraudStatus.SUSPENDED,
    FraudActionKind.CANCEL: FraudStatus.CANCELLED,
    FraudActionKind.FINE: FraudStatus.FINED,
}
