"""The signal the read side listens to. It is sent after a transaction that appended events has
committed, in the process that committed it; receivers are wired in ``readmodels/wiring.py``."""

from django.dispatch import Signal

# Sent with ``position``: the highest position the committed transaction appended.
events_committed = Signal()
