"""API: pipelines and stages (read for everyone signed in, write for admins, through the services)."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from crm.api.common_sales import AdminWritesOnly, service_errors
from crm.models import Pipeline, Stage
from crm.services.pipelines import (
    pipeline_create,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_update,
)


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "pipeline", "name", "order", "probability", "is_won", "is_lost"]
        extra_kwargs = {"order": {"required": False}, "probability": {"min_value": 0, "max_value": 100}}
        validators = []  # uniqueness of order and name per pipeline is the service's job


class StageInlineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "order", "probability", "is_won", "is_lost"]
        read_only_fields = ["id", "order"]


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageInlineSerializer(many=True, required=False)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "order", "stages", "created_at"]
        read_only_fields = ["id", "created_at"]


class PipelineViewSet(viewsets.ModelViewSet):
    serializer_class = PipelineSerializer
    permission_classes = [IsAuthenticated, AdminWritesOnly]
    search_fields = ["name"]
    ordering_fields = ["order", "name", "created_at"]
    queryset = Pipeline.objects.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("order"))
                                                 ).order_by("-is_default", "order", "name")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors():
            pipeline = pipeline_create(user=request.user, name=data["name"], is_default=data.get("is_default", False),
                                       order=data.get("order", 0), stages=[dict(s) for s in data.get("stages", [])])
        return Response(self.get_serializer(self.get_queryset().get(pk=pipeline.pk)).data,
                        status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        pipeline = self.get_object()
        serializer = self.get_serializer(pipeline, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "stages" in data:
            raise serializers.ValidationError({"stages": "Change stages through /stages/."})
        with service_errors():
            pipeline_update(user=request.user, pipeline=pipeline, name=data.get("name"),
                            is_default=data.get("is_default"), order=data.get("order"))
        return Response(self.get_serializer(self.get_queryset().get(pk=pipeline.pk)).data)

    def destroy(self, request, *args, **kwargs):
        with service_errors():
            pipeline_delete(user=request.user, pipeline=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class StageViewSet(viewsets.ModelViewSet):
    serializer_class = StageSerializer
    permission_classes = [IsAuthenticated, AdminWritesOnly]
    filterset_fields = ["pipeline", "is_won", "is_lost"]
    ordering_fields = ["order", "name"]
    queryset = Stage.objects.order_by("pipeline_id", "order")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with service_errors():
            stage = stage_create(user=request.user, **data)
        return Response(self.get_serializer(stage).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        stage = self.get_object()
        serializer = self.get_serializer(stage, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "pipeline" in data and data["pipeline"].pk != stage.pipeline_id:
            raise serializers.ValidationError({"pipeline": "A stage cannot move to another pipeline."})
        with service_errors():
            stage = stage_update(user=request.user, stage=stage, name=data.get("name"),
                                 probability=data.get("probability"), is_won=data.get("is_won"),
                                 is_lost=data.get("is_lost"))
        return Response(self.get_serializer(stage).data)

    def destroy(self, request, *args, **kwargs):
        with service_errors():
            stage_delete(user=request.user, stage=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
