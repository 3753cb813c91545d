"""Engagement: per participant, the share of the required activities, write-ups, webinars and
sessions they completed (what is required is the pack's data; write-ups only while the provider
counts them, see settings.writeup_policy), against the pass threshold; the dated evidence of
engagement the provider holds (which DfE's declarations rest on: declarations.py); and the
outcome of the summative assessment."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Iterable, Optional

from sqlalchemy import func, select

from ..db import db
from ..models import ActivitySubmission, ActivityWork, Person, WriteupDoc, WriteupSubmission, WriteupVersion
from ..settings import writeup_policy
from .models import FAILED, PASSED, VOIDED, AssessmentAttendance, AssessmentParticipant
from .pack import AssessmentConfig
from .service import attempts_by_person, participants, programme_of

log = logging.getLogger(__name__)

KIND_LABELS = {"activity": "Activity", "writeup": "Project write-up", "webinar": "Webinar", "session": "Session"}
KIND_PLURALS = {"activity": "Activities", "writeup": "Project write-ups", "webinar": "Webinars", "session": "Sessions"}


@dataclass
class Item:
    kind: str  # activity | writeup | webinar | session
    id: str
    title: str
    group: str
    done_at: Optional[datetime] = None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass
class PersonEngagement:
    person: Person
    items: list[Item]
    threshold: float
    # The released assessment outcome that stands (passed | failed), from counted, not voided attempts.
    outcome: Optional[str] = None
    outcome_at: Optional[datetime] = None
    # A passed/failed outcome later voided with nothing standing in its place: DfE must be told.
    retracted_at: Optional[datetime] = None
    dfe_participant_id: Optional[str] = None
    assessment_submitted_at: Optional[datetime] = None
    first_work: Optional[datetime] = None
    # When each piece of engagement evidence is dated: completed items and the assessment submitted.
    evidence: list[datetime] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.done)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    @property
    def shown_percent(self) -> int:
        """Rounded down: 89.6% never shows as the 90% it is not."""
        return math.floor(self.percent + 1e-9)

    @property
    def met(self) -> bool:
        return self.total > 0 and self.done * 100 >= self.threshold * self.total - 1e-9

    @property
    def needed(self) -> int:
        """How many required items the threshold needs in all."""
        return math.ceil(self.threshold * self.total / 100 - 1e-9)

    def count(self, *kinds: str) -> str:
        """"done of total" for these kinds of item, or an empty string if none are required."""
        items = [i for i in self.items if i.kind in kinds]
        return f"{sum(1 for i in items if i.done)} of {len(items)}" if items else ""

    def by_kind(self) -> list[tuple[str, int, int]]:
        out = []
        for kind, label in KIND_PLURALS.items():
            items = [i for i in self.items if i.kind == kind]
            if items:
                out.append((label, sum(1 for i in items if i.done), len(items)))
        return out

    @property
    def completion_date(self) -> Optional[date]:
        return self.outcome_at.date() if self.outcome_at else None


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _min(*values: Optional[datetime]) -> Optional[datetime]:
    found = [v for v in values if v is not None]
    return min(found) if found else None


def compute(course_id: int, cfg: AssessmentConfig, people: Optional[Iterable[Person]] = None) -> list[PersonEngagement]:
    """Engagement, its dated evidence and the outcome for the course's participants (or the ones given)."""
    people = list(people if people is not None else participants(course_id))
    ids = [p.id for p in people]
    if not ids:
        return []
    programme = programme_of(cfg)
    code = programme.code
    eng = cfg.engagement

    activity_done: dict[tuple[int, str], datetime] = {}
    for pid, ref, at in db().execute(
            select(ActivityWork.person_id, ActivityWork.activity_ref, func.min(ActivitySubmission.submitted_at))
            .join(ActivitySubmission, ActivitySubmission.work_id == ActivityWork.id)
            .where(ActivityWork.course_id == course_id, ActivityWork.person_id.in_(ids))
            .group_by(ActivityWork.person_id, ActivityWork.activity_ref)):
        activity_done[(pid, ref)] = _utc(at)
    writeup_done: dict[tuple[int, str], datetime] = {}
    for pid, ref, at in db().execute(
            select(WriteupDoc.person_id, WriteupDoc.template_ref, func.min(WriteupSubmission.submitted_at))
            .join(WriteupSubmission, WriteupSubmission.doc_id == WriteupDoc.id)
            .where(WriteupDoc.course_id == course_id, WriteupDoc.person_id.in_(ids))
            .group_by(WriteupDoc.person_id, WriteupDoc.template_ref)):
        writeup_done[(pid, ref)] = _utc(at)
    attended: dict[tuple[int, str], datetime] = {}
    for row in db().scalars(select(AssessmentAttendance).where(AssessmentAttendance.course_id == course_id,
                                                               AssessmentAttendance.person_id.in_(ids))):
        attended[(row.person_id, row.session_id)] = _at(row.held_on)
    webinars = _webinars_attended(course_id, ids) if eng.webinars else {}
    # The first piece of work of any kind (drafts only record when they were last saved).
    first_activity = dict(db().execute(
        select(ActivityWork.person_id, func.min(ActivityWork.updated_at))
        .where(ActivityWork.course_id == course_id, ActivityWork.person_id.in_(ids)).group_by(ActivityWork.person_id)).all())
    first_writeup = dict(db().execute(
        select(WriteupDoc.person_id, func.min(WriteupVersion.saved_at))
        .join(WriteupVersion, WriteupVersion.doc_id == WriteupDoc.id)
        .where(WriteupDoc.course_id == course_id, WriteupDoc.person_id.in_(ids)).group_by(WriteupDoc.person_id)).all())
    dfe_ids = dict(db().execute(select(AssessmentParticipant.person_id, AssessmentParticipant.dfe_participant_id)
                                .where(AssessmentParticipant.course_id == course_id,
                                       AssessmentParticipant.person_id.in_(ids))).all())
    attempts = attempts_by_person(course_id, cfg)

    out = []
    for person in people:
        items: list[Item] = []
        for act_id in eng.activities:
            act = programme.activities.get(act_id)
            if act is None:
                continue
            items.append(Item("activity", act_id, act.title, programme.module_of(act).title,
                              activity_done.get((person.id, act.ref))))
        for tpl_id in counted_writeups(cfg):
            tpl = programme.templates.get(tpl_id)
            if tpl is not None:
                items.append(Item("writeup", tpl_id, tpl.title, "In-school project",
                                  writeup_done.get((person.id, f"{code}/{tpl_id}"))))
        seen = webinars.get(person.id, [])
        for n in range(eng.webinars):
            items.append(Item("webinar", f"webinar-{n + 1}", f"Webinar {n + 1} of {eng.webinars} attended",
                              "Webinars and sessions", seen[n] if n < len(seen) else None))
        for ses in eng.sessions:
            items.append(Item("session", ses.id, ses.title, "Webinars and sessions", attended.get((person.id, ses.id))))
        pe = PersonEngagement(person=person, items=items, threshold=eng.threshold,
                              dfe_participant_id=dfe_ids.get(person.id))
        mine = [a for a in attempts.get(person.id, {}).values() if not a.discounted]
        submitted = [a.submitted_at for a in mine if a.submitted_at is not None and a.outcome != VOIDED]
        pe.assessment_submitted_at = min(submitted) if submitted else None
        pe.first_work = _min(_utc(first_activity.get(person.id)), _utc(first_writeup.get(person.id)),
                             *(i.done_at for i in items), *(a.started_at for a in mine if a.version))
        pe.evidence = sorted([i.done_at for i in items if i.done_at is not None] + submitted)
        _set_outcome(pe, mine)
        out.append(pe)
    return out


