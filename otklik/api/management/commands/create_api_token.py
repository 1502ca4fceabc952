"""`python manage.py create_api_token USERNAME [--revoke-all]`: a new API token, printed alone on the last line.

Only a hash of the token is stored: it cannot be shown again. Integrations use a token of a user with a service
role (operator, head or admin).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from knox.models import get_token_model


class Command(BaseCommand):
    help = "Create an API token for a user and print it on the last line (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--revoke-all",
            action="store_true",
            help="Revoke the user's existing tokens first.",
        )

    def handle(self, *args: Any, username: str, revoke_all: bool = False, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("There is no user «%(username)s».") % {"username": username})
        if not user.is_active:
            raise CommandError(_("The user «%(username)s» is not active.") % {"username": username})
        tokens = get_token_model().objects
        if revoke_all:
            revoked, _details = tokens.filter(user=user).delete()
            self.stdout.write(
                _("Revoked tokens of %(username)s: %(count)s.") % {"username": username, "count": revoked}
            )
        if not user.is_service:
            self.stderr.write(
                _("Note: %(username)s (%(role)s) can read through the API but cannot send posts.")
                % {"username": username, "role": user.get_role_display()}
            )
        _instance, token = tokens.create(user=user)
        self.stdout.write(
            _("A new API token for %(username)s (%(role)s). It is shown once; only its hash is stored:")
            % {"username": username, "role": user.get_role_display()}
        )
        self.stdout.write(token)
