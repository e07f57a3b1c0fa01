"""One budget of password guesses per client, shared by the token endpoint and the admin login.

The client is the connection's address: DRF's ``get_ident`` reads ``X-Forwarded-For`` only when
``NUM_PROXIES`` says how many proxies in front of us append to it (``DJANGO_NUM_PROXIES``, 0 by
default), so a client cannot rotate that header to get a fresh budget.
"""

from rest_framework.throttling import SimpleRateThrottle


class LoginRateThrottle(SimpleRateThrottle):
    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
