"""City staff's admin for vouchers: plans, tranches (create, raise quota, close early), limit policy,
read-only purchases with CSV export, citizens by purchase, the monthly issuance report.

List pages stay fast on a million purchases: filters use indexed columns, related rows are joined
(list_select_related), the full count is never taken (show_full_result_count = False) and the
paginator estimates an unfiltered count from PostgreSQL's statistics.
"""
import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from jinju_portal import bizno
from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from jinju_portal.identity import hash_identity
from jinju_portal.money import format_krw
from jinju_portal.service_admin import ServiceForm, ServiceFormAdmin
from vouchers import inputs, months, rules, selectors, services
from vouchers.admin_base import ReadOnlyAdmin
from vouchers.merchant_import import MerchantListAdminMixin
from vouchers.choices import MemberRole
from vouchers.models import (Citizen, Exchange, ExchangeRefusal, IssuancePlan, LimitPolicy, Merchant,
                             MerchantBankAccount, MerchantCategory, MerchantMember, MerchantRefund,
                             MonthlyIssuanceReport, PaperNote, Payment, PaymentRefund, Purchase, Reservation,
                             Settlement, Tranche, VoucherEvent, Wallet, WalletEntry)
from vouchers.selectors import plan_monthly_layout

COUNT_CAP = 10_000


