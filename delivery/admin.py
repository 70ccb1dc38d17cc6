"""Staff pages of `delivery`; every write goes through a service."""
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from delivery.models import DeliveryEvent, Order
from jinju_portal.money import format_krw
from vouchers import months
from vouchers.admin_base import ReadOnlyAdmin


# --- orders: read-only, with filters ---------------------------------------------------------------

class OrderMonthFilter(admin.SimpleListFilter):
    """The last 24 months (Asia/Seoul), computed rather than read with a DISTINCT over every order."""

    title = _("귀속 월")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        current = months.month_of(timezone.now())
        return [(m, m) for m in (months.add_months(current, -i) for i in range(24))]

    def queryset(self, request, queryset):
        return queryset.filter(month=self.value()) if self.value() else queryset


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
