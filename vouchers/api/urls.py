"""Partner API routes of `vouchers` (mounted at /api/v1/vouchers/)."""
from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from vouchers.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tranches", views.TrancheViewSet, basename="tranche")

# Ids are 1–18 digits: anything else (text, 10^30) never reaches a query and answers JSON 404.
ID = r"(?P<pk>[0-9]{1,18})"

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="plans"),
    path("purchases/", views.PurchaseCreateView.as_view(), name="purchase-create"),
    re_path(rf"^purchases/{ID}/$", views.PurchaseDetailView.as_view(), name="purchase-detail"),
    re_path(rf"^purchases/{ID}/cancel/$", views.PurchaseCancelView.as_view(), name="purchase-cancel"),
    path("merchants/", views.MerchantDirectoryView.as_view(), name="merchant-directory"),
    path("buyers/usage/", views.BuyerUsageView.as_view(), name="buyer-usage"),
    path("buyers/wallet/", views.WalletView.as_view(), name="buyer-wallet"),
    path("pay-codes/", views.PayCodeCreateView.as_view(), name="pay-code-create"),
    path("payments/", views.PaymentCreateView.as_view(), name="payment-create"),
    path("wallet-payments/", views.WalletPaymentCreateView.as_view(), name="wallet-payment-create"),
    re_path(rf"^payments/{ID}/$", views.PaymentDetailView.as_view(), name="payment-detail"),
    re_path(rf"^payments/{ID}/refund/$", views.PaymentRefundView.as_view(), name="payment-refund"),
    path("exchanges/", views.ExchangeCreateView.as_view(), name="exchange-create"),
    re_path(rf"^exchanges/{ID}/$", views.ExchangeDetailView.as_view(), name="exchange-detail"),
    path("balance-refunds/", views.BalanceRefundView.as_view(), name="balance-refund-create"),
    path("settlements/", views.SettlementListView.as_view(), name="settlement-list"),
    *router.urls,
]
