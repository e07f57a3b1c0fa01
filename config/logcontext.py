"""What a log line is about — saga, order, step — attached to every record of a unit of work.

A unit of work (an HTTP request, a Celery task) opens a scope with what it knows; code inside
binds what it learns (the saga it started, the order it placed). ``LogContextFilter`` copies the
scope onto each record so that the formatter writes them as fields of the line. Binding outside
any scope does nothing: a field never leaks from one unit of work into the next.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

FIELDS = ("saga_id", "order_id", "step", "direction", "task", "request_id")

_scope: ContextVar[dict[str, str] | None] = ContextVar("log_scope", default=None)


def _known(fields: dict[str, Any]) -> dict[str, str]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not log context fields: {sorted(unknown)}")
    return {name: str(value) for name, value in fields.items() if value not in (None, "")}


def enter_log_scope(**fields: Any) -> Token:
    """Open a scope inside the current one (its fields are kept); close it with the token."""
    return _scope.set({**(_scope.get() or {}), **_known(fields)})


def exit_log_scope(token: Token) -> None:
    _scope.reset(token)


@contextmanager
def log_scope(**fields: Any) -> Iterator[None]:
    token = enter_log_scope(**fields)
    try:
        yield
    finally:
        exit_log_scope(token)


def bind_log_context(**fields: Any) -> None:
    """Add fields to the open scope, for the rest of the unit of work."""
    scope = _scope.get()
    if scope is not None:
        # A new mapping, not an update in place: a context copied from this one (a thread, a
        # task) keeps what it had, and closing the scope drops what was bound in it.
        _scope.set({**scope, **_known(fields)})


def current_log_context() -> dict[str, str]:
    return dict(_scope.get() or {})


class LogContextFilter(logging.Filter):
    """Sets the scope's fields as attributes of each record; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_scope.get() or {}).items():
            setattr(record, name, value)
        return True
