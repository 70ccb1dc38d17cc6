"""Jinju Love gift certificates: buyers, limit policy, plans, tranches, purchases, notes, wallets."""
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from jinju_portal.money import format_krw
from vouchers.choices import (Channel, EntryKind, EventKind, ExchangeRefusalReason, FraudActionKind, FraudRule,
                              FraudSeverity, FraudStatus, Medium, MemberRole,
                              MerchantStatus, NoteStatus, PayCodeStatus, PaymentMethod, PaymentStatus, PlanLayout,
                              PurchaseStatus, RefundPayout, RefundReason, RefundStatus, ReservationStatus,
                              SettlementStatus)

DEFAULT_MONTHLY_LIMIT = 300_000


def history_user(request=None, **kwargs):
    """Who changed a row, for django-simple-history: a staff user in the admin. A partner API client
    (request.user under DRF) is not a user; its changes are recorded without one."""
    from django.contrib.auth.models import AbstractBaseUser

    user = getattr(request, "user", None)
    return user if isinstance(user, AbstractBaseUser) and user.is_authenticated else None

MONTH_LENGTH = 7  # "YYYY-MM" in Asia/Seoul (API.md conventions)


class Citizen(models.Model):
    """A buyer, known by HMAC(CI) only (DESIGN.md "Identity"); one row whatever the channel."""

    ci_hash = models.CharField(_("CI 해시"), max_length=64, unique=True, editable=False)
    name = models.CharField(_("이름"), max_length=100, blank=True, default="")
    birth_year = models.PositiveSmallIntegerField(_("출생 연도"), null=True, blank=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("누리집 계정"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="citizen")
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("구매자")
        verbose_name_plural = _("구매자")
        constraints = [
            models.CheckConstraint(condition=Q(birth_year__isnull=True) | Q(birth_year__gte=1900, birth_year__lte=2100),
                                   name="citizen_birth_year_range"),
        ]

    def __str__(self):
        year = f" ({self.birth_year})" if self.birth_year else ""
        return f"{self.name or _('이름 없음')}{year}"


class LimitPolicy(models.Model):
    """The purchase limit in force from `effective_from` (always the 1st of a month).

    A month takes the policy in force on its 1st, and each (citizen, month) usage row copies the
    limit when it is created, so a later change never rewrites a past month.
    """

    effective_from = models.DateField(_("적용 시작일"), unique=True, help_text=_("매월 1일만 가능합니다."))
    monthly_limit = models.PositiveBigIntegerField(_("월 구매 한도"), default=DEFAULT_MONTHLY_LIMIT)
    paper_monthly_limit = models.PositiveBigIntegerField(_("지류 월 한도"), null=True, blank=True,
                                                         help_text=_("비우면 따로 두지 않습니다."))
    mobile_monthly_limit = models.PositiveBigIntegerField(_("모바일 월 한도"), null=True, blank=True,
                                                          help_text=_("비우면 따로 두지 않습니다."))
    yearly_limit = models.PositiveBigIntegerField(_("연간 구매 한도"), null=True, blank=True,
                                                  help_text=_("비우면 따로 두지 않습니다."))
    refund_ratio = models.DecimalField(_("잔액 환불 기준 사용 비율"), max_digits=3, decimal_places=2,
                                       default=Decimal("0.60"), help_text=_("0.60–0.80 (조례)"))
    note = models.CharField(_("비고"), max_length=200, blank=True, default="")
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("구매 한도 정책")
        verbose_name_plural = _("구매 한도 정책")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(refund_ratio__gte=Decimal("0.60"), refund_ratio__lte=Decimal("0.80")),
                                   name="limitpolicy_refund_ratio_60_80"),
            models.CheckConstraint(condition=Q(effective_from__day=1), name="limitpolicy_starts_on_first"),
            models.CheckConstraint(condition=Q(monthly_limit__gt=0), name="limitpolicy_monthly_limit_positive"),
        ]

    def __str__(self):
        return f"{self.effective_from:%Y-%m}~ {self.monthly_limit:,}원/월"


class IssuancePlan(models.Model):
    """A year's planned issuance of one medium (2021: paper 6 bn, mobile 19 bn)."""

    year = models.PositiveSmallIntegerField(_("연도"))
    medium = models.CharField(_("종류"), max_length=10, choices=Medium.choices)
    planned = models.PositiveBigIntegerField(_("발행 계획액"))
    carry_unsold = models.BooleanField(_("미판매분 다음 달 이월"), default=True)
    layout = models.CharField(_("월별 배분"), max_length=10, choices=PlanLayout.choices, default=PlanLayout.EQUAL)
    schedule = models.JSONField(_("월별 일정"), default=dict, blank=True,
                                help_text=_('예: {"2021-02": 1000000000}. 배분 방식이 "일정"일 때 씁니다.'))
    discount_rate = models.DecimalField(_("할인율"), max_digits=5, decimal_places=4, default=Decimal("0.1000"))
    rotation = models.BooleanField(_("5부제 (매월 첫 5일)"), default=False)
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("발행 계획")
        verbose_name_plural = _("발행 계획")
        ordering = ["-year", "medium"]
        constraints = [
            models.UniqueConstraint(fields=["year", "medium"], name="issuanceplan_year_medium_unique"),
            models.CheckConstraint(condition=Q(discount_rate__gte=0, discount_rate__lt=1),
                                   name="issuanceplan_discount_rate_range"),
        ]

    def __str__(self):
        return f"{self.year}년 {self.get_medium_display()} {self.planned:,}원"


class TrancheQuerySet(models.QuerySet):
    def open_at(self, now):
        return self.filter(closed_at__isnull=True, opens_at__lte=now, closes_at__gt=now)


