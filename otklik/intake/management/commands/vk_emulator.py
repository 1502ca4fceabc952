"""`python manage.py vk_emulator --port PORT [--host 127.0.0.1] [--seed-demo]`: the local VK API emulator.

Serves otklik.intake.emulators.vk until Ctrl-C/SIGTERM. Tokens accepted: the demo ones (a community token
`vk-demo-community-token`, a user token `vk-demo-user-token`) and any given with `--token`. `--seed-demo` adds a
few posts with comments and then a new post every `--interval` seconds (20 by default).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.intake.emulators.vk import DEMO_TOKEN, DEMO_USER_TOKEN, EmulatorServer, VkEmulator


class Command(BaseCommand):
    help = "Run the local emulator of the VK API (for the demo and manual checks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--group-id", type=int, default=1)
        parser.add_argument("--token", action="append", default=[], help="a community token to accept (repeatable)")
        parser.add_argument("--rate-limit", type=int, default=20, help="calls per second per token (default 20)")
        parser.add_argument("--seed-demo", action="store_true", help="demo posts and a slow stream of new ones")
        parser.add_argument("--interval", type=float, default=20.0, help="seconds between streamed demo posts")

    def handle(self, *args: Any, **options: Any) -> None:
        tokens = {DEMO_TOKEN: "community", DEMO_USER_TOKEN: "user"}
        tokens.update(dict.fromkeys(options["token"], "community"))
        emulator = VkEmulator(group_id=options["group_id"], tokens=tokens, rate_limit=options["rate_limit"])
        try:
            server = EmulatorServer((options["host"], options["port"]), emulator, verbose=options["verbosity"] > 1)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        stop = threading.Event()
        if options["seed_demo"]:
            emulator.seed_demo()
            threading.Thread(target=emulator.stream, args=(stop, options["interval"]), daemon=True).start()

        def on_signal(signum: int, _frame: object) -> None:
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stdout.write(
            f"VK API emulator on {server.url} (group {emulator.group_id}, token {DEMO_TOKEN})"
            + (f", a new demo post every {options['interval']:g} s" if options["seed_demo"] else ""),
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        finally:
            stop.set()
            server.server_close()
        self.stdout.write("VK API emulator stopped")
