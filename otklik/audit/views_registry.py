"""The pages and API endpoints that show personal data: a GET of one of them that succeeds is recorded as a view (or
an export) in the security log by otklik.audit.middleware.

Chosen by reading the URL confs and templates: what shows citizens' names, profiles, links or the text of their
posts (which often holds phones and addresses), and what shows the staff's contacts. A page that shows no personal
data (the dashboard, the media brief with masked texts, letters, settings lists without people) is not listed.
`tests/audit/test_views_of_personal_data.py` fails when a name here is no longer a URL name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonalDataView:
    object_type: str  # app_label.model of what the page shows
    pk_kwarg: str | None = "pk"  # the URL keyword naming the object; None for a list
    export: bool = False  # the URL itself is a download


POST = "intake.post"
INCIDENT = "cases.incident"
ASSIGNMENT = "cases.assignment"
IMPORT = "intake.importjob"
USER = "accounts.user"

PERSONAL_DATA_VIEWS: dict[str, PersonalDataView] = {
    # The workstation: authors' names and their posts.
    "incident-card": PersonalDataView(INCIDENT),
    "incident-merge-preview": PersonalDataView(INCIDENT),
    "inbox": PersonalDataView(INCIDENT, None),  # first lines of posts; ?format=xlsx exports them
    "inbox-export": PersonalDataView(INCIDENT, None, export=True),
    "assignments": PersonalDataView(ASSIGNMENT, None),
    "assignment-detail": PersonalDataView(ASSIGNMENT),
    # Imports: the rows of a file with authors; reports and exports back to the federal systems.
    "import-job": PersonalDataView(IMPORT),
    "import-report": PersonalDataView(IMPORT, export=True),
    "import-export-back": PersonalDataView(IMPORT, export=True),
    "import-export-back-channel": PersonalDataView(POST, "channel", export=True),
    # A person's data on request (otklik.privacy).
    "privacy": PersonalDataView(POST, None),
    # The staff: e-mails and phones.
    "settings-users": PersonalDataView(USER, None),
    "settings-user-edit": PersonalDataView(USER),
    # The API.
    "api:incident-list": PersonalDataView(INCIDENT, None),
    "api:incident-detail": PersonalDataView(INCIDENT),
    # The Django admin.
    "admin:intake_post_changelist": PersonalDataView(POST, None),
    "admin:intake_post_change": PersonalDataView(POST, "object_id"),
    "admin:intake_importrow_changelist": PersonalDataView("intake.importrow", None),
    "admin:intake_importrow_change": PersonalDataView("intake.importrow", "object_id"),
    "admin:cases_incident_change": PersonalDataView(INCIDENT, "object_id"),
    "admin:accounts_user_changelist": PersonalDataView(USER, None),
    "admin:accounts_user_change": PersonalDataView(USER, "object_id"),
    "admin:satisfaction_survey_changelist": PersonalDataView("satisfaction.survey", None),
    "admin:satisfaction_survey_change": PersonalDataView("satisfaction.survey", "object_id"),
    "admin:satisfaction_followedthread_changelist": PersonalDataView("satisfaction.followedthread", None),
    "admin:satisfaction_followedthread_change": PersonalDataView("satisfaction.followedthread", "object_id"),
    # The security log itself (usernames and addresses of the staff); its export too.
    "audit": PersonalDataView("audit.auditrecord", None),
    "admin:audit_auditrecord_changelist": PersonalDataView("audit.auditrecord", None),
}
EXPORT_FORMATS = frozenset({"xlsx", "csv"})
