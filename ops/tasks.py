from celery import shared_task

from . import services


@shared_task(name="ops.heartbeat", bind=True, ignore_result=True)
def heartbeat(self) -> None:
    services.heartbeat_record(hostname=self.request.hostname or "unknown")


@shared_task(name="ops.bench_relay", ignore_result=True)
def bench_relay(*, run: str, chain: int, hops_left: int) -> None:
    """One hop of a benchmark relay: a message that does nothing but send the next one, to
    measure what the broker and the workers can do on their own."""
    if hops_left > 0:
        bench_relay.delay(run=run, chain=chain, hops_left=hops_left - 1)
    else:
        services.relay_finished(run=run, chain=chain)
