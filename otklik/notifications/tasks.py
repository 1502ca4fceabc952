from __future__ import annotations

from celery import shared_task


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    rate_limit="60/m",
)
def send_notification_email(self, notification_id: int) -> str:  # type: ignore[no-untyped-def]
    from otklik.notifications.email import deliver

    return deliver(notification_id)
