from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny

from .parsers import BoundedJSONParser
from .throttling import LoginRateThrottle


class TokenObtainApi(ObtainAuthToken):
    """Exchange a username and password for an API token (wrong credentials: 400).

    Throttled per client address so password guessing is slow while a person never notices; the
    admin login form draws on the same budget.
    """

    # No authentication here: a stale token a client still sends must not block getting a new one.
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        responses={200: inline_serializer("AuthToken", {"token": serializers.CharField()})},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
