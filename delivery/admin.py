"""City staff's admin for delivery. Every write goes through a service."""
from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields as ie_fields, resources
from import_export.admin import ExportMixin

from delivery import selectors, services
from delivery.choices import OperatorStatus
from delivery.models import MonthClose, Operator, Statement
from delivery.services.statements import REASON_MAX
from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from jinju_portal.money import format_krw
from vouchers import months
from vouchers.admin_base import ReadOnlyAdmin


# --- statements, month closes, operator health, wind-down (the statements work) ------------------------
# Contracts with their history are the registry's CommissionContractAdmin. The wind-down is its own
# page (admin:delivery_statement_wind_down, ?operator=<id> preselects one) through WindDownForm, so
# that OperatorAdmin can link to it or attach the form without a second registration.

class StatementResource(resources.ModelResource):
    store_name = ie_fields.Field(attribute="store__name", column_name="store_name")
    store_business_number = ie_fields.Field(attribute="store__business_number", column_name="store_business_number")
    operator_slug = ie_fields.Field(attribute="operator__slug", column_name="operator")

    class Meta:
        model = Statement
        fields = ("id", "month", "status", "store", "store_name", "store_business_number", "operator_slug",
                  "order_count", "food_total", "commission", "commercial_commission_low", "commercial_commission_high",
                  "saved_low", "saved_high", "adjustments", "adjustment_count", "built_at", "commission_received_at")
        export_order = fields

    def get_export_queryset(self, request=None):
        return super().get_export_queryset(request).select_related("store", "operator")


class StatementMonthFilter(admin.SimpleListFilter):
    """The last 24 months, computed (never a DISTINCT over the table)."""

    title = _("월")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        current = months.month_of(timezone.now())
        return [(m, m) for m in (months.add_months(current, -i) for i in range(24))]

    def queryset(self, request, queryset):
        return queryset.filter(month=self.value()) if self.value() else queryset


