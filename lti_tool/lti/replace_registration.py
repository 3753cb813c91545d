"""One registration replacing another: the VLE registered the tool again (moved to HTTPS, a new
address, a new developer key) and its courses and people must not be stranded under the old one.

A provider admin names the old registration and the new one (admin pages or `flask platform
replace OLD NEW`). The tool shows what would move, then in one transaction:
- moves the old registration's people and courses (and with them everything they own: work,
  submissions, marks, placements, enrolments, webinars, questions) and grade history to the new one;
- rewrites the gradebook addresses (placements' line items, undelivered grades) from the old
  issuer's address to the new one where the VLE's address changed;
- ends the old registration's launch sessions, forgets its access tokens and login states,
  disables it (kept, with its deployments, for the audit trail), and records an audit entry.

A person or course that already launched through the new registration as well (the same VLE user
ID or course ID) is merged only if its copy under the new registration holds nothing but launch
sessions, enrolments and links: that copy is dropped and the old one, with its history, moves.
If the copy holds work, nothing is changed and the preview says which.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import Table, delete, func, select, update

from ..db import Base, db, utcnow
from ..models import (DISABLED, AccessToken, Course, GradeOutbox, LaunchSession, LaunchState, Person, Placement,
                      Platform)
from ..grades.status import SETTLED

# Rows a launch makes by itself: a duplicate holding only these may be dropped.
DISPOSABLE = {"launch_session", "enrolment", "placement", "page_ticket"}


class ReplacementRefused(Exception):
    """The replacement cannot be made; the message says why in an admin's words."""


@dataclass
class Preview:
    old: Platform
    new: Platform
    people: int = 0
    courses: int = 0
    placements_with_line_items: int = 0
    grades: int = 0
    grades_undelivered: int = 0
    sessions_to_end: int = 0
    address_change: tuple[str, str] | None = None
    duplicates_dropped: dict[str, int] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)  # why it cannot be made


def origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _referencing(target: str) -> list[tuple[Table, str]]:
    """(table, column) for every foreign key to target.id, from the models' metadata."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == target and fk.column.name == "id":
                found.append((table, fk.parent.name))
    return found


def _duplicates(model, key: str, old_id: int, new_id: int) -> list[tuple[int, str]]:
    """(id under the new registration, key value) for rows keyed the same under both."""
    old_keys = select(getattr(model, key)).where(model.platform_id == old_id)
    rows = db().execute(select(model.id, getattr(model, key)).where(
        model.platform_id == new_id, getattr(model, key).in_(old_keys))).all()
    return [(r[0], r[1]) for r in rows]


def _holds_work(target: str, row_id: int) -> list[str]:
    held = []
    for table, column in _referencing(target):
        if table.name in DISPOSABLE:
            continue
        count = db().scalar(select(func.count()).select_from(table).where(table.c[column] == row_id))
        if count:
            held.append(table.name)
    return held


def preview(old_id: int, new_id: int) -> Preview:
    old, new = db().get(Platform, old_id), db().get(Platform, new_id)
    if old is None or new is None:
        raise ReplacementRefused("Both registrations must exist.")
    if old.id == new.id:
        raise ReplacementRefused("A registration cannot replace itself.")
    p = Preview(old=old, new=new)
    p.people = db().scalar(select(func.count()).where(Person.platform_id == old.id))
    p.courses = db().scalar(select(func.count()).where(Course.platform_id == old.id))
    p.placements_with_line_items = db().scalar(select(func.count()).select_from(Placement).join(Course).where(
        Course.platform_id == old.id, Placement.line_item_url.is_not(None)))
    p.grades = db().scalar(select(func.count()).where(GradeOutbox.platform_id == old.id))
    p.grades_undelivered = db().scalar(select(func.count()).where(
        GradeOutbox.platform_id == old.id, GradeOutbox.status.not_in(SETTLED)))
    p.sessions_to_end = db().scalar(select(func.count()).select_from(LaunchSession).join(Course).where(
        Course.platform_id == old.id, LaunchSession.ended_at.is_(None)))
    if origin(old.issuer) != origin(new.issuer) and origin(old.issuer) and origin(new.issuer):
        p.address_change = (origin(old.issuer), origin(new.issuer))
    for model, target, key, words in ((Person, "person", "sub", "person"), (Course, "course", "context_id", "course")):
        for row_id, value in _duplicates(model, key, old.id, new.id):
            held = _holds_work(target, row_id)
            if held:
                p.blocked.append(f"The {words} {value!r} already has work under the new registration "
                                 f"({', '.join(sorted(held))}).")
            else:
                p.duplicates_dropped[words] = p.duplicates_dropped.get(words, 0) + 1
    if not new.deployments:
        p.blocked.append("The new registration has no deployment yet: launch the tool once through it, "
                         "or add its deployment ID, first.")
    return p


def _drop(model, target: str, ids: list[int]) -> None:
    """Delete duplicates made by launches through the new registration, with their disposable
    rows (sessions first: page tickets and links hang off them)."""
    for table, column in sorted(_referencing(target), key=lambda tc: tc[0].name != "launch_session"):
        if table.name in DISPOSABLE:
            db().execute(delete(table).where(table.c[column].in_(ids)))
    db().execute(delete(model).where(model.id.in_(ids)))


def _rewrite(column, old_origin: str, new_origin: str):
    """column with a leading old_origin replaced by new_origin (SQL, both databases)."""
    return new_origin + func.substr(column, len(old_origin) + 1)


def replace(old_id: int, new_id: int) -> Preview:
    """Make the replacement (see the module docstring); the caller records the audit entry and commits."""
    p = preview(old_id, new_id)
    if p.blocked:
        raise ReplacementRefused(" ".join(p.blocked))
    old, new = p.old, p.new
    for model, target, key in ((Person, "person", "sub"), (Course, "course", "context_id")):
        dropped = [row_id for row_id, _ in _duplicates(model, key, old.id, new.id)]
        if dropped:
            _drop(model, target, dropped)
    new_deployment = new.deployments[0].id
    now = utcnow()
    old_courses = select(Course.id).where(Course.platform_id == old.id)
    db().execute(update(LaunchSession).where(LaunchSession.course_id.in_(old_courses), LaunchSession.ended_at.is_(None))
                 .values(ended_at=now))
    db().execute(update(Person).where(Person.platform_id == old.id).values(platform_id=new.id))
    if p.address_change:
        before, after = p.address_change
        db().execute(update(Placement).where(Placement.course_id.in_(old_courses),
                                             Placement.line_item_url.startswith(before))
                     .values(line_item_url=_rewrite(Placement.line_item_url, before, after)))
        for column in (GradeOutbox.line_item_url, GradeOutbox.lineitems_url):
            db().execute(update(GradeOutbox).where(GradeOutbox.platform_id == old.id, column.startswith(before))
                         .values({column.key: _rewrite(column, before, after)}))
    db().execute(update(Course).where(Course.platform_id == old.id)
                 .values(platform_id=new.id, deployment_id=new_deployment))
    db().execute(update(GradeOutbox).where(GradeOutbox.platform_id == old.id).values(platform_id=new.id))
    db().execute(delete(AccessToken).where(AccessToken.platform_id == old.id))
    db().execute(delete(LaunchState).where(LaunchState.platform_id == old.id))
    old.status = DISABLED
    return p


def summary(p: Preview) -> dict:
    """What moved, for the audit entry and the pages."""
    return {"from_platform": p.old.id, "to_platform": p.new.id, "people": p.people, "courses": p.courses,
            "placements_with_line_items": p.placements_with_line_items, "grades": p.grades,
            "grades_undelivered": p.grades_undelivered, "sessions_ended": p.sessions_to_end,
            "address_change": list(p.address_change) if p.address_change else None,
            "duplicates_dropped": p.duplicates_dropped}



def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def describe(p: Preview) -> list[str]:
    """The preview in sentences (the CLI prints them; the admin page shows the same)."""
    lines = [f"“{p.new.name}” ({p.new.issuer}, client ID {p.new.client_id}) replaces "
             f"“{p.old.name}” ({p.old.issuer}, client ID {p.old.client_id}).",
             f"Moves {_n(p.people, 'person', 'people')} and {_n(p.courses, 'course')}, with all their work, "
             "submissions and marks.",
             f"Moves {_n(p.grades, 'grade')} ({p.grades_undelivered} not yet delivered) and "
             f"{_n(p.placements_with_line_items, 'link')} with a gradebook column.",
             f"Ends {_n(p.sessions_to_end, 'open session')} of the old registration, then disables it."]
    if p.address_change:
        lines.append(f"Gradebook addresses change from {p.address_change[0]} to {p.address_change[1]}.")
    for words, count in sorted(p.duplicates_dropped.items()):
        plural = {"person": "people", "course": "courses"}[words]
        lines.append(f"{_n(count, words, plural)} also launched through the new registration "
                     f"without any work there: those copies are dropped and the old ones, with their history, kept.")
    lines.extend(p.blocked)
    return lines
