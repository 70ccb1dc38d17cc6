"""What the vouchers admins share without importing vouchers/admin.py (the cash-out queue in
vouchers/fraud_admin.py is registered from there)."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and its trail: staff read these; every change goes through a service's own page."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
