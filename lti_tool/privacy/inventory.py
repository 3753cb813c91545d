"""The data inventory: every table and column of the schema, as personal data (whose, why, on what
lawful basis, kept how long, what erasure does to it) or as explicitly not personal.

Subject access export, erasure, the retention purge and docs/data-protection.md are all driven
from here, and a test fails for any column of `Base.metadata` without an entry (and for entries
naming columns that no longer exist): a new column must be classified before it can ship.

A table's rows are *about* a person through its `about` link (a person column, or a column
pointing at a parent table whose rows are about them); `by` columns name a person who acted
(a marker, a tutor who answered). Erasure rules apply to the rows about the person erased:
`delete` removes the row (every personal column of such a table says `delete`), `blank` empties
the column, `pseudonymise` leaves a value that no longer identifies them (the person row's name
and VLE user ID are replaced; link columns keep pointing at that pseudonymised row), `keep`
leaves it, with the reason shown to the admin before erasure."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

# Whose data it is.
PARTICIPANT, TUTOR, MENTOR, ADMIN = "participant", "tutor", "mentor", "admin"
EVERYONE = (PARTICIPANT, TUTOR, MENTOR)
# Retention categories: the periods and the purge live in retention.py.
SESSION, DRAFT, WORK, ENGAGEMENT, DFE = "session", "draft", "work", "engagement", "dfe"
AUDIT, IDENTITY, ADMIN_ACCOUNT, CONFIGURATION = "audit", "identity", "admin_account", "configuration"
RETENTION_CATEGORIES = (SESSION, DRAFT, WORK, ENGAGEMENT, DFE, AUDIT, IDENTITY, ADMIN_ACCOUNT, CONFIGURATION)
# Erasure rules.
DELETE, BLANK, PSEUDONYMISE, KEEP = "delete", "blank", "pseudonymise", "keep"
ERASURE_RULES = (DELETE, BLANK, PSEUDONYMISE, KEEP)

# Lawful-basis notes. The provider, as controller, confirms the basis; these say what the tool assumes.
DELIVERY = ("Public task or contract (the controller confirms which): delivering the NPQ the person "
            "is enrolled on.")
ASSESSMENT = ("Public task or legal obligation: assessing the NPQ and reporting outcomes under the "
              "provider's contract with the DfE.")
SECURITY = "Legitimate interests: keeping the service, its sessions and accounts secure."
ACCOUNTABILITY = "Legal obligation (UK GDPR accountability) and legitimate interests: a record of who did what."
ACCOUNTS = "Legitimate interests: the provider's own staff accounts for running the tool."

ROW_NUMBER = "An internal row number: identifies no one outside the tool."
REFERENCE = "A reference to a course, an item of a programme pack or another row: not about a person."
FIGURES = ("Counts, statuses, scores and dates: kept with the pseudonymised person so that cohort "
           "counts, dashboards and outcome reports still add up; they no longer identify anyone.")
LINK = "Points at the person's row, which erasure pseudonymises: the row then belongs to the pseudonym."


@dataclass(frozen=True)
class Entry:
    """One column: personal (with its subjects, purpose, basis, retention, erasure) or not."""

    table: str
    column: str
    personal: bool
    subjects: tuple[str, ...] = ()
    purpose: str = ""
    basis: str = ""
    retention: str = CONFIGURATION
    erasure: str = KEEP
    keep_reason: str = ""
    note: str = ""  # not personal: why not


@dataclass(frozen=True)
class TableSpec:
    name: str
    area: str                                     # export file (without .json); "" if never exported
    retention: str
    about: Optional[tuple[str, ...]] = None       # (column,) a person's id; (column, parent table); ("audit",)
    by: tuple[str, ...] = ()                      # columns naming a person who acted
    kept_rows: Optional[tuple[str, str, str]] = None  # (column, value, reason): rows kept though delete
    unexported: tuple[str, ...] = ()              # secrets or other people's data left out of exports
    columns: dict[str, Entry] = field(default_factory=dict)

    @property
    def deletes_rows(self) -> bool:
        return any(e.erasure == DELETE for e in self.columns.values() if e.personal)

    def personal(self) -> list[Entry]:
        return [e for e in self.columns.values() if e.personal]


TABLES: dict[str, TableSpec] = {}


def table(name: str, *, area: str = "", retention: str = CONFIGURATION, subjects=(), purpose: str = "",
          basis: str = "", about=None, by=(), kept_rows=None, unexported=(), delete=(), blank=(),
          pseudonymise=(), keep=(), other=(), retention_of: Optional[dict[str, str]] = None) -> None:
    """Declare a table. keep and other are lists of (columns, reason); the rest are column names."""
    subjects = tuple(subjects)
    retention_of = retention_of or {}

    def personal(column: str, rule: str, reason: str = "") -> Entry:
        return Entry(name, column, True, subjects, purpose, basis, retention_of.get(column, retention), rule, reason)

    columns = {}
    for rule, names in ((DELETE, delete), (BLANK, blank), (PSEUDONYMISE, pseudonymise)):
        columns.update({c: personal(c, rule) for c in names})
    for names, reason in keep:
        columns.update({c: personal(c, KEEP, reason) for c in names})
    for names, reason in other:
        columns.update({c: Entry(name, c, False, retention=retention_of.get(c, retention), note=reason)
                        for c in names})
    TABLES[name] = TableSpec(name, area, retention, tuple(about) if about else None, tuple(by), kept_rows,
                             tuple(unexported), columns)


# -- people and where they are ------------------------------------------------------------------

table("person", area="identity", retention=IDENTITY, subjects=EVERYONE, about=("id",),
      purpose="Who launched the tool from the VLE: to show their name, keep their work and tell the VLE about it.",
      basis=DELIVERY, pseudonymise=("sub", "name"),
      blank=("given_name", "family_name", "email", "locale", "time_zone", "last_launch_at"),
      keep=[(("created_at",), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("platform_id",), REFERENCE)],
      retention_of={"last_launch_at": ENGAGEMENT})
table("enrolment", area="identity", retention=ENGAGEMENT, subjects=EVERYONE, about=("person_id",),
      purpose="Their role in each course, from the VLE: decides what they may see and do.", basis=DELIVERY,
      pseudonymise=("person_id",),
      keep=[(("role", "lti_roles", "source", "updated_at"), "Roles decide who counts in each cohort: kept so "
             "cohort counts add up; they belong to the pseudonym.")],
      other=[(("id",), ROW_NUMBER), (("course_id",), REFERENCE)])
table("launch_session", area="launches", retention=SESSION, subjects=EVERYONE, about=("person_id",),
      purpose="An open launch: who is using the tool, where, with which VLE services.", basis=DELIVERY,
      unexported=("services", "session_data", "secret_hash"),
      delete=("person_id", "role", "message_type", "services", "session_data", "secret_hash", "created_at",
              "expires_at", "ended_at", "last_seen_at", "cookieless"),
      other=[(("id",), "A random session ID, deleted with the row."),
             (("course_id", "deployment_id", "placement_id"), REFERENCE)])
table("page_ticket", retention=SESSION, other=[(("id", "session_id", "expires_at"),
      "A one-time ticket of a launch session (hashed): nothing about the person beyond the session it opens.")])
table("launch_state", retention=SESSION, other=[(
    ("state", "nonce", "platform_id", "browser_binding", "storage_target", "created_at", "expires_at"),
    "OIDC login states that a launch has used (the login itself stores nothing), kept until the state would have expired so that it works once.")])

# -- work -----------------------------------------------------------------------------------------

table("activity_work", area="activities", retention=DRAFT, subjects=(PARTICIPANT,), about=("person_id",),
      purpose="Their answers to module activities, autosaved while they work.", basis=DELIVERY,
      pseudonymise=("person_id",), blank=("answers",),
      keep=[(("version", "status", "updated_at", "submitted_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("course_id", "activity_ref"), REFERENCE)])
table("activity_submission", area="activities", retention=WORK, subjects=(PARTICIPANT,),
      about=("work_id", "activity_work"), purpose="What they submitted for an activity, and its automatic score.",
      basis=DELIVERY, blank=("answers",), keep=[(("submitted_at", "score", "max_score"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("work_id",), REFERENCE)])
table("writeup_doc", area="writeups", retention=DRAFT, subjects=(PARTICIPANT,), about=("person_id",),
      purpose="Their in-school project write-ups (the live draft).", basis=DELIVERY,
      pseudonymise=("person_id",), blank=("content", "school"),
      keep=[(("version", "status", "queue_status", "submitted_at", "updated_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("course_id", "template_ref"), REFERENCE)])
table("writeup_version", area="writeups", retention=DRAFT, subjects=(PARTICIPANT,),
      about=("doc_id", "writeup_doc"), purpose="Saved versions of a write-up, so earlier states can be seen.",
      basis=DELIVERY, blank=("content",), keep=[(("version", "word_count", "saved_at", "reason"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("doc_id",), REFERENCE)])
table("writeup_submission", area="writeups", retention=WORK, subjects=(PARTICIPANT,),
      about=("doc_id", "writeup_doc"), purpose="Write-ups submitted for marking (immutable snapshots).",
      basis=ASSESSMENT, blank=("content", "return_feedback"),
      keep=[(("attempt", "version", "word_count", "submitted_at", "status", "returned_at", "moderation"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("doc_id",), REFERENCE)])
table("mark", area="marks_and_feedback", retention=WORK, subjects=(PARTICIPANT, TUTOR),
      about=("submission_id", "writeup_submission"), by=("marker_id",),
      purpose="Tutors' rubric marks and feedback on a submission (draft, agreed, released).", basis=ASSESSMENT,
      blank=("comments", "overall_comment"), pseudonymise=("marker_id",),
      keep=[(("kind", "levels", "total", "outcome", "status", "created_at", "updated_at", "released_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("submission_id",), REFERENCE)])
table("mark_event", area="marks_and_feedback", retention=WORK, subjects=(PARTICIPANT, TUTOR),
      about=("submission_id", "writeup_submission"), by=("actor_id",),
      purpose="The marking history of a submission: who did what, when.", basis=ASSESSMENT,
      blank=("detail",), pseudonymise=("actor_id",), keep=[(("action", "at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("submission_id",), REFERENCE)])
table("grade_outbox", area="grades_sent_to_vle", retention=WORK, subjects=(PARTICIPANT,), about=("person_id",),
      purpose="Scores and feedback on their way to the VLE gradebook (AGS).", basis=ASSESSMENT,
      kept_rows=("status", "delivered", "Marks already sent to the VLE: the VLE (the controller's own system) "
                 "holds them; the tool keeps its record of what it sent. Scores never sent (waiting, failed, or "
                 "superseded: a newer score of theirs for the same item was sent instead) are deleted."),
      delete=("person_id", "score", "source_id", "created_at", "delivered_at"),
      other=[(("id",), ROW_NUMBER),
             (("platform_id", "course_id", "line_item_url", "lineitems_url", "resource_id", "resource_link_id",
               "label", "source"), REFERENCE),
             (("status", "attempts", "next_attempt_at", "lease_owner", "lease_until", "last_error",
               "maybe_delivered"), "Delivery bookkeeping: not about the person.")])

# -- the case-study assessment and DfE reporting ---------------------------------------------------

table("assessment_attempt", area="case_study", retention=WORK, subjects=(PARTICIPANT,), about=("person_id",),
      purpose="Their case-study response, deadline extension and released outcome.", basis=ASSESSMENT,
      pseudonymise=("person_id",), blank=("answers", "extension_reason", "void_reason"),
      keep=[(("attempt_no", "version", "status", "word_count", "started_at", "updated_at", "submitted_at", "late",
              "extended_until", "second_marking"), FIGURES),
            (("outcome", "released_at", "voided_outcome", "discounted"), "DfE outcomes: the provider reports "
             "them to the DfE (and retracts a voided one) and must be able to show what it reported.")],
      other=[(("id",), ROW_NUMBER), (("window_id", "course_id"), REFERENCE)],
      retention_of={"outcome": DFE, "released_at": DFE, "voided_outcome": DFE, "discounted": DFE})
table("assessment_mark", area="case_study", retention=WORK, subjects=(PARTICIPANT, TUTOR),
      about=("attempt_id", "assessment_attempt"), by=("marker_id",),
      purpose="Markers' pass/fail judgements on a case-study response, with justification.", basis=ASSESSMENT,
      blank=("justification",), pseudonymise=("marker_id",),
      keep=[(("kind", "outcome", "statements", "created_at", "updated_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("attempt_id",), REFERENCE)])
table("assessment_event", area="case_study", retention=WORK, subjects=(PARTICIPANT, TUTOR),
      about=("attempt_id", "assessment_attempt"), by=("actor_id",),
      purpose="The case-study assessment's history: who did what to which attempt.", basis=ASSESSMENT,
      blank=("detail",), pseudonymise=("actor_id",), keep=[(("action", "at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("course_id", "window_id", "attempt_id"), REFERENCE)])
table("assessment_record", area="case_study", retention=WORK, subjects=(PARTICIPANT, TUTOR),
      about=("attempt_id", "assessment_attempt"), by=("raised_by_id", "decided_by_id"),
      purpose="Special consideration, malpractice and appeals about an attempt: what was raised and decided.",
      basis=ASSESSMENT, blank=("summary", "decision_reason"), pseudonymise=("raised_by_id", "decided_by_id"),
      keep=[(("kind", "status", "effect", "raised_at", "decided_at"), "Assessment regulation: the provider must "
             "be able to show which appeals and malpractice cases changed an outcome it reported.")],
      other=[(("id",), ROW_NUMBER), (("course_id", "attempt_id"), REFERENCE)])
table("assessment_schedule", retention=CONFIGURATION, subjects=(TUTOR,), by=("set_by_id",),
      purpose="Which tutor set the course's DfE schedule.", basis=ASSESSMENT, pseudonymise=("set_by_id",),
      other=[(("id",), ROW_NUMBER), (("course_id", "item_ref", "schedule_key", "updated_at"),
                                      "The course's DfE schedule: not about a person.")])
table("assessment_window", retention=CONFIGURATION, subjects=(TUTOR,), by=("opened_by_id",),
      purpose="Who opened a case-study window.", basis=ASSESSMENT, pseudonymise=("opened_by_id",),
      other=[(("id",), ROW_NUMBER), (("course_id", "item_ref", "number", "case_id", "opens_at", "closes_at",
                                      "created_at"), "The course's assessment calendar.")])
table("assessment_participant", area="dfe", retention=DFE, subjects=(PARTICIPANT,), about=("person_id",),
      purpose="The DfE participant ID their outcomes are reported under.", basis=ASSESSMENT,
      pseudonymise=("person_id",),
      keep=[(("dfe_participant_id", "updated_at"), "DfE declarations: the ID outcomes were reported to the DfE "
             "under; the provider must keep it to answer the DfE about what it declared.")],
      other=[(("id",), ROW_NUMBER), (("course_id",), REFERENCE)])

# -- engagement -------------------------------------------------------------------------------------

table("attendance", area="attendance", retention=ENGAGEMENT, subjects=(PARTICIPANT,), about=("person_id",),
      purpose="Webinars they attended (counts towards engagement).", basis=DELIVERY,
      pseudonymise=("person_id",), keep=[(("source", "recorded_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("webinar_id",), REFERENCE)])
table("assessment_attendance", area="attendance", retention=ENGAGEMENT, subjects=(PARTICIPANT, TUTOR),
      about=("person_id",), by=("recorded_by_id",), purpose="Sessions they attended that count towards engagement.",
      basis=ASSESSMENT, pseudonymise=("person_id", "recorded_by_id"),
      keep=[(("session_id", "held_on", "recorded_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("course_id",), REFERENCE)])
table("question", area="questions", retention=ENGAGEMENT, subjects=(PARTICIPANT, TUTOR), about=("person_id",),
      by=("answered_by",), purpose="Their questions to the tutors about an activity, and the answers.",
      basis=DELIVERY, pseudonymise=("person_id", "answered_by"), blank=("text", "answer"),
      keep=[(("asked_at", "answered_at"), FIGURES)],
      other=[(("id",), ROW_NUMBER), (("course_id", "item_ref"), REFERENCE)])
table("webinar", retention=CONFIGURATION, subjects=(TUTOR,), by=("created_by",),
      purpose="Which tutor scheduled a webinar.", basis=DELIVERY, pseudonymise=("created_by",),
      other=[(("id",), ROW_NUMBER), (("course_id", "title", "starts_at", "minutes", "join_url", "module_id",
                                      "statements", "created_at"), "The course's timetable.")])

# -- the audit trail ----------------------------------------------------------------------------------

table("audit_event", area="audit", retention=AUDIT, subjects=(ADMIN, PARTICIPANT, TUTOR, MENTOR), about=("audit",),
      purpose="Append-only record of security-relevant and personal-data actions (who, what, when, from where).",
      basis=ACCOUNTABILITY,
      keep=[(("actor", "target_type", "target_id", "subject_person_id", "detail", "ip", "at", "action"),
             "Audit entries are append-only "
             "evidence of who did what (including this erasure); they name a person only by internal number.")],
      other=[(("id",), ROW_NUMBER)])

# -- provider admins and security ---------------------------------------------------------------------

ADMIN_KEEP = "A provider admin account is not a VLE person: it is removed with the admin commands, not by erasure."
table("admin_user", retention=ADMIN_ACCOUNT, subjects=(ADMIN,), basis=ACCOUNTS,
      purpose="Provider admins' accounts: sign-in, two-factor authentication, lock-out.",
      keep=[(("username", "password_hash", "created_at", "last_login_at", "totp_secret", "totp_enabled_at",
              "totp_last_step", "recovery_codes", "failed_logins", "locked_until"), ADMIN_KEEP)],
      other=[(("id",), ROW_NUMBER)])
table("admin_session", retention=SESSION, subjects=(ADMIN,), basis=SECURITY,
      purpose="Admins' signed-in sessions, listed on their account page so they can end them.",
      keep=[(("admin_id", "created_at", "last_seen_at", "ended_at", "ip", "user_agent", "stage", "expires_at"),
             ADMIN_KEEP)], other=[(("id",), "The SHA-256 of a random cookie value.")])
table("login_attempt", retention=SESSION, subjects=(ADMIN,), basis=SECURITY,
      purpose="Failed admin sign-ins (username or address), for lock-out.",
      keep=[(("key", "at"), ADMIN_KEEP)], other=[(("id",), ROW_NUMBER)])
table("rate_counter", retention=SESSION, subjects=EVERYONE, basis=SECURITY,
      purpose="Requests per client address and minute on anonymous endpoints, for rate limits.",
      keep=[(("key",), "Keyed by network address, not by person; gone within minutes.")],
      other=[(("window", "count", "expires_at"), "A count and its time window.")])
table("registration_link", retention=CONFIGURATION, subjects=(ADMIN,), basis=ACCOUNTS,
      purpose="Which admin made a one-time registration link.", keep=[(("created_by",), ADMIN_KEEP)],
      other=[(("id",), ROW_NUMBER), (("token_hash", "label", "expected_issuer", "created_at", "expires_at", "used_at",
                                      "platform_id"), "A registration link for a VLE: configuration.")])
table("registration_request", retention=CONFIGURATION, subjects=(ADMIN,), basis=ACCOUNTS,
      purpose="Which admin decided on a registration change.", keep=[(("decided_by",), ADMIN_KEEP)],
      other=[(("id",), ROW_NUMBER), (("platform_id", "proposed", "status", "source_ip", "created_at", "decided_at"),
                                     "A VLE's registration request and the VLE server's address: configuration.")])

# -- configuration and the sandbox ----------------------------------------------------------------------

table("platform", other=[(
    ("id", "name", "issuer", "client_id", "auth_login_url", "auth_token_url", "auth_audience", "key_set_url",
     "key_set", "status", "registered_via", "platform_info", "jwks_cache", "jwks_fetched_at", "jwks_fetch_count",
     "jwks_retry_at", "jwks_last_error", "frame_origins", "created_at", "updated_at"),
    "A VLE registration: addresses and keys of the controller's own system.")])
table("deployment", other=[(("id", "platform_id", "deployment_id", "label", "status", "created_at"),
                            "A VLE deployment of the tool.")])
table("course", other=[(("id", "platform_id", "deployment_id", "context_id", "title", "label", "programme_code", "picker_programme",
                         "roster_synced_at", "created_at"), "A VLE course: its title and programme.")])
table("placement", other=[(("id", "course_id", "resource_link_id", "title", "item_ref", "line_item_url", "created_at"),
                           "A link in a VLE course and the item it opens.")])
table("module_window", other=[(("id", "course_id", "module_id", "opens_at", "closes_at"),
                               "When a cohort studies a module.")])
table("setting", other=[(("key", "value", "updated_at"), "A provider setting chosen in the admin pages.")])
table("access_token", retention=SESSION, other=[(("id", "platform_id", "scope_key", "token", "expires_at"),
                                                 "The VLE's OAuth2 token for the tool: a secret, not about a person.")])
table("sandbox_link", other=[(("id", "title", "text", "resource_link_id", "custom", "line_item", "created_at"),
                              "A link in the built-in demo VLE's course.")])
table("sandbox_line_item", other=[(("id", "label", "score_maximum", "resource_id", "resource_link_id", "tag"),
                                   "A gradebook column of the built-in demo VLE.")])
table("sandbox_grade", retention=WORK, subjects=(PARTICIPANT,), basis=DELIVERY,
      purpose="Scores the built-in demo VLE received (quick start only; a real VLE keeps its own gradebook).",
      keep=[(("user_id", "score", "received_at"), "The demo VLE's own gradebook, standing in for the VLE: "
             "marks sent to a VLE are the VLE's.")],
      other=[(("id",), ROW_NUMBER), (("line_item_id",), REFERENCE)])

# Export files, in the order the archive and the PDF list them, with what each holds.
AREAS = {
    "identity": "Who they are in the tool and the courses they are enrolled on, with their roles.",
    "writeups": "In-school project write-ups: the live draft, every saved version and every submission.",
    "activities": "Module activities: answers in progress and every submission with its score.",
    "case_study": "The case-study assessment: responses, extensions, marks and its history.",
    "marks_and_feedback": "Marks and feedback on their write-ups (draft ones too), with the markers' names.",
    "grades_sent_to_vle": "Scores and feedback sent (or on their way) to the VLE gradebook.",
    "questions": "Their questions to the tutors, and the answers.",
    "attendance": "Webinars and sessions they attended.",
    "dfe": "The DfE participant ID their outcomes are reported under.",
    "launches": "When they opened the tool from the VLE.",
    "audit": "Entries of the audit trail about them.",
}


def entries() -> list[Entry]:
    return [entry for spec in TABLES.values() for entry in spec.columns.values()]


def personal_entries() -> list[Entry]:
    return [entry for entry in entries() if entry.personal]


def tables_about_people() -> list[TableSpec]:
    return [spec for spec in TABLES.values() if spec.about]
