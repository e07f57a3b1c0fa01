"""The embedded broker: kombu's filesystem transport, with messages written atomically.

kombu's own transport creates the message file and then writes it; a worker listing the folder
in between reads an empty file, and the JSON error stops the worker. Here a message is written
in a staging folder beside the queue folder and renamed in (atomic on one filesystem), so a
reader only ever sees whole messages.

Without an event loop, the worker waits in ``drain_events`` for up to two seconds before it looks
at its shutdown flag again; here a wait ends after one polling interval, so a stopped worker
notices within it.
"""

import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staging = os.path.join(os.path.dirname(self.data_folder_out.rstrip(os.sep)), "staging")
        os.makedirs(staging, exist_ok=True)
        staged = os.path.join(staging, name)
        with open(staged, "wb") as message:
            message.write(str_to_bytes(dumps(payload)))
        os.replace(staged, os.path.join(self.data_folder_out, name))


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection, timeout=None):
        if timeout is not None and self.polling_interval:
            timeout = min(timeout, self.polling_interval)
        return super().drain_events(connection, timeout=timeout)


def register() -> None:
    """Make ``filesystem://`` mean this transport in every process that loads the Celery app."""
    TRANSPORT_ALIASES["filesystem"] = "config.broker:Transport"
