from collections.abc import Callable

from django.db.models import Model

from eventlog.models import Event

READ_ALIAS = "read"

# Order statuses in which the customer's money stays taken (API.md: total_spent).
PAID_STATUSES = frozenset({"CONFIRMED", "SHIPPED"})


def upsert(model: type[Model], *, defaults: dict, **key) -> None:
    """``update_or_create`` without its savepoint and row lock, a third of the statements: a
    projector is the only writer of its rows and runs holding its checkpoint's lock, so nothing
    can insert the same key between the UPDATE and the INSERT."""
    if not model.objects.filter(**key).update(**defaults):
        model.objects.create(**key, **defaults)


class Projector:
    """Keeps some read models up to date from events.

    A subclass names itself, lists the models it owns (so a rebuild can clear them) and handles
    an event type ``T`` in a method ``on_T(event)``. The runner (``readmodels.projection``) calls
    it inside the transaction that also moves its checkpoint.
    """

    name: str
    models: tuple[type[Model], ...] = ()

    def handler_for(self, event_type: str) -> Callable[[Event], None] | None:
        return getattr(self, f"on_{event_type}", None)

    def handled_types(self) -> set[str]:
        return {attribute[3:] for attribute in dir(self) if attribute.startswith("on_")}

    def apply(self, event: Event) -> bool:
        """Apply ``event`` if this projector cares; False if it does not."""
        handler = self.handler_for(event.type)
        if handler is None:
            return False
        handler(event)
        return True

    def reset(self) -> None:
        for model in self.models:
            model.objects.using(READ_ALIAS).all().delete()
