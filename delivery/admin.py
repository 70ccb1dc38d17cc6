"""City staff's admin for the delivery registry: operators (suspend and reinstate with the reason),
their brands, commission contracts (added through the service, never edited once in force, with
their history), and stores with their listings: the approval queue (pending first) with a bulk
approve, and suspension, reinstatement and withdrawal with the reason. Every write goes through
a service (delivery/services/) and lands on the object's trail; nothing here is deletable.
Orders and statements have their own admin (orders.py / statements.py work)."""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export import fields as ie_fields, resources
from import_export.admin import ExportMixin
from simple_history.admin import SimpleHistoryAdmin

from delivery import inputs, rules, selectors, services
from delivery.choices import OperatorStatus, StoreStatus
from delivery.models import (Brand, CommissionContract, DeliveryEvent, MonthClose, Operator, Order, Statement, Store, StoreListing)
from delivery.services.statements import REASON_MAX
from jinju_portal import bizno
from jinju_portal.errors import ServiceError
from jinju_portal.forms import add_service_error
from jinju_portal.money import format_krw
from jinju_portal.service_admin import ServiceForm, ServiceFormAdmin
from vouchers import months
from vouchers.admin import MonthFilter, TrailMixin
from vouchers.admin_base import ReadOnlyAdmin


class ReasonActionForm(helpers.ActionForm):
    reason = forms.CharField(label=_("사유"), required=False, max_length=rules.MAX_REASON,
                             help_text=_("정지·재개·탈퇴에는 사유가 필요합니다 (처리 기록에 남습니다)."))


class BusinessNumberField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=20, label=_("사업자등록번호"), help_text=_("XXX-XX-XXXXX (검증번호 확인)"), **kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return inputs.clean_business_number(value)
        except ServiceError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None


