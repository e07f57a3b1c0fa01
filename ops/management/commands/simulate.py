"""python manage.py simulate --orders 50 --rate 2 --failure-mix out_of_stock=10,declined=10,...

Drives demo traffic through a running server's API; see ``ops.simulation``."""

import random

from django.core.management.base import BaseCommand, CommandError

from ops.simulation import DEFAULT_MIX, Api, ApiError, Simulation, parse_mix, plan, prepare_shop

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Place orders through the API of a running server, in a mix that takes sagas down every "
        "path (confirmed, out of stock, declined, undeliverable, cancelled, dispatched), and wait "
        "for them to settle. Needs the server and a worker running on this project's databases."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=50, help="how many orders (default 50)")
        parser.add_argument(
            "--rate", type=float, default=2.0, help="orders per second; 0 places them as fast as it can"
        )
        parser.add_argument(
            "--failure-mix",
            default=DEFAULT_MIX,
            help=f"percent of orders per scenario, the rest confirmed (default {DEFAULT_MIX})",
        )
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the server to send to")
        parser.add_argument("--seed", type=int, help="repeat the same baskets and order of scenarios")
        parser.add_argument(
            "--timeout", type=float, default=120, help="seconds to wait for the orders after the last one"
        )

    def handle(self, *args, orders, rate, failure_mix, base_url, seed, timeout, **options):
        if orders < 1 or rate < 0:
            raise CommandError("--orders must be at least 1 and --rate not negative")
        try:
            mix = parse_mix(failure_mix)
        except ValueError as error:
            raise CommandError(f"--failure-mix: {error}") from None
        rng = random.Random(seed)
        simulation = Simulation(
            api=Api(base_url),
            shop=prepare_shop(),
            scenarios=plan(orders, mix, rng),
            rate=rate,
            rng=rng,
            progress=self._progress_bar(orders),
        )
        self.stdout.write(f"Placing {orders} orders at {base_url} ({rate:g}/s)")
        try:
            simulation.run(timeout=timeout)
        except ApiError as error:
            self.stdout.write("")
            raise CommandError(str(error)) from None
        self._report(simulation)

    def _progress_bar(self, total: int):
        """Redrawn in place on a terminal; elsewhere a line at each tenth, so logs stay short."""
        live = self.stdout.isatty()
        shown = {"tenths": -1}

        def draw(simulation: Simulation) -> None:
            done = simulation.settled
            filled = BAR_WIDTH * done // total
            line = (
                f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} settled, "
                f"{len(simulation.placed)} placed"
            )
            if live:
                self.stdout.write(f"\r{line}", ending="\n" if done == total else "")
                self.stdout.flush()
            elif done * 10 // total > shown["tenths"]:
                shown["tenths"] = done * 10 // total
                self.stdout.write(line)

        return draw

    def _report(self, simulation: Simulation) -> None:
        outcomes = simulation.outcomes()
        self.stdout.write(self.style.SUCCESS("Every order settled."))
        self.stdout.write(f"  {'scenario':<15}{'orders':>7}{'as planned':>12}")
        for name in sorted({name for name, _ in outcomes}):
            planned = outcomes[name, True] + outcomes[name, False]
            self.stdout.write(f"  {name:<15}{planned:>7}{outcomes[name, True]:>12}")
        for order in simulation.placed:
            if not order.as_expected:
                self.stdout.write(
                    self.style.WARNING(
                        f"  order {order.order_id}: planned {order.scenario.name}, ended {order.status} "
                        f"{order.reason}".rstrip()
                    )
                )
