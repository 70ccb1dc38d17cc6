"""Admin for partner API clients: issue in the shell, revoke here."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from jinju_portal.models import ApiClient
from jinju_portal.services import revoke_api_client


@admin.register(ApiClient)
class ApiClientAdmin(SimpleHistoryAdmin):
    list_display = ("name", "role", "operator_slug", "merchant_business_number", "key_prefix", "created_at",
                    "revoked_at")
    list_filter = ("role", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "key_prefix", "operator_slug", "merchant_business_number")
    readonly_fields = ("key_prefix", "created_at", "revoked_at")
    fields = ("name", "role", "operator_slug", "merchant_business_number", "throttle_rate", "key_prefix",
              "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Keys are issued with `manage.py issue_api_key`, which prints the key once.
        return False

    @admin.action(description=_("선택한 클라이언트의 키 폐기"))
    def revoke(self, request, queryset):
        for client in queryset:
            revoke_api_client(client=client)
        self.message_user(request, _("%(n)d개 키를 폐기했습니다.") % {"n": queryset.count()}, messages.SUCCESS)
