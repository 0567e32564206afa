import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import Pipeline
from crm.services.pipelines import pipeline_create, pipeline_update, stage_create, stage_delete, stages_reorder
from tests.crm.deal_factories import DealFactory, make_pipeline, stage

pytestmark = pytest.mark.django_db


def names(pipeline):
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def test_stages_are_ordered_inserted_and_reordered(admin_user):
    pipeline = make_pipeline()
    stage_create(user=admin_user, pipeline=pipeline, name="Demo", probability=45, order=2)
    assert names(pipeline) == ["Lead", "Qualified", "Demo", "Proposal", "Won", "Lost"]
    ids = list(pipeline.stages.order_by("order").values_list("id", flat=True))
    stages_reorder(user=admin_user, pipeline=pipeline, stage_ids=[ids[1], ids[0], *ids[2:]])
    assert names(pipeline) == ["Qualified", "Lead", "Demo", "Proposal", "Won", "Lost"]
    with pytest.raises(ValidationError):
        stages_reorder(user=admin_user, pipeline=pipeline, stage_ids=ids[:-1])
    with pytest.raises(ValidationError):
        stage_create(user=admin_user, pipeline=pipeline, name="lead")


def test_only_one_default_pipeline_and_admin_only(admin_user, sales_user):
    first = make_pipeline()
    second = pipeline_create(user=admin_user, name="Partners", is_default=True)
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    pipeline_update(user=admin_user, pipeline=first, is_default=True)
    assert list(Pipeline.objects.filter(is_default=True)) == [first]
    with pytest.raises(PermissionDenied):
        pipeline_create(user=sales_user, name="Mine")
    with pytest.raises(ValidationError):
        pipeline_create(user=admin_user, name="partners")


def test_stage_with_deals_cannot_be_deleted(admin_user, sales_user):
    pipeline = make_pipeline()
    DealFactory(owner=sales_user, pipeline=pipeline)
    with pytest.raises(ValidationError):
        stage_delete(user=admin_user, stage=stage(pipeline, "Lead"))
    stage_delete(user=admin_user, stage=stage(pipeline, "Qualified"))
    assert "Qualified" not in names(pipeline)
