"""The sandbox's demo course as the quick start promises it on first launch: module windows with a
pacing guide and a couple of webinars, scheduled by the course's tutor.

Made once, when the sandbox's course page is first shown with DEMO_DATA on. The course and the
tutor are created here the way a launch creates them (same platform, context ID and user ID), so
the first real launch finds and updates them.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from ..db import db, utcnow
from ..models import Course, Deployment, Person, Platform, Webinar
from ..delivery.service import set_window

# Module windows follow one another from a fortnight ago: the induction is done, the first
# framework module open now, the rest to come.
FIRST_WINDOW_DAYS_AGO = 14
WINDOWS_MADE = 5
WEBINARS = (
    (6, "Welcome webinar: how the programme runs", None),
    (20, "School culture in practice: from the evidence to your school", "school-culture"),
)
JOIN_URL = "https://meet.example.org/npq-sandbox"


def seed_demo_course(platform: Platform, context_id: str, title: str, programme_code: str,
                     tutor_sub: str, tutor_name: str) -> None:
    """The course with its windows and webinars; nothing if the course exists already."""
    if db().scalar(select(Course.id).where(Course.platform_id == platform.id, Course.context_id == context_id)):
        return
    from ..content import catalogue  # noqa: PLC0415 (the packs load on first use)

    programme = catalogue().get(programme_code)
    deployment = db().scalar(select(Deployment).where(Deployment.platform_id == platform.id))
    if programme is None or deployment is None:
        return
    course = Course(platform_id=platform.id, deployment_id=deployment.id, context_id=context_id, title=title,
                    programme_code=programme_code)
    tutor = db().scalar(select(Person).where(Person.platform_id == platform.id, Person.sub == tutor_sub))
    if tutor is None:
        tutor = Person(platform_id=platform.id, sub=tutor_sub, name=tutor_name)
    db().add_all([course, tutor])
    db().flush()
    today = datetime.now(timezone.utc).replace(hour=7, minute=0, second=0, microsecond=0)
    opens = today - timedelta(days=FIRST_WINDOW_DAYS_AGO)
    for module in programme.modules[:WINDOWS_MADE]:
        set_window(course.id, module, opens, module.days)
        opens += timedelta(days=module.days)
    modules = {m.id for m in programme.modules}
    for days, webinar_title, module_id in WEBINARS:
        starts = (utcnow() + timedelta(days=days)).replace(hour=17, minute=0, second=0, microsecond=0)
        db().add(Webinar(course_id=course.id, title=webinar_title, starts_at=starts, minutes=60, join_url=JOIN_URL,
                         module_id=module_id if module_id in modules else None, statements=[],
                         created_by=tutor.id))
