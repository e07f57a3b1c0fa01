"""One URL, two sides: a query view for GET and a command view for POST.

``/api/orders/`` lists orders from the read model and places an order through the orders
context; they are different views in different apps, joined here, at the composition root,
so that neither app imports the other.
"""

from rest_framework.views import APIView

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def command_and_query(*, query: type[APIView], command: type[APIView]) -> type[APIView]:
    class CommandAndQuery(query, command):
        def get_permissions(self):
            side = command if self.request.method in COMMAND_METHODS else query
            return [permission() for permission in side.permission_classes]

    CommandAndQuery.__name__ = f"{query.__name__}And{command.__name__}"
    CommandAndQuery.__qualname__ = CommandAndQuery.__name__
    CommandAndQuery.__doc__ = query.__doc__
    return CommandAndQuery
