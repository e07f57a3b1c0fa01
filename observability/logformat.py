"""Log line formats: JSON for machines (the default), ``key=value`` text for people reading a
terminal (``LOG_FORMAT=text``). Both write the context fields of ``config.logcontext``."""

import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

from config.logcontext import FIELDS

BASE_FIELDS = ("time", "level", "logger", "message")


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line, with a fixed set of keys.

    Other extras attached to records are dropped: Celery's carry the task's arguments (customer
    addresses), Django's the request object, neither belongs in a log line.
    """

    KEPT = frozenset({*BASE_FIELDS, *FIELDS, "exc_info", "stack_info"})

    def __init__(self):
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatTime(self, record, datefmt=None):
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        for key in set(log_data) - self.KEPT:
            del log_data[key]


class TextLineFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record):
        line = super().format(record)
        context = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS if hasattr(record, name))
        if not context:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{context}]{newline}{rest}"