class Tranche(models.Model):
    """One sale window of one medium. `sold` counts completed purchases and held reservations."""

    name = models.CharField(_("이름"), max_length=100)
    medium = models.CharField(_("종류"), max_length=10, choices=Medium.choices)
    quota = models.PositiveBigIntegerField(_("발행 한도"))
    sold = models.PositiveBigIntegerField(_("판매액"), default=0)
    discount_rate = models.DecimalField(_("할인율"), max_digits=5, decimal_places=4, default=Decimal("0.1000"))
    opens_at = models.DateTimeField(_("판매 시작"))
    closes_at = models.DateTimeField(_("판매 종료"))
    closed_at = models.DateTimeField(_("조기 마감"), null=True, blank=True)
    rotation = models.BooleanField(_("5부제"), default=False,
                                   help_text=_("판매 시작 후 k일째(1–5)에는 출생 연도 끝자리가 k 또는 k+5인 사람만 "
                                               "살 수 있습니다. 6일째부터는 누구나."))
    plan = models.ForeignKey(IssuancePlan, verbose_name=_("발행 계획"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="tranches")
    month = models.CharField(_("월"), max_length=MONTH_LENGTH, blank=True, default="", db_index=True)
    carried_in = models.PositiveBigIntegerField(_("전월 이월액"), default=0)
    carried_out = models.PositiveBigIntegerField(_("다음 달로 이월한 미판매액"), default=0)
    created_at = models.DateTimeField(_("생성일시"), default=timezone.now, editable=False)
    history = HistoricalRecords(excluded_fields=["sold"], get_user=history_user)

    objects = TrancheQuerySet.as_manager()

    class Meta:
        verbose_name = _("발행 회차")
        verbose_name_plural = _("발행 회차")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(sold__gte=0) & Q(sold__lte=F("quota")),
                                   name="tranche_sold_within_quota"),
            models.CheckConstraint(condition=Q(discount_rate__gte=0, discount_rate__lt=1),
                                   name="tranche_discount_rate_range"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="tranche_closes_after_opening"),
        ]
        indexes = [models.Index(fields=["plan", "month"], name="tranche_plan_month")]

    def __str__(self):
        return self.name

    @property
    def remaining(self) -> int:
        return self.quota - self.sold

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.closed_at is None and self.opens_at <= now < self.closes_at


class MonthlyUsage(models.Model):
    """What one citizen bought in one Seoul month, with the limits copied in (invariant 2)."""

    # No index of its own: the unique (citizen, month) index leads with it (one index write less per new row).
    citizen = models.ForeignKey(Citizen, verbose_name=_("구매자"), on_delete=models.PROTECT, related_name="usages",
                                db_index=False)
    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    monthly_limit = models.PositiveBigIntegerField(_("월 한도"))
    paper_limit = models.PositiveBigIntegerField(_("지류 한도"), null=True, blank=True)
    mobile_limit = models.PositiveBigIntegerField(_("모바일 한도"), null=True, blank=True)
    yearly_limit = models.PositiveBigIntegerField(_("연간 한도"), null=True, blank=True)
    purchased = models.PositiveBigIntegerField(_("구매액"), default=0)
    paper_purchased = models.PositiveBigIntegerField(_("지류 구매액"), default=0)
    mobile_purchased = models.PositiveBigIntegerField(_("모바일 구매액"), default=0)
    updated_at = models.DateTimeField(_("갱신일시"), default=timezone.now)

    class Meta:
        verbose_name = _("월별 구매 실적")
        verbose_name_plural = _("월별 구매 실적")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "month"], name="monthlyusage_citizen_month_unique"),
            models.CheckConstraint(condition=Q(purchased__lte=F("monthly_limit")), name="monthlyusage_within_limit"),
            models.CheckConstraint(condition=Q(purchased=F("paper_purchased") + F("mobile_purchased")),
                                   name="monthlyusage_media_add_up"),
            models.CheckConstraint(condition=Q(paper_limit__isnull=True) | Q(paper_purchased__lte=F("paper_limit")),
                                   name="monthlyusage_paper_within_limit"),
            models.CheckConstraint(condition=Q(mobile_limit__isnull=True) | Q(mobile_purchased__lte=F("mobile_limit")),
                                   name="monthlyusage_mobile_within_limit"),
        ]

    def __str__(self):
        return f"{self.month} {self.purchased:,}/{self.monthly_limit:,}"

    @property
    def remaining(self) -> int:
        return self.monthly_limit - self.purchased


