"""Citizen pages of `vouchers`."""
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
    path("merchants/", views.merchants, name="merchants"),
]
