from django.urls import path
from rest_framework.routers import SimpleRouter

from segments.api import SegmentViewSet, profile_memberships
from segments.scoring_api import ScoreModelViewSet

router = SimpleRouter()
router.register("segments", SegmentViewSet, basename="api-segment")
router.register("score-models", ScoreModelViewSet, basename="api-score-model")
urlpatterns = [
    path("segments/profiles/<int:profile_id>/memberships/", profile_memberships, name="api-profile-memberships"),
    *router.urls,
]
