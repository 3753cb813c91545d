"""Provider settings: the config file gives the default, an admin's choice in the UI overrides it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from .db import db
from .models import Setting


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    help: str


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
)


def get_setting(key: str) -> bool:
    row = db().get(Setting, key)
    if row is not None:
        return bool(row.value)
    return bool(current_app.config.get(key))


def set_setting(key: str, value: bool) -> None:
    row = db().get(Setting, key)
    if row is None:
        db().add(Setting(key=key, value=value))
    else:
        row.value = value


def all_settings() -> list[tuple[SettingSpec, bool]]:
    stored = {s.key: s.value for s in db().scalars(select(Setting))}
    return [
        (spec, bool(stored.get(spec.key, current_app.config.get(spec.key))))
        for spec in PROVIDER_SETTINGS
    ]


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