class LargeTablePaginator(Paginator):
    """Never counts a huge table: unfiltered, PostgreSQL's row estimate; filtered, count at most
    COUNT_CAP rows (enough to page; the page links stop there)."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if not query.where and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [self.object_list.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > COUNT_CAP:
                return row[0]
        return self.object_list[:COUNT_CAP].count()




def won(value):
    return "" if value is None else f"{value:,}원"


# --- plans -----------------------------------------------------------------------------------------

class IssuancePlanForm(ServiceForm):
    class Meta:
        model = IssuancePlan
        fields = ("year", "medium", "planned", "discount_rate", "rotation", "carry_unsold", "layout", "schedule")

    def run_service(self, data):
        if self.instance.pk is None:
            return services.create_plan(**{k: data[k] for k in self.Meta.fields}, actor=self.user)
        return services.update_plan(plan_id=self.instance.pk, changes=self.values(services.PLAN_EDITABLE),
                                    actor=self.user)


class TrailMixin:
    """Shows the object's trail (services write one VoucherEvent per change), newest first, as a
    read-only field: a table, not an inline, so saving the object never needs inline form data."""

    TRAIL_ROWS = 50

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("trail",) if obj is not None else fields

    def get_fields(self, request, obj=None):
        fields = tuple(super().get_fields(request, obj))
        return fields + ("trail",) if obj is not None and "trail" not in fields else fields

    @admin.display(description=_("처리 기록"))
    def trail(self, obj):
        rows = obj.events.order_by("-at", "-id")[:self.TRAIL_ROWS]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.get_kind_display(), e.actor,
             _changes(e.before), _changes(e.after), e.note) for e in rows))
        if not body:
            return _("기록 없음")
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                           _("일시"), _("종류"), _("처리자"), _("변경 전"), _("변경 후"), _("메모"))
        return format_html("<table>{}{}</table>", head, body)


def _changes(values: dict) -> str:
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k}={v}"
                     for k, v in (values or {}).items())


@admin.register(IssuancePlan)
class IssuancePlanAdmin(TrailMixin, ServiceFormAdmin, SimpleHistoryAdmin):
    form = IssuancePlanForm
    list_display = ("year", "medium", "planned_won", "issued_won", "sold_won", "progress", "carry_unsold", "layout")
    list_filter = ("year", "medium")
    readonly_fields = ("monthly_layout",)
    fields = ("year", "medium", "planned", "discount_rate", "rotation", "carry_unsold", "layout", "schedule",
              "monthly_layout")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(issued=Sum("tranches__quota", default=0),
                                                      sold_total=Sum("tranches__sold", default=0))

    @admin.display(description=_("계획액"), ordering="planned")
    def planned_won(self, obj):
        return won(obj.planned)

    @admin.display(description=_("발행액 (회차 한도 합)"))
    def issued_won(self, obj):
        return won(obj.issued)

    @admin.display(description=_("판매액"))
    def sold_won(self, obj):
        return won(obj.sold_total)

    @admin.display(description=_("판매 진도"))
    def progress(self, obj):
        share = obj.sold_total / obj.planned if obj.planned else 0
        return format_html('<progress max="100" value="{}"></progress> {}%', round(share * 100),
                           f"{share * 100:.1f}")

    @admin.display(description=_("월별 배분"))
    def monthly_layout(self, obj):
        if obj.pk is None:
            return "-"
        rows = format_html_join("", "<tr><td>{}</td><td class='num'>{}</td></tr>",
                                ((m, won(a)) for m, a in plan_monthly_layout(
                                    plan=obj, current_month=months.month_of(timezone.now()))))
        return format_html("<table>{}</table>", rows)

    def has_delete_permission(self, request, obj=None):
        return False  # a plan with tranches is history; an empty one is corrected, not removed


# --- tranches --------------------------------------------------------------------------------------

class TrancheAddForm(ServiceForm):
    class Meta:
        model = Tranche
        fields = ("name", "medium", "quota", "discount_rate", "opens_at", "closes_at", "rotation", "plan", "month")

    def clean(self):
        data = super().clean()
        month = data.get("month")
        if month and not months.is_month(month):
            self.add_error("month", _("YYYY-MM 형식이어야 합니다."))
        return data

    def run_service(self, data):
        return services.create_tranche(
            name=data["name"], medium=data["medium"], quota=data["quota"], discount_rate=data["discount_rate"],
            opens_at=data["opens_at"], closes_at=data["closes_at"], rotation=data["rotation"], plan=data["plan"],
            month=data["month"] or None, actor=self.user)


class TrancheChangeForm(ServiceForm):
    class Meta:
        model = Tranche
        fields = services.TRANCHE_EDITABLE

    def run_service(self, data):
        return services.update_tranche(tranche_id=self.instance.pk, changes=self.values(services.TRANCHE_EDITABLE),
                                       actor=self.user)


class QuotaForm(forms.Form):
    quota = forms.IntegerField(label=_("새 발행 한도 (원)"), min_value=1)


@admin.register(Tranche)
class TrancheAdmin(TrailMixin, ServiceFormAdmin, SimpleHistoryAdmin):
    list_display = ("name", "medium", "month", "quota_won", "sold_won", "remaining_won", "open_now", "discount_rate",
                    "rotation", "opens_at", "closes_at", "closed_at")
    list_filter = ("medium", "rotation", "month")
    search_fields = ("name",)
    list_select_related = ("plan",)
    actions = ["close_early"]
    date_hierarchy = "opens_at"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = TrancheAddForm if obj is None else TrancheChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # sales and history hang on a tranche: close it instead

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("sold",)
        # quota moves only through "raise quota" (never below sold); medium never changes
        return ("medium", "quota", "sold", "remaining_won", "plan", "month", "carried_in", "carried_out",
                "closed_at", "raise_quota_link", "trail")

    def get_fields(self, request, obj=None):
        if obj is None:
            return TrancheAddForm.Meta.fields
        return ("name", "medium", "quota", "sold", "remaining_won", "raise_quota_link", "discount_rate", "opens_at",
                "closes_at", "closed_at", "rotation", "plan", "month", "carried_in", "carried_out", "trail")

    @admin.display(description=_("발행 한도"), ordering="quota")
    def quota_won(self, obj):
        return won(obj.quota)

    @admin.display(description=_("판매액"), ordering="sold")
    def sold_won(self, obj):
        return won(obj.sold)

    @admin.display(description=_("잔여"))
    def remaining_won(self, obj):
        return won(obj.remaining)

    @admin.display(description=_("판매 중"), boolean=True)
    def open_now(self, obj):
        return obj.is_open(timezone.now())

    @admin.display(description=_("발행 한도 변경"))
    def raise_quota_link(self, obj):
        url = reverse("admin:vouchers_tranche_raise_quota", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("발행 한도 늘리기"))

    @admin.action(description=_("선택한 회차 조기 마감"))
    def close_early(self, request, queryset):
        for tranche in queryset.order_by("pk"):
            services.close_tranche(tranche_id=tranche.pk, actor=request.user)
        self.message_user(request, _("%(n)d개 회차를 마감했습니다.") % {"n": queryset.count()}, messages.SUCCESS)

    def get_urls(self):
        return [path("<int:pk>/raise-quota/", self.admin_site.admin_view(self.raise_quota_view),
                     name="vouchers_tranche_raise_quota"), *super().get_urls()]

    def raise_quota_view(self, request, pk):
        tranche = get_object_or_404(Tranche, pk=pk)
        if not self.has_change_permission(request, tranche):
            return redirect("admin:index")
        form = QuotaForm(request.POST or None, initial={"quota": tranche.quota})
        if request.method == "POST" and form.is_valid():
            try:
                services.raise_tranche_quota(tranche_id=tranche.pk, quota=form.cleaned_data["quota"],
                                             actor=request.user)
            except ServiceError as exc:
                form.add_error("quota", exc.detail)
            else:
                self.message_user(request, _("발행 한도를 바꿨습니다."), messages.SUCCESS)
                return redirect("admin:vouchers_tranche_change", tranche.pk)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": tranche,
                   "form": form, "title": _("발행 한도 늘리기: %(name)s") % {"name": tranche.name}}
        return TemplateResponse(request, "admin/vouchers/tranche/raise_quota.html", context)


# --- limit policy ---------------------------------------------------------------------------------

class LimitPolicyForm(ServiceForm):
    class Meta:
        model = LimitPolicy
        fields = services.POLICY_FIELDS

    def run_service(self, data):
        if self.instance.pk is None:
            return services.create_limit_policy(**{k: data[k] for k in self.Meta.fields}, actor=self.user)
        return services.update_limit_policy(policy_id=self.instance.pk, changes=self.values(services.POLICY_FIELDS),
                                            actor=self.user)


@admin.register(LimitPolicy)
class LimitPolicyAdmin(TrailMixin, ServiceFormAdmin, SimpleHistoryAdmin):
    form = LimitPolicyForm
    list_display = ("effective_from", "monthly_limit_won", "paper_monthly_limit", "mobile_monthly_limit",
                    "yearly_limit", "refund_ratio", "note")

    @admin.display(description=_("월 구매 한도"), ordering="monthly_limit")
    def monthly_limit_won(self, obj):
        return won(obj.monthly_limit)

    def has_change_permission(self, request, obj=None):
        # a policy whose month has begun is history (the rule is the service's): add a new one instead
        if obj is not None and not services.policy_editable(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


# --- purchases ------------------------------------------------------------------------------------

class PurchaseResource(resources.ModelResource):
    tranche_name = fields.Field(attribute="tranche__name", column_name="tranche_name")

    class Meta:
        model = Purchase
        fields = ("id", "created_at", "month", "channel", "medium", "tranche", "tranche_name", "face_value", "price",
                  "status", "cancelled_at", "api_client")
        export_order = fields

    def get_export_queryset(self, request=None):
        return super().get_export_queryset(request).select_related("tranche")


class MonthFilter(admin.SimpleListFilter):
    """The last 24 months, computed, not read with a DISTINCT over a million rows."""

    title = _("월")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        current = months.month_of(timezone.now())
        return [(m, m) for m in (months.add_months(current, -i) for i in range(24))]

    def queryset(self, request, queryset):
        return queryset.filter(month=self.value()) if self.value() else queryset


class TrancheFilter(admin.SimpleListFilter):
    title = _("발행 회차")
    parameter_name = "tranche"

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.name) for t in Tranche.objects.order_by("-opens_at")[:50]]

    def queryset(self, request, queryset):
        return queryset.filter(tranche_id=self.value()) if self.value() else queryset


@admin.register(Purchase)
class PurchaseAdmin(TrailMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [PurchaseResource]
    list_display = ("id", "created_at", "month", "channel", "medium", "tranche", "buyer", "face_value", "price",
                    "status")
    list_filter = (MonthFilter, "medium", "channel", "status", TrancheFilter)
    list_select_related = ("tranche", "citizen")
    show_full_result_count = False
    paginator = LargeTablePaginator
    list_per_page = 100
    search_fields = ("=id", "=idempotency_key")
    search_help_text = _("구매 번호 또는 판매대행점의 멱등 키 (최근 90일)")
    ordering = ("-id",)
    readonly_fields = ("buyer",)
    exclude = ("citizen",)

    KEY_SEARCH_DAYS = 90

    def get_search_results(self, request, queryset, search_term):
        """A purchase number is found by primary key; an idempotency key only among the last 90 days'
        sales, through the created_at index: `id = q OR idempotency_key = q` read all million rows
        (200 ms, bench/admin_list.py) and an index on the key would slow every sale."""
        term = search_term.strip()
        if not term:
            return queryset, False
        recent = timezone.now() - timezone.timedelta(days=self.KEY_SEARCH_DAYS)
        by_key = queryset.filter(idempotency_key=term, created_at__gte=recent)
        if term.isascii() and term.isdigit() and len(term) <= 18:
            return queryset.filter(pk=int(term)) | by_key, False
        return by_key, False

    @admin.display(description=_("구매자"))
    def buyer(self, obj):
        url = reverse("admin:vouchers_citizen_change", args=[obj.citizen_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.citizen))


# --- citizens: name and birth year only, found from a purchase or by the CI the staff has ----------

class PurchaseInline(admin.TabularInline):
    model = Purchase
    fields = ("id", "created_at", "month", "channel", "medium", "face_value", "status")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-id",)
    show_change_link = True


@admin.register(Citizen)
class CitizenAdmin(ReadOnlyAdmin):
    list_display = ("name", "birth_year")
    fields = ("name", "birth_year", "user", "created_at")
    readonly_fields = fields
    search_fields = ("name",)
    search_help_text = _("구매 번호(숫자) 또는 본인확인 CI로 찾습니다. CI는 저장하지 않고 해시로만 비교합니다.")
    show_full_result_count = False
    paginator = LargeTablePaginator
    inlines = [PurchaseInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit() and len(term) <= 18:
            return queryset.filter(purchases__id=int(term)), False
        return queryset.filter(ci_hash=hash_identity(term)), False


# --- wallets, notes, reservations, reports (read-only) ---------------------------------------------

class WalletEntryInline(admin.TabularInline):
    model = WalletEntry
    fields = ("created_at", "kind", "amount", "balance_after", "reference", "payment", "expires_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("citizen", "balance", "updated_at")
    list_select_related = ("citizen",)
    show_full_result_count = False
    paginator = LargeTablePaginator
    inlines = [WalletEntryInline]


def masked_name(name: str) -> str:
    """A person's name as a trace shows it: 김진주 → 김*주, 김진 → 김*; the citizen's own page has the rest."""
    if not name:
        return str(_("이름 없음"))
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _admin_link(obj, label=None):
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else str(obj))


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _refusal_table(refusals):
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (_local(r.created_at), r.get_reason_display(), _admin_link(r.merchant), _admin_link(r.exchange),
         r.exchange.api_client or "-") for r in refusals))
    if not body:
        return _("거절 기록 없음")
    head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                       _("일시"), _("거절 사유"), _("가맹점"), _("환전"), _("은행 (요청 클라이언트)"))
    return format_html("<table>{}{}</table>", head, body)


def _serial_term(search_term: str) -> str:
    return search_term.strip().upper()


@admin.register(PaperNote)
class PaperNoteAdmin(ReadOnlyAdmin):
    """A note's life by serial: sold to whom, when and where; exchanged by which merchant, when and
    through which bank; and every refused attempt to exchange it (the fraud review's trail)."""

    list_display = ("serial", "denomination", "status", "tranche", "issued_at", "expires_at", "exchanged_by",
                    "status_changed_at")
    list_filter = ("status", "denomination")
    list_select_related = ("tranche", "exchange__merchant")
    search_fields = ("=serial",)
    search_help_text = _("일련번호 (대소문자·앞뒤 공백 무관)")
    show_full_result_count = False
    paginator = LargeTablePaginator
    fields = ("serial", "denomination", "status", "status_changed_at", "tranche", "issued_at", "expires_at", "sale",
              "exchanged", "refusals")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = _serial_term(search_term)
        return (queryset.filter(serial=term), False) if term else (queryset, False)

    @admin.display(description=_("환전 가맹점"))
    def exchanged_by(self, obj):
        return obj.exchange.merchant if obj.exchange_id else "-"

    @admin.display(description=_("판매 (누구에게, 언제, 어디서)"))
    def sale(self, obj):
        purchase = Purchase.objects.select_related("citizen", "api_client").get(pk=obj.purchase_id)
        citizen = purchase.citizen
        buyer = f"{masked_name(citizen.name)} ({citizen.birth_year})" if citizen.birth_year else masked_name(
            citizen.name)
        where = purchase.get_channel_display() + (f" · {purchase.api_client.name}" if purchase.api_client else "")
        return format_html("{} {} · {} {} · {} {} · {} {} ({})", _("구매"), _admin_link(purchase, f"#{purchase.pk}"),
                           _("구매자"), _admin_link(citizen, buyer), _("일시"), _local(purchase.created_at),
                           _("판매처"), where, purchase.get_status_display())

    @admin.display(description=_("환전 (어느 가맹점, 언제, 어느 은행)"))
    def exchanged(self, obj):
        if obj.exchange_id is None:
            return _("환전되지 않음")
        exchange = Exchange.objects.select_related("merchant", "api_client").get(pk=obj.exchange_id)
        return format_html("{} {} · {} {} · {} {} · {} {}", _("환전"), _admin_link(exchange, f"#{exchange.pk}"),
                           _("가맹점"), _admin_link(exchange.merchant), _("일시"), _local(exchange.created_at),
                           _("은행"), exchange.api_client.name if exchange.api_client else (exchange.user or "-"))

    @admin.display(description=_("환전 거절 기록"))
    def refusals(self, obj):
        # a refusal keeps the serial as handed in, trimmed and upper-cased: ours read exactly as the note's
        rows = (ExchangeRefusal.objects.filter(serial=obj.serial)
                .select_related("merchant", "exchange__api_client").order_by("-created_at", "-id")[:100])
        return _refusal_table(rows)


# --- paper exchange (read-only: made by the banks' counters through the API) ------------------------

class ExchangeRefusalInline(admin.TabularInline):
    model = ExchangeRefusal
    fields = ("serial", "reason", "note", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("id",)


class ExchangedNoteInline(admin.TabularInline):
    model = PaperNote
    fk_name = "exchange"
    verbose_name = _("환전된 지류")
    verbose_name_plural = _("환전된 지류")
    fields = ("serial", "denomination", "issued_at", "purchase")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ("serial",)


@admin.register(Exchange)
class ExchangeAdmin(TrailMixin, ReadOnlyAdmin):
    """Each exchange: the merchant, the bank that sent it, the amount paid with its settlement, the
    notes taken and every serial refused with its reason."""

    list_display = ("id", "created_at", "merchant", "amount_won", "accepted_count", "refused_count", "api_client")
    list_select_related = ("merchant", "api_client")
    list_filter = ("api_client",)
    search_fields = ("=id", "=merchant__code", "=merchant__business_number")
    search_help_text = _("환전 번호, 가맹점 코드 또는 사업자등록번호")
    date_hierarchy = "created_at"
    fields = ("created_at", "merchant", "amount_won", "accepted_count", "refused_count", "api_client", "user",
              "idempotency_key")
    readonly_fields = fields
    show_full_result_count = False
    paginator = LargeTablePaginator
    inlines = [ExchangedNoteInline, ExchangeRefusalInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        number = bizno.normalize(term)
        if len(number) == 10 and number.isascii() and number.isdigit():
            return queryset.filter(merchant__business_number=number), False
        if term.isascii() and term.isdigit() and len(term) <= 18:
            return queryset.filter(pk=int(term)), False
        return queryset.filter(merchant__code=term.upper()), False

    @admin.display(description=_("환전 금액"), ordering="amount")
    def amount_won(self, obj):
        return won(obj.amount)


@admin.register(ExchangeRefusal)
class ExchangeRefusalAdmin(ReadOnlyAdmin):
    """Every serial an exchange refused, with its reason: unknown and already-redeemed serials are the
    first thing the fraud review reads."""

    list_display = ("created_at", "serial", "reason", "merchant", "exchange_link", "note")
    list_filter = ("reason", "created_at")
    list_select_related = ("merchant", "note", "exchange")
    search_fields = ("=serial",)
    search_help_text = _("일련번호")
    date_hierarchy = "created_at"
    fields = ("created_at", "serial", "reason", "merchant", "exchange", "note")
    readonly_fields = fields
    show_full_result_count = False
    paginator = LargeTablePaginator

    def get_search_results(self, request, queryset, search_term):
        term = _serial_term(search_term)
        return (queryset.filter(serial=term), False) if term else (queryset, False)

    @admin.display(description=_("환전"), ordering="exchange")
    def exchange_link(self, obj):
        return _admin_link(obj.exchange, f"#{obj.exchange_id}")


@admin.register(Reservation)
class ReservationAdmin(TrailMixin, ReadOnlyAdmin):
    list_display = ("id", "created_at", "tranche", "face_value", "status", "expires_at")
    list_filter = ("status",)
    list_select_related = ("tranche",)
    show_full_result_count = False
    paginator = LargeTablePaginator


@admin.register(PaymentRefund)
class PaymentRefundAdmin(TrailMixin, ReadOnlyAdmin):
    """Refunds are decided by the services and paid out by a task; staff only watch and retry."""

    list_display = ("id", "created_at", "reason", "amount_won", "payout", "status", "attempts", "done_at",
                    "payment_reference")
    # payout "agent": a balance refund the sales agent paid out itself, which the city owes it (api_client)
    list_filter = ("status", "reason", "payout")
    search_fields = ("=payment_reference",)
    readonly_fields = ("reservation", "purchase", "payment_reference", "amount", "face_value", "reason", "payout",
                       "api_client", "user", "status", "attempts", "last_error", "claimed_until", "created_at",
                       "done_at")
    raw_id_fields = ("reservation", "purchase")
    list_select_related = ("reservation",)
    show_full_result_count = False
    actions = ["retry"]

    def has_retry_permission(self, request):
        # rows are never edited here (a save would race the worker); retrying is its own permission
        return request.user.has_perm("vouchers.change_paymentrefund")

    @admin.display(description=_("환불 금액"), ordering="amount")
    def amount_won(self, obj):
        return won(obj.amount)

    @admin.action(description=_("다시 시도"), permissions=["retry"])
    def retry(self, request, queryset):
        retried, refused = 0, 0
        for refund_id in queryset.order_by("id").values_list("id", flat=True):
            try:
                services.retry_refund(refund_id=refund_id, actor=request.user)
            except ServiceError:
                refused += 1
            else:
                retried += 1
        self.message_user(request, _("환불 %(n)d건을 다시 시도합니다.") % {"n": retried}, messages.SUCCESS)
        if refused:
            self.message_user(request, _("이미 환불된 %(n)d건은 건너뛰었습니다.") % {"n": refused}, messages.WARNING)


@admin.register(MonthlyIssuanceReport)
class MonthlyIssuanceReportAdmin(ReadOnlyAdmin):
    list_display = ("month", "medium", "planned", "quota", "sold", "sold_share", "buyers", "purchases", "created_at")
    list_filter = ("medium",)

    @admin.display(description=_("계획 대비 판매"))
    def sold_share(self, obj):
        return f"{obj.sold / obj.planned * 100:.1f}%" if obj.planned else "-"


@admin.register(VoucherEvent)
class VoucherEventAdmin(ReadOnlyAdmin):
    """Every state change in vouchers, who did it, before and after (written by the services)."""

    list_display = ("at", "kind", "actor", "tranche", "purchase", "reservation", "refund", "policy", "plan",
                    "merchant")
    list_filter = ("kind",)
    list_select_related = ("tranche", "purchase", "reservation", "refund", "policy", "plan", "merchant")
    search_fields = ("=purchase__id", "=reservation__id", "=refund__id", "=merchant__code", "actor")
    readonly_fields = ("at", "kind", "actor", "user", "api_client", "tranche", "plan", "policy", "purchase",
                       "reservation", "refund", "citizen", "merchant", "category", "exchange", "before", "after",
                       "note")
    show_full_result_count = False
    paginator = LargeTablePaginator
    date_hierarchy = "at"


# --- merchants (가맹점) and their categories --------------------------------------------------------

class MerchantCategoryForm(ServiceForm):
    class Meta:
        model = MerchantCategory
        fields = ("code", "name", "excluded", "excluded_reason")

    def run_service(self, data):
        if self.instance.pk is None:
            return services.create_merchant_category(code=data["code"], name=data["name"], excluded=data["excluded"],
                                                     excluded_reason=data["excluded_reason"], actor=self.user)
        return services.update_merchant_category(category_id=self.instance.pk,
                                                 changes=self.values(services.CATEGORY_EDITABLE), actor=self.user)


@admin.register(MerchantCategory)
class MerchantCategoryAdmin(TrailMixin, ServiceFormAdmin):
    """The industries, with the excluded list (FACTS.md) staff keep: an excluded category's merchants
    are refused at approval."""

    form = MerchantCategoryForm
    list_display = ("code", "name", "excluded", "excluded_reason")
    list_filter = ("excluded",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def get_fields(self, request, obj=None):
        return ("code", "name", "excluded", "excluded_reason")

    def has_delete_permission(self, request, obj=None):
        return False  # merchants hang on it: rename it or put it on the excluded list


class BusinessNumberField(forms.CharField):
    """Typed as 220-81-62517 or bare digits; cleaned by the shared cleaner (check digit)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=20, label=_("사업자등록번호"), help_text=_("XXX-XX-XXXXX (검증번호 확인)"),
                         **kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return inputs.clean_business_number(value)
        except ServiceError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None


class MerchantAddForm(ServiceForm):
    business_number = BusinessNumberField()

    class Meta:
        model = Merchant
        fields = ("business_number", "name", "category", "address", "dong", "phone", "representative",
                  "annual_revenue", "accepts_paper", "accepts_mobile")

    def validate_unique(self):
        pass  # the service decides: a duplicate is refused, a cancelled merchant registers again

    def run_service(self, data):
        return services.register_merchant(**{k: data[k] for k in self.Meta.fields}, actor=self.user)


class MerchantChangeForm(ServiceForm):
    class Meta:
        model = Merchant
        fields = services.MERCHANT_EDITABLE

    def run_service(self, data):
        return services.update_merchant(merchant_id=self.instance.pk,
                                        changes=self.values(services.MERCHANT_EDITABLE), actor=self.user)


class OwnerAccountForm(forms.Form):
    username = forms.CharField(label=_("아이디"), max_length=150)
    password = forms.CharField(label=_("처음 비밀번호"), strip=False, widget=forms.PasswordInput,
                               help_text=_("대표에게 전하고, 로그인한 뒤 바꾸도록 안내해 주세요."))


class ExchangeCapForm(forms.Form):
    monthly_exchange_cap = forms.IntegerField(label=_("월 환전 한도 (원)"), min_value=0, required=False,
                                              help_text=_("비우면 기본값(연 매출액의 12분의 1)입니다."))
    reason = forms.CharField(label=_("사유"), max_length=inputs.MAX_REASON,
                             help_text=_("예: 환전 이상 징후 점검 중 (처리 기록에 남습니다)"))


class MerchantActionForm(helpers.ActionForm):
    reason = forms.CharField(label=_("사유"), required=False, max_length=inputs.MAX_REASON,
                             help_text=_("정지·해지에는 사유가 필요합니다."))


def _status_action(service_name, description, done_message, **options):
    """An admin action moving each selected merchant through `services.<service_name>` with the reason
    typed in the action bar; refusals are listed per merchant."""

    @admin.action(description=description, permissions=["change"])
    def action(self, request, queryset):
        reason = self._reason(request)
        service = getattr(services, service_name)
        self._each(request, queryset, lambda pk: service(merchant_id=pk, reason=reason, actor=request.user, **options),
                   done_message)

    return action


@admin.register(Merchant)
class MerchantAdmin(TrailMixin, MerchantListAdminMixin, ServiceFormAdmin):
    """Merchants: registered and changed through the services, one by one or many at once from the
    city's list (import, vouchers/merchant_import.py); approved, suspended and cancelled by the actions
    (with the reason typed beside them); every change on the trail; never deleted."""

    list_display = ("name", "code", "business_number_display", "category", "dong", "accepts_paper", "accepts_mobile",
                    "status", "status_changed_at")
    list_filter = ("status", "category", "dong", "accepts_paper", "accepts_mobile", "cancelled_for_illegal_exchange")
    list_select_related = ("category",)
    search_fields = ("name", "=code", "=business_number")
    search_help_text = _("상호(일부), 가맹점 코드 또는 사업자등록번호")
    show_full_result_count = False
    list_per_page = 100
    action_form = MerchantActionForm
    actions = ["approve", "suspend", "cancel", "cancel_illegal_exchange"]
    STATUS_FIELDS = ("code", "status", "status_reason", "status_changed_at", "cancelled_for_illegal_exchange",
                     "illegal_exchange_cancelled_at", "created_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MerchantAddForm if obj is None else MerchantChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return MerchantAddForm.Meta.fields
        return ("business_number_display", *services.MERCHANT_EDITABLE, "exchange_cap", *self.STATUS_FIELDS,
                "accounts", "trail")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("business_number_display", "exchange_cap", *self.STATUS_FIELDS, "accounts", "trail")

    @admin.display(description=_("월 환전 한도"))
    def exchange_cap(self, obj):
        """The cap in force (set by staff, or the default of a month of declared revenue), this
        month's exchanges against it, and the button to set or lower it (services.set_exchange_cap)."""
        month = selectors.exchange_month(obj)
        kind = _("기본값: 연 매출액의 12분의 1") if month.is_default else _("담당자가 정한 한도")
        link = format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:vouchers_merchant_exchange_cap", args=[obj.pk]), _("월 환전 한도 정하기"))
        return format_html("{} ({}) · {} {} · {} {} {}", format_krw(month.cap), kind, month.month, format_krw(
            month.exchanged), _("남은 한도"), format_krw(month.remaining), link)

    @admin.display(description=_("가맹점 계정"))
    def accounts(self, obj):
        """The shop's sign-ins for its own pages (/merchant/); the owner is created here, by staff."""
        members = obj.members.select_related("user").order_by("-active", "role", "id")
        rows = format_html_join("", "<li>{} · {}{}</li>", (
            (m.user.get_username(), m.get_role_display(), "" if m.active else format_html(" · {}", _("사용 중지")))
            for m in members))
        has_owner = any(m.active and m.role == MemberRole.OWNER for m in members)
        link = "" if has_owner else format_html(
            '<a class="button" href="{}">{}</a>', reverse("admin:vouchers_merchant_add_owner", args=[obj.pk]),
            _("대표(점주) 계정 만들기"))
        return format_html("<ul>{}</ul>{}", rows, link) if rows else (link or _("계정 없음"))

    def get_urls(self):
        return [path("<int:pk>/add-owner/", self.admin_site.admin_view(self.add_owner_view),
                     name="vouchers_merchant_add_owner"),
                path("<int:pk>/exchange-cap/", self.admin_site.admin_view(self.exchange_cap_view),
                     name="vouchers_merchant_exchange_cap"), *super().get_urls()]

    def exchange_cap_view(self, request, pk):
        """Set, lower or clear (back to the default) the merchant's monthly exchange cap, with the reason,
        through services.set_exchange_cap (one event on the trail)."""
        merchant = get_object_or_404(Merchant, pk=pk)
        if not self.has_change_permission(request, merchant):
            return redirect("admin:index")
        form = ExchangeCapForm(request.POST or None, initial={"monthly_exchange_cap": merchant.monthly_exchange_cap})
        if request.method == "POST" and form.is_valid():
            try:
                services.set_exchange_cap(merchant_id=merchant.pk, cap=form.cleaned_data["monthly_exchange_cap"],
                                          reason=form.cleaned_data["reason"], actor=request.user)
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                self.message_user(request, _("월 환전 한도를 바꿨습니다."), messages.SUCCESS)
                return redirect("admin:vouchers_merchant_change", merchant.pk)
        default_cap = rules.monthly_exchange_cap(monthly_exchange_cap=None, annual_revenue=merchant.annual_revenue)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": merchant,
                   "form": form, "month": selectors.exchange_month(merchant), "default_cap": default_cap,
                   "title": _("월 환전 한도: %(name)s") % {"name": merchant.name}}
        return TemplateResponse(request, "admin/vouchers/merchant/exchange_cap.html", context)

    def add_owner_view(self, request, pk):
        """The owner's account, through services.add_member (the password validators, one owner per shop)."""
        merchant = get_object_or_404(Merchant, pk=pk)
        if not self.has_change_permission(request, merchant):
            return redirect("admin:index")
        form = OwnerAccountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.add_member(merchant_id=merchant.pk, username=form.cleaned_data["username"],
                                    password=form.cleaned_data["password"], role=MemberRole.OWNER,
                                    actor=request.user)
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                self.message_user(request, _("대표 계정 %(username)s을(를) 만들었습니다. 가맹점 페이지(/merchant/)에 "
                                             "로그인할 수 있습니다.") % {"username": form.cleaned_data["username"]},
                                  messages.SUCCESS)
                return redirect("admin:vouchers_merchant_change", merchant.pk)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": merchant,
                   "form": form, "title": _("대표(점주) 계정 만들기: %(name)s") % {"name": merchant.name}}
        return TemplateResponse(request, "admin/vouchers/merchant/add_owner.html", context)

    def has_delete_permission(self, request, obj=None):
        return False  # payments and history hang on a merchant: cancel it instead

    def get_search_results(self, request, queryset, search_term):
        number = bizno.normalize(search_term.strip())
        if len(number) == 10 and number.isascii() and number.isdigit():
            return queryset.filter(business_number=number), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("사업자등록번호"), ordering="business_number")
    def business_number_display(self, obj):
        return bizno.format_number(obj.business_number)

    def _each(self, request, queryset, call, done_message):
        done, refused = 0, []
        for merchant in queryset.order_by("pk"):
            try:
                call(merchant.pk)
            except ServiceError as exc:
                refused.append(f"{merchant.name} ({merchant.code}): {exc.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    def _reason(self, request):
        return request.POST.get("reason", "")

    approve = _status_action("approve_merchant", _("선택한 가맹점 승인"), _("가맹점 %(n)d곳을 승인했습니다."))
    suspend = _status_action("suspend_merchant", _("선택한 가맹점 정지 (사유 필요)"), _("가맹점 %(n)d곳을 정지했습니다."))
    cancel = _status_action("cancel_merchant", _("선택한 가맹점 해지 (사유 필요)"), _("가맹점 %(n)d곳을 해지했습니다."))
    cancel_illegal_exchange = _status_action(
        "cancel_merchant", _("선택한 가맹점 불법 환전으로 해지 (1년 재등록 금지, 사유 필요)"),
        _("가맹점 %(n)d곳을 불법 환전으로 해지했습니다."), illegal_exchange=True)


# --- payments at merchants (read-only: they are made at the counter and refunded by the merchant) ---------

class MerchantRefundInline(admin.TabularInline):
    model = MerchantRefund
    fields = ("created_at", "amount", "api_client", "user")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Payment)
class PaymentAdmin(TrailMixin, ReadOnlyAdmin):
    """Who paid whom, how, and what went back; the citizen is the wallet (a hash, never a name here)."""

    list_display = ("approval_number", "created_at", "merchant", "amount_display", "refunded_display", "status",
                    "method")
    list_filter = ("status", "method")
    list_select_related = ("merchant",)
    search_fields = ("=id", "=merchant__code", "=merchant__business_number")
    fields = ("approval_number", "created_at", "merchant", "wallet", "method", "amount", "refunded", "status",
              "pay_code", "api_client", "code_issuer", "user")
    readonly_fields = fields
    show_full_result_count = False
    paginator = LargeTablePaginator
    inlines = [MerchantRefundInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit() and len(term) <= 18:  # a 승인번호 with its leading zeros, or the id
            return queryset.filter(Q(pk=int(term)) | Q(merchant__business_number=term)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("승인번호"), ordering="id")
    def approval_number(self, obj):
        return obj.approval_number

    @admin.display(description=_("결제 금액"), ordering="amount")
    def amount_display(self, obj):
        return won(obj.amount)

    @admin.display(description=_("환불 금액"), ordering="refunded")
    def refunded_display(self, obj):
        return won(obj.refunded)


@admin.register(MerchantMember)
class MerchantMemberAdmin(ReadOnlyAdmin):
    """The merchants' own sign-ins: created by the owner (cashiers) or on the merchant's page here
    (the owner); switched off by the action, through the service (one event each)."""

    list_display = ("user", "merchant", "role", "active", "created_at")
    list_filter = ("role", "active")
    list_select_related = ("user", "merchant")
    search_fields = ("user__username", "=merchant__code")
    search_help_text = _("아이디 또는 가맹점 코드")
    fields = ("user", "merchant", "role", "active", "created_at")
    readonly_fields = fields
    actions = ["deactivate"]

    def has_deactivate_permission(self, request):
        return request.user.has_perm("vouchers.change_merchantmember")

    @admin.action(description=_("선택한 가맹점 계정 사용 중지"), permissions=["deactivate"])
    def deactivate(self, request, queryset):
        done = 0
        for member_id in queryset.filter(active=True).order_by("id").values_list("id", flat=True):
            services.deactivate_member(member_id=member_id, actor=request.user)
            done += 1
        self.message_user(request, _("가맹점 계정 %(n)d개의 사용을 중지했습니다.") % {"n": done}, messages.SUCCESS)


# --- daily settlements (정산) and the merchants' bank accounts ------------------------------------------

class TransferFileForm(forms.Form):
    pay_on = forms.DateField(label=_("지급일"), help_text=_("이 날짜까지 지급할, 아직 보내지 않은 정산을 모두 담습니다."),
                             widget=forms.DateInput(attrs={"type": "date"}))


@admin.register(Settlement)
class SettlementAdmin(TrailMixin, ReadOnlyAdmin):
    """The daily settlements, read-only (built by services.build_settlements, the nightly job and
    `manage.py build_settlements`). "은행 이체 파일" produces the bank's CSV for a pay-on date and
    marks those rows sent; "입금 확인" marks sent rows paid. Layout of the file:
    services.produce_transfer_file (header 은행코드,은행명,계좌번호,예금주,이체금액,입금통장표시,가맹점코드,정산일;
    one line per settlement; a 합계 trailer with the total and the number of lines; UTF-8 with BOM)."""

    list_display = ("date", "merchant", "payments_won", "refunds_won", "exchanged_won", "carried_won", "due_won",
                    "pay_on", "status", "sent_at", "paid_at")
    list_filter = ("status", "date", "pay_on")
    list_select_related = ("merchant",)
    search_fields = ("=merchant__code", "=merchant__business_number", "merchant__name")
    search_help_text = _("가맹점 코드, 사업자등록번호 또는 상호")
    date_hierarchy = "date"
    fields = ("merchant", "date", "payments", "refunds", "exchanged", "carried", "amount_due", "carry_out", "pay_on",
              "status", "calculated_at", "sent_at", "paid_at", "bank_account")
    readonly_fields = fields
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["mark_paid"]
    change_list_template = "admin/vouchers/settlement/change_list.html"

    def has_mark_paid_permission(self, request):
        return request.user.has_perm("vouchers.change_settlement")

    @admin.display(description=_("모바일 결제"), ordering="payments")
    def payments_won(self, obj):
        return won(obj.payments)

    @admin.display(description=_("환불"), ordering="refunds")
    def refunds_won(self, obj):
        return won(obj.refunds)

    @admin.display(description=_("지류 환전"), ordering="exchanged")
    def exchanged_won(self, obj):
        return won(obj.exchanged)

    @admin.display(description=_("이월 차감"))
    def carried_won(self, obj):
        return won(obj.carried) if obj.carried else ""

    @admin.display(description=_("지급액"), ordering="amount_due")
    def due_won(self, obj):
        return won(obj.amount_due)

    @admin.display(description=_("정산 계좌"))
    def bank_account(self, obj):
        account = MerchantBankAccount.objects.filter(merchant_id=obj.merchant_id).first()
        return str(account) if account else _("없음 (이체 파일에서 빠집니다)")

    @admin.action(description=_("선택한 정산 입금 확인 (전송 → 입금 완료)"), permissions=["mark_paid"])
    def mark_paid(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        try:
            services.mark_settlements_paid(settlement_ids=ids, actor=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, _("정산 %(n)d건을 입금 완료로 바꿨습니다.") % {"n": len(ids)}, messages.SUCCESS)

    def get_urls(self):
        return [path("transfer-file/", self.admin_site.admin_view(self.transfer_file_view),
                     name="vouchers_settlement_transfer_file"), *super().get_urls()]

    def transfer_file_view(self, request):
        """GET: the form and what a file for that date would hold; POST: the CSV, rows marked sent."""
        if not self.has_mark_paid_permission(request):
            return redirect("admin:index")
        default = rules.next_business_day(timezone.localdate() - dt.timedelta(days=1))
        form = TransferFileForm(request.POST or request.GET or None, initial={"pay_on": default})
        pay_on = form.cleaned_data["pay_on"] if form.is_bound and form.is_valid() else default
        if request.method == "POST" and form.is_valid():
            file = services.produce_transfer_file(pay_on=pay_on, actor=request.user)
            if file.missing:
                self.message_user(request, _("정산 계좌가 없어 보내지 않은 가맹점: %(names)s") % {
                    "names": ", ".join(f"{name} ({code})" for code, name in file.missing)}, messages.WARNING)
            self.message_user(request, _("이체 파일: %(n)d건, %(total)s. 해당 정산을 전송으로 바꿨습니다.") % {
                "n": file.rows, "total": won(file.total)}, messages.SUCCESS)
            response = HttpResponse(file.content, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
            return response
        pending = Settlement.objects.filter(status="calculated", pay_on__lte=pay_on)
        missing = (Merchant.objects.filter(settlements__in=pending, bank_account__isnull=True).distinct()
                   .order_by("code"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("은행 이체 파일"), "pay_on": pay_on,
                   "pending": pending.filter(merchant__bank_account__isnull=False).aggregate(
                       n=Count("id"), total=Sum("amount_due")),
                   "missing": missing[:200]}
        return TemplateResponse(request, "admin/vouchers/settlement/transfer_file.html", context)


class BankAccountForm(ServiceForm):
    """The account number is never shown back: a change form asks for a new one (blank keeps it)."""

    account_number = forms.CharField(label=_("계좌번호"), max_length=30, required=False,
                                     help_text=_("숫자와 - 만. 바꾸지 않으려면 비워 두세요."))

    class Meta:
        model = MerchantBankAccount
        fields = ("merchant", "bank_code", "bank_name", "holder")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["merchant"].disabled = True
            self.fields["account_number"].help_text = _("현재 %(masked)s. 바꿀 때만 새 계좌번호를 입력하세요.") % {
                "masked": self.instance.masked}
        else:
            self.fields["account_number"].required = True
        self.initial["account_number"] = ""

    def run_service(self, data):
        number = data.get("account_number") or (self.instance.account_number if self.instance.pk else "")
        merchant = data["merchant"] if not self.instance.pk else self.instance.merchant
        return services.set_merchant_bank_account(merchant_id=merchant.pk, bank_code=data["bank_code"],
                                                  bank_name=data["bank_name"], account_number=number,
                                                  holder=data["holder"], actor=self.user)

    def _post_clean(self):
        # the model's own validation would run on an instance whose number the form never holds
        if self.errors:
            return
        try:
            result = self.run_service(self.cleaned_data)
        except ServiceError as exc:
            add_service_error(self, exc)
            return
        self.instance = result


@admin.register(MerchantBankAccount)
class MerchantBankAccountAdmin(ServiceFormAdmin):
    """Where each merchant's settlements are paid, shown masked; changed through the service (one
    event on the merchant each, with the masked number)."""

    form = BankAccountForm
    list_display = ("merchant", "bank_name", "bank_code", "masked_number", "holder", "updated_at")
    list_select_related = ("merchant",)
    search_fields = ("=merchant__code", "=merchant__business_number", "merchant__name", "holder")
    raw_id_fields = ("merchant",)

    def get_fields(self, request, obj=None):
        return ("merchant", "bank_code", "bank_name", "account_number", "holder")

    @admin.display(description=_("계좌번호"))
    def masked_number(self, obj):
        return obj.masked

    def has_delete_permission(self, request, obj=None):
        return False  # settlements are paid to it: change it instead
# --- cash-out (깡) signals: the queue and its actions live in vouchers/fraud_admin.py -------------------

from vouchers.fraud_admin import FraudActionAdmin, FraudSignalAdmin  # noqa: E402
from vouchers.models import FraudAction, FraudSignal  # noqa: E402

admin.site.register(FraudSignal, FraudSignalAdmin)
admin.site.register(FraudAction, FraudActionAdmin)
