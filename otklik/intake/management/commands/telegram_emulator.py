"""`python manage.py telegram_emulator [--host 127.0.0.1] [--port 8082] [--token TOKEN …]`.

Serves the local Telegram Bot API emulator (otklik.intake.emulators.telegram) until interrupted. Point a Telegram
source at it: config `{"api_url": "http://127.0.0.1:8082", "discussion_chat_id": -1001000000002}`, token
`123456:emulator-token` (or one given with --token). Inject citizens' messages with
`curl -X POST URL/__emulator__/posts -H 'Content-Type: application/json' -d '{"text": "…", "author": "…"}'`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from otklik.intake.emulators.telegram import DISCUSSION, TOKEN, TelegramEmulator


class Command(BaseCommand):
    help = "Serve a local emulator of the Telegram Bot API (for the demo and manual tests)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8082)
        parser.add_argument(
            "--token", action="append", dest="tokens", help=f"A bot token it accepts (default {TOKEN}); repeatable."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tokens = tuple(options["tokens"] or [TOKEN])
        emulator = TelegramEmulator(options["host"], options["port"], tokens=tokens)
        self.stdout.write(
            f"Telegram Bot API emulator on {emulator.url} (tokens: {', '.join(tokens)}; "
            f"discussion group {DISCUSSION['id']}). Ctrl+C to stop."
        )
        self.stdout.flush()
        try:
            emulator.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            emulator.server.server_close()
