"""The operator's saga console: find sagas, read their timeline, retry or compensate them.

Saga rows stay read-only; the two operator commands go through the engine, which records an
event with each change, and the admin history records who ran them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from config.admin import ReadOnlyModelAdmin

from . import engine
from .models import Failpoint, Saga, SagaStep, StepReceipt

# A step that took a millisecond still gets a bar wide enough to see and hover.
MIN_BAR_PERCENT = 0.6


def format_duration(delta: timedelta) -> str:
    # Clock readings taken a microsecond apart can put an end just before its start.
    seconds = max(delta.total_seconds(), 0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# --- Timeline ----------------------------------------------------------------------------------


def _moment(value: str | datetime | None) -> datetime | None:
    """History times come back from the JSON column as ISO strings."""
    return parse_datetime(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Attempt:
    number: int
    sent_at: datetime | None
    delay: float
    cause: str
    outcome: str
    error: str
    finished_at: datetime | None

    @classmethod
    def from_history(cls, entry: dict) -> Attempt:
        return cls(
            number=entry.get("attempt", 0),
            sent_at=_moment(entry.get("sent_at")),
            delay=entry.get("delay", 0),
            cause=entry.get("cause", ""),
            outcome=entry.get("outcome", "in flight"),
            error=entry.get("error", ""),
            finished_at=_moment(entry.get("finished_at")),
        )

    @property
    def duration(self) -> str:
        if self.sent_at is None or self.finished_at is None:
            return ""
        return format_duration(self.finished_at - self.sent_at)


@dataclass(frozen=True)
class TimelineRow:
    step: SagaStep
    duration: str
    bar_style: str
    attempts: list[Attempt]


@dataclass(frozen=True)
class Timeline:
    rows: list[TimelineRow]
    span: str


def saga_timeline(saga: Saga, steps: Iterable[SagaStep], *, now: datetime) -> Timeline:
    """Steps and compensations in the order they started, each placed on a bar from the saga's
    creation to its end (or now, while it runs)."""
    steps = sorted(steps, key=lambda step: (step.started_at, step.pk))
    end = max([saga.finished_at or now, *(step.finished_at or now for step in steps)])
    span_seconds = max((end - saga.created_at).total_seconds(), 0.001)

    def percent(delta: timedelta) -> float:
        return max(delta.total_seconds(), 0) / span_seconds * 100

    rows = []
    for step in steps:
        step_end = step.finished_at or now
        width = max(percent(step_end - step.started_at), MIN_BAR_PERCENT)
        offset = min(percent(step.started_at - saga.created_at), 100 - width)
        rows.append(
            TimelineRow(
                step=step,
                duration=format_duration(step_end - step.started_at),
                # Formatted here so that no locale turns the decimal point into a comma.
                bar_style=f"margin-left: {offset:.2f}%; width: {width:.2f}%",
                attempts=[Attempt.from_history(entry) for entry in step.history],
            )
        )
    return Timeline(rows=rows, span=format_duration(end - saga.created_at))


# --- Operator commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class SagaOperation:
    """An operator command on one saga; ``offered_for`` is the engine's own precondition, used to
    show only the buttons that fit (the engine checks again under the saga's lock)."""

    name: str
    label: str
    done: str  # opens the report, as in "Retried 2 sagas."
    run: Callable[..., Saga]
    offered_for: Callable[[Saga], bool]


OPERATIONS = {
    operation.name: operation
    for operation in (
        SagaOperation(
            name="retry",
            label="Retry",
            done="Retried",
            run=engine.saga_retry,
            offered_for=engine.can_retry,
        ),
        SagaOperation(
            name="compensate",
            label="Compensate",
            done="Forced compensation of",
            run=engine.saga_compensate,
            offered_for=engine.can_compensate,
        ),
    )
}


class SagaAgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [
            ("hour", "Last hour"),
            ("day", "Last 24 hours"),
            ("older", "Older than a day"),
            ("overdue", "Overdue (deadline passed)"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "hour":
                return queryset.filter(created_at__gte=now - timedelta(hours=1))
            case "day":
                return queryset.filter(created_at__gte=now - timedelta(days=1))
            case "older":
                return queryset.filter(created_at__lt=now - timedelta(days=1))
            case "overdue":
                return queryset.filter(state__in=Saga.ACTIVE_STATES, deadline_at__lt=now)
        return queryset


@admin.register(Saga)
class SagaAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "type",
        "state",
        "step",
        "subject",
        "failure",
        "created",
        "duration",
    )
    list_filter = ("state", "type", SagaAgeFilter)
    search_fields = ("=id", "=subject_id")
    search_help_text = "An exact saga id or order id."
    date_hierarchy = "created_at"
    actions = ("retry_failed", "compensate_stuck")
    fieldsets = (
        (None, {"fields": ("id", "type", "state", "direction", "current_step", "subject_id")}),
        ("Times", {"fields": ("created_at", "updated_at", "deadline_at", "finished_at")}),
        ("Failure", {"fields": ("failure_code", "failure_detail", "compensation_plan")}),
        ("Data", {"fields": ("data",), "classes": ("collapse",)}),
    )

    @admin.display(description="order", ordering="subject_id")
    def subject(self, saga: Saga):
        return saga.subject_id

    # Short headers and dates, so that every column fits a laptop screen beside the filters.
    @admin.display(description="step", ordering="current_step")
    def step(self, saga: Saga) -> str:
        return saga.current_step

    @admin.display(description="failure", ordering="failure_code")
    def failure(self, saga: Saga) -> str:
        return saga.failure_code

    @admin.display(description="created", ordering="created_at")
    def created(self, saga: Saga) -> str:
        """The change page has the full date."""
        return timezone.localtime(saga.created_at).strftime("%b %d %H:%M")

    @admin.display(description="duration")
    def duration(self, saga: Saga) -> str:
        if saga.finished_at:
            return format_duration(saga.finished_at - saga.created_at)
        return f"{format_duration(timezone.now() - saga.created_at)} so far"

    def has_operate_permission(self, request, obj=None) -> bool:
        """Retry and compensate ask for the change permission, which ReadOnlyModelAdmin
        otherwise refuses so that no field can be edited by hand."""
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.action(description="Retry selected FAILED sagas", permissions=["operate"])
    def retry_failed(self, request, queryset):
        self._operate_on_each(request, OPERATIONS["retry"], queryset)

    @admin.action(description="Compensate selected stuck sagas", permissions=["operate"])
    def compensate_stuck(self, request, queryset):
        self._operate_on_each(request, OPERATIONS["compensate"], queryset)

    def get_urls(self):
        app_label, model_name = self.opts.app_label, self.opts.model_name
        operation_urls = [
            path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(self.operation_view),
                {"operation_name": name},
                name=f"{app_label}_{model_name}_{name}",
            )
            for name in OPERATIONS
        ]
        # First: the stock "<path:object_id>/" redirect would otherwise swallow these.
        return operation_urls + super().get_urls()

    @method_decorator(require_POST)
    def operation_view(self, request, object_id, operation_name):
        if not self.has_operate_permission(request):
            raise PermissionDenied
        saga = self.get_object(request, unquote(object_id))
        if saga is None:
            raise Http404(f"no saga {object_id}")
        operation = OPERATIONS[operation_name]
        refusal = self._operate(request, operation, saga)
        if refusal:
            self.message_user(request, f"Nothing done: {refusal}.", messages.WARNING)
        else:
            self.message_user(request, f"{operation.done} this saga.", messages.SUCCESS)
        return redirect(self._saga_url(saga, "change"))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["timeline"] = saga_timeline(obj, obj.steps.all(), now=timezone.now())
            context["operations"] = self._operations_offered(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_offered(self, request, saga: Saga) -> list[dict[str, str]]:
        if not self.has_operate_permission(request):
            return []
        return [
            {"label": operation.label, "url": self._saga_url(saga, operation.name)}
            for operation in OPERATIONS.values()
            if operation.offered_for(saga)
        ]

    def _operate_on_each(self, request, operation: SagaOperation, queryset) -> None:
        done = 0
        skipped = []
        for saga in queryset:
            refusal = self._operate(request, operation, saga)
            if refusal:
                skipped.append(f"{saga.pk} ({refusal})")
            else:
                done += 1
        if done:
            self.message_user(request, f"{operation.done} {done} saga{pluralize(done)}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {len(skipped)} saga{pluralize(len(skipped))}: {'; '.join(skipped)}.",
                messages.WARNING,
            )

    def _operate(self, request, operation: SagaOperation, saga: Saga) -> str:
        """Run ``operation`` and record it in the admin history; answer why the engine refused."""
        try:
            changed = operation.run(saga_id=saga.pk, actor=request.user.get_username())
        except engine.SagaStateError as refusal:
            return str(refusal)
        self.log_change(request, changed, f"{operation.done} this saga; it is now {changed.state}.")
        return ""

    def _saga_url(self, saga: Saga, view: str) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}",
            args=[quote(saga.pk)],
            current_app=self.admin_site.name,
        )


