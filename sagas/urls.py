from django.urls import path

from .api import SagaDetailApi, SagaListApi, SagaRetryApi

urlpatterns = [
    path("sagas/", SagaListApi.as_view(), name="saga-list"),
    path("sagas/<uuid:saga_id>/", SagaDetailApi.as_view(), name="saga-detail"),
    path("sagas/<uuid:saga_id>/retry/", SagaRetryApi.as_view(), name="saga-retry"),
]
