"""Structured logs: every line of web and worker is one JSON object carrying the saga, order and
step it is about, from a scope opened per request and per task."""

import io
import json
import logging

import pytest
from django.conf import settings

from config.logcontext import (
    LogContextFilter,
    bind_log_context,
    current_log_context,
    log_scope,
)
from observability import tasklogs
from observability.logformat import JsonLineFormatter, TextLineFormatter

from .conftest import token_client
from .processes import wait_for
from .readside import add_product, register
from .sagas import ADDRESS, order_body, wait_for_saga

logger = logging.getLogger("tests.logging")


@pytest.fixture
def json_lines():
    """Lines written by a handler set up as settings.LOGGING sets up the console's."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_the_console_writes_json_through_the_context_filter():
    console = settings.LOGGING["handlers"]["console"]

    assert settings.LOG_FORMAT == "json"
    assert console["formatter"] == "json"
    assert settings.LOGGING["filters"][console["filters"][0]]["()"] == "config.logcontext.LogContextFilter"


def test_a_scope_puts_its_fields_on_every_line_until_it_closes(json_lines):
    with log_scope(saga_id="s-1", step="reserve_stock"):
        logger.info("inside")
        with log_scope(order_id="o-1"):
            logger.warning("nested")
    logger.info("outside")

    inside, nested, outside = json_lines()
    assert inside["saga_id"] == "s-1"
    assert inside["step"] == "reserve_stock"
    assert "order_id" not in inside
    assert nested["level"] == "WARNING"
    assert (nested["saga_id"], nested["order_id"]) == ("s-1", "o-1")
    assert {"saga_id", "order_id", "step"}.isdisjoint(outside)
    assert set(outside) == {"time", "level", "logger", "message"}


def test_binding_adds_to_the_open_scope_only():
    bind_log_context(saga_id="nowhere")
    assert current_log_context() == {}
    with log_scope(request_id="r-1"):
        bind_log_context(saga_id="s-2", order_id=None)
        assert current_log_context() == {"request_id": "r-1", "saga_id": "s-2"}
    assert current_log_context() == {}
    with pytest.raises(ValueError, match="customer"), log_scope(customer="x"):
        pass


def test_extras_other_than_the_context_stay_out_of_the_line(json_lines):
    with log_scope(saga_id="s-3"):
        logger.info(
            "Task %(name)s succeeded",
            {"name": "inventory.reserve_stock"},
            extra={"data": {"kwargs": {"address": ADDRESS}}},
        )
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")

    succeeded, failed = json_lines()
    assert succeeded["message"] == "Task inventory.reserve_stock succeeded"
    assert "data" not in succeeded
    assert ADDRESS["name"] not in json.dumps(succeeded)
    assert "RuntimeError: boom" in failed["exc_info"]
    assert failed["saga_id"] == "s-3"


def test_the_text_format_appends_the_context():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "step done", (), None)
    with log_scope(saga_id="s-4", step="charge_payment"):
        LogContextFilter().filter(record)

    assert TextLineFormatter().format(record).endswith("step done [saga_id=s-4 step=charge_payment]")


def test_a_task_scope_names_the_saga_order_and_step_of_its_command(json_lines):
    class Task:
        name = "inventory.reserve_stock"

    command = {"saga_id": "s-5", "step": "reserve_stock", "direction": "FORWARD", "data": {"order_id": "o-5"}}
    tasklogs.open_task_scope(task_id="t-1", task=Task(), kwargs=command)
    logger.info("in the task")
    tasklogs.close_task_scope(task_id="t-1")
    logger.info("after it")

    inside, after = json_lines()
    assert inside["task"] == "inventory.reserve_stock"
    assert (inside["saga_id"], inside["order_id"], inside["step"], inside["direction"]) == (
        "s-5",
        "o-5",
        "reserve_stock",
        "FORWARD",
    )
    assert "saga_id" not in after


@pytest.mark.django_db(databases=["default", "read"])
def test_a_command_in_web_logs_a_line_with_the_order_and_the_saga_it_started(json_lines):
    add_product("KB", price="10.00", stock=5)
    client = token_client(register("alice").user)

    response = client.post("/api/orders/", order_body([("KB", 1)]), format="json", HTTP_X_REQUEST_ID="req-42")
    refused = client.post(f"/api/orders/{response.json()['order_id']}/cancel/")

    placed, cancel = [line for line in json_lines() if line["logger"] == "observability.middleware"]
    assert placed["message"].startswith("POST /api/orders/ answered 202 in ")
    assert placed["order_id"] == response.json()["order_id"]
    assert placed["saga_id"] == response.json()["saga_id"]
    assert placed["request_id"] == response["X-Request-ID"] == "req-42"
    assert refused.status_code == 409
    assert cancel["order_id"] == response.json()["order_id"]
    assert len(cancel["request_id"]) == 32, "a fresh id when the client sent none"


@pytest.mark.system
@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_a_worker_step_logs_a_line_with_its_saga_order_and_step(saga_processes):
    add_product("KB", price="10.00", stock=5)
    client = token_client(register("alice").user)
    body = client.post("/api/orders/", order_body([("KB", 1)]), format="json").json()
    wait_for_saga(body["saga_id"], processes=saga_processes)
    worker = saga_processes[0]

    def reserve_stock_line():
        for line in worker.output().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if (
                    entry.get("task") == "inventory.reserve_stock"
                    and entry["logger"] == "celery.app.trace"
                    and entry.get("saga_id") == body["saga_id"]
                ):
                    return entry
        return None

    line = wait_for(
        reserve_stock_line, timeout=10, what="the worker's reserve_stock line", processes=(worker,)
    )
    assert line["message"].startswith("Task inventory.reserve_stock[")
    assert "succeeded in" in line["message"]
    assert line["saga_id"] == body["saga_id"]
    assert line["order_id"] == body["order_id"]
    assert (line["step"], line["direction"]) == ("reserve_stock", "FORWARD")
    assert ADDRESS["name"] not in worker.output(), "task arguments stay out of the log"
