"""Partner API routes of `delivery` (mounted at /api/v1/delivery/)."""
from rest_framework.routers import DefaultRouter

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = router.urls
