"""What the course home (the programme page) reads, in one round trip: the person's activities
and whether each is submitted, their write-ups' statuses, and the course's module windows. The
page is the one every launch opens, so three small reads become one statement."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, case, literal_column, null, select, type_coerce, union_all

from ..db import UTCDateTime, db
from ..models import ActivityWork, ModuleWindow, WriteupDoc
from .service import HAS_SUBMISSION

_WORK, _WRITEUP, _WINDOW = "work", "writeup", "window"


def _home_stmt():
    person, course = bindparam("person_id"), bindparam("course_id")
    no_time = type_coerce(null(), UTCDateTime())
    return union_all(
        # First: its column types (the windows' times) are the ones the result is read with.
        select(literal_column(f"'{_WINDOW}'").label("kind"), ModuleWindow.module_id.label("ref"),
               type_coerce(null(), String()).label("state"), ModuleWindow.opens_at, ModuleWindow.closes_at)
        .where(ModuleWindow.course_id == course),
        select(literal_column(f"'{_WORK}'"), ActivityWork.activity_ref,
               case((HAS_SUBMISSION, literal_column("'done'")), else_=literal_column("'draft'")), no_time, no_time)
        .where(ActivityWork.person_id == person, ActivityWork.course_id == course),
        select(literal_column(f"'{_WRITEUP}'"), WriteupDoc.template_ref, WriteupDoc.status, no_time, no_time)
        .where(WriteupDoc.person_id == person, WriteupDoc.course_id == course),
    )


_HOME = _home_stmt()


@dataclass(frozen=True)
class CourseHome:
    work_status: dict[str, str]  # activity ref -> "done" or "draft"
    writeup_status: dict[str, str]  # template ID (without the programme code) -> status
    windows: dict[str, Any]  # module ID -> a row with opens_at and closes_at


def read_course_home(person_id: int, course_id: int) -> CourseHome:
    home = CourseHome({}, {}, {})
    for row in db().connection().execute(_HOME, {"person_id": person_id, "course_id": course_id}):
        if row.kind == _WORK:
            home.work_status[row.ref] = row.state
        elif row.kind == _WRITEUP:
            home.writeup_status[row.ref.split("/", 1)[1]] = row.state
        else:
            home.windows[row.ref] = row
    return home
