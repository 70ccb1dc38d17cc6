"""Citizen pages of `vouchers` (the shop QR page /pay/<code>/ is mounted at the root: jinju_portal/urls.py)."""
from django.urls import path

from vouchers import views

app_name = "vouchers"

urlpatterns = [
    path("", views.index, name="index"),
    path("verify/", views.verify, name="verify"),
    path("verify/callback/", views.verify_callback, name="verify_callback"),
    path("buy/", views.buy, name="buy"),
    path("reservations/<int:reservation_id>/", views.reservation, name="reservation"),
    path("reservations/<int:reservation_id>/pay/", views.pay, name="pay"),
    path("reservations/<int:reservation_id>/sandbox/", views.sandbox, name="sandbox"),
    path("reservations/<int:reservation_id>/return/", views.payment_return, name="payment_return"),
    path("reservations/<int:reservation_id>/give-up/", views.give_up, name="give_up"),
    path("payments/notify/", views.payment_notify, name="payment_notify"),
    path("my/", views.mine, name="mine"),
    path("my/purchases/<int:purchase_id>/cancel/", views.cancel, name="cancel"),
    path("my/balance-refund/", views.balance_refund, name="balance_refund"),
    path("my/balance-refund/done/", views.balance_refund_done, name="balance_refund_done"),
    path("my/pay/", views.pay_code, name="pay_code"),
    path("my/pay/codes/<int:code_id>/", views.pay_code_status, name="pay_code_status"),
    path("my/payments/<int:payment_id>/", views.payment_receipt, name="payment"),
    path("merchants/", views.merchants, name="merchants"),
]
