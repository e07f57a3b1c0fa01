from django.core.management.base import BaseCommand

from readmodels import projection
from readmodels.wiring import KNOWN_EVENTS, PROJECTORS


class Command(BaseCommand):
    help = (
        "Rebuild read models from the whole event log. Each projector is rebuilt in one transaction: "
        "readers see the old rows until it commits, and live projection resumes after it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--projector",
            action="append",
            choices=[projector.name for projector in PROJECTORS],
            help="Rebuild only this projector (repeatable). Default: all.",
        )

    def handle(self, *args, projector=None, **options):
        chosen = [p for p in PROJECTORS if not projector or p.name in projector]
        for each in chosen:
            self.stdout.write(f"{each.name}: rebuilding")
            replayed = projection.rebuild(each, KNOWN_EVENTS, progress=self._progress)
            self.stdout.write(self.style.SUCCESS(f"{each.name}: {replayed} events replayed"))

    def _progress(self, name: str, position: int, head: int) -> None:
        percent = 100 * position // head if head else 100
        self.stdout.write(f"  {name}: {position}/{head} ({percent}%)")
