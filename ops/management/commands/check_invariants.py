from django.core.management.base import BaseCommand, CommandError

from ops import invariants


class Command(BaseCommand):
    help = "Check stock, money, saga and exactly-once invariants; exit non-zero on any violation."

    def handle(self, *args, **options):
        checks = invariants.run_all()
        for check in checks:
            if not check.checked:
                mark = self.style.WARNING("SKIP")
            elif check.ok:
                mark = self.style.SUCCESS(" OK ")
            else:
                mark = self.style.ERROR("FAIL")
            line = f"[{mark}] {check.name}"
            self.stdout.write(f"{line}: {check.detail}" if check.detail else line)
        violations = [check for check in checks if not check.ok]
        if violations:
            raise CommandError(f"{len(violations)} invariant(s) violated")
