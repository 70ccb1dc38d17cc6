"""City staff's admin for vouchers: plans, tranches (create, raise quota, close early), limit policy,
read-only purchases with CSV export, citizens by purchase, the monthly issuance report.

List pages stay fast on a million purchases: filters use indexed columns, related rows are joined
(list_select_related), the full count is never taken (show_full_result_count = False) and the
paginator estimates an unfiltered count from PostgreSQL's statistics.
"""
from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Sum
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

from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from jinju_portal.identity import hash_identity
from vouchers import months, services
from vouchers.models import (Citizen, IssuancePlan, LimitPolicy, MonthlyIssuanceReport, PaperNote, PaymentRefund,
                             Purchase, Reservation, Tranche, Wallet, WalletEntry)
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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def won(value):
    return "" if value is None else f"{value:,}원"


# --- plans -----------------------------------------------------------------------------------------

@admin.register(IssuancePlan)
class IssuancePlanAdmin(SimpleHistoryAdmin):
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
                                ((m, won(a)) for m, a in plan_monthly_layout(plan=obj)))
        return format_html("<table>{}</table>", rows)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.layout == "schedule" and "schedule" in form.changed_data:
            try:
                services.set_plan_schedule(plan_id=obj.pk, schedule=obj.schedule)
            except ServiceError as exc:
                messages.error(request, exc.detail)


# --- tranches --------------------------------------------------------------------------------------

class TrancheAddForm(forms.ModelForm):
    class Meta:
        model = Tranche
        fields = ("name", "medium", "quota", "discount_rate", "opens_at", "closes_at", "rotation", "plan", "month")

    def clean(self):
        data = super().clean()
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            raise forms.ValidationError(_("판매 종료는 시작보다 뒤여야 합니다."))
        month = data.get("month")
        if month and not months.is_month(month):
            self.add_error("month", _("YYYY-MM 형식이어야 합니다."))
        return data


class QuotaForm(forms.Form):
    quota = forms.IntegerField(label=_("새 발행 한도 (원)"), min_value=1)


@admin.register(Tranche)
class TrancheAdmin(SimpleHistoryAdmin):
    list_display = ("name", "medium", "month", "quota_won", "sold_won", "remaining_won", "open_now", "discount_rate",
                    "rotation", "opens_at", "closes_at", "closed_at")
    list_filter = ("medium", "rotation", "month")
    search_fields = ("name",)
    list_select_related = ("plan",)
    actions = ["close_early"]
    date_hierarchy = "opens_at"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TrancheAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("sold",)
        # quota moves only through "raise quota" (never below sold); medium never changes
        return ("medium", "quota", "sold", "remaining_won", "plan", "month", "carried_in", "carried_out",
                "closed_at", "raise_quota_link")

    def get_fields(self, request, obj=None):
        if obj is None:
            return TrancheAddForm.Meta.fields
        return ("name", "medium", "quota", "sold", "remaining_won", "raise_quota_link", "discount_rate", "opens_at",
                "closes_at", "closed_at", "rotation", "plan", "month", "carried_in", "carried_out")

    def save_model(self, request, obj, form, change):
        if change:
            # Never a full save: it would write back the `sold` read when the form was shown and undo
            # every sale made since (invariant 1). Only the edited descriptive fields are written.
            editable = [f for f in form.changed_data if f in {"name", "discount_rate", "opens_at", "closes_at",
                                                               "rotation"}]
            if editable:
                obj.save(update_fields=editable)
            return
        created = services.create_tranche(
            name=obj.name, medium=obj.medium, quota=obj.quota, discount_rate=obj.discount_rate, opens_at=obj.opens_at,
            closes_at=obj.closes_at, rotation=obj.rotation, plan=obj.plan, month=obj.month or None)
        obj.pk = created.pk
        obj.refresh_from_db()

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
            services.close_tranche(tranche_id=tranche.pk)
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
                services.raise_tranche_quota(tranche_id=tranche.pk, quota=form.cleaned_data["quota"])
            except ServiceError as exc:
                form.add_error("quota", exc.detail)
            else:
                self.message_user(request, _("발행 한도를 바꿨습니다."), messages.SUCCESS)
                return redirect("admin:vouchers_tranche_change", tranche.pk)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": tranche,
                   "form": form, "title": _("발행 한도 늘리기: %(name)s") % {"name": tranche.name}}
        return TemplateResponse(request, "admin/vouchers/tranche/raise_quota.html", context)


# --- limit policy ---------------------------------------------------------------------------------

class LimitPolicyForm(forms.ModelForm):
    class Meta:
        model = LimitPolicy
        fields = ("effective_from", "monthly_limit", "paper_monthly_limit", "mobile_monthly_limit", "yearly_limit",
                  "refund_ratio", "note")

    def clean(self):
        data = super().clean()
        if data.get("effective_from") and data.get("refund_ratio") is not None:
            try:
                services.validate_policy(effective_from=data["effective_from"], refund_ratio=data["refund_ratio"])
            except ServiceError as exc:
                add_service_error(self, exc)
        return data


@admin.register(LimitPolicy)
class LimitPolicyAdmin(SimpleHistoryAdmin):
    form = LimitPolicyForm
    list_display = ("effective_from", "monthly_limit_won", "paper_monthly_limit", "mobile_monthly_limit",
                    "yearly_limit", "refund_ratio", "note")

    @admin.display(description=_("월 구매 한도"), ordering="monthly_limit")
    def monthly_limit_won(self, obj):
        return won(obj.monthly_limit)

    def has_change_permission(self, request, obj=None):
        # a policy whose month has begun is history: change it by adding a new one
        if obj is not None and obj.effective_from <= timezone.localdate():
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
class PurchaseAdmin(ExportMixin, ReadOnlyAdmin):
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
    fields = ("created_at", "kind", "amount", "balance_after", "reference", "expires_at")
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


@admin.register(PaperNote)
class PaperNoteAdmin(ReadOnlyAdmin):
    list_display = ("serial", "denomination", "status", "tranche", "issued_at", "expires_at")
    list_filter = ("status", "denomination")
    list_select_related = ("tranche",)
    search_fields = ("=serial",)
    show_full_result_count = False
    paginator = LargeTablePaginator


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "tranche", "face_value", "status", "expires_at")
    list_filter = ("status",)
    list_select_related = ("tranche",)
    show_full_result_count = False
    paginator = LargeTablePaginator


@admin.register(PaymentRefund)
class PaymentRefundAdmin(ReadOnlyAdmin):
    """Refunds are decided by the services and paid out by a task; staff only watch and retry."""

    list_display = ("id", "created_at", "reason", "amount_won", "status", "attempts", "done_at", "payment_reference")
    list_filter = ("status", "reason")
    search_fields = ("=payment_reference",)
    readonly_fields = ("reservation", "purchase", "payment_reference", "amount", "reason", "status", "attempts",
                       "last_error", "claimed_until", "created_at", "done_at")
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
                services.retry_refund(refund_id=refund_id)
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
