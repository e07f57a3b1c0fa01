from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the beat-scheduled heartbeat task.

    A fresh row proves the whole path works: beat schedules, the broker delivers, a worker runs
    it and reaches the database.
    """

    hostname = models.CharField(max_length=255, primary_key=True)
    last_seen_at = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.hostname


class RelayFinish(models.Model):
    """The end of one benchmark relay chain (``ops.bench_relay``): when the last hop ran."""

    run = models.CharField(max_length=40)
    chain = models.PositiveIntegerField()
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "chain"], name="relay_finish_once")]

    def __str__(self) -> str:
        return f"{self.run}/{self.chain}"
