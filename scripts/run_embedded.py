"""Run Otklik embedded: the web server, a Celery worker and celery beat in one terminal (`make run`).

A small supervisor:
1. Starts each child in its own process group (so the terminal's Ctrl-C reaches only the supervisor, which then
   stops the children in order) and asks the kernel to SIGTERM it should the supervisor die without cleaning up.
2. Prefixes every line of a child's output with the child's name.
3. On SIGINT, SIGTERM or SIGHUP, or when any child exits, stops all of them: SIGTERM (the worker finishes its
   running tasks: a warm shutdown), then SIGKILL to whatever is left of each process group after a grace period.
   A second Ctrl-C skips the grace period.
Exit status: 0 after a requested stop, 1 when a child died on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 15.0
PR_SET_PDEATHSIG = 1
COLOURS = {"web": "\033[36m", "worker": "\033[33m", "beat": "\033[35m", "vk-emu": "\033[32m", "run": "\033[1m"}
VK_EMULATOR_PORT = 8765  # the demo VK source (scripts/prepare_db.py) polls it
RESET = "\033[0m"


@dataclass
class Child:
    name: str
    argv: list[str]
    # runserver with the autoreloader is two processes: stop the whole group. Celery gets SIGTERM on its main
    # process only, so that the pool children finish their tasks instead of dying under the worker.
    signal_group: bool
    popen: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self.popen is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self.popen


class Output:
    """Line-prefixed, thread-safe output to our stdout."""

    def __init__(self, names: list[str]) -> None:
        self.lock = threading.Lock()
        self.width = max(len(name) for name in names)
        self.colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def prefix(self, name: str) -> bytes:
        label = f"{name:<{self.width}} | "
        if self.colour:
            label = f"{COLOURS.get(name, '')}{label}{RESET}"
        return label.encode()

    def line(self, name: str, data: bytes) -> None:
        if not data.endswith(b"\n"):
            data += b"\n"
        with self.lock:
            sys.stdout.buffer.write(self.prefix(name) + data)
            sys.stdout.buffer.flush()

    def say(self, message: str) -> None:
        self.line("run", message.encode())

    def pump(self, name: str, stream: IO[bytes]) -> None:
        for data in iter(stream.readline, b""):
            self.line(name, data)
        stream.close()


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the supervisor dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_child(child: Child, signum: int, *, whole_group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if whole_group:
            os.killpg(child.proc.pid, signum)
        elif child.proc.poll() is None:
            child.proc.send_signal(signum)


class Supervisor:
    def __init__(self, children: list[Child], output: Output) -> None:
        self.children = children
        self.output = output
        self.stop_requested = threading.Event()
        self.hurry = threading.Event()
        self.reason = ""

    def on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_requested.is_set():
            self.hurry.set()
            return
        self.reason = signal.Signals(signum).name
        self.stop_requested.set()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "otklik.settings"}
        # All children first, the reader threads after: fork() with no other thread running.
        for child in self.children:
            child.popen = subprocess.Popen(
                child.argv,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        for child in self.children:
            child.reader = threading.Thread(target=self.output.pump, args=(child.name, child.proc.stdout), daemon=True)
            child.reader.start()

    def wait(self) -> int:
        """Block until a stop is requested or a child exits; return our exit status."""
        while not self.stop_requested.is_set():
            for child in self.children:
                code = child.proc.poll()
                if code is not None:
                    self.reason = f"{child.name} exited with status {code}"
                    self.stop()
                    return 1
            self.stop_requested.wait(0.3)
        self.stop()
        return 0

    def stop(self) -> None:
        self.output.say(f"stopping ({self.reason})")
        for child in self.children:
            signal_child(child, signal.SIGTERM, whole_group=child.signal_group)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and not self.hurry.is_set():
            if all(c.proc.poll() is not None for c in self.children):
                break
            time.sleep(0.1)
        for child in self.children:
            # What is left of the group: a process that ignored SIGTERM, or an orphan of the main process.
            if group_alive(child.proc.pid):
                if child.proc.poll() is None:
                    self.output.say(f"{child.name} did not stop in time: killing it")
                signal_child(child, signal.SIGKILL, whole_group=True)
        for child in self.children:
            child.proc.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)
        self.output.say("all stopped")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the web server, a Celery worker and celery beat together.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--reload", action="store_true", help="restart the web server when the code changes")
    parser.add_argument(
        "--server",
        default="runserver",
        choices=["runserver", "gunicorn"],
        help="the web server: Django's development server (default) or gunicorn, as in production (make run-pg)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--no-emulator", action="store_true", help="do not start the local VK API emulator")
    args = parser.parse_args()

    if not port_is_free(args.host, args.port):
        print(f"Port {args.port} on {args.host} is busy: try make run PORT={args.port + 1}", file=sys.stderr)
        return 2

    python = sys.executable
    # --insecure: serve the static files (admin, Swagger UI, our CSS) although DEBUG is off; a local demo only.
    runserver = [python, "manage.py", "runserver", f"{args.host}:{args.port}", "--insecure"]
    if not args.reload:
        runserver.append("--noreload")
    web = Child("web", runserver, signal_group=True)
    if args.server == "gunicorn":
        # The static files come from whitenoise (settings.STORAGES). SIGTERM to the master stops its workers; the
        # graceful timeout stays below our GRACE_SECONDS, so gunicorn ends them itself. No control socket: one
        # path per user (~/.gunicorn/gunicorn.ctl) that a second instance would take over.
        gunicorn = [python, "-m", "gunicorn", "otklik.wsgi:application", "--bind", f"{args.host}:{args.port}",
                    "--workers", str(args.web_workers), "--timeout", "60", "--access-logfile", "-",
                    "--no-control-socket", "--graceful-timeout", "10"]  # fmt: skip
        if args.reload:
            gunicorn.append("--reload")
        web = Child("web", gunicorn, signal_group=False)
    children = [
        web,
        Child(
            "worker",
            [python, "-m", "celery", "-A", "otklik", "worker", "-l", "info", "--pool", args.pool,
             "--concurrency", str(args.concurrency)],
            signal_group=False,
        ),
        Child("beat", [python, "-m", "celery", "-A", "otklik", "beat", "-l", "info"], signal_group=False),
    ]  # fmt: skip
    if not args.no_emulator:
        if port_is_free("127.0.0.1", VK_EMULATOR_PORT):
            vk = [python, "manage.py", "vk_emulator", "--port", str(VK_EMULATOR_PORT), "--seed-demo"]
            children.append(Child("vk-emu", vk, signal_group=False))
        else:
            print(f"Port {VK_EMULATOR_PORT} is busy: the VK API emulator is not started", file=sys.stderr)
    output = Output([child.name for child in children])
    supervisor = Supervisor(children, output)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.on_signal)

    supervisor.start()
    url = f"http://{args.host}:{args.port}/"
    output.say(f"Otklik on {url} (admin: {url}admin/, API: {url}api/docs/) with a Celery worker and beat.")
    output.say("Demo logins: see the table above or README.md. Ctrl-C stops all.")
    return supervisor.wait()


if __name__ == "__main__":
    sys.exit(main())
