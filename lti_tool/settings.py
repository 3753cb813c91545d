"""Provider settings: the config file gives the default, an admin's choice in the UI overrides it.

A setting is a switch (BOOL), a whole number of days or years within bounds (DAYS, YEARS: the
retention periods), or a text (TEXT: the provider's name, the privacy notice). A number or text
left blank on the settings page goes back to the configuration's default."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

from flask import current_app
from sqlalchemy import select

from .db import db
from .models import Setting

BOOL, DAYS, YEARS, TEXT = "bool", "days", "years", "text"
Value = Union[bool, int, str]


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    help: str
    kind: str = BOOL
    minimum: Optional[int] = None  # DAYS / YEARS: the bounds the settings page enforces
    maximum: Optional[int] = None
    max_length: int = 200          # TEXT
    group: str = "Access and registration"


def _retention(key: str, label: str, help: str, kind: str, minimum: int, maximum: int) -> SettingSpec:
    return SettingSpec(key, label, help, kind, minimum, maximum, group="Retention of personal data")


PROVIDER_SETTINGS = (
    SettingSpec(
        "AUTO_ACTIVATE_REGISTRATIONS",
        "Activate dynamically registered platforms at once",
        "Off: a platform that registers itself waits for an admin to approve it.",
    ),
    SettingSpec(
        "MENTORS_SEE_FEEDBACK",
        "Mentors and headteachers see their mentees' released feedback",
        "Off: mentors see progress, write-up status, webinar attendance and outcomes only.",
    ),
    SettingSpec(
        "MENTORS_SEE_SUBMITTED_WORK",
        "Mentors and headteachers may export their mentees' submitted write-ups",
        "Off: mentors cannot open or export any write-up. Drafts are never shown to mentors.",
    ),
    SettingSpec(
        "INSTITUTION_ADMINS_ARE_COURSE_ADMINS",
        "VLE institution and system administrators are course admins in every course",
        "Off: a course role (Learner, Instructor, ...) decides; an institution or system Administrator "
        "role counts only when the launch has no course role at all.",
    ),
    SettingSpec(
        "AUTO_ACCEPT_NEW_DEPLOYMENTS",
        "Accept new deployments of a known registration at once",
        "Canvas makes a new deployment ID for every install of the tool. Off: a launch from an "
        "unseen deployment is held for an admin to approve.",
    ),
    _retention("RETENTION_SESSION_DAYS", "Sessions, sign-in records and access tokens: days kept after they expire",
               "Launch and admin sessions, login states, page tickets, rate counters, failed sign-ins.", DAYS, 1, 365),
    _retention("RETENTION_DRAFT_DAYS", "Unsubmitted drafts: days kept after the participant left or last opened the tool",
               "Drafts and autosaves of someone the VLE no longer lists in the course, or who has not "
               "launched for this long. Submitted work is kept as below.", DAYS, 30, 3650),
    _retention("RETENTION_WORK_YEARS", "Submitted work, marks and feedback: years kept",
               "Counted from submission. Long enough for assessment appeals and DfE audit.", YEARS, 1, 20),
    _retention("RETENTION_ENGAGEMENT_YEARS", "Attendance, questions and launch records: years kept",
               "Counted from when each was recorded.", YEARS, 1, 20),
    _retention("RETENTION_DFE_YEARS", "DfE declarations and outcomes: years kept",
               "Released outcomes and DfE participant IDs, counted from their last change.", YEARS, 1, 20),
    _retention("RETENTION_AUDIT_YEARS", "Audit log: years kept", "Counted from each entry.", YEARS, 1, 20),
    SettingSpec("PROVIDER_NAME", "Your organisation's name",
                "Named as the data controller in the privacy notice.", TEXT, max_length=200,
                group="Privacy notice"),
    SettingSpec("PRIVACY_NOTICE", "Privacy notice",
                "Plain text; a blank line starts a new paragraph. Leave blank for the standard notice, "
                "which names your organisation as controller and this tool as its processor.",
                TEXT, max_length=20000, group="Privacy notice"),
)
SPECS = {spec.key: spec for spec in PROVIDER_SETTINGS}


def _typed(spec: Optional[SettingSpec], value: Any) -> Value:
    if spec is None or spec.kind == BOOL:
        return bool(value)
    if spec.kind == TEXT:
        return "" if value is None else str(value)
    return int(value)


def setting_value(key: str) -> Value:
    """The provider's value of a setting (a bool, a whole number or a text), else the config's."""
    row = db().get(Setting, key)
    value = row.value if row is not None and row.value is not None else current_app.config.get(key)
    return _typed(SPECS.get(key), value)


def get_setting(key: str) -> bool:
    """A switch's value (the setting a view's Allow(..., setting=...) names)."""
    return bool(setting_value(key))


def set_setting(key: str, value: Optional[Value]) -> None:
    """Store the provider's choice; None forgets it (the configuration's default applies)."""
    row = db().get(Setting, key)
    if row is None:
        db().add(Setting(key=key, value=value))
    else:
        row.value = value


def all_settings() -> list[tuple[SettingSpec, Value]]:
    stored = {s.key: s.value for s in db().scalars(select(Setting))}
    return [(spec, _typed(spec, stored[spec.key] if stored.get(spec.key) is not None
                          else current_app.config.get(spec.key)))
            for spec in PROVIDER_SETTINGS]


# -- write-ups per programme ---------------------------------------------------------------------
# The reformed NPQs have no assessed school project: the DfE outcome comes only from the case-study
# assessment. Providers keep the three write-ups as in-school implementation work and decide, per
# programme, whether tutors' rubric marks reach the VLE gradebook (provider-assessed) or only
# feedback does (formative), and whether the write-ups count towards engagement. Either way they
# never feed the DfE outcome.

WRITEUPS_ASSESSED = "WRITEUPS_ASSESSED"
WRITEUPS_COUNT_FOR_ENGAGEMENT = "WRITEUPS_COUNT_FOR_ENGAGEMENT"
WRITEUP_SETTINGS = (
    SettingSpec(WRITEUPS_ASSESSED, "Write-ups are provider-assessed",
                "On: released rubric marks are sent to the VLE gradebook. Off: formative, the participant "
                "gets feedback only and the gradebook gets no mark."),
    SettingSpec(WRITEUPS_COUNT_FOR_ENGAGEMENT, "Write-ups count towards engagement",
                "On: each submitted write-up is a required item in the engagement the DfE outcome needs."),
)


@dataclass(frozen=True)
class WriteupPolicy:
    assessed: bool = True
    count_for_engagement: bool = True


def _programme_key(key: str, code: str) -> str:
    return f"{key}:{code}"


def writeup_policy(code: str) -> WriteupPolicy:
    """A programme's write-up policy; both on unless an admin turned them off (today's behaviour)."""
    values = {}
    for spec in WRITEUP_SETTINGS:
        row = db().get(Setting, _programme_key(spec.key, code))
        values[spec.key] = True if row is None else bool(row.value)
    return WriteupPolicy(values[WRITEUPS_ASSESSED], values[WRITEUPS_COUNT_FOR_ENGAGEMENT])


def set_writeup_policy(code: str, policy: WriteupPolicy) -> dict[str, dict[str, bool]]:
    """Store a programme's policy; returns what changed (for the audit entry)."""
    before = writeup_policy(code)
    changed = {}
    for key, old, new in ((WRITEUPS_ASSESSED, before.assessed, policy.assessed),
                          (WRITEUPS_COUNT_FOR_ENGAGEMENT, before.count_for_engagement, policy.count_for_engagement)):
        set_setting(_programme_key(key, code), new)
        if old != new:
            changed[_programme_key(key, code)] = {"before": old, "after": new}
    return changed
