"""Partner API routes of `delivery` (mounted at /api/v1/delivery/)."""
from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from delivery.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

# Ids are 1–18 digits: anything else (text, 10^30) never reaches a query and answers JSON 404.
ID = r"(?P<pk>[0-9]{1,18})"

urlpatterns = [
    path("operators/", views.OperatorListView.as_view(), name="operator-list"),
    path("stores/", views.StoreListCreateView.as_view(), name="store-list"),
    re_path(rf"^stores/{ID}/$", views.StoreDetailView.as_view(), name="store-detail"),
    re_path(rf"^stores/{ID}/approve/$", views.StoreApproveView.as_view(), name="store-approve"),
    path("directory/", views.DirectoryView.as_view(), name="directory"),
    # orders
    path("orders/", views.OrderListCreateView.as_view(), name="order-list"),
    re_path(rf"^orders/{ID}/$", views.OrderDetailView.as_view(), name="order-detail"),
    re_path(rf"^orders/{ID}/cancel/$", views.OrderCancelView.as_view(), name="order-cancel"),
    # statements
    path("statements/", views.StatementListView.as_view(), name="statement-list"),
    path("savings/", views.SavingsView.as_view(), name="savings"),
    *router.urls,
]
