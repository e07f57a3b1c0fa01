"""README's recipe for running on PostgreSQL and Redis works with debug off, and then an error
page tells a stranger nothing about the application."""

import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest

from .processes import BIN, ROOT, ManagedProcess, free_port, wait_for

pytestmark = pytest.mark.system

SERVERS = {"DATABASE_URL", "READ_DATABASE_URL", "CELERY_BROKER_URL"}


def recipe_environment() -> dict[str, str]:
    """The variables README's recipe exports, evaluated by bash as a reader's shell would."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running on PostgreSQL and Redis", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    exports = [line.split("#", 1)[0] for line in block.splitlines() if line.startswith("export ")]
    names = [re.match(r"export (\w+)=", line).group(1) for line in exports]
    shell = "\n".join([*exports, *(f'printf "%s\\0" "{name}=${name}"' for name in names)])
    printed = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True).stdout
    return dict(item.split("=", 1) for item in printed.split("\0") if item)


def fetch(url: str, **headers) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.url, response.read()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read()


@pytest.fixture
def web_as_the_recipe_runs_it(tmp_path):
    recipe = recipe_environment()
    assert recipe.keys() >= SERVERS, "the recipe names its servers"
    # Files stand in for the recipe's PostgreSQL and Redis: what matters here is that a
    # DATABASE_URL is set, which is what turns the embedded default's debug off.
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
        **recipe,
        "DATABASE_URL": f"sqlite:///{tmp_path}/write.sqlite3",
        "READ_DATABASE_URL": f"sqlite:///{tmp_path}/read.sqlite3",
        "CELERY_BROKER_URL": "filesystem://",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "APP_VAR_DIR": str(tmp_path),
    }
    subprocess.run(
        [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    web = ManagedProcess(
        "runserver", [str(BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: fetch(f"{base}/admin/login/")[0] == 200, timeout=60, what="runserver", processes=(web,)
        )
        yield base
    finally:
        web.stop()


def test_the_recipe_serves_the_admin_and_the_docs_over_plain_http_with_debug_off(web_as_the_recipe_runs_it):
    base = web_as_the_recipe_runs_it
    assert recipe_environment().get("DJANGO_DEBUG", "false") == "false"

    for page in ("/admin/login/", "/api/docs/"):
        status, url, body = fetch(f"{base}{page}")
        assert (status, url) == (200, f"{base}{page}")
        assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', body)
        assert assets, page
        assert [fetch(f"{base}{asset.decode()}")[0] for asset in assets] == [200] * len(assets)


def test_an_error_tells_a_stranger_nothing(web_as_the_recipe_runs_it):
    status, _, body = fetch(f"{web_as_the_recipe_runs_it}/admin/login/", Host="attacker.example")

    assert status == 400
    assert len(body) < 1000
    for secret in (b"Traceback", b"SECRET_KEY", b"DATABASES", b"urlpatterns", b"DJANGO_"):
        assert secret not in body
