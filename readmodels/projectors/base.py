from collections.abc import Callable, Hashable, Iterable, Sequence

from django.db.models import Model

from eventlog.models import Event

READ_ALIAS = "read"

# Order statuses in which the customer's money stays taken (API.md: total_spent).
PAID_STATUSES = frozenset({"CONFIRMED", "SHIPPED"})


class Projector:
    """Keeps some read models up to date from events.

    A subclass names itself, lists the models it owns (so a rebuild can clear them) and says
    what it consumes by its handlers: ``on_T`` handles events of type ``T``. The runner
    (``readmodels.projection``) hands it a batch of events, in log order, inside the
    transaction that also moves its checkpoint.
    """

    name: str
    models: tuple[type[Model], ...] = ()
    # Event types that share one handler: {method name: the types it handles}.
    shared_handlers: dict[str, tuple[str, ...]] = {}

    def handler_for(self, event_type: str) -> Callable | None:
        for method, event_types in self.shared_handlers.items():
            if event_type in event_types:
                return getattr(self, method)
        return getattr(self, f"on_{event_type}", None)

    def handled_types(self) -> frozenset[str]:
        own = frozenset(attribute[3:] for attribute in dir(self) if attribute.startswith("on_"))
        return own.union(*self.shared_handlers.values())

    def apply_batch(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        for model in self.models:
            model.objects.using(READ_ALIAS).all().delete()


class RowProjector(Projector):
    """A projector whose rows are keyed by their primary key and changed by events in place.

    A batch costs two statements whatever its size: one read of every row its events touch, and
    one ``INSERT ... ON CONFLICT DO UPDATE`` of the rows as the events left them. In between the
    handlers change the rows in memory, in log order: ``on_T(rows, event)`` finds its rows in
    ``rows`` (by key; absent when there is none yet) and adds the rows it creates. No other
    process writes these rows meanwhile: the checkpoint's lock, held for the batch, makes this
    projector their only writer.
    """

    model: type[Model]

    @property
    def models(self) -> tuple[type[Model], ...]:
        return (self.model,)

    def keys(self, event: Event) -> Iterable[Hashable]:
        """The keys of the rows ``event`` may change."""
        raise NotImplementedError

    def apply_batch(self, events: Sequence[Event]) -> None:
        handled = [(event, self.handler_for(event.type)) for event in events]
        handled = [(event, handler) for event, handler in handled if handler is not None]
        if not handled:
            return
        rows = Rows(self.model)
        keys = {rows.key(key) for event, _ in handled for key in self.keys(event)}
        rows.update(self.model.objects.in_bulk(list(keys)))
        for event, handler in handled:
            handler(rows, event)
        if rows:
            meta = self.model._meta
            self.model.objects.bulk_create(
                list(rows.values()),
                update_conflicts=True,
                unique_fields=[meta.pk.name],
                update_fields=[field.name for field in meta.concrete_fields if not field.primary_key],
            )


class Rows(dict):
    """Rows by primary key, which events carry as JSON (a UUID as a string, a day as text):
    looked up (``get``) and stored (``rows[key] = row``) under the key's Python value, as
    ``in_bulk`` returns it."""

    def __init__(self, model: type[Model]):
        super().__init__()
        self.key = model._meta.pk.to_python

    def get(self, key, default=None):
        return default if key is None else super().get(self.key(key), default)

    def __setitem__(self, key, row) -> None:
        super().__setitem__(self.key(key), row)
