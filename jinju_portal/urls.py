"""URL map: citizen pages (and /pay/<code>/, the shops' QR), the merchant's own pages (/merchant/),
the admin, /healthz, and the partner API under /api/v1/."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from jinju_portal import views
from jinju_portal.api.views import api_root
from vouchers import views as voucher_views

admin.site.site_header = _("진주시 경제지원 포털 관리")
admin.site.site_title = _("진주시 경제지원 포털")
admin.site.index_title = _("업무 관리")

api_v1 = [
    path("", api_root, name="api-root"),
    path("vouchers/", include(("vouchers.api.urls", "vouchers-api"))),
    path("delivery/", include(("delivery.api.urls", "delivery-api"))),
    path("industrial/", include(("industrial.api.urls", "industrial-api"))),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    path("vouchers/", include("vouchers.urls")),
    # the URL a shop's poster QR opens (short, printed): the citizen types the amount and pays
    path("pay/<str:merchant_code>/", voucher_views.merchant_pay, name="merchant_pay"),
    path("pay/<str:merchant_code>/confirm/", voucher_views.merchant_pay_confirm, name="merchant_pay_confirm"),
    path("merchant/", include("vouchers.merchant_urls")),
    path("delivery/", include("delivery.urls")),
    path("industrial/", include("industrial.urls")),
]

handler400 = "jinju_portal.api.errors.handler400"
handler403 = "jinju_portal.api.errors.handler403"
handler404 = "jinju_portal.api.errors.handler404"
handler500 = "jinju_portal.api.errors.handler500"
