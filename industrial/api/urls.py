"""Partner API routes of `industrial` (mounted at /api/v1/industrial/)."""
from rest_framework.routers import DefaultRouter

from industrial.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("projects", views.ProjectViewSet, basename="project")
router.register("support-requests", views.SupportRequestViewSet, basename="support-request")
router.register("events", views.EventViewSet, basename="event")

urlpatterns = router.urls
