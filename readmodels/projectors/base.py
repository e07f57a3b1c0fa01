from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import ClassVar

from django.db.models import Model

from eventlog.contracts import DomainEvent

from ..recorded import Recorded

READ_ALIAS = "read"

# Order statuses in which the customer's money stays taken (API.md: total_spent).
PAID_STATUSES = frozenset({"CONFIRMED", "SHIPPED"})


class Projector:
    """Keeps some read models up to date from events.

    A subclass names itself, lists the models it owns (so a rebuild can clear them) and declares
    what it consumes: ``handles`` maps each event class it reads to the name of its method. The
    runner (``readmodels.projection``) reads only those types from the log and hands the
    projector a batch of them, in log order, inside the transaction that also moves its
    checkpoint.
    """

    name: str
    models: tuple[type[Model], ...] = ()
    handles: ClassVar[Mapping[type[DomainEvent], str]] = {}

    def __init__(self):
        self._methods = {kind.TYPE: method for kind, method in self.handles.items()}
        missing = sorted(
            method for method in self._methods.values() if not callable(getattr(self, method, None))
        )
        if missing:
            raise TypeError(f"{type(self).__name__} handles events with methods it lacks: {missing}")

    def consumes(self) -> dict[str, type[DomainEvent]]:
        """The event types it reads, by name."""
        return {kind.TYPE: kind for kind in self.handles}

    def handler_for(self, event_type: str) -> Callable | None:
        method = self._methods.get(event_type)
        return None if method is None else getattr(self, method)

    def apply_batch(self, events: Sequence[Recorded]) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        for model in self.models:
            model.objects.using(READ_ALIAS).all().delete()


class RowProjector(Projector):
    """A projector whose rows are keyed by their primary key and changed by events in place.

    A batch costs two statements whatever its size: one read of every row its events touch, and
    one ``INSERT ... ON CONFLICT DO UPDATE`` of the rows as the events left them. In between the
    handlers change the rows in memory, in log order: a handler ``(rows, recorded)`` finds its
    rows in ``rows`` (by key; absent when there is none yet) and adds the rows it creates. No other
    process writes these rows meanwhile: the checkpoint's lock, held for the batch, makes this
    projector their only writer.
    """

    model: type[Model]

    @property
    def models(self) -> tuple[type[Model], ...]:
        return (self.model,)

    def keys(self, recorded: Recorded) -> Iterable[Hashable]:
        """The keys of the rows ``recorded`` may change."""
        raise NotImplementedError

    def apply_batch(self, events: Sequence[Recorded]) -> None:
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
