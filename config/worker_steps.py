"""Worker bootsteps that make a Celery worker stop when it is asked to, and when it is orphaned.

Celery's warm shutdown only sets a flag that the worker's loop reads between two polls of the
broker, so a signal that lands while the loop waits is seen up to a poll timeout later. Waking the
loop from the signal handler makes an idle worker start its shutdown at once.

Supervisors and terminals send SIGTERM to the worker's whole process group (honcho on Ctrl-C,
a test's clean-up), pool processes included. A pool process that dies of it while it holds the
lock of the pool's shared task queue (the embedded broker's thread-based pool) leaves the main
process waiting on that lock for ever. So pool processes ignore SIGTERM and leave the shutdown
to the main process; a task over its time limit is still ended, with SIGKILL after the SIGTERM
it ignores.

A worker started by a supervisor that is itself killed (``make run``'s honcho, a test run) is
re-parented and keeps consuming with nobody to stop it. ``--exit-with-parent`` makes it notice and
shut down as if it had received SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

from celery import bootsteps
from celery.signals import worker_process_init, worker_shutting_down
from click import Option

logger = logging.getLogger(__name__)

PARENT_CHECK_SECONDS = 0.5

EXIT_WITH_PARENT_OPTION = Option(
    ("--exit-with-parent",),
    is_flag=True,
    default=False,
    help="Shut down (warm) when the process that started this worker is gone.",
)


class WakeLoopOnShutdown(bootsteps.StartStopStep):
    """Registers a pipe with the event loop and writes to it when a shutdown signal arrives.

    Only transports that run on the event loop (Redis, AMQP) have a hub; the embedded broker's
    loop returns to the worker every polling interval instead (``config.broker``).
    """

    requires = ("celery.worker.components:Hub",)

    def __init__(self, worker, **options):
        self.read_fd = self.write_fd = None

    def start(self, worker):
        if worker.hub is None:
            return
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        worker.hub.add_reader(self.read_fd, self._drain)
        worker_shutting_down.connect(self._wake, weak=False)

    def stop(self, worker):
        if self.read_fd is None:
            return
        worker_shutting_down.disconnect(self._wake)
        if worker.hub is not None:
            worker.hub.remove(self.read_fd)
        os.close(self.read_fd)
        os.close(self.write_fd)
        self.read_fd = self.write_fd = None

    def _wake(self, **kwargs) -> None:
        # A full pipe means earlier wake-ups are not drained yet: the loop is awake already.
        with contextlib.suppress(BlockingIOError):
            os.write(self.write_fd, b"\0")

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_fd, 512):
                pass


class ExitWithParent(bootsteps.StartStopStep):
    """With ``--exit-with-parent``, a worker whose parent process is gone sends itself SIGTERM:
    the same warm shutdown an operator would ask for, so running tasks finish first."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker, exit_with_parent: bool = False, **options):
        self.enabled = exit_with_parent
        self.parent_pid: int | None = None
        self.check = None

    def start(self, worker):
        if not self.enabled:
            return
        self.parent_pid = os.getppid()
        self.check = worker.timer.call_repeatedly(PARENT_CHECK_SECONDS, self._check_parent)

    def stop(self, worker):
        if self.check is not None:
            self.check.cancel()
            self.check = None

    def _check_parent(self) -> None:
        if os.getppid() == self.parent_pid:
            return
        logger.warning("worker's parent %s is gone; shutting down", self.parent_pid)
        self.check.cancel()
        os.kill(os.getpid(), signal.SIGTERM)


def leave_shutdown_to_the_main_process(**kwargs) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def install(app) -> None:
    worker_process_init.connect(leave_shutdown_to_the_main_process, weak=False)
    app.user_options["worker"].add(EXIT_WITH_PARENT_OPTION)
    app.steps["worker"].add(WakeLoopOnShutdown)
    app.steps["worker"].add(ExitWithParent)