class ReceivedFilter(admin.SimpleListFilter):
    title = _("수수료 수납")
    parameter_name = "received"

    def lookups(self, request, model_admin):
        return [("no", _("미수납")), ("yes", _("수납"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(commission_received_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(commission_received_at__isnull=False)
        return queryset


@admin.register(Statement)
class StatementAdmin(ExportMixin, ReadOnlyAdmin):
    """Monthly statements, read-only (built by services.build_statements: the job on the 1st at 03:00,
    `manage.py build_statements YYYY-MM`). Export as CSV or XLSX; "수수료 수납 확인" marks issued
    statements' commission received (the health page's outstanding figure drops them)."""

    resource_classes = [StatementResource]
    list_display = ("month", "store", "operator", "status", "order_count", "food_won", "commission_won",
                    "adjustments_won", "saved_low_won", "saved_high_won", "commission_received_at")
    list_filter = (StatementMonthFilter, "operator", "status", ReceivedFilter)
    list_select_related = ("store", "operator")
    search_fields = ("=store__business_number", "store__name")
    search_help_text = _("사업자등록번호 또는 상호")
    readonly_fields = ("store", "operator", "month", "status", "order_count", "food_total", "commission",
                       "commercial_commission_low", "commercial_commission_high", "saved_low", "saved_high",
                       "adjustments", "adjustment_count", "built_at", "commission_received_at")
    fields = readonly_fields
    show_full_result_count = False
    list_per_page = 100
    actions = ["mark_received"]
    change_list_template = "admin/delivery/statement/change_list.html"

    def has_mark_received_permission(self, request):
        return request.user.has_perm("delivery.change_statement")

    @admin.display(description=_("음식값"), ordering="food_total")
    def food_won(self, obj):
        return format_krw(obj.food_total)

    @admin.display(description=_("수수료"), ordering="commission")
    def commission_won(self, obj):
        return format_krw(obj.commission)

    @admin.display(description=_("조정"), ordering="adjustments")
    def adjustments_won(self, obj):
        return format_krw(obj.adjustments) if obj.adjustment_count else ""

    @admin.display(description=_("6% 대비 절감"))
    def saved_low_won(self, obj):
        return format_krw(obj.saved_low)

    @admin.display(description=_("12% 대비 절감"))
    def saved_high_won(self, obj):
        return format_krw(obj.saved_high)

    @admin.action(description=_("선택한 정산서 수수료 수납 확인"), permissions=["mark_received"])
    def mark_received(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        try:
            services.mark_commission_received(statement_ids=ids, actor=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, _("정산서 %(n)d건의 수수료를 수납 처리했습니다.") % {"n": len(ids)},
                              messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("health/", view(self.health_view), name="delivery_statement_health"),
                path("build/", view(self.build_view), name="delivery_statement_build"),
                path("wind-down/", view(self.wind_down_view), name="delivery_statement_wind_down"),
                *super().get_urls()]

    def health_view(self, request):
        """Operator health: orders, cancellation rate by payment method, orders per store, commission
        outstanding; and the stores whose voucher orders are cancelled far more often than the others."""
        raw = request.GET.get("month") or None
        month = raw if raw is None or months.is_month(raw) else None
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("운영사 현황"), "month": month or "",
                   "operators": selectors.operator_health(month=month),
                   "suspects": selectors.store_cancellation_by_method(month=month),
                   "months": [months.add_months(months.month_of(timezone.now()), -i) for i in range(12)]}
        return TemplateResponse(request, "admin/delivery/operator_health.html", context)

    def build_view(self, request):
        """POST month=YYYY-MM: build (or rebuild) that month's statements, as the monthly job does."""
        if request.method != "POST" or not self.has_mark_received_permission(request):
            return redirect("admin:delivery_statement_changelist")
        try:
            result = services.build_statements(month=request.POST.get("month", ""), actor=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, _("%(month)s 정산서 %(n)d건 (새로 %(c)d, 바뀜 %(u)d)") % {
                "month": result.month, "n": result.rows, "c": result.created, "u": result.updated},
                messages.SUCCESS)
        return redirect("admin:delivery_statement_changelist")

    def wind_down_view(self, request):
        """An operator's wind-down through services.wind_down_operator (WindDownForm)."""
        if not request.user.has_perm("delivery.change_operator"):
            return redirect("admin:index")
        form = WindDownForm(request.POST or None, initial={"operator": request.GET.get("operator")})
        form.user = request.user
        if request.method == "POST" and form.is_valid():
            self.message_user(request, _("%(name)s 운영을 종료하고 이번 달까지 정산서를 확정했습니다.") % {
                "name": form.result.name}, messages.SUCCESS)
            return redirect("admin:delivery_monthclose_changelist")
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("운영사 운영 종료")}
        return TemplateResponse(request, "admin/delivery/wind_down.html", context)


@admin.register(MonthClose)
class MonthCloseAdmin(ReadOnlyAdmin):
    """Closed months per operator: the mark as of which its statements were issued."""

    list_display = ("month", "operator", "closed_at", "created_at")
    list_filter = ("operator",)
    list_select_related = ("operator",)
    fields = ("operator", "month", "closed_at", "created_at")
    readonly_fields = fields


class WindDownForm(forms.Form):
    """An operator's wind-down (services.wind_down_operator): the lead may attach it to OperatorAdmin
    as well; it is served on its own page here (admin:delivery_statement_wind_down)."""

    operator = forms.ModelChoiceField(label=_("운영사"), queryset=Operator.objects.exclude(
        status=OperatorStatus.WITHDRAWN).order_by("name"))
    reason = forms.CharField(label=_("사유"), max_length=REASON_MAX,
                             help_text=_("협약 해지 등. 운영사의 새 주문은 받지 않고, 이번 달까지 정산서를 모두 확정합니다."))

    user = None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.result = services.wind_down_operator(operator_id=data["operator"].pk, reason=data["reason"],
                                                      actor=self.user)
        except ServiceError as exc:
            add_service_error(self, exc)
        return data
