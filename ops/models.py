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
