"""Demo data for a first run: a staff user, a catalogue, two customers. Safe to run again."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from inventory.models import Product
from inventory.services import product_create
from payments.models import Customer
from payments.services import customer_register

STAFF = ("admin", "admin")
PRODUCTS = [
    ("KB-001", "Mechanical keyboard", "89.00", 40),
    ("MS-002", "Wireless mouse", "24.50", 120),
    ("MN-003", "27-inch monitor", "249.00", 15),
    ("HD-004", "Noise-cancelling headphones", "179.00", 25),
    ("CB-005", "USB-C cable", "9.90", 500),
    ("LT-006", "Limited edition lamp", "59.00", 1),
]
CUSTOMERS = [
    ("alice", "alice", "alice@example.com", "Alice Martin", "2000.00"),
    ("bob", "bob", "bob@example.com", "Bob Stone", "100.00"),
]


class Command(BaseCommand):
    help = "Create demo users, products and customers if they are missing, and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url: str, **options):
        user_model = get_user_model()
        username, password = STAFF
        staff = user_model.objects.filter(username=username).first()
        if staff is None:
            staff = user_model.objects.create_superuser(username, "admin@example.com", password)
        for sku, name, price, stock in PRODUCTS:
            if not Product.objects.filter(sku=sku).exists():
                product_create(sku=sku, name=name, price=Decimal(price), stock=stock)
        for login, secret, email, name, limit in CUSTOMERS:
            if not Customer.objects.filter(user__username=login).exists():
                customer_register(
                    username=login, password=secret, email=email, name=name, credit_limit=Decimal(limit)
                )

        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Admin:    {base_url}/admin/   (login {username} / {password})")
        self.stdout.write(f"  API docs: {base_url}/api/docs/   Redoc: {base_url}/api/redoc/")
        self.stdout.write(f"  Health:   {base_url}/healthz")
        self.stdout.write("  Tokens (send as 'Authorization: Token <token>'):")
        self.stdout.write(f"    {username:<6} staff     {Token.objects.get_or_create(user=staff)[0].key}")
        for customer in Customer.objects.filter(user__username__in=[c[0] for c in CUSTOMERS]).select_related(
            "user"
        ):
            token = Token.objects.get_or_create(user=customer.user)[0].key
            self.stdout.write(
                f"    {customer.user.username:<6} customer  {token}  (customer id {customer.id})"
            )
