"""Online delivery: module windows and pacing, webinars and attendance, questions to tutors,
time zones, the cohort dashboard and mentors' view of their mentees."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, bindparam, func, select

from .. import dates
from ..content.coverage import covered_units
from ..content.model import Module, Programme
from ..db import db, utcnow
from ..grades.feedback import points
from ..models import (
    PARTICIPANT, RELEASED, ActivityWork, Attendance, Enrolment, Mark, ModuleWindow, Person,
    Question, Webinar, WriteupDoc, WriteupSubmission,
)

MINUTES_PER_DAY = 20
TEXT_LIMIT = 5000


class DeliveryError(ValueError):
    pass


# -- time zones ----------------------------------------------------------------------------------

zone = dates.zone


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return "/" in name or name == "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return False


def parse_local(value: str, tz: ZoneInfo) -> datetime:
    """A datetime-local input ("2027-01-10T18:00") in the person's zone, as UTC."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError) as exc:
        raise DeliveryError(f"“{value}” is not a date and time; use the picker or YYYY-MM-DDTHH:MM.") from exc
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=tz)
    return naive.astimezone(timezone.utc)


# -- windows and pacing --------------------------------------------------------------------------

_WINDOWS = select(ModuleWindow.__table__).where(ModuleWindow.__table__.c.course_id == bindparam("course_id"))


def windows(course_id: int):
    """The course's module windows by module ID, as read-only rows (module_id, opens_at, closes_at):
    every programme page shows them."""
    return {w.module_id: w for w in db().connection().execute(_WINDOWS, {"course_id": course_id})}


def set_window(course_id: int, module: Module, opens_at: datetime, days: int) -> ModuleWindow:
    if not 1 <= days <= 365:
        raise DeliveryError("A window lasts between 1 and 365 days.")
    row = db().scalar(select(ModuleWindow).where(ModuleWindow.course_id == course_id,
                                                 ModuleWindow.module_id == module.id))
    if row is None:
        row = ModuleWindow(course_id=course_id, module_id=module.id, opens_at=opens_at,
                           closes_at=opens_at + timedelta(days=days))
        db().add(row)
    row.opens_at, row.closes_at = opens_at, opens_at + timedelta(days=days)
    return row


def window_state(w: Optional[ModuleWindow], now: Optional[datetime] = None) -> str:
    if w is None:
        return "unscheduled"
    now = now or utcnow()
    return "upcoming" if now < w.opens_at else ("open" if now < w.closes_at else "closed")


@dataclass
class PaceStep:
    first_day: int
    last_day: int
    title: str
    kind: str
    minutes: int


