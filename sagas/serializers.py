from rest_framework import serializers

from .models import Saga, SagaStep


class SagaStepOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SagaStep
        fields = ["name", "direction", "status", "attempts", "started_at", "finished_at", "error"]
        read_only_fields = fields


class SagaOutputSerializer(serializers.ModelSerializer):
    saga_id = serializers.UUIDField(source="id", read_only=True)
    order_id = serializers.UUIDField(source="subject_id", read_only=True, allow_null=True)
    steps = SagaStepOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Saga
        fields = [
            "saga_id",
            "type",
            "state",
            "order_id",
            "current_step",
            "steps",
            "failure_code",
            "failure_detail",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
