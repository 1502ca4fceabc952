"""Fault tests: private PostgreSQL clusters and Redis servers that a test may kill, stop and restart.

- `pg_cluster`: a PostgreSQL cluster of the test's own (a copy of one migrated once per session: initdb and
  migrate cost ~30 s, a copy of the stopped data directory a second), on a free port, stopped and deleted after.
- `redis_server`: a private `redis-server` on a free port, no persistence, killed after.
- `on_cluster(cluster)`: the test process's Django connection points at the cluster for the block (the suite's
  test database is untouched), so the test builds data and checks results with the ORM.

PostgreSQL only (`OTKLIK_DB=postgres`): on SQLite these tests skip. The binaries are found as in
scripts/pg_throwaway.sh (/usr/lib/postgresql/*/bin, else initdb/pg_ctl on PATH); as root the server runs as the
postgres user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connections

IS_POSTGRES = os.environ.get("OTKLIK_DB") == "postgres"
BASE_DIR = Path(django_settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], *, timeout: float = 30, logs: tuple[Path, ...] = ()) -> Any:
    """Poll `check` every 0.1 s until it returns something true; fail with the logs' tails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {log}:\n{log.read_text(errors='replace')[-3000:] if log.exists() else '(none)'}" for log in logs
            )
            pytest.fail(f"Timed out after {timeout} s waiting for {what}.\n{tails}")
        time.sleep(0.1)


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def _bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True)
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    return None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class PgCluster:
    """A private PostgreSQL cluster (data directory, socket directory, port)."""

    bindir: Path
    root: Path
    port: int = 0
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "server.log"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = _as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args])
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=90)  # noqa: S603

    def initdb(self) -> None:
        command = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust"]
        command += ["-E", "UTF8", "--locale=C.UTF-8"]
        subprocess.run(_as_owner(command), capture_output=True, check=True, timeout=120)  # noqa: S603

    def start(self) -> None:
        if not self.port:
            self.port = free_port()
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        self.pg_ctl("-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def is_running(self) -> bool:
        return self.pg_ctl("status", check=False).returncode == 0

    def settings(self, name: str = "postgres") -> dict[str, str]:
        return {"NAME": name, "HOST": "127.0.0.1", "PORT": str(self.port), "USER": "postgres", "PASSWORD": ""}

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of an Otklik process (web, worker, manage.py) on this cluster."""
        env = {k: v for k, v in (base or os.environ).items() if not k.startswith("OTKLIK_")}
        env.update(
            DJANGO_SETTINGS_MODULE="otklik.settings",
            PYTHONUNBUFFERED="1",
            OTKLIK_FAST_TESTS="1",
            OTKLIK_DB="postgres",
            OTKLIK_DB_HOST="127.0.0.1",
            OTKLIK_DB_PORT=str(self.port),
            OTKLIK_DB_USER="postgres",
            OTKLIK_DB_PASSWORD="",
            OTKLIK_DB_NAME="postgres",
            OTKLIK_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            OTKLIK_CLASSIFIER="otklik.nlp.keywords.KeywordClassifier",
            OTKLIK_CLASSIFIER_THRESHOLD="0.35",
        )
        return env

    def remove(self) -> None:
        if self.datadir.exists() and (self.datadir / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _new_root(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))  # short: the socket path has a ~100 byte limit
    _chown(root)
    return root


@pytest.fixture(scope="session")
def pg_template(django_db_setup, django_db_blocker) -> Iterator[Path]:
    """A stopped cluster's data directory with the schema of the suite's migrated test database (a pg_dump of it:
    migrating again would take ~30 s), copied by every `pg_cluster`."""
    if not IS_POSTGRES:
        pytest.skip("fault tests run on PostgreSQL (OTKLIK_DB=postgres)")
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    source = connections["default"].settings_dict
    template = PgCluster(bindir, _new_root("otklik-pgfaults-t."))
    try:
        template.initdb()
        template.start()
        tool = lambda name: str(bindir / name) if (bindir / name).exists() else name  # noqa: E731
        dump = [tool("pg_dump"), "--no-owner", "--no-privileges", "-h", str(source["HOST"] or "127.0.0.1")]
        dump += ["-p", str(source["PORT"] or 5432), "-U", str(source["USER"] or "postgres"), str(source["NAME"])]
        restore = [tool("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(template.port)]
        restore += ["-U", "postgres", "-d", "postgres"]
        env = dict(os.environ, PGPASSWORD=str(source["PASSWORD"] or ""))
        with django_db_blocker.unblock():
            dumped = subprocess.run(dump, capture_output=True, env=env, timeout=300, check=False)  # noqa: S603
        assert dumped.returncode == 0, dumped.stderr.decode(errors="replace")
        assert b"CREATE TABLE public.intake_post" in dumped.stdout, f"no schema in {source['NAME']}"
        restored = subprocess.run(  # noqa: S603
            restore, input=dumped.stdout, capture_output=True, env=env, timeout=300, check=False
        )
        assert restored.returncode == 0, restored.stderr.decode(errors="replace")
        template.stop("fast")
        yield template.datadir
    finally:
        template.remove()


@pytest.fixture
def pg_cluster(pg_template) -> Iterator[PgCluster]:
    bindir = _bindir()
    assert bindir is not None
    cluster = PgCluster(bindir, _new_root("otklik-pgfaults."))
    try:
        command = ["cp", "-a", str(pg_template), str(cluster.datadir)]
        subprocess.run(command, check=True, timeout=60)  # noqa: S603
        (cluster.datadir / "postmaster.pid").unlink(missing_ok=True)
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def on_cluster(django_db_blocker) -> Iterator[Callable[[PgCluster], Any]]:
    """`with on_cluster(cluster):` — this process's ORM on the cluster's database for the block."""

    @contextmanager
    def redirect(cluster: PgCluster) -> Iterator[None]:
        connection = connections["default"]
        saved = dict(connection.settings_dict)
        with django_db_blocker.unblock():
            connection.close()
            connection.settings_dict.update(cluster.settings())
            try:
                yield
            finally:
                connection.close()
                connection.settings_dict.clear()
                connection.settings_dict.update(saved)

    return redirect


# --- Redis ---------------------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, socket_connect_timeout=2)


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    if not IS_POSTGRES:
        pytest.skip("fault tests run on PostgreSQL (OTKLIK_DB=postgres)")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    log = tmp_path / "redis.log"
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path), "--logfile", str(log)]
    process = subprocess.Popen(command)  # noqa: S603
    server = RedisServer(port, process)
    try:

        def pong() -> bool:
            try:
                return bool(server.client().ping())
            except Exception:
                return False

        wait_for("redis-server", pong, timeout=15, logs=(log,))
        yield server
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