class StatusActionsMixin:
    """Admin actions that move each selected row through a service with the reason typed beside them;
    refusals are listed one by one."""

    action_form = ReasonActionForm

    def _each(self, request, queryset, call, done_message):
        done, refused = 0, []
        for obj in queryset.order_by("pk"):
            try:
                call(obj.pk)
            except ServiceError as exc:
                refused.append(f"{obj}: {exc.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return False  # orders, statements and the trail hang on it: suspend or withdraw it instead


# --- operators, brands, contracts ----------------------------------------------------------------

class OperatorAddForm(ServiceForm):
    business_number = BusinessNumberField()
    brand_names = forms.CharField(label=_("운영 브랜드"), required=False,
                                  help_text=_("쉼표로 나눠 적습니다. 예: 배달의 진주 (없으면 비워 둡니다)"))

    class Meta:
        model = Operator
        fields = ("slug", "name", "business_number", "selected_on", "agreement_signed_on")

    def validate_unique(self):
        pass  # the service decides (a slug or business number already registered)

    def run_service(self, data):
        brands = [b.strip() for b in (data.get("brand_names") or "").split(",") if b.strip()]
        return services.register_operator(slug=data["slug"], name=data["name"],
                                          business_number=data["business_number"], selected_on=data["selected_on"],
                                          agreement_signed_on=data.get("agreement_signed_on"), brands=brands,
                                          actor=self.user)


class BrandInline(admin.TabularInline):
    model = Brand
    fields = ("name",)
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class ContractInline(admin.TabularInline):
    model = CommissionContract
    fields = ("effective_from", "rate", "waiver_monthly_food", "note", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


def _operator_action(status, description, done_message):
    @admin.action(description=description, permissions=["change"])
    def action(self, request, queryset):
        reason = request.POST.get("reason", "")
        self._each(request, queryset, lambda pk: services.set_operator_status(
            operator_id=pk, status=status, reason=reason, actor=request.user), done_message)

    return action


@admin.register(Operator)
class OperatorAdmin(TrailMixin, StatusActionsMixin, ServiceFormAdmin, SimpleHistoryAdmin):
    """The operators chosen by public call: registered through the service, suspended and reinstated by
    the actions (with the reason). Withdrawal is the wind-down (services.wind_down_operator: no new
    orders, statements closed out), on its own page, linked from each operator's page."""

    list_display = ("name", "slug", "brand_list", "rate_today", "status", "selected_on", "agreement_signed_on")
    list_filter = ("status",)
    search_fields = ("name", "slug", "=business_number")
    actions = ["suspend", "reinstate"]
    inlines = [BrandInline, ContractInline]
    READONLY = ("slug", "name", "business_number", "selected_on", "agreement_signed_on", "status", "status_reason",
                "status_changed_at", "created_at")

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []  # brands come with the form

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OperatorAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return (*OperatorAddForm.Meta.fields, "brand_names") if obj is None else (*self.READONLY, "wind_down", "trail")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else (*self.READONLY, "wind_down", "trail")

    @admin.display(description=_("운영 종료"))
    def wind_down(self, obj):
        if obj.status == OperatorStatus.WITHDRAWN:
            return _("운영 종료됨: 새 주문을 받지 않고 정산서가 마감되었습니다.")
        url = reverse("admin:delivery_statement_wind_down") + f"?operator={obj.pk}"
        return format_html('<a class="button" href="{}">{}</a>', url, _("운영 종료 (새 주문 중단, 정산서 마감)…"))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("brands")

    @admin.display(description=_("브랜드"))
    def brand_list(self, obj):
        return ", ".join(b.name for b in obj.brands.all()) or "—"

    @admin.display(description=_("오늘 수수료율"))
    def rate_today(self, obj):
        contract = selectors.contract_on(obj.pk, months.seoul(timezone.now()).date())
        return contract.rate if contract else "—"

    suspend = _operator_action("suspended", _("선택한 운영사 운영 정지 (사유 필요)"), _("운영사 %(n)d곳을 정지했습니다."))
    reinstate = _operator_action("active", _("선택한 운영사 운영 재개 (사유 필요)"), _("운영사 %(n)d곳의 운영을 재개했습니다."))


@admin.register(Brand)
class BrandAdmin(ReadOnlyAdmin):
    """Brands are registered with their operator (OperatorAdmin); shown here with who runs them."""

    list_display = ("name", "operator")
    list_select_related = ("operator",)


class ContractAddForm(ServiceForm):
    class Meta:
        model = CommissionContract
        fields = ("operator", "rate", "effective_from", "waiver_monthly_food", "note")

    def validate_unique(self):
        pass  # the service decides (the same operator and day twice)

    def run_service(self, data):
        return services.add_contract(operator_id=data["operator"].pk, rate=data["rate"],
                                     effective_from=data["effective_from"],
                                     waiver_monthly_food=data["waiver_monthly_food"], note=data.get("note") or "",
                                     actor=self.user)


@admin.register(CommissionContract)
class CommissionContractAdmin(TrailMixin, ServiceFormAdmin, SimpleHistoryAdmin):
    """A contract is added for today or a later day and never edited: a change of rate is a new
    contract from a new day, so the orders already reported keep theirs (their history is here)."""

    list_display = ("operator", "rate", "effective_from", "waiver_monthly_food", "in_force", "created_by")
    list_filter = ("operator",)
    list_select_related = ("operator", "created_by")
    form = ContractAddForm

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*ContractAddForm.Meta.fields, "created_by", "created_at", "trail")

    def get_fields(self, request, obj=None):
        return ContractAddForm.Meta.fields if obj is None else self.get_readonly_fields(request, obj)

    @admin.display(description=_("적용 중"), boolean=True)
    def in_force(self, obj):
        return rules.contract_in_force(obj.effective_from, today=months.seoul(timezone.now()).date())


# --- stores ----------------------------------------------------------------------------------------

class ListingInline(admin.TabularInline):
    model = StoreListing
    fields = ("operator", "brand", "source", "api_client", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class PendingFirst(admin.SimpleListFilter):
    title = _("승인 대기")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("pending", _("승인 대기만"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(status=StoreStatus.PENDING)
        return queryset


def _store_action(status, description, done_message):
    @admin.action(description=description, permissions=["change"])
    def action(self, request, queryset):
        reason = request.POST.get("reason", "")
        self._each(request, queryset, lambda pk: services.set_store_status(
            store_id=pk, status=status, reason=reason, actor=request.user), done_message)

    return action


@admin.register(Store)
class StoreAdmin(TrailMixin, StatusActionsMixin, admin.ModelAdmin):
    """The registry: the approval queue first (pending, oldest application first), then the rest;
    approve (one or many at once), suspend, reinstate and withdraw with the actions. Applications come
    from the operators (API) and the owners (/delivery/apply/), so stores are not added here."""

    list_display = ("name", "business_number_display", "category", "dong", "status", "operator_list", "voucher",
                    "created_at")
    list_filter = (PendingFirst, "status", "category", "dong", "listings__operator", "listings__brand")
    search_fields = ("name", "=business_number")
    search_help_text = _("상호(일부) 또는 사업자등록번호")
    list_per_page = 100
    inlines = [ListingInline]
    actions = ["approve", "suspend", "reinstate", "withdraw"]
    FIELDS = ("business_number_display", "name", "category", "address", "dong", "phone", "owner", "merchant",
              "status", "status_reason", "status_changed_at", "approved_at", "created_at")
    fields = (*FIELDS, "trail")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("listings__operator")

    def get_ordering(self, request):
        # the approval queue: pending first, oldest application first
        queue = Case(When(status=StoreStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
        return (queue.asc(), "created_at", "id")

    def get_search_results(self, request, queryset, search_term):
        number = bizno.normalize(search_term.strip())
        if len(number) == 10 and number.isascii() and number.isdigit():
            return queryset.filter(business_number=number), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("사업자등록번호"), ordering="business_number")
    def business_number_display(self, obj):
        return bizno.format_number(obj.business_number)

    @admin.display(description=_("입점 운영사"))
    def operator_list(self, obj):
        return format_html_join(", ", "{}", ((li.operator.slug,) for li in obj.listings.all())) or "—"

    @admin.display(description=_("상품권 가맹점"), boolean=True)
    def voucher(self, obj):
        return obj.merchant_id is not None

    @admin.action(description=_("선택한 가맹점 승인 (승인 대기만)"), permissions=["change"])
    def approve(self, request, queryset):
        try:
            result = services.approve_stores(store_ids=list(queryset.values_list("pk", flat=True)),
                                             actor=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return
        if result.approved:
            self.message_user(request, _("가맹점 %(n)d곳을 승인했습니다.") % {"n": len(result.approved)},
                              messages.SUCCESS)
        if result.skipped:
            self.message_user(request, _("승인 대기가 아니어서 건너뛴 가맹점 %(n)d곳: %(ids)s") % {
                "n": len(result.skipped), "ids": ", ".join(f"#{pk} ({status})" for pk, status in result.skipped)},
                messages.WARNING)

    suspend = _store_action(StoreStatus.SUSPENDED, _("선택한 가맹점 정지 (사유 필요)"), _("가맹점 %(n)d곳을 정지했습니다."))
    reinstate = _store_action(StoreStatus.APPROVED, _("선택한 정지 가맹점 재개 (사유 필요)"),
                              _("가맹점 %(n)d곳을 다시 승인했습니다."))
    withdraw = _store_action(StoreStatus.WITHDRAWN, _("선택한 가맹점 탈퇴 처리 (사유 필요)"), _("가맹점 %(n)d곳을 탈퇴 처리했습니다."))


class OrderMonthFilter(MonthFilter):
    """The last 24 months (Asia/Seoul) by the order's month: vouchers' month filter, titled for orders."""

    title = _("귀속 월")


class OrderEventInline(admin.TabularInline):
    model = DeliveryEvent
    fk_name = "order"
    fields = ("at", "kind", "actor", "before", "after", "note")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-at",)
    verbose_name_plural = _("처리 기록")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "ordered_at", "month", "operator", "store", "external_id", "payment_method", "status",
                    "food", "fee", "rate", "waived", "commission_krw")
    list_filter = ("operator", "status", "payment_method", OrderMonthFilter)
    list_select_related = ("operator", "store")
    search_fields = ("store__name", "=store__business_number", "=external_id")
    search_help_text = _("가맹점 상호, 사업자등록번호(숫자 10자리) 또는 운영사 주문번호")
    show_full_result_count = False
    list_per_page = 100
    ordering = ("-ordered_at", "-id")
    inlines = [OrderEventInline]

    @admin.display(description=_("음식값"), ordering="food_amount")
    def food(self, obj):
        return format_krw(obj.food_amount)

    @admin.display(description=_("배달비"), ordering="delivery_fee")
    def fee(self, obj):
        return format_krw(obj.delivery_fee)

    @admin.display(description=_("수수료율"))
    def rate(self, obj):
        return f"{obj.commission_rate * 100:.2f}%"

    @admin.display(description=_("면제 음식값"))
    def waived(self, obj):
        return format_krw(obj.commission_waived) if obj.commission_waived else "-"

    @admin.display(description=_("수수료"), ordering="commission")
    def commission_krw(self, obj):
        return format_krw(obj.commission)


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


class StatementMonthFilter(MonthFilter):
    """The last 24 months, computed (never a DISTINCT over the table): vouchers' month filter."""


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