@admin.register(StepReceipt)
class StepReceiptAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "task", "step", "direction", "succeeded", "error_code", "saga")
    list_filter = ("direction", "succeeded")
    search_fields = ("=saga_id", "task")
    search_help_text = "An exact saga id, or part of a task name."
    date_hierarchy = "created_at"

    @admin.display(description="saga", ordering="saga_id")
    def saga(self, receipt: StepReceipt):
        url = reverse(
            "admin:sagas_saga_change", args=[quote(receipt.saga_id)], current_app=self.admin_site.name
        )
        return format_html('<a href="{}">{}</a>', url, receipt.saga_id)


@admin.register(Failpoint)
class FailpointAdmin(admin.ModelAdmin):
    """Editable on purpose: a failpoint is a test switch, not business state, so changing one
    by hand bypasses no event."""

    list_display = ("task", "action", "remaining", "fired", "created_at")
    list_editable = ("remaining",)
    list_filter = ("action",)
    search_fields = ("task",)
    fields = ("task", "action", "remaining", "fired", "created_at")
    readonly_fields = ("fired", "created_at")

    def changelist_view(self, request, extra_context=None):
        # Only on GET: a list edit redirects back here and would show the warning twice.
        if request.method == "GET" and not settings.SAGA_FAILPOINTS_ENABLED:
            self.message_user(
                request, "SAGA_FAILPOINTS_ENABLED is off, so no failpoint fires.", messages.WARNING
            )
        return super().changelist_view(request, extra_context)
