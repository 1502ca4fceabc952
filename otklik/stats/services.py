"""The only writers of the stats app: report subscriptions (the head of the service edits them)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from otklik.accounts.models import User
from otklik.core.permissions import ensure_head
from otklik.stats.models import ReportFormat, ReportSubscription


@transaction.atomic
def do_add_report_subscription(
    *, actor: User, user: User | None = None, email: str = "", format: str = ReportFormat.DOCX
) -> ReportSubscription:
    """Subscribe a user or an e-mail address to the weekly report. The same recipient and format again
    reactivates the existing subscription instead of adding a second one."""
    ensure_head(actor)
    email = email.strip().lower()
    if (user is None) == (not email):
        raise ValidationError(_("Choose a user or enter an e-mail address (one of the two)."))
    if email:
        validate_email(email)
    if format not in ReportFormat.values:
        raise ValidationError(_("Unknown format."))
    if user is not None and not user.email:
        raise ValidationError(_("This user has no e-mail address: add it in the user's settings first."))
    existing = ReportSubscription.objects.filter(user=user, email=email, format=format).first()
    if existing is not None:
        if not existing.is_active:
            existing.is_active = True
            existing.save(update_fields=["is_active"])
        return existing
    return ReportSubscription.objects.create(user=user, email=email, format=format, created_by=actor)


@transaction.atomic
def do_remove_report_subscription(subscription: ReportSubscription, *, actor: User) -> None:
    """Stop the weekly report for this recipient (the row stays with its deliveries, inactive)."""
    ensure_head(actor)
    ReportSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
