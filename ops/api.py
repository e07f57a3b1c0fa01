from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from .tasks import heartbeat


class WorkerPingApi(APIView):
    """Ask a worker to report alive now, through the same broker and queues the sagas use.

    The answer comes back asynchronously: the worker's heartbeat shows in ``GET /healthz``.
    """

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="ops_worker_ping",
        request=None,
        responses={202: inline_serializer("WorkerPingAccepted", {"detail": serializers.CharField()})},
        tags=["operations"],
    )
    def post(self, request):
        heartbeat.delay_on_commit()
        return Response(
            {"detail": "A worker will record its heartbeat; see /healthz."}, status=status.HTTP_202_ACCEPTED
        )
