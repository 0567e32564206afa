"""Routes of the sales API (pipelines, stages, deals, activities); included by crm/api/urls.py."""

from rest_framework.routers import SimpleRouter

from crm.api.activities import ActivityViewSet
from crm.api.deals import DealViewSet
from crm.api.pipelines import PipelineViewSet, StageViewSet

router = SimpleRouter()  # the root view comes from crm/api/urls.py
router.register("pipelines", PipelineViewSet, basename="api-pipeline")
router.register("stages", StageViewSet, basename="api-stage")
router.register("deals", DealViewSet, basename="api-deal")
router.register("activities", ActivityViewSet, basename="api-activity")

urlpatterns = router.urls
