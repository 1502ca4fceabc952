"""`python manage.py add_source vk --name NAME --group-id ID --token TOKEN [--api-url URL] [--interval S]` and
`python manage.py add_source telegram --name NAME --token TOKEN [--api-url URL] [--discussion-chat-id ID]`.

Creates a polled source, or updates the one of the same network and account (the VK group id, the Telegram bot id
from the token): running it again changes nothing else. Prints the source's id (the last line: the id alone, for
scripts). The token is stored encrypted and never printed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.core.errors import DomainError
from otklik.intake.polling import do_save_source


class Command(BaseCommand):
    help = "Add a polled source (a VK community or a Telegram bot), or update the existing one of the same account."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="channel", required=True)
        vk = sub.add_parser("vk", help="A VK community.")
        vk.add_argument("--group-id", required=True, help="The community id (a number).")
        vk.add_argument("--keywords", default="", help="Comma-separated words for the news-feed search (optional).")
        telegram = sub.add_parser("telegram", help="A Telegram bot.")
        telegram.add_argument("--discussion-chat-id", default="", help="The discussion group of the city's channel.")
        for p in (vk, telegram):
            p.add_argument("--name", required=True)
            p.add_argument("--token", required=True, help="Stored encrypted, never printed.")
            p.add_argument("--api-url", default="", help="Another API address (an emulator).")
            p.add_argument("--interval", type=int, default=None, help="Poll every S seconds (default 60).")
            p.add_argument("--inactive", action="store_true", help="Store it without polling it.")

    def handle(self, *args: Any, **options: Any) -> None:
        channel = options["channel"]
        config: dict[str, Any] = {"api_url": options["api_url"].strip().rstrip("/")}
        if channel == "vk":
            group = str(options["group_id"]).strip().lstrip("-")
            if not group.isdigit():
                raise CommandError(_("The community id is a number, e.g. 1."))
            config["group_id"] = int(group)
            config["keywords"] = [w.strip() for w in options["keywords"].split(",") if w.strip()]
        else:
            chat = str(options["discussion_chat_id"]).strip()
            if chat and not chat.lstrip("-").isdigit():
                raise CommandError(_("The chat id is a number, e.g. -1001234567890."))
            config["discussion_chat_id"] = int(chat) if chat else ""
        try:
            source, created = do_save_source(
                None,
                actor=None,
                channel=channel,
                name=options["name"],
                config=config,
                token=options["token"],
                poll_interval=options["interval"],
                is_active=not options["inactive"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if created:
            message = _("Source «%(name)s» (%(channel)s, account %(account)s) created: id %(id)s.")
        else:
            message = _("Source «%(name)s» (%(channel)s, account %(account)s) already exists, updated: id %(id)s.")
        self.stdout.write(
            message % {"name": source.name, "channel": source.channel, "account": source.account, "id": source.pk}
        )
        self.stdout.write(str(source.pk))
