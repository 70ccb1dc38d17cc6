"""Partner API routes of `delivery` (mounted at /api/v1/delivery/)."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from delivery.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = [
    # statements
    path("statements/", views.StatementListView.as_view(), name="statement-list"),
    path("savings/", views.SavingsView.as_view(), name="savings"),
    *router.urls,
]
