"""The weekly report by e-mail (docs/STATS.md, «Weekly delivery»).

Every Monday 08:00 city time the beat runs `otklik.stats.tasks.send_weekly_reports`: last week (Monday–Sunday,
city days) goes to every active subscription as an attachment in its format.

Once per week and subscription: the claim is a `ReportDelivery` row, unique per (subscription, week), created in
its own transaction before the mail is sent; a second run (a retry, a second beat, a manual run) finds the row and
sends nothing. A failed delivery is claimed again by the next run with a conditional UPDATE (`failed` → `sending`);
a run that died between the claim and the mail leaves a `sending` row, which is not retried (at most once: a
missing weekly report is better than a flood of duplicates; the row shows it).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.stats.models import DeliveryStatus, ReportDelivery, ReportSubscription
from otklik.stats.report import CONTENT_TYPES, Report, build_report, render

log = logging.getLogger(__name__)
_ERROR_MAX = 2000


def last_week(today: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday and the Sunday of the week before the one `today` is in."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)


def _claim(subscription: ReportSubscription, week_start: dt.date, address: str) -> ReportDelivery | None:
    try:
        with transaction.atomic():
            return ReportDelivery.objects.create(
                subscription=subscription, week_start=week_start, address=address, status=DeliveryStatus.SENDING
            )
    except IntegrityError:
        pass
    reclaimed = ReportDelivery.objects.filter(
        subscription=subscription, week_start=week_start, status=DeliveryStatus.FAILED
    ).update(status=DeliveryStatus.SENDING, address=address, error="")
    if not reclaimed:
        return None
    return ReportDelivery.objects.get(subscription=subscription, week_start=week_start)


def send_weekly_reports(now: dt.datetime | None = None) -> dict[str, int]:
    """Send last week's report to every active subscription that has not had it; returns counts by outcome."""
    now = now or timezone.now()
    start, end = last_week(timezone.localtime(now).date())
    counts = {"sent": 0, "failed": 0, "skipped": 0, "already": 0}
    reports: dict[str, tuple[Report, bytes]] = {}
    for subscription in ReportSubscription.objects.filter(is_active=True).select_related("user").order_by("pk"):
        address = subscription.address
        delivery = _claim(subscription, start, address)
        if delivery is None:
            counts["already"] += 1
            continue
        claimed = ReportDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING)
        if not address:
            claimed.update(status=DeliveryStatus.SKIPPED, error=_("No e-mail address."))
            counts["skipped"] += 1
            continue
        try:
            if subscription.format not in reports:
                report = build_report(start, end, now=now)
                reports[subscription.format] = (report, render(report, subscription.format))
            report, content = reports[subscription.format]
            message = EmailMessage(
                subject=f"{report.title}: {report.period_label}",
                body=_("The information note on the work with messages for %(period)s is attached.")
                % {"period": report.period_label},
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[address],
            )
            message.attach(report.filename(subscription.format), content, CONTENT_TYPES[subscription.format])
            message.send()
        except Exception as exc:  # the next run tries again
            log.exception("weekly report to subscription %s failed", subscription.pk)
            claimed.update(status=DeliveryStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:_ERROR_MAX])
            counts["failed"] += 1
            continue
        claimed.update(status=DeliveryStatus.SENT, sent_at=timezone.now())
        counts["sent"] += 1
    return counts
