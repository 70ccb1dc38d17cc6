"""The merchant's own pages of `vouchers`, mounted at /merchant/."""
from django.urls import path, re_path

from vouchers import merchant_views as views

app_name = "merchant"

urlpatterns = [
    path("", views.today, name="today"),
    path("today/fragment/", views.today_fragment, name="today_fragment"),
    path("pay/", views.take_payment, name="take_payment"),
    path("payments/", views.lookup, name="lookup"),
    # 승인번호: up to 10 digits, leading zeros optional (/merchant/payments/42/ is 0000000042)
    re_path(r"^payments/(?P<number>[0-9]{1,10})/$", views.payment, name="payment"),
    re_path(r"^payments/(?P<number>[0-9]{1,10})/refund/$", views.refund, name="refund"),
    path("settlements/", views.settlements, name="settlements"),
    path("staff/", views.staff, name="staff"),
    path("staff/<int:member_id>/deactivate/", views.deactivate, name="deactivate"),
    path("poster.pdf", views.poster_pdf, name="poster_pdf"),
    path("poster.svg", views.poster_svg, name="poster_svg"),
]