class Purchase(models.Model):
    channel = models.CharField(_("판매 경로"), max_length=16, choices=Channel.choices)
    # api_client, citizen and tranche have no single-column index: the composite indexes in Meta lead
    # with them and serve the same lookups; every sale wrote three index entries less (bench/README.md).
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("판매대행 클라이언트"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="voucher_purchases",
                                   db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("누리집 계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="voucher_purchases")
    citizen = models.ForeignKey(Citizen, verbose_name=_("구매자"), on_delete=models.PROTECT, related_name="purchases",
                                db_index=False)
    tranche = models.ForeignKey(Tranche, verbose_name=_("발행 회차"), on_delete=models.PROTECT,
                                related_name="purchases", db_index=False)
    medium = models.CharField(_("종류"), max_length=10, choices=Medium.choices)
    face_value = models.PositiveBigIntegerField(_("액면가"))
    price = models.PositiveBigIntegerField(_("결제 금액"))
    status = models.CharField(_("상태"), max_length=12, choices=PurchaseStatus.choices,
                              default=PurchaseStatus.COMPLETED)
    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    idempotency_key = models.CharField(_("멱등 키"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("구매일시"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("취소일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("구매")
        verbose_name_plural = _("구매")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(face_value__gt=0), name="purchase_face_value_positive"),
            models.CheckConstraint(condition=Q(price__lte=F("face_value")), name="purchase_price_within_face"),
        ]
        # The admin filters a million rows by these; each filter pairs with the default -id order.
        indexes = [
            models.Index(fields=["month", "medium", "status"], name="purchase_month_medium_status"),
            models.Index(fields=["tranche", "status"], name="purchase_tranche_status"),
            models.Index(fields=["channel", "-id"], name="purchase_channel_id"),
            models.Index(fields=["citizen", "month"], name="purchase_citizen_month"),
            models.Index(fields=["api_client", "-id"], name="purchase_client_id"),
            models.Index(fields=["created_at"], name="purchase_created_at"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.face_value:,}원 ({self.get_status_display()})"


class PaperNote(models.Model):
    """One paper voucher handed over at a branch; redeemed at most once (invariant 4)."""

    serial = models.CharField(_("일련번호"), max_length=20, unique=True)
    denomination = models.PositiveBigIntegerField(_("권종"))
    status = models.CharField(_("상태"), max_length=10, choices=NoteStatus.choices, default=NoteStatus.ISSUED)
    purchase = models.ForeignKey(Purchase, verbose_name=_("구매"), on_delete=models.PROTECT, related_name="notes")
    tranche = models.ForeignKey(Tranche, verbose_name=_("발행 회차"), on_delete=models.PROTECT, related_name="notes")
    issued_at = models.DateTimeField(_("발행일시"), default=timezone.now)
    expires_at = models.DateTimeField(_("유효기간"))
    status_changed_at = models.DateTimeField(_("상태 변경일시"), null=True, blank=True)
    exchange = models.ForeignKey("Exchange", verbose_name=_("환전"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="notes", help_text=_("환전된 지류만 있습니다."))
    balance_refund = models.ForeignKey("PaymentRefund", verbose_name=_("잔액 환불"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="notes",
                                       help_text=_("창구에서 잔액 환불된 지류만 있습니다."))

    class Meta:
        verbose_name = _("지류 상품권")
        verbose_name_plural = _("지류 상품권")
        constraints = [
            models.CheckConstraint(condition=Q(denomination__gt=0), name="papernote_denomination_positive"),
            # a note paid out by an exchange is redeemed (and, by the trigger of 0002, stays so)
            models.CheckConstraint(condition=Q(exchange__isnull=True) | Q(status=NoteStatus.REDEEMED),
                                   name="papernote_exchanged_is_redeemed"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="papernote_status_expiry"),
            # the cash-out scan reads one month of exchanged notes by the time they were exchanged
            models.Index(fields=["status_changed_at"], condition=Q(exchange__isnull=False),
                         name="papernote_exchanged_at"),
        ]

    def __str__(self):
        return f"{self.serial} ({self.denomination:,}원)"


class Wallet(models.Model):
    """A citizen's mobile-voucher balance; equals the sum of its ledger (invariant 3)."""

    citizen = models.OneToOneField(Citizen, verbose_name=_("구매자"), on_delete=models.PROTECT, related_name="wallet")
    balance = models.BigIntegerField(_("잔액"), default=0)
    updated_at = models.DateTimeField(_("갱신일시"), default=timezone.now)

    class Meta:
        verbose_name = _("모바일 지갑")
        verbose_name_plural = _("모바일 지갑")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative")]

    def __str__(self):
        return f"{self.citizen} {self.balance:,}원"


class AppendOnlyError(Exception):
    pass


class WalletEntry(models.Model):
    """Append-only ledger line. The database refuses UPDATE and DELETE (trigger in migration 0002)."""

    wallet = models.ForeignKey(Wallet, verbose_name=_("지갑"), on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(_("금액"))
    balance_after = models.BigIntegerField(_("거래 후 잔액"))
    kind = models.CharField(_("구분"), max_length=20, choices=EntryKind.choices)
    purchase = models.ForeignKey(Purchase, verbose_name=_("구매"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="wallet_entries")
    reference = models.CharField(_("참조"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("일시"), default=timezone.now)
    expires_at = models.DateTimeField(_("유효기간"), null=True, blank=True,
                                      help_text=_("충전분에만 있습니다 (발행일부터 5년)."))
    payment = models.ForeignKey("Payment", verbose_name=_("가맹점 결제"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="wallet_entries")

    class Meta:
        verbose_name = _("지갑 거래 내역")
        verbose_name_plural = _("지갑 거래 내역")
        ordering = ["wallet", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="walletentry_balance_after_not_negative"),
            models.CheckConstraint(condition=~Q(amount=0), name="walletentry_amount_not_zero"),
        ]
        indexes = [
            models.Index(fields=["kind", "expires_at"], name="walletentry_kind_expiry"),
            # a payment asks "has this wallet a credit past its validity?" with this (services/payments.py)
            models.Index(fields=["wallet", "expires_at"], condition=Q(kind=EntryKind.PURCHASE),
                         name="walletentry_credit_expiry"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("wallet entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("wallet entries are append-only")

    def __str__(self):
        return f"{self.kind} {self.amount:+,}원 → {self.balance_after:,}원"


class Reservation(models.Model):
    """A web purchase waiting for payment: holds quota and month usage until `expires_at`."""

    citizen = models.ForeignKey(Citizen, verbose_name=_("구매자"), on_delete=models.PROTECT,
                                related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("누리집 계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="voucher_reservations")
    tranche = models.ForeignKey(Tranche, verbose_name=_("발행 회차"), on_delete=models.PROTECT,
                                related_name="reservations")
    medium = models.CharField(_("종류"), max_length=10, choices=Medium.choices)
    face_value = models.PositiveBigIntegerField(_("액면가"))
    price = models.PositiveBigIntegerField(_("결제 금액"))
    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    status = models.CharField(_("상태"), max_length=10, choices=ReservationStatus.choices,
                              default=ReservationStatus.HELD)
    created_at = models.DateTimeField(_("예약일시"), default=timezone.now)
    expires_at = models.DateTimeField(_("결제 기한"))
    payment_reference = models.CharField(_("결제 참조"), max_length=100, blank=True, default="")
    purchase = models.OneToOneField(Purchase, verbose_name=_("구매"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="reservation")
    finished_at = models.DateTimeField(_("처리일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("온라인 구매 예약")
        verbose_name_plural = _("온라인 구매 예약")
        constraints = [
            models.CheckConstraint(condition=Q(face_value__gt=0), name="reservation_face_value_positive"),
            models.CheckConstraint(condition=~Q(status=ReservationStatus.CONFIRMED) | Q(purchase__isnull=False),
                                   name="reservation_confirmed_has_purchase"),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="reservation_status_expiry")]

    def __str__(self):
        return f"#{self.pk} {self.face_value:,}원 ({self.get_status_display()})"


class PaymentRefund(models.Model):
    """Money to give back to a citizen: decided in the same transaction as the cancel, the late-payment
    decision or the balance refund (잔액 환불), then paid out.

    - `payout=gateway`: through the gateway that took a web payment (the reservation's reference),
      executed afterwards by `vouchers.tasks.refund_payment` (never inside a transaction).
    - `payout=agent` (balance refunds asked by a sales agent for purchases it did not take by card:
      bank-counter and app sales, paper notes handed in): the agent (`api_client`) pays the citizen
      at once, so the row is `done` when written; it is what the city owes that agent.

    One row per payment reference, so a payment is refunded at most once; a mobile purchase's balance
    is refunded at most once (partial UNIQUE on purchase); a paper note at most once (its status)."""

    reservation = models.ForeignKey(Reservation, verbose_name=_("온라인 구매 예약"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="refunds",
                                    help_text=_("잔액 환불에는 없을 수 있습니다 (창구·앱에서 산 상품권)."))
    purchase = models.ForeignKey(Purchase, verbose_name=_("구매"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="refunds")
    payment_reference = models.CharField(_("결제 참조"), max_length=100)
    amount = models.PositiveBigIntegerField(_("환불 금액"))
    reason = models.CharField(_("사유"), max_length=20, choices=RefundReason.choices)
    status = models.CharField(_("상태"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    attempts = models.PositiveIntegerField(_("시도 횟수"), default=0)
    last_error = models.TextField(_("마지막 오류"), blank=True, default="")
    # A worker that claimed the row owns it until then; a crashed worker's claim lapses by itself.
    claimed_until = models.DateTimeField(_("처리 중 (까지)"), null=True, blank=True)
    created_at = models.DateTimeField(_("생성일시"), default=timezone.now)
    done_at = models.DateTimeField(_("환불일시"), null=True, blank=True)
    payout = models.CharField(_("지급 방식"), max_length=10, choices=RefundPayout.choices,
                              default=RefundPayout.GATEWAY)
    face_value = models.PositiveBigIntegerField(_("돌려받은 액면가"), null=True, blank=True,
                                                help_text=_("잔액 환불에만 있습니다: 지갑에서 차감하거나 창구에서 받은 액면가."))
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("요청·지급 판매대행점"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("요청 계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(_("멱등 키"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("결제 환불")
        verbose_name_plural = _("결제 환불")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["payment_reference"], name="paymentrefund_reference_unique"),
            # the rows of cancels and late payments always name the reservation they pay back
            models.CheckConstraint(condition=Q(reservation__isnull=False) | Q(reason=RefundReason.BALANCE_REFUND),
                                   name="paymentrefund_reservation_unless_balance"),
            models.CheckConstraint(
                condition=Q(reason=RefundReason.BALANCE_REFUND, face_value__isnull=False, purchase__isnull=False,
                            amount__lte=F("face_value"))
                | (~Q(reason=RefundReason.BALANCE_REFUND) & Q(face_value__isnull=True)),
                name="paymentrefund_balance_has_face_value"),
            models.CheckConstraint(
                condition=Q(payout=RefundPayout.GATEWAY)
                | Q(payout=RefundPayout.AGENT, api_client__isnull=False, reason=RefundReason.BALANCE_REFUND),
                name="paymentrefund_agent_payout_has_agent"),
            # a mobile purchase's unspent rest goes back once (paper: each note once, by its status)
            models.UniqueConstraint(fields=["purchase"],
                                    condition=Q(reason=RefundReason.BALANCE_REFUND)
                                    & ~Q(payment_reference__startswith="balance:paper:"),
                                    name="paymentrefund_one_balance_refund_per_purchase"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymentrefund_amount_positive"),
            models.CheckConstraint(condition=~Q(payment_reference=""), name="paymentrefund_reference_not_empty"),
            models.CheckConstraint(condition=~Q(status=RefundStatus.DONE) | Q(done_at__isnull=False),
                                   name="paymentrefund_done_has_time"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="paymentrefund_status_created")]

    def __str__(self):
        return f"#{self.pk} {self.amount:,}원 ({self.get_status_display()})"


class MonthlyIssuanceReport(models.Model):
    """Plan against quota and sales of one month and medium, written once by the month roll-over."""

    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    medium = models.CharField(_("종류"), max_length=10, choices=Medium.choices)
    planned = models.PositiveBigIntegerField(_("계획액"))
    quota = models.PositiveBigIntegerField(_("발행 한도"))
    sold = models.PositiveBigIntegerField(_("판매액"))
    buyers = models.PositiveIntegerField(_("구매자 수"))
    purchases = models.PositiveIntegerField(_("구매 건수"), default=0)
    created_at = models.DateTimeField(_("작성일시"), default=timezone.now)

    class Meta:
        verbose_name = _("월별 발행 보고")
        verbose_name_plural = _("월별 발행 보고")
        ordering = ["-month", "medium"]
        constraints = [models.UniqueConstraint(fields=["month", "medium"], name="issuancereport_month_medium_unique")]

    def __str__(self):
        return f"{self.month} {self.get_medium_display()}"


class MerchantCategory(models.Model):
    """An industry (업종). Staff keep the excluded list (FACTS.md: gambling and other restricted
    industries, large marts and hospitals, company-run convenience stores) in the admin."""

    code = models.CharField(_("업종 코드"), max_length=32, unique=True)
    name = models.CharField(_("업종 이름"), max_length=100)
    excluded = models.BooleanField(_("가맹 제외 업종"), default=False)
    excluded_reason = models.CharField(_("제외 사유"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("가맹점 업종")
        verbose_name_plural = _("가맹점 업종")
        ordering = ["excluded", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(excluded=False) | ~Q(excluded_reason=""),
                                   name="merchantcategory_excluded_has_reason"),
        ]

    def __str__(self):
        return f"{self.name} ({_('제외')})" if self.excluded else self.name


class Merchant(models.Model):
    """A shop that takes Jinju Love vouchers (가맹점): one per business number. Its status moves by
    the services only (MERCHANT_TRANSITIONS); no running balance lives here (DESIGN.md invariant 4a):
    what it was paid is summed from the payments."""

    business_number = models.CharField(_("사업자등록번호"), max_length=10, unique=True,
                                       help_text=_("숫자 10자리 (검증번호 확인)"))
    name = models.CharField(_("상호"), max_length=100)
    category = models.ForeignKey(MerchantCategory, verbose_name=_("업종"), on_delete=models.PROTECT,
                                 related_name="merchants")
    address = models.CharField(_("주소"), max_length=200)
    dong = models.CharField(_("읍면동"), max_length=20)
    phone = models.CharField(_("전화번호"), max_length=20, blank=True, default="")
    representative = models.CharField(_("대표자"), max_length=50)
    annual_revenue = models.PositiveBigIntegerField(_("연 매출액"))
    monthly_exchange_cap = models.PositiveBigIntegerField(
        _("월 환전 한도"), null=True, blank=True,
        help_text=_("비워 두면 연 매출액의 12분의 1입니다. 점검 중인 가맹점은 낮춰 둘 수 있습니다."))
    accepts_paper = models.BooleanField(_("지류 취급"), default=False)
    accepts_mobile = models.BooleanField(_("모바일 취급"), default=False)
    code = models.CharField(_("가맹점 코드"), max_length=8, unique=True, editable=False,
                            help_text=_("QR 포스터에 인쇄하는 공개 코드"))
    status = models.CharField(_("상태"), max_length=10, choices=MerchantStatus.choices,
                              default=MerchantStatus.PENDING)
    status_reason = models.CharField(_("상태 사유"), max_length=200, blank=True, default="")
    status_changed_at = models.DateTimeField(_("상태 변경일시"), null=True, blank=True)
    cancelled_for_illegal_exchange = models.BooleanField(_("불법 환전으로 해지"), default=False)
    illegal_exchange_cancelled_at = models.DateTimeField(_("불법 환전 해지일시"), null=True, blank=True,
                                                         help_text=_("이날부터 1년 동안 다시 등록할 수 없습니다."))
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("가맹점")
        verbose_name_plural = _("가맹점")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MerchantStatus.values), name="merchant_status_known"),
            models.CheckConstraint(
                condition=Q(cancelled_for_illegal_exchange=False, illegal_exchange_cancelled_at__isnull=True)
                | Q(cancelled_for_illegal_exchange=True, illegal_exchange_cancelled_at__isnull=False),
                name="merchant_illegal_exchange_dated"),
        ]
        indexes = [
            # the directory: approved merchants by 동 (category has its FK index); the name trigram
            # index serves `q` (created on PostgreSQL only: migration 0009); approved merchants in
            # name order serve its pages without sorting 7,000 rows (migration 0010); the trigram index
            # takes new names at once rather than into a pending list every search reads (0011)
            models.Index(fields=["status", "dong"], name="merchant_status_dong"),
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="merchant_name_trgm", fastupdate=False),
            models.Index(fields=["name", "id"], condition=Q(status="approved"), name="merchant_directory_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class MerchantMember(models.Model):
    """A sign-in of a merchant's own pages: one owner (refunds, adds cashiers) and any number of
    cashiers (take and see payments). An account works for one shop."""

    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="members")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("계정"), on_delete=models.PROTECT,
                                related_name="merchant_member")
    role = models.CharField(_("역할"), max_length=10, choices=MemberRole.choices, default=MemberRole.CASHIER)
    active = models.BooleanField(_("사용"), default=True)
    created_at = models.DateTimeField(_("추가일시"), default=timezone.now)

    class Meta:
        verbose_name = _("가맹점 계정")
        verbose_name_plural = _("가맹점 계정")
        ordering = ["merchant", "role", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=MemberRole.values), name="merchantmember_role_known"),
            # one owner per merchant: two clerks (or a clerk and a retry) creating it at once make one
            models.UniqueConstraint(fields=["merchant"], condition=Q(role=MemberRole.OWNER, active=True),
                                    name="merchantmember_one_active_owner"),
        ]

    def __str__(self):
        return f"{self.merchant.name} · {self.user} ({self.get_role_display()})"


class PayCode(models.Model):
    """A one-time code the citizen shows at the counter (CPM): `token` is what the QR encodes,
    `short_code` the 6 digits typed when a scanner fails. Valid 3 minutes, single use, bound to one
    wallet; a new code voids the previous one (invariant 4a: the partial unique indexes below)."""

    wallet = models.ForeignKey(Wallet, verbose_name=_("지갑"), on_delete=models.PROTECT, related_name="pay_codes",
                               db_index=False)
    token = models.CharField(_("QR 코드 값"), max_length=40, unique=True)
    short_code = models.CharField(_("6자리 번호"), max_length=6)
    status = models.CharField(_("상태"), max_length=10, choices=PayCodeStatus.choices, default=PayCodeStatus.ACTIVE)
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("발급 앱"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("누리집 계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("발급일시"), default=timezone.now)
    expires_at = models.DateTimeField(_("유효시각"))
    used_at = models.DateTimeField(_("사용·무효 일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("결제 코드")
        verbose_name_plural = _("결제 코드")
        constraints = [
            models.UniqueConstraint(fields=["wallet"], condition=Q(status=PayCodeStatus.ACTIVE),
                                    name="paycode_one_active_per_wallet"),
            models.UniqueConstraint(fields=["short_code"], condition=Q(status=PayCodeStatus.ACTIVE),
                                    name="paycode_short_code_active_unique"),
            models.CheckConstraint(condition=Q(status=PayCodeStatus.ACTIVE) | Q(used_at__isnull=False),
                                   name="paycode_spent_has_time"),
        ]

    def __str__(self):
        return f"{self.short_code} ({self.get_status_display()})"


class Payment(models.Model):
    """Mobile vouchers paid to a merchant, by a pay code (CPM) or by the shop's QR (MPM). The
    merchant has no running balance (invariant 4a): settlement sums these rows."""

    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="payments",
                                 db_index=False)
    wallet = models.ForeignKey(Wallet, verbose_name=_("지갑"), on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("결제 방식"), max_length=12, choices=PaymentMethod.choices)
    pay_code = models.OneToOneField(PayCode, verbose_name=_("결제 코드"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="payment")
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("요청 클라이언트"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    code_issuer = models.ForeignKey("portal.ApiClient", verbose_name=_("결제 코드 발급 앱"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("누리집 계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField(_("결제 금액"))
    refunded = models.PositiveBigIntegerField(_("환불 금액"), default=0)
    status = models.CharField(_("상태"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PAID)
    idempotency_key = models.CharField(_("멱등 키"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("결제일시"), default=timezone.now)

    class Meta:
        verbose_name = _("가맹점 결제")
        verbose_name_plural = _("가맹점 결제")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(refunded__lte=F("amount")), name="payment_refund_within_amount"),
            models.CheckConstraint(
                condition=Q(status=PaymentStatus.PAID, refunded=0)
                | Q(status=PaymentStatus.PARTIALLY_REFUNDED, refunded__gt=0, refunded__lt=F("amount"))
                | Q(status=PaymentStatus.REFUNDED, refunded=F("amount")),
                name="payment_status_matches_refunded"),
            # a page's one-time form nonce takes one payment however often the form is sent
            # (a partner's Idempotency-Key lives in the API's own table; its rows have no user)
            models.UniqueConstraint(fields=["user", "idempotency_key"],
                                    condition=~Q(idempotency_key="") & Q(user__isnull=False),
                                    name="payment_user_idempotency_key_unique"),
        ]
        indexes = [
            # the merchant's day (its pages, the settlement) and a partner's own payments
            models.Index(fields=["merchant", "created_at"], name="payment_merchant_created"),
            # a day of every merchant (the settlement build, reports): rows are written in time order,
            # so a BRIN index finds the day's pages for almost nothing on the write path (0017)
            BrinIndex(fields=["created_at"], name="payment_created_brin", autosummarize=True),
            models.Index(fields=["api_client", "-id"], name="payment_client_id"),
            models.Index(fields=["code_issuer", "-id"], name="payment_code_issuer_id"),
        ]

    @property
    def approval_number(self) -> str:
        """승인번호 as the receipt and the merchant's page show it (the payment's number, 10 digits)."""
        return f"{self.pk:010d}"

    def __str__(self):
        return f"{self.approval_number} {format_krw(self.amount)} ({self.get_status_display()})"


class MerchantRefund(models.Model):
    """Part or all of a payment given back to the wallet by the merchant, within 30 days."""

    payment = models.ForeignKey(Payment, verbose_name=_("가맹점 결제"), on_delete=models.PROTECT, related_name="refunds")
    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="refunds",
                                 db_index=False)
    amount = models.PositiveBigIntegerField(_("환불 금액"))
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("요청 클라이언트"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(_("멱등 키"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("환불일시"), default=timezone.now)

    class Meta:
        verbose_name = _("가맹점 결제 환불")
        verbose_name_plural = _("가맹점 결제 환불")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="merchantrefund_amount_positive"),
            # the merchant page's refund form: one refund per nonce, however often it is sent
            models.UniqueConstraint(fields=["user", "idempotency_key"],
                                    condition=~Q(idempotency_key="") & Q(user__isnull=False),
                                    name="merchantrefund_user_idempotency_key_unique"),
        ]
        indexes = [models.Index(fields=["merchant", "created_at"], name="mrefund_merchant_created"),
                   BrinIndex(fields=["created_at"], name="mrefund_created_brin", autosummarize=True)]

    def __str__(self):
        return format_krw(self.amount)


class Exchange(models.Model):
    """Paper notes a merchant handed in at a bank counter (환전), sent by the bank's `sales_agent`
    client. `amount` sums the notes accepted (each marked redeemed with this exchange); every serial
    refused has its ExchangeRefusal. The city pays `amount` with the day's settlement."""

    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT,
                                 related_name="exchanges", db_index=False)
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("요청 클라이언트 (은행)"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("담당자"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField(_("환전 금액"), default=0)
    accepted_count = models.PositiveIntegerField(_("환전 매수"), default=0)
    refused_count = models.PositiveIntegerField(_("거절 매수"), default=0)
    idempotency_key = models.CharField(_("멱등 키"), max_length=255, blank=True, default="")
    serials = models.JSONField(_("제출된 일련번호 (순서대로)"), default=list, blank=True,
                               help_text=_("은행이 보낸 순서 그대로, 정규화(공백 제거·대문자)한 값"))
    created_at = models.DateTimeField(_("환전일시"), default=timezone.now)

    class Meta:
        verbose_name = _("지류 환전")
        verbose_name_plural = _("지류 환전")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="exchange_merchant_created"),
            # a day of every merchant's exchanges for the settlement build
            BrinIndex(fields=["created_at"], name="exchange_created_brin", autosummarize=True),
            # the cash-out scan sums four months of every merchant's exchanges
            models.Index(fields=["created_at", "merchant", "amount"], name="exchange_created_merchant"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount=0) | Q(accepted_count__gt=0), name="exchange_amount_has_notes"),
        ]

    def __str__(self):
        return f"#{self.pk} {format_krw(self.amount)}"


class ExchangeRefusal(models.Model):
    """One serial of an exchange that was not paid, with its reason: recorded for the fraud review
    (DESIGN.md invariant 4). `serial` is as handed in; `note` is set when the serial is one of ours."""

    exchange = models.ForeignKey(Exchange, verbose_name=_("환전"), on_delete=models.PROTECT, related_name="refusals")
    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT,
                                 related_name="exchange_refusals", db_index=False)
    serial = models.CharField(_("일련번호 (제출된 값)"), max_length=40)
    note = models.ForeignKey(PaperNote, verbose_name=_("지류 상품권"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="exchange_refusals")
    reason = models.CharField(_("거절 사유"), max_length=32, choices=ExchangeRefusalReason.choices)
    created_at = models.DateTimeField(_("일시"), default=timezone.now)

    class Meta:
        verbose_name = _("지류 환전 거절")
        verbose_name_plural = _("지류 환전 거절")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=ExchangeRefusalReason.values),
                                   name="exchangerefusal_reason_known"),
        ]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="xrefusal_merchant_created"),
            models.Index(fields=["reason", "created_at"], name="xrefusal_reason_created"),
            # a note's trace and the admin's search find every attempt on a serial, ours or not
            models.Index(fields=["serial"], name="xrefusal_serial"),
        ]

    def __str__(self):
        return f"{self.serial} ({self.get_reason_display()})"


class FraudSignal(models.Model):
    """One suspicious pattern (상품권 깡) the nightly scan found: which rule, at which merchant (and for
    which buyer, when the pattern is one buyer's), in which Seoul month, with the numbers behind it
    (`evidence`) and the rows involved (id lists, at most settings.VOUCHERS_FRAUD_EVIDENCE_IDS each;
    the full counts are in `evidence`). One row per (rule, merchant, buyer, month) — a rerun of the
    scan refreshes an open signal's evidence and leaves a decided one alone. Staff close it with one
    FraudAction (services/fraud.py); the trail is VoucherEvent rows (`events`)."""

    rule = models.CharField(_("유형"), max_length=32, choices=FraudRule.choices)
    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT,
                                 related_name="fraud_signals")
    citizen = models.ForeignKey(Citizen, verbose_name=_("구매자"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="fraud_signals")
    period = models.CharField(_("대상 월"), max_length=MONTH_LENGTH)
    severity = models.PositiveSmallIntegerField(_("심각도"), choices=FraudSeverity.choices)
    score = models.DecimalField(_("점수"), max_digits=12, decimal_places=2,
                                help_text=_("기준을 넘은 정도 (1.00 = 기준과 같음). 같은 심각도 안에서 높은 순으로 봅니다."))
    evidence = models.JSONField(_("근거 수치"), default=dict)
    purchase_ids = ArrayField(models.BigIntegerField(), verbose_name=_("관련 구매"), default=list, blank=True)
    note_ids = ArrayField(models.BigIntegerField(), verbose_name=_("관련 지류"), default=list, blank=True)
    exchange_ids = ArrayField(models.BigIntegerField(), verbose_name=_("관련 환전"), default=list, blank=True)
    refusal_ids = ArrayField(models.BigIntegerField(), verbose_name=_("관련 환전 거절"), default=list, blank=True)
    status = models.CharField(_("상태"), max_length=10, choices=FraudStatus.choices, default=FraudStatus.OPEN)
    created_at = models.DateTimeField(_("발견일시"), default=timezone.now)
    scanned_at = models.DateTimeField(_("마지막 검사일시"), default=timezone.now)
    decided_at = models.DateTimeField(_("처리일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("깡 의심 신호")
        verbose_name_plural = _("깡 의심 신호")
        ordering = ["-severity", "-score", "-id"]
        constraints = [
            # a rerun never duplicates: the buyer-less rules have citizen NULL, and NULLs are equal here
            models.UniqueConstraint(fields=["rule", "merchant", "citizen", "period"], nulls_distinct=False,
                                    name="fraudsignal_one_per_rule_merchant_buyer_period"),
            models.CheckConstraint(condition=Q(rule__in=FraudRule.values), name="fraudsignal_rule_known"),
            models.CheckConstraint(condition=Q(status__in=FraudStatus.values), name="fraudsignal_status_known"),
            models.CheckConstraint(condition=Q(severity__in=FraudSeverity.values), name="fraudsignal_severity_known"),
            models.CheckConstraint(condition=Q(status=FraudStatus.OPEN, decided_at__isnull=True)
                                   | (~Q(status=FraudStatus.OPEN) & Q(decided_at__isnull=False)),
                                   name="fraudsignal_decided_has_time"),
        ]
        indexes = [
            # the staff queue: open signals first, by severity and score
            models.Index(fields=["-severity", "-score"], condition=Q(status=FraudStatus.OPEN),
                         name="fraudsignal_open_queue"),
            models.Index(fields=["merchant", "status"], name="fraudsignal_merchant_status"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_rule_display()} ({self.period})"


class FraudAction(models.Model):
    """What staff decided on a signal, with the reason; a fine's amount (6,000,000 KRW a first offence,
    at most 20,000,000: rules.fine_refusal). One per signal (the signal leaves `open` with it)."""

    signal = models.OneToOneField(FraudSignal, verbose_name=_("깡 의심 신호"), on_delete=models.PROTECT,
                                  related_name="action")
    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT,
                                 related_name="fraud_actions")
    action = models.CharField(_("조치"), max_length=10, choices=FraudActionKind.choices)
    reason = models.CharField(_("사유"), max_length=200)
    fine_amount = models.PositiveBigIntegerField(_("과태료"), null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("담당자"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(_("처리자"), max_length=150, default="system")
    at = models.DateTimeField(_("일시"), default=timezone.now)

    class Meta:
        verbose_name = _("깡 의심 신호 조치")
        verbose_name_plural = _("깡 의심 신호 조치")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=FraudActionKind.values), name="fraudaction_action_known"),
            models.CheckConstraint(condition=Q(action=FraudActionKind.FINE, fine_amount__gte=6_000_000,
                                               fine_amount__lte=20_000_000)
                                   | (~Q(action=FraudActionKind.FINE) & Q(fine_amount__isnull=True)),
                                   name="fraudaction_fine_within_law"),
        ]
        indexes = [models.Index(fields=["merchant", "action"], name="fraudaction_merchant_action")]

    def __str__(self):
        fine = f" {format_krw(self.fine_amount)}" if self.fine_amount else ""
        return f"{self.get_action_display()}{fine}"


class VoucherEvent(models.Model):
    """One row per state change in vouchers (as Saleor's giftcard events, Zulip's RealmAuditLog):
    what happened, to which object, who did it, and the fields before and after, written by the
    service in the same transaction as the change. Append-only; the admin shows the trail on each
    object. The sale itself is not an event: its Purchase row (with channel, client and time) is."""

    at = models.DateTimeField(_("일시"), default=timezone.now, db_index=True)
    kind = models.CharField(_("종류"), max_length=32, choices=EventKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("담당자·계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("API 클라이언트"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(_("처리자"), max_length=150, default="system")
    tranche = models.ForeignKey(Tranche, verbose_name=_("발행 회차"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="events")
    plan = models.ForeignKey(IssuancePlan, verbose_name=_("발행 계획"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="events")
    policy = models.ForeignKey(LimitPolicy, verbose_name=_("구매 한도 정책"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="events")
    purchase = models.ForeignKey(Purchase, verbose_name=_("구매"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="events")
    reservation = models.ForeignKey(Reservation, verbose_name=_("온라인 구매 예약"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="events")
    refund = models.ForeignKey(PaymentRefund, verbose_name=_("결제 환불"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="events")
    citizen = models.ForeignKey(Citizen, verbose_name=_("구매자"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="events")
    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="events")
    category = models.ForeignKey(MerchantCategory, verbose_name=_("가맹점 업종"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="events")
    payment = models.ForeignKey(Payment, verbose_name=_("가맹점 결제"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="events")
    exchange = models.ForeignKey(Exchange, verbose_name=_("지류 환전"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="events")
    settlement = models.ForeignKey("Settlement", verbose_name=_("정산"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="events")
    signal = models.ForeignKey(FraudSignal, verbose_name=_("깡 의심 신호"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="events")
    before = models.JSONField(_("변경 전"), default=dict, blank=True)
    after = models.JSONField(_("변경 후"), default=dict, blank=True)
    note = models.TextField(_("메모"), blank=True, default="")

    class Meta:
        verbose_name = _("상품권 처리 기록")
        verbose_name_plural = _("상품권 처리 기록")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.actor})"


class MerchantBankAccount(models.Model):
    """Where a merchant's settlements are paid. Kept whole (the bank transfer file needs it) and shown
    masked everywhere else (`masked`: ***-****-1234); staff change it in the admin through
    services.set_merchant_bank_account, one event each (the event keeps the masked number only)."""

    merchant = models.OneToOneField(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT,
                                    related_name="bank_account")
    bank_code = models.CharField(_("은행 코드"), max_length=3, help_text=_("금융결제원 은행 코드 3자리 (예: 011 농협은행)"))
    bank_name = models.CharField(_("은행"), max_length=30)
    account_number = models.CharField(_("계좌번호"), max_length=30, help_text=_("숫자와 - 만"))
    holder = models.CharField(_("예금주"), max_length=50)
    updated_at = models.DateTimeField(_("변경일시"), default=timezone.now)

    class Meta:
        verbose_name = _("가맹점 정산 계좌")
        verbose_name_plural = _("가맹점 정산 계좌")
        ordering = ["merchant"]

    @property
    def masked(self) -> str:
        from vouchers.rules import mask_account

        return mask_account(self.account_number)

    def __str__(self):
        return f"{self.bank_name} {self.masked} ({self.holder})"


class Settlement(models.Model):
    """What the city owes a merchant for one day (정산), paid on `pay_on`, the next business day
    (DESIGN.md invariant 4b: one row per merchant and day, UNIQUE).

    `payments`, `refunds` and `exchanged` are the sums this settlement pays for: the day's rows and
    any row of an earlier day that arrived after that day had been built (services/settlements.py
    explains how: the rows it covers are those of the merchant with a day up to `date` and an id up
    to the `*_hwm` marks, less what the settlement before it covered, `base_*`). `carried` is a
    negative balance brought forward from the settlement before; a negative total is never sent as a
    negative transfer: `amount_due` is then 0 and `carry_out` takes it to the next settlement.
    Built and rebuilt only while `calculated`; once `sent` (the bank transfer file was produced) or
    `paid` (the bank confirmed), never changed."""

    merchant = models.ForeignKey(Merchant, verbose_name=_("가맹점"), on_delete=models.PROTECT,
                                 related_name="settlements", db_index=False)
    date = models.DateField(_("정산일 (거래일)"))
    payments = models.PositiveBigIntegerField(_("모바일 결제액"), default=0)
    refunds = models.PositiveBigIntegerField(_("환불액"), default=0)
    exchanged = models.PositiveBigIntegerField(_("지류 환전액"), default=0)
    carried = models.BigIntegerField(_("전 정산에서 넘어온 차감액"), default=0)
    amount_due = models.PositiveBigIntegerField(_("지급액"), default=0)
    carry_out = models.BigIntegerField(_("다음 정산으로 넘기는 차감액"), default=0)
    pay_on = models.DateField(_("지급일"))
    status = models.CharField(_("상태"), max_length=12, choices=SettlementStatus.choices,
                              default=SettlementStatus.CALCULATED)
    base_date = models.DateField(_("앞 정산의 거래일"), null=True, blank=True, editable=False)
    base_payment_id = models.BigIntegerField(default=0, editable=False)
    base_refund_id = models.BigIntegerField(default=0, editable=False)
    base_exchange_id = models.BigIntegerField(default=0, editable=False)
    payment_hwm = models.BigIntegerField(default=0, editable=False)
    refund_hwm = models.BigIntegerField(default=0, editable=False)
    exchange_hwm = models.BigIntegerField(default=0, editable=False)
    calculated_at = models.DateTimeField(_("계산일시"), default=timezone.now)
    sent_at = models.DateTimeField(_("이체 파일 전송일시"), null=True, blank=True)
    paid_at = models.DateTimeField(_("입금 확인일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("가맹점 정산")
        verbose_name_plural = _("가맹점 정산")
        ordering = ["-date", "merchant_id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "date"], name="settlement_merchant_date_unique"),
            models.CheckConstraint(condition=Q(status__in=SettlementStatus.values), name="settlement_status_known"),
            models.CheckConstraint(
                condition=Q(amount_due=F("payments") - F("refunds") + F("exchanged") + F("carried") - F("carry_out")),
                name="settlement_amount_due_adds_up"),
            models.CheckConstraint(condition=Q(carried__lte=0, carry_out__lte=0), name="settlement_carry_negative"),
            models.CheckConstraint(condition=Q(amount_due=0) | Q(carry_out=0), name="settlement_due_or_carry"),
            models.CheckConstraint(condition=Q(pay_on__gt=F("date")), name="settlement_pay_on_after_date"),
            models.CheckConstraint(
                condition=Q(status=SettlementStatus.CALCULATED, sent_at__isnull=True, paid_at__isnull=True)
                | Q(status=SettlementStatus.SENT, sent_at__isnull=False, paid_at__isnull=True)
                | Q(status=SettlementStatus.PAID, sent_at__isnull=False, paid_at__isnull=False),
                name="settlement_status_times"),
        ]
        indexes = [
            models.Index(fields=["status", "pay_on"], name="settlement_status_pay_on"),
            models.Index(fields=["date", "status"], name="settlement_date_status"),
        ]

    @property
    def total(self) -> int:
        return self.payments - self.refunds + self.exchanged + self.carried

    def __str__(self):
        return f"{self.merchant_id} {self.date} {format_krw(self.amount_due)} ({self.get_status_display()})"


class SettlementCursor(models.Model):
    """How far a merchant's settlements reach: every row of the merchant with a day up to `date` and
    ids up to the marks is in one of its settlements (or there was none). The next settlement starts
    here. Written only by services.build_settlements."""

    # no foreign-key constraint: the nightly build moves 7,000 of these, and a checked key costs each
    # row a lookup of its merchant (merchants are never deleted; a settlement's own key is checked)
    merchant = models.OneToOneField(Merchant, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                    related_name="+")
    date = models.DateField()
    payment_hwm = models.BigIntegerField(default=0)
    refund_hwm = models.BigIntegerField(default=0)
    exchange_hwm = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("정산 진행 위치")
        verbose_name_plural = _("정산 진행 위치")
