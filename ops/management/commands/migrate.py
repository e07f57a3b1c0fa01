"""`migrate` for every database alias at once.

Django's own command migrates one alias (``default`` unless told otherwise), which would leave
the read-model database empty. Without ``--database`` this one migrates each configured alias in
turn; the router decides which tables land where. With ``--database`` it behaves like Django's.
"""

from django.core.management.commands import migrate
from django.db import connections


class Command(migrate.Command):
    help = "Migrate the write database and the read-model database (or one, with --database)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database=None)

    def get_check_kwargs(self, options):
        kwargs = super().get_check_kwargs(options)
        if options["database"] is None:
            kwargs["databases"] = list(connections)
        return kwargs

    def handle(self, *args, **options):
        if options["database"] is not None:
            return super().handle(*args, **options)
        for alias in connections:
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.MIGRATE_HEADING(f"Database '{alias}':"))
            super().handle(*args, **{**options, "database": alias})
