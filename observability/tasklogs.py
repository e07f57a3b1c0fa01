"""Log context for Celery tasks, and Celery's own logging left to Django's ``LOGGING``.

Every saga command and reply is a task whose keyword arguments name the saga, the step and,
in the command's data, the order. A scope opened when the task starts and closed when it ends
puts them on every line logged meanwhile, Celery's "Task ... succeeded in 0.02s" included.
"""

from celery import signals

from config.logcontext import enter_log_scope, exit_log_scope

# Scopes of the tasks running in this process, by task id (prerun and postrun are two calls).
_open_scopes = {}


def connect() -> None:
    signals.setup_logging.connect(keep_django_logging, weak=False, dispatch_uid="observability.logging")
    signals.task_prerun.connect(open_task_scope, weak=False, dispatch_uid="observability.task_prerun")
    signals.task_postrun.connect(close_task_scope, weak=False, dispatch_uid="observability.task_postrun")


def keep_django_logging(**kwargs) -> None:
    """A receiver of ``setup_logging`` tells Celery not to replace the root logger's handlers,
    so worker and beat write the same structured lines as web (``LOG_LEVEL`` sets the level)."""


def open_task_scope(task_id=None, task=None, kwargs=None, **_) -> None:
    kwargs = kwargs or {}
    data = kwargs.get("data")
    _open_scopes[task_id] = enter_log_scope(
        task=getattr(task, "name", None),
        saga_id=kwargs.get("saga_id"),
        order_id=data.get("order_id") if isinstance(data, dict) else None,
        step=kwargs.get("step"),
        direction=kwargs.get("direction"),
    )


def close_task_scope(task_id=None, **_) -> None:
    token = _open_scopes.pop(task_id, None)
    if token is not None:
        exit_log_scope(token)
