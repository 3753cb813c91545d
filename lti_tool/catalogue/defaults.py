"""Which programme the Deep Linking picker opens on in a course, and remembering the tutor's
choice. In order: the programme last chosen in this course's picker; the course's own programme
(a custom parameter, or the first item launched); the programme of items already placed in it;
a programme code in the course's title, label or SIS ID ("NPQSL Cohort A", "NPQSL-2026-A"); the
provider's DEFAULT_PROGRAMME; the first programme."""
from __future__ import annotations

import re
from typing import Iterable, Optional

from flask import current_app
from sqlalchemy import select

from ..db import db
from ..lti.context import LaunchContext
from ..models import Course, Placement

SIS_ID_PARAMETER = "course_sis_id"  # $Canvas.course.sisSourceId in the tool's Canvas configuration


def _named_in(texts: Iterable[Optional[str]], codes: list[str]) -> Optional[str]:
    for text in texts:
        words = set(re.split(r"[^A-Z0-9]+", (text or "").upper()))
        found = [code for code in codes if code.upper() in words]
        if len(found) == 1:  # a title naming two programmes says nothing
            return found[0]
    return None


def _placed_programme(course_id: int, codes: list[str]) -> Optional[str]:
    refs = db().scalars(select(Placement.item_ref).where(Placement.course_id == course_id,
                                                         Placement.item_ref.is_not(None))
                        .order_by(Placement.id).limit(50)).all()
    for ref in refs:
        code = ref.split("/", 1)[0]
        if code in codes:
            return code
    return None


def default_programme(ctx: LaunchContext, codes: list[str]) -> str:
    if not codes:
        return ""
    course = db().get(Course, ctx.course_id)
    if course is not None:
        for code in (course.picker_programme, course.programme_code):
            if code in codes:
                return code
        sis_id = (ctx.services.get("custom") or {}).get(SIS_ID_PARAMETER, "")
        found = _placed_programme(course.id, codes) or _named_in(
            (course.title, course.label, "" if sis_id.startswith("$") else sis_id), codes)
        if found:
            return found
    configured = current_app.config.get("DEFAULT_PROGRAMME")
    return configured if configured in codes else codes[0]


def remember_choice(ctx: LaunchContext, code: str) -> None:
    """The programme a tutor picked from: the picker opens there next time in this course."""
    course = db().get(Course, ctx.course_id)
    if course is not None and course.picker_programme != code:
        course.picker_programme = code
        db().commit()
