"""Public delivery app (배달의 진주, 띵동): operators, brands, commission contracts, stores and their
listings, the orders the operators report, and the monthly statements.

DESIGN.md invariants 5 and 6 live here as constraints: UNIQUE(operator, external_id) on an order,
the rate copied onto it, commission = floor((food − waived) × rate) ≤ food, the delivery fee never in
the base; UNIQUE(store, operator, month) on a statement, whose figures are checked against each other.
No rule lives in save(): the services (delivery/services/) move every status and write the events.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from delivery.choices import (EventKind, ListingSource, OperatorStatus, OrderStatus, PaymentMethod,
                              StatementStatus, StoreCategory, StoreStatus)
from vouchers.models import history_user

MONTH_LENGTH = 7  # "YYYY-MM" in Asia/Seoul
EXTERNAL_ID_MAX = 100  # an operator's own order id: 1–100 printable characters


class Operator(models.Model):
    """One of the operator companies chosen by public call (FACTS: ㈜스마트로, ㈜아람솔루션, ㈜허니비즈).
    Its API keys name it by `slug` (ApiClient.operator_slug)."""

    slug = models.SlugField(_("식별자"), max_length=50, unique=True)
    name = models.CharField(_("회사명"), max_length=100)
    business_number = models.CharField(_("사업자등록번호"), max_length=10, unique=True)
    selected_on = models.DateField(_("공모 선정일"))
    agreement_signed_on = models.DateField(_("협약 체결일"), null=True, blank=True)
    status = models.CharField(_("상태"), max_length=10, choices=OperatorStatus.choices, default=OperatorStatus.ACTIVE)
    status_reason = models.CharField(_("상태 사유"), max_length=200, blank=True, default="")
    status_changed_at = models.DateTimeField(_("상태 변경일시"), null=True, blank=True)
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now, editable=False)
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("배달앱 운영사")
        verbose_name_plural = _("배달앱 운영사")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OperatorStatus.values), name="operator_status_known"),
        ]

    def __str__(self):
        return self.name


class Brand(models.Model):
    """An app brand ('배달의 진주', '띵동'), run by one operator."""

    name = models.CharField(_("브랜드"), max_length=50, unique=True)
    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT, related_name="brands")

    class Meta:
        verbose_name = _("배달앱 브랜드")
        verbose_name_plural = _("배달앱 브랜드")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class CommissionContract(models.Model):
    """The commission an operator charges from a day on. A change is a new row: the rate of the day an
    order was placed (Asia/Seoul) applies and is copied onto the order, so history is never rewritten.
    `waiver_monthly_food`: a promotion, no commission on a store's first N won of food in a month
    (0 = none); the waived part of each order is recorded on it (Order.commission_waived)."""

    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT, related_name="contracts")
    rate = models.DecimalField(_("수수료율"), max_digits=5, decimal_places=4)
    effective_from = models.DateField(_("적용 시작일"))
    waiver_monthly_food = models.PositiveBigIntegerField(
        _("월 수수료 면제 음식값"), default=0,
        help_text=_("가맹점마다 매달 이 금액까지의 음식값에는 수수료를 받지 않습니다 (0이면 면제 없음)."))
    note = models.CharField(_("비고"), max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("등록자"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("등록일시"), default=timezone.now, editable=False)
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("수수료 계약")
        verbose_name_plural = _("수수료 계약")
        ordering = ["operator", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "effective_from"], name="contract_operator_day_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lt=1), name="contract_rate_range"),
        ]

    def __str__(self):
        return f"{self.operator} {self.rate} ({self.effective_from:%Y-%m-%d}~)"


class Store(models.Model):
    """One business (one business number) selling through the public app. It applies once and is
    listed with one or more operators (StoreListing); `merchant` is the Jinju Love merchant with the
    same business number, through which it takes voucher payments."""

    business_number = models.CharField(_("사업자등록번호"), max_length=10, unique=True,
                                       help_text=_("숫자 10자리 (검증번호 확인)"))
    name = models.CharField(_("상호"), max_length=100)
    category = models.CharField(_("업종"), max_length=20, choices=StoreCategory.choices)
    address = models.CharField(_("주소"), max_length=200)
    dong = models.CharField(_("읍면동"), max_length=20, blank=True, default="")
    phone = models.CharField(_("전화번호"), max_length=20, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("점주 계정"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="delivery_stores")
    merchant = models.ForeignKey("vouchers.Merchant", verbose_name=_("상품권 가맹점"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="delivery_stores")
    status = models.CharField(_("상태"), max_length=10, choices=StoreStatus.choices, default=StoreStatus.PENDING)
    status_reason = models.CharField(_("상태 사유"), max_length=200, blank=True, default="")
    status_changed_at = models.DateTimeField(_("상태 변경일시"), null=True, blank=True)
    approved_at = models.DateTimeField(_("승인일시"), null=True, blank=True)
    created_at = models.DateTimeField(_("신청일시"), default=timezone.now, editable=False)
    operators = models.ManyToManyField(Operator, through="StoreListing", related_name="stores",
                                       verbose_name=_("입점 운영사"))

    class Meta:
        verbose_name = _("배달앱 가맹점")
        verbose_name_plural = _("배달앱 가맹점")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=StoreStatus.values), name="store_status_known"),
            models.CheckConstraint(condition=Q(category__in=StoreCategory.values), name="store_category_known"),
            models.CheckConstraint(condition=~Q(status=StoreStatus.APPROVED) | Q(approved_at__isnull=False),
                                   name="store_approved_dated"),
        ]
        indexes = [models.Index(fields=["status", "dong"], name="store_status_dong")]

    def __str__(self):
        return self.name


class StoreListing(models.Model):
    """A store's place in one operator's app (with one of its brands, or none)."""

    store = models.ForeignKey(Store, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="listings")
    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT, related_name="listings")
    brand = models.ForeignKey(Brand, verbose_name=_("브랜드"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="listings")
    source = models.CharField(_("신청 경로"), max_length=10, choices=ListingSource.choices,
                              default=ListingSource.OPERATOR)
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("API 클라이언트"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("입점일시"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("운영사 입점")
        verbose_name_plural = _("운영사 입점")
        ordering = ["store", "operator"]
        constraints = [
            models.UniqueConstraint(fields=["store", "operator"], name="listing_store_operator_unique"),
        ]

    def __str__(self):
        return f"{self.store} · {self.operator}"


class Order(models.Model):
    """An order an operator's app reported (DESIGN.md invariant 5). Counted once per
    (operator, external_id); the rate of its day is copied in; commission =
    floor((food_amount − commission_waived) × commission_rate), the delivery fee never in the base.
    `month` is the Asia/Seoul month of `ordered_at` (the statement it belongs to). A jinju_love order
    holds the voucher Payment that debited the wallet by food + fee in the same transaction."""

    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT, related_name="orders",
                                 db_index=False)  # the (operator, external_id) unique index leads with it
    store = models.ForeignKey(Store, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="orders",
                              db_index=False)  # order_month_store leads with month
    external_id = models.CharField(_("운영사 주문번호"), max_length=EXTERNAL_ID_MAX)
    food_amount = models.PositiveBigIntegerField(_("음식값"))
    delivery_fee = models.PositiveBigIntegerField(_("배달비"), default=0)
    payment_method = models.CharField(_("결제 수단"), max_length=12, choices=PaymentMethod.choices)
    ordered_at = models.DateTimeField(_("주문일시"))
    month = models.CharField(_("귀속 월"), max_length=MONTH_LENGTH)
    status = models.CharField(_("상태"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    contract = models.ForeignKey(CommissionContract, verbose_name=_("수수료 계약"), on_delete=models.PROTECT,
                                 related_name="orders", db_index=False)
    commission_rate = models.DecimalField(_("수수료율"), max_digits=5, decimal_places=4)
    commission_waived = models.PositiveBigIntegerField(_("수수료 면제 음식값"), default=0)
    commission = models.PositiveBigIntegerField(_("수수료"))
    payment = models.OneToOneField("vouchers.Payment", verbose_name=_("상품권 결제"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="delivery_order")
    request_hash = models.CharField(_("요청 해시"), max_length=64, editable=False,
                                    help_text=_("같은 주문번호의 재전송이 같은 내용인지 가리는 값"))
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("API 클라이언트"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    reported_at = models.DateTimeField(_("접수일시"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("취소일시"), null=True, blank=True)
    cancel_reason = models.CharField(_("취소 사유"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("배달 주문")
        verbose_name_plural = _("배달 주문")
        ordering = ["-ordered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "external_id"], name="order_operator_external_id_unique"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_known"),
            models.CheckConstraint(condition=Q(payment_method__in=PaymentMethod.values),
                                   name="order_payment_method_known"),
            models.CheckConstraint(condition=~Q(external_id=""), name="order_external_id_not_empty"),
            models.CheckConstraint(condition=Q(food_amount__gt=0), name="order_food_amount_positive"),
            models.CheckConstraint(condition=Q(commission_waived__lte=F("food_amount")),
                                   name="order_waiver_within_food"),
            models.CheckConstraint(condition=Q(commission__lte=F("food_amount") - F("commission_waived")),
                                   name="order_commission_within_base"),
            models.CheckConstraint(condition=Q(commission_rate__gte=0, commission_rate__lt=1),
                                   name="order_rate_range"),
            models.CheckConstraint(condition=Q(status=OrderStatus.CANCELLED, cancelled_at__isnull=False)
                                   | Q(status=OrderStatus.PLACED, cancelled_at__isnull=True),
                                   name="order_cancel_dated"),
            models.CheckConstraint(condition=Q(payment_method=PaymentMethod.JINJU_LOVE, payment__isnull=False)
                                   | (~Q(payment_method=PaymentMethod.JINJU_LOVE) & Q(payment__isnull=True)),
                                   name="order_voucher_payment_iff_jinju_love"),
        ]
        indexes = [
            # statements: one month's orders grouped by store and operator
            models.Index(fields=["month", "store", "operator"], name="order_month_store"),
            # adjustments: what was cancelled or reported after a month closed
            models.Index(fields=["cancelled_at"], condition=Q(cancelled_at__isnull=False), name="order_cancelled_at"),
            models.Index(fields=["reported_at"], name="order_reported_at"),
            models.Index(fields=["store", "-ordered_at"], name="order_store_recent"),
        ]

    def __str__(self):
        return f"{self.operator.slug}:{self.external_id}"


class WaiverUsage(models.Model):
    """How much of a contract's monthly waiver a store has used with one operator in a month: claimed
    with INSERT … ON CONFLICT and moved by one conditional UPDATE (a per-store row, never hot).
    Only written while a waiver is in force."""

    store = models.ForeignKey(Store, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT, related_name="+")
    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    waived = models.PositiveBigIntegerField(_("면제된 음식값"), default=0)
    waiver_limit = models.PositiveBigIntegerField(_("면제 한도"))

    class Meta:
        verbose_name = _("수수료 면제 사용")
        verbose_name_plural = _("수수료 면제 사용")
        constraints = [
            models.UniqueConstraint(fields=["store", "operator", "month"], name="waiverusage_store_operator_month"),
            models.CheckConstraint(condition=Q(waived__lte=F("waiver_limit")), name="waiverusage_within_limit"),
        ]


class MonthClose(models.Model):
    """One operator's month, closed: statements are issued as of `closed_at` (the mark). Orders reported
    or cancelled after it are adjustments of a later month, never of this one (invariant 6)."""

    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT,
                                 related_name="month_closes")
    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    closed_at = models.DateTimeField(_("마감 기준 시각"))
    created_at = models.DateTimeField(_("마감일시"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("월 마감")
        verbose_name_plural = _("월 마감")
        ordering = ["-month", "operator"]
        constraints = [models.UniqueConstraint(fields=["operator", "month"], name="monthclose_operator_month")]

    def __str__(self):
        return f"{self.operator} {self.month}"


class Statement(models.Model):
    """One operator's orders at one store in one month (invariant 6: built once per
    (store, operator, month); a rebuild gives the same figures). The commercial figures apply 6 % and
    12 % (FACTS) to the same food total, floored; `adjustments` is the commission of what changed after
    an earlier month closed (cancels negative, late reports positive), counted in this month."""

    store = models.ForeignKey(Store, verbose_name=_("가맹점"), on_delete=models.PROTECT, related_name="statements")
    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), on_delete=models.PROTECT,
                                 related_name="statements")
    month = models.CharField(_("월"), max_length=MONTH_LENGTH)
    status = models.CharField(_("상태"), max_length=10, choices=StatementStatus.choices,
                              default=StatementStatus.DRAFT)
    order_count = models.PositiveIntegerField(_("주문 수"), default=0)
    food_total = models.PositiveBigIntegerField(_("음식값 합계"), default=0)
    commission = models.PositiveBigIntegerField(_("수수료"), default=0)
    commercial_commission_low = models.PositiveBigIntegerField(_("민간앱 수수료 (6%)"), default=0)
    commercial_commission_high = models.PositiveBigIntegerField(_("민간앱 수수료 (12%)"), default=0)
    saved_low = models.BigIntegerField(_("절감액 (6% 대비)"), default=0)
    saved_high = models.BigIntegerField(_("절감액 (12% 대비)"), default=0)
    adjustments = models.BigIntegerField(_("조정 수수료"), default=0)
    adjustment_count = models.PositiveIntegerField(_("조정 건수"), default=0)
    built_at = models.DateTimeField(_("작성일시"))
    # when the city recorded the operator's payment of this statement's commission (None: outstanding)
    commission_received_at = models.DateTimeField(_("수수료 수납일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("월 정산서")
        verbose_name_plural = _("월 정산서")
        ordering = ["-month", "store", "operator"]
        constraints = [
            models.UniqueConstraint(fields=["store", "operator", "month"], name="statement_store_operator_month"),
            models.CheckConstraint(condition=Q(status__in=StatementStatus.values), name="statement_status_known"),
            models.CheckConstraint(condition=Q(commission__lte=F("food_total")), name="statement_commission_within_food"),
            models.CheckConstraint(condition=Q(saved_low=F("commercial_commission_low") - F("commission"))
                                   & Q(saved_high=F("commercial_commission_high") - F("commission")),
                                   name="statement_savings_consistent"),
        ]
        indexes = [models.Index(fields=["operator", "month"], name="statement_operator_month")]

    def __str__(self):
        return f"{self.store} · {self.operator} · {self.month}"


class DeliveryEvent(models.Model):
    """One row per state change in delivery (as VoucherEvent): what, to which object, who, before and
    after, written by the service in the same transaction. Append-only."""

    at = models.DateTimeField(_("일시"), default=timezone.now, db_index=True)
    kind = models.CharField(_("종류"), max_length=32, choices=EventKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("담당자·계정"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    api_client = models.ForeignKey("portal.ApiClient", verbose_name=_("API 클라이언트"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(_("처리자"), max_length=150, default="system")
    operator = models.ForeignKey(Operator, verbose_name=_("운영사"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="events")
    contract = models.ForeignKey(CommissionContract, verbose_name=_("수수료 계약"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="events")
    store = models.ForeignKey(Store, verbose_name=_("가맹점"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="events")
    listing = models.ForeignKey(StoreListing, verbose_name=_("운영사 입점"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="events")
    order = models.ForeignKey(Order, verbose_name=_("주문"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="events")
    month = models.CharField(_("월"), max_length=MONTH_LENGTH, blank=True, default="")
    before = models.JSONField(_("변경 전"), default=dict, blank=True)
    after = models.JSONField(_("변경 후"), default=dict, blank=True)
    note = models.CharField(_("사유·메모"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("배달앱 처리 기록")
        verbose_name_plural = _("배달앱 처리 기록")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"
