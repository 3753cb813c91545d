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