def counted_writeups(cfg: AssessmentConfig) -> tuple[str, ...]:
    """The write-ups that count towards engagement: the pack's, unless the provider turned it off."""
    return cfg.engagement.writeups if writeup_policy(cfg.programme).count_for_engagement else ()


def required_total(cfg: AssessmentConfig) -> int:
    return cfg.engagement.total - len(cfg.engagement.writeups) + len(counted_writeups(cfg))


def _set_outcome(pe: PersonEngagement, attempts: list) -> None:
    """The outcome that stands: the first pass, else the latest fail. A voided attempt never is one;
    if a released outcome was voided and nothing stands, it is recorded as retracted."""
    released = sorted((a for a in attempts if a.outcome in (PASSED, FAILED) and a.released_at),
                      key=lambda a: a.released_at)
    passed = [a for a in released if a.outcome == PASSED]
    final = passed[0] if passed else (released[-1] if released else None)
    if final is not None:
        pe.outcome, pe.outcome_at = final.outcome, final.released_at
        return
    retracted = [a.released_at for a in attempts if a.outcome == VOIDED and a.voided_outcome and a.released_at]
    pe.retracted_at = max(retracted) if retracted else None


def _webinars_attended(course_id: int, ids: list[int]) -> dict[int, list[datetime]]:
    """person id -> when each webinar they attended started, earliest first: the course's webinars
    and attendance as the tool's webinar pages record them (by a tutor, or confirmed by the
    participant). Read only."""
    try:
        from ..models import Attendance, Webinar  # noqa: PLC0415 (another part of the tool owns them)
    except ImportError:  # pragma: no cover - the webinar feature is not installed
        log.warning("webinar attendance is not available; webinars count as not attended")
        return {}
    out: dict[int, list[datetime]] = {}
    for pid, starts in db().execute(select(Attendance.person_id, Webinar.starts_at)
                                    .join(Webinar, Webinar.id == Attendance.webinar_id)
                                    .where(Webinar.course_id == course_id, Attendance.person_id.in_(ids))
                                    .order_by(Webinar.starts_at)):
        out.setdefault(pid, []).append(_utc(starts))
    return out


def for_mentor(course_id: int, cfg: AssessmentConfig, mentee_subs: list[str]) -> list[PersonEngagement]:
    """Only the participants the platform says this mentor mentors (LTI role_scope_mentor)."""
    subs = set(mentee_subs or [])
    return compute(course_id, cfg, [p for p in participants(course_id) if p.sub in subs]) if subs else []
