from django.contrib import admin

from config.admin import ReadOnlyModelAdmin

from .models import Charge, Customer, Refund


@admin.register(Customer)
class CustomerAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "email", "user", "credit_limit", "credit_available", "created_at")
    search_fields = ("name", "email", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"


@admin.register(Charge)
class ChargeAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "customer", "amount", "order_id", "saga_id", "step")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("customer__name", "customer__email")
    list_select_related = ("customer",)
    date_hierarchy = "created_at"


@admin.register(Refund)
class RefundAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "charge", "amount", "saga_id", "step")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("charge__customer__name", "charge__customer__email")
    list_select_related = ("charge__customer",)
    date_hierarchy = "created_at"
