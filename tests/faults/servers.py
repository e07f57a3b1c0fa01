"""Private PostgreSQL and Redis servers for the fault suite: its own, so it may kill them."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

from ..processes import free_port, wait_for


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres_user(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; CI runs as root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PrivatePostgres:
    def __init__(self, root: Path):
        self.bin = postgres_bin()
        self.data = root / "pgdata"
        self.socket_dir = root / "pgsocket"
        self.log = root / "postgres.log"
        self.port = free_port()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            _as_postgres_user([*args]), capture_output=True, text=True, timeout=120, check=check
        )

    def init(self) -> None:
        for folder in (self.data, self.socket_dir):
            folder.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
            for path in (self.data, self.socket_dir):
                shutil.chown(path, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync"
        )
        if os.geteuid() == 0:
            self.log.touch()
            shutil.chown(self.log, "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def terminate_connections(self, databases: list[str]) -> int:
        names = ", ".join(f"'{name}'" for name in databases)
        killed = self.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname IN ({names}) AND pid <> pg_backend_pid()"
        )
        return int(killed or 0)


class PrivateRedis:
    def __init__(self, root: Path):
        self.port = free_port()
        self.dir = root
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
        )
        wait_for(self.ping, timeout=20, what="the private Redis server")

    def ping(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=5
        )
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        """Kill it: every message it held is lost, as in a crash without persistence."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def flush(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "flushall"], capture_output=True, timeout=10, check=True
        )

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def available() -> str | None:
    """Why the fault suite cannot run here, or None if it can."""
    if postgres_bin() is None:
        return "PostgreSQL server binaries (initdb) are not installed"
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return "redis-server is not installed"
    if shutil.which("psql") is None:
        return "psql is not installed"
    return None


def pause(seconds: float) -> None:
    """A deliberate wait inside a fault scenario (an outage's length), not a synchronisation."""
    time.sleep(seconds)
