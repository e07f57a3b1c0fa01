from django.db.models import Prefetch, QuerySet

from .models import Saga, SagaStep


def saga_list() -> QuerySet[Saga]:
    return Saga.objects.prefetch_related(
        Prefetch("steps", queryset=SagaStep.objects.order_by("started_at", "id"))
    )
