import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def exception_handler(exc, context):
    """DRF's handler, plus two answers it lacks.

    A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, and a database that cannot be reached is a
    503 the client may retry, instead of a 500 either way.
    """
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "Request body too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return Response(
            {"detail": "The database is unavailable; retry shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return None


class Conflict(APIException):
    """The resource's state does not allow the command now (409 with a ``detail``)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource's state does not allow this command."
    default_code = "conflict"