def pacing(module: Module, days: int) -> list[PaceStep]:
    """About 20 minutes a day: the module's activities laid out over the window's days."""
    steps, used = [], 0
    for a in module.activities:
        first = used // MINUTES_PER_DAY + 1
        used += a.minutes
        last = max(first, -(-used // MINUTES_PER_DAY))
        steps.append(PaceStep(min(first, days), min(last, days), a.title, a.kind_label, a.minutes))
    return steps


# -- webinars ------------------------------------------------------------------------------------

def clean_text(value: Optional[str], limit: int, label: str, required: bool = True) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise DeliveryError(f"{label} is required.")
    if len(text) > limit:
        raise DeliveryError(f"{label} is longer than {limit:,} characters.")
    return text


def schedule_webinar(course_id: int, creator_id: int, programme: Optional[Programme], form, tz: ZoneInfo) -> Webinar:
    title = clean_text(form.get("title"), 200, "Title")
    url = clean_text(form.get("join_url"), 1000, "Joining link")
    if not url.startswith(("https://", "http://")):
        raise DeliveryError("The joining link must start with https://.")
    try:
        minutes = int(form.get("minutes") or 60)
    except ValueError as exc:
        raise DeliveryError("Length must be a number of minutes.") from exc
    if not 5 <= minutes <= 480:
        raise DeliveryError("A webinar lasts between 5 and 480 minutes.")
    module_id = form.get("module_id") or None
    if module_id and (programme is None or not any(m.id == module_id for m in programme.modules)):
        raise DeliveryError("Choose a module of this course's programme.")
    statements = [s for s in form.getlist("statements") if programme and s in programme.statements][:30]
    webinar = Webinar(course_id=course_id, title=title, starts_at=parse_local(form.get("starts_at", ""), tz),
                      minutes=minutes, join_url=url, module_id=module_id, statements=statements,
                      created_by=creator_id)
    db().add(webinar)
    return webinar


def webinars(course_id: int) -> list[Webinar]:
    return list(db().scalars(select(Webinar).where(Webinar.course_id == course_id).order_by(Webinar.starts_at)))


def record_attendance(webinar: Webinar, person_id: int, source: str) -> None:
    row = db().scalar(select(Attendance).where(Attendance.webinar_id == webinar.id, Attendance.person_id == person_id))
    if row is None:
        db().add(Attendance(webinar_id=webinar.id, person_id=person_id, source=source))
    elif source == "tutor":
        row.source = "tutor"


def set_attendance(webinar: Webinar, present: set[int]) -> None:
    rows = {a.person_id: a for a in db().scalars(select(Attendance).where(Attendance.webinar_id == webinar.id))}
    for person_id, row in rows.items():
        if person_id not in present:
            db().delete(row)
    for person_id in present - set(rows):
        db().add(Attendance(webinar_id=webinar.id, person_id=person_id, source="tutor"))


def attended(course_id: int) -> dict[int, set[int]]:
    """person id -> webinar ids attended, for a course."""
    out: dict[int, set[int]] = defaultdict(set)
    for webinar_id, person_id in db().execute(select(Attendance.webinar_id, Attendance.person_id).join(Webinar)
                                              .where(Webinar.course_id == course_id)):
        out[person_id].add(webinar_id)
    return out


def ics(webinar: Webinar, course_title: str, page_url: str) -> bytes:
    """An iCalendar file for the webinar: times in UTC, so every calendar shows it in its zone."""
    from icalendar import Calendar, Event  # noqa: PLC0415

    cal = Calendar()
    cal.add("prodid", "-//NPQ Learning//Webinars//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"webinar-{webinar.id}@npq-learning")
    event.add("dtstamp", utcnow())
    event.add("dtstart", webinar.starts_at.astimezone(timezone.utc))
    event.add("dtend", (webinar.starts_at + timedelta(minutes=webinar.minutes)).astimezone(timezone.utc))
    event.add("summary", f"{webinar.title} ({course_title})")
    event.add("description", f"Join: {webinar.join_url}\nCourse page: {page_url}")
    event.add("location", webinar.join_url)
    event.add("url", webinar.join_url)
    cal.add_component(event)
    return cal.to_ical()


# -- questions -----------------------------------------------------------------------------------

def ask(course_id: int, person_id: int, item_ref: str, text: str) -> Question:
    q = Question(course_id=course_id, person_id=person_id, item_ref=item_ref[:200],
                 text=clean_text(text, TEXT_LIMIT, "Your question"))
    db().add(q)
    return q


def answer(question: Question, tutor_id: int, text: str) -> None:
    question.answer = clean_text(text, TEXT_LIMIT, "The answer")
    question.answered_by, question.answered_at = tutor_id, utcnow()


# -- progress across the cohort ------------------------------------------------------------------

@dataclass
class PersonProgress:
    person: Person
    done_by_module: dict[str, int] = field(default_factory=dict)
    done: int = 0
    covered: set[str] = field(default_factory=set)
    writeups: dict[str, str] = field(default_factory=dict)  # template id -> queue status
    outcomes: dict[str, str] = field(default_factory=dict)  # template id -> pass/fail (released)
    scores: dict[str, float] = field(default_factory=dict)  # template id -> released score
    webinars: int = 0
    behind: bool = False
    expected: int = 0


def cohort_progress(course_id: int, programme: Programme, person_ids: Optional[list[int]] = None,
                    now: Optional[datetime] = None) -> list[PersonProgress]:
    """Everyone's progress in one pass: a handful of queries whatever the cohort's size."""
    now = now or utcnow()
    people_q = (select(Person).join(Enrolment, and_(Enrolment.person_id == Person.id, Enrolment.course_id == course_id,
                                                    Enrolment.role == PARTICIPANT))
                .order_by(func.lower(func.coalesce(Person.family_name, Person.name, Person.sub))))
    if person_ids is not None:
        people_q = people_q.where(Person.id.in_(person_ids or [-1]))
    people = {p.id: PersonProgress(person=p) for p in db().scalars(people_q)}
    module_of = {a.ref: (m.id, a) for m in programme.modules for a in m.activities}
    done_refs = db().execute(select(ActivityWork.person_id, ActivityWork.activity_ref)
                             .join(ActivityWork.submissions).where(ActivityWork.course_id == course_id)
                             .distinct())
    for person_id, ref in done_refs:
        pp = people.get(person_id)
        if pp is None or ref not in module_of:
            continue
        module_id, activity = module_of[ref]
        pp.done_by_module[module_id] = pp.done_by_module.get(module_id, 0) + 1
        pp.done += 1
        pp.covered |= covered_units(programme, [activity])
    for doc in db().scalars(select(WriteupDoc).where(WriteupDoc.course_id == course_id)):
        if doc.person_id in people:
            pp = people[doc.person_id]
            pp.writeups[doc.template_ref.split("/", 1)[1]] = doc.queue_status
    released = db().execute(select(WriteupDoc.person_id, WriteupDoc.template_ref, Mark.outcome, Mark.total)
                            .join(WriteupSubmission, WriteupSubmission.doc_id == WriteupDoc.id)
                            .join(Mark, Mark.submission_id == WriteupSubmission.id)
                            .where(WriteupDoc.course_id == course_id, Mark.status == RELEASED)
                            # the latest attempt's agreed mark last, so it is the one kept
                            .order_by(WriteupSubmission.attempt, Mark.kind.desc()))
    for person_id, ref, outcome, score in released:
        if person_id in people:
            people[person_id].outcomes[ref.split("/", 1)[1]] = outcome
            if score is not None:
                people[person_id].scores[ref.split("/", 1)[1]] = score
    for person_id, ids in attended(course_id).items():
        if person_id in people:
            people[person_id].webinars = len(ids)
    # Behind: fewer activities done than the modules whose windows have closed ask for.
    wins = windows(course_id)
    expected = sum(len(m.activities) for m in programme.modules if window_state(wins.get(m.id), now) == "closed")
    for pp in people.values():
        pp.expected = expected
        pp.behind = expected > 0 and pp.done < 0.8 * expected
    return list(people.values())


def dashboard_table(programme: Programme, rows: list[PersonProgress],
                    webinar_count: int) -> tuple[list[str], list[list]]:
    """The cohort dashboard as a header and rows, for the CSV writer (counts stay numbers)."""
    header = ["participant", "email", "lti_user_id", "activities_done", "activities_total", "statements_covered",
              "statements_total", "webinars_attended", "webinars_total", "behind"]
    header += [f"module:{m.id}" for m in programme.modules]
    header += [h for t in programme.templates for h in (f"writeup:{t}", f"writeup:{t}:score")]
    total = len(programme.activities)
    table = [[r.person.display_name, r.person.email or "", r.person.sub, r.done, total, len(r.covered),
              len(programme.statements), r.webinars, webinar_count, "yes" if r.behind else "no"]
             # "3 of 4", not "3/4": spreadsheets read a fraction as a date.
             + [f"{r.done_by_module.get(m.id, 0)} of {len(m.activities)}" for m in programme.modules]
             + [cell for t in programme.templates for cell in (
                 r.writeups.get(t, "not started") + (f" ({r.outcomes[t]})" if t in r.outcomes else ""),
                 points(r.scores.get(t)))]
             for r in rows]
    return header, table


def latest_submissions(course_id: int, person_ids: list[int]) -> dict[tuple[int, str], tuple[int, int]]:
    """(person id, template id) -> (document id, version) of each write-up's latest submission: what
    a mentor may download where the provider allows it (never a draft)."""
    rows = db().execute(select(WriteupDoc.person_id, WriteupDoc.template_ref, WriteupDoc.id, WriteupSubmission.version)
                        .join(WriteupSubmission, WriteupSubmission.doc_id == WriteupDoc.id)
                        .where(WriteupDoc.course_id == course_id, WriteupDoc.person_id.in_(person_ids or [-1]))
                        .order_by(WriteupSubmission.attempt))
    return {(person_id, ref.split("/", 1)[1]): (doc_id, version) for person_id, ref, doc_id, version in rows}


def released_feedback(course_id: int, person_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """person id -> [(template id, overall feedback)] of released marks (only if the provider allows)."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = db().execute(select(WriteupDoc.person_id, WriteupDoc.template_ref, Mark.overall_comment)
                        .join(WriteupSubmission, WriteupSubmission.doc_id == WriteupDoc.id)
                        .join(Mark, Mark.submission_id == WriteupSubmission.id)
                        .where(WriteupDoc.course_id == course_id, WriteupDoc.person_id.in_(person_ids or [-1]),
                               Mark.status == RELEASED, Mark.overall_comment.is_not(None)))
    for person_id, ref, comment in rows:
        out[person_id].append((ref.split("/", 1)[1], comment))
    return out
