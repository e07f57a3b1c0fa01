from django.core.management.base import BaseCommand, CommandError

from sagas.models import Failpoint


class Command(BaseCommand):
    help = (
        "Switch chaos failpoints on or off (effective only with SAGA_FAILPOINTS_ENABLED=true). "
        "Examples: failpoint on payments.refund_payment FAIL; failpoint on sagas.record_reply DROP --times 3; "
        "failpoint off --all"
    )

    def add_arguments(self, parser):
        parser.add_argument("switch", choices=["on", "off", "list"])
        parser.add_argument(
            "task",
            nargs="?",
            help="Celery task name, e.g. inventory.reserve_stock; several separated by commas",
        )
        parser.add_argument("action", nargs="?", choices=Failpoint.Action.values)
        parser.add_argument("--times", type=int, help="Fire this many times, then stop (default: until off).")
        parser.add_argument("--all", action="store_true", help="With off: remove every failpoint.")

    def handle(self, *args, switch, task, action, times, all, **options):
        if switch == "list":
            for point in Failpoint.objects.order_by("task", "action"):
                remaining = "until off" if point.remaining is None else f"{point.remaining} left"
                self.stdout.write(f"{point.task} {point.action} ({remaining}, fired {point.fired})")
            return
        if switch == "off":
            points = Failpoint.objects.all() if all else Failpoint.objects.filter(task=task, action=action)
            deleted, _ = points.delete()
            self.stdout.write(f"{deleted} failpoint(s) removed")
            return
        if not task or not action:
            raise CommandError("on needs a task and an action")
        for name in task.split(","):
            Failpoint.objects.update_or_create(
                task=name, action=action, defaults={"remaining": times, "fired": 0}
            )
            self.stdout.write(f"{name} {action} on")
