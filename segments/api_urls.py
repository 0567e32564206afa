from django.urls import path
from rest_framework.routers import SimpleRouter

from segments.api import SegmentViewSet, profile_memberships
from segments.destinations_api import DeadLetterViewSet, DestinationViewSet
from segments.scoring_api import ScoreModelViewSet

router = SimpleRouter()
router.register("segments", SegmentViewSet, basename="api-segment")
router.register(r"segments/(?P<segment_pk>[0-9]+)/destinations", DestinationViewSet, basename="api-destination")
router.register("dead-letters", DeadLetterViewSet, basename="api-dead-letter")
router.register("score-models", ScoreModelViewSet, basename="api-score-model")
urlpatterns = [
    path("segments/profiles/<int:profile_id>/memberships/", profile_memberships, name="api-profile-memberships"),
    *router.urls,
]
