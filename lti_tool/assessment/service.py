"""The case-study assessment: windows, who sits which window, responses (autosaved drafts, one
submission, late flags, extensions), voiding, and the audit trail. Marking and release: marks.py."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from flask import current_app
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from ..content import catalogue
from ..content.model import Programme
from .. import dates
from ..db import db, utcnow
from ..grades.outbox import enqueue_score
from ..lti.context import LaunchContext
from .. import audit
from ..models import PARTICIPANT, Enrolment, GradeOutbox, Person
from ..versioned import get_or_create
from .models import (
    AGREED, DRAFT, FAILED, FIRST, PASSED, SECOND, VOIDED, AssessmentAttempt, AssessmentEvent,
    AssessmentMark, AssessmentWindow,
)
from .pack import AssessmentConfig, Case, load_assessments

log = logging.getLogger(__name__)

JUSTIFICATION_LIMIT = 10000
REASON_LIMIT = 2000
MAX_BACKDATE = timedelta(days=30)
MAX_AHEAD = timedelta(days=730)
MAX_EXTENSION = timedelta(days=60)
SOURCE_SUBMITTED, SOURCE_OUTCOME = "assessment-submitted", "assessment-outcome"


class AssessmentError(ValueError):
    """What was asked cannot be done as it is; the message says why and what to do."""


class Conflict(Exception):
    def __init__(self, attempt: AssessmentAttempt):
        super().__init__("changed elsewhere")
        self.attempt = attempt


# -- configuration -----------------------------------------------------------------------------

def assessments() -> dict[str, AssessmentConfig]:
    return load_assessments(current_app.config["CONTENT_PACKS_DIR"])


def config_for(code: str) -> Optional[AssessmentConfig]:
    return assessments().get(code)


def find_config(ref: Optional[str]) -> Optional[AssessmentConfig]:
    """The assessment a placement points at ("NPQSL/case-study"), if it is one."""
    if not ref or "/" not in ref:
        return None
    code, item = ref.split("/", 1)
    cfg = config_for(code)
    return cfg if cfg is not None and cfg.id == item else None


def programme_of(cfg: AssessmentConfig) -> Programme:
    return catalogue()[cfg.programme]


def time_left(due: datetime, now: datetime) -> Optional[str]:
    """"7 days 23 hours", "5 hours 12 minutes"; None once the deadline has passed."""
    seconds = int((due - now).total_seconds())
    if seconds <= 0:
        return None
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60

    def n(v: int, word: str) -> str:
        return f"{v} {word}{'' if v == 1 else 's'}"

    return f"{n(days, 'day')} {n(hours, 'hour')}" if days else f"{n(hours, 'hour')} {n(minutes, 'minute')}"


def parse_when(utc_value: Optional[str], local_value: Optional[str]) -> Optional[datetime]:
    """A date-time from a form: the ISO UTC value the page's script worked out from the browser's
    time zone, else the typed value read as UTC (the page says so when there is no script)."""
    for raw, assume_utc in ((utc_value, False), (local_value, True)):
        raw = (raw or "").strip()
        if not raw:
            continue
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            continue
        if value.tzinfo is None:
            if not assume_utc:
                continue
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    return None


# -- the audit trail ---------------------------------------------------------------------------

# Assessment events that also go to the provider's audit log (marks, moderation, releases).
AUDITED = {"first mark recorded": "assessment.mark", "second mark recorded": "assessment.mark",
           "agreed outcome recorded": "assessment.moderate", "outcome released": "assessment.release",
           "attempt voided": "assessment.void", "DfE participant ID recorded": "assessment.dfe_id"}


def record(course_id: int, actor_id: Optional[int], action: str, *, window: Optional[AssessmentWindow] = None,
           attempt: Optional[AssessmentAttempt] = None, **detail: Any) -> None:
    db().add(AssessmentEvent(course_id=course_id, actor_id=actor_id, action=action, detail=detail,
                             window_id=window.id if window else (attempt.window_id if attempt else None),
                             attempt_id=attempt.id if attempt else None))
    if action in AUDITED:
        audit.record(AUDITED[action], target=attempt, target_type=None if attempt else "course",
                     target_id=None if attempt else course_id,
                     subject=attempt.person_id if attempt else detail.get("person"),
                     detail={"course_id": course_id, "event": action, **detail})


def events_for(attempt: AssessmentAttempt) -> list[AssessmentEvent]:
    return list(db().scalars(select(AssessmentEvent).where(AssessmentEvent.attempt_id == attempt.id)
                             .order_by(AssessmentEvent.at, AssessmentEvent.id)))


# -- windows -----------------------------------------------------------------------------------

def windows(course_id: int, cfg: AssessmentConfig) -> list[AssessmentWindow]:
    return list(db().scalars(select(AssessmentWindow).where(AssessmentWindow.course_id == course_id,
                                                            AssessmentWindow.item_ref == cfg.ref)
                             .order_by(AssessmentWindow.number)))


def unused_cases(cfg: AssessmentConfig, existing: list[AssessmentWindow]) -> list[Case]:
    used = {w.case_id for w in existing}
    return [c for c in cfg.cases if c.id not in used]


def open_window(ctx: LaunchContext, cfg: AssessmentConfig, case_id: str, opens_at: Optional[datetime]) -> AssessmentWindow:
    """Schedule the course's next window: its case is released at opens_at (now if not given)
    and responses are due window_days later. Every window has a case no earlier window used, so
    a retake always meets a new case."""
    now = utcnow()
    existing = windows(ctx.course_id, cfg)
    free = unused_cases(cfg, existing)
    if not cfg.cases:
        raise AssessmentError("The programme pack has no cases yet: your provider adds them to its assessment.yaml "
                              "with the programme's framework text.")
    if not free:
        raise AssessmentError("Every case in the programme pack has been used by a window in this course, and a "
                              "retake must meet a new case. Add a case to the pack's assessment.yaml first.")
    case = cfg.case(case_id) if case_id else free[0]
    if case is None or case not in free:
        raise AssessmentError("Choose one of the cases not yet used in this course.")
    opens_at = opens_at or now
    if opens_at < now - MAX_BACKDATE:
        raise AssessmentError("A window can start at most 30 days in the past. Check the date.")
    if opens_at > now + MAX_AHEAD:
        raise AssessmentError("A window can be scheduled at most two years ahead. Check the date.")
    if existing and opens_at < existing[-1].closes_at:
        raise AssessmentError(f"Window {existing[-1].number} closes on {dates.format_deadline(existing[-1].closes_at)}; "
                              f"window {len(existing) + 1} must start after that.")
    window = AssessmentWindow(course_id=ctx.course_id, item_ref=cfg.ref, number=len(existing) + 1, case_id=case.id,
                              opens_at=opens_at, closes_at=opens_at + timedelta(days=cfg.window_days),
                              opened_by_id=ctx.person_id)
    db().add(window)
    db().flush()
    record(ctx.course_id, ctx.person_id, "window scheduled", window=window, number=window.number, case=case.id,
           opens_at=opens_at.isoformat(), closes_at=window.closes_at.isoformat())
    return window


# -- who sits which window ---------------------------------------------------------------------

def attempts_by_person(course_id: int, cfg: AssessmentConfig,
                       person_id: Optional[int] = None) -> dict[int, dict[int, AssessmentAttempt]]:
    """person id -> window id -> attempt, for this course's windows of this assessment."""
    query = (select(AssessmentAttempt).join(AssessmentWindow)
             .where(AssessmentWindow.course_id == course_id, AssessmentWindow.item_ref == cfg.ref)
             .options(selectinload(AssessmentAttempt.window), selectinload(AssessmentAttempt.marks)))
    if person_id is not None:
        query = query.where(AssessmentAttempt.person_id == person_id)
    out: dict[int, dict[int, AssessmentAttempt]] = {}
    for a in db().scalars(query):
        out.setdefault(a.person_id, {})[a.window_id] = a
    return out


def deadline(window: AssessmentWindow, attempt: Optional[AssessmentAttempt]) -> datetime:
    return attempt.deadline() if attempt is not None else window.closes_at


def expected_windows(all_windows: list[AssessmentWindow], attempts: dict[int, AssessmentAttempt],
                     now: datetime) -> list[AssessmentWindow]:
    """The windows a participant is or was expected to sit, oldest first; the last is their
    current one. Everyone sits the first window; they go on to the next only after failing,
    being voided, having the attempt discounted (special consideration), or not submitting by the
    deadline (missing)."""
    out: list[AssessmentWindow] = []
    for w in all_windows:
        out.append(w)
        a = attempts.get(w.id)
        if a is not None and (a.outcome in (FAILED, VOIDED) or a.discounted):
            continue
        if (a is None or a.status == DRAFT) and now > deadline(w, a):
            continue  # missing: carried to the next window
        break
    return out


def final_mark(attempt: AssessmentAttempt) -> Optional[AssessmentMark]:
    """The outcome ready to release: the agreed one when second marking applies, else the first."""
    agreed = attempt.mark(AGREED)
    if agreed is not None:
        return agreed
    if attempt.second_marking is None:
        return attempt.mark(FIRST)
    return None


def state(window: AssessmentWindow, attempt: Optional[AssessmentAttempt], now: datetime) -> str:
    """Where an attempt stands, in the words the queue uses."""
    if attempt is not None and attempt.outcome:
        return attempt.outcome
    if attempt is None or attempt.status == DRAFT:
        if now < window.opens_at:
            return "scheduled"
        if now > deadline(window, attempt):
            return "missing"
        return "in progress" if attempt is not None and attempt.version else "not started"
    first, second = attempt.mark(FIRST), attempt.mark(SECOND)
    if first is None:
        return "to mark"
    if final_mark(attempt) is not None:
        return "ready to release"
    if second is None:
        return "second marking"
    return "to agree"


QUEUE_STATES = ("scheduled", "not started", "in progress", "missing", "to mark", "second marking", "to agree",
                "ready to release", PASSED, FAILED, VOIDED)


@dataclass
class Row:
    person: Person
    attempt: Optional[AssessmentAttempt]
    state: str
    attempt_no: int
    grade: Optional[GradeOutbox] = None


def participants(course_id: int) -> list[Person]:
    return list(db().scalars(
        select(Person).join(Enrolment, and_(Enrolment.person_id == Person.id, Enrolment.course_id == course_id,
                                            Enrolment.role == PARTICIPANT))
        .order_by(Person.family_name, Person.name, Person.id)))


def is_participant(course_id: int, person_id: int) -> bool:
    return db().scalar(select(Enrolment.id).where(Enrolment.course_id == course_id, Enrolment.person_id == person_id,
                                                  Enrolment.role == PARTICIPANT)) is not None


def attempt_number(all_windows: list[AssessmentWindow], attempts: dict[int, AssessmentAttempt],
                   window: AssessmentWindow) -> int:
    """1 + the submitted, not voided, not discounted attempts in earlier windows: a retake is attempt 2."""
    return 1 + sum(1 for w in all_windows if w.number < window.number and (a := attempts.get(w.id)) is not None
                   and a.submitted_at is not None and a.outcome != VOIDED and not a.discounted)


def queue(course_id: int, cfg: AssessmentConfig, window: AssessmentWindow,
          all_windows: list[AssessmentWindow]) -> list[Row]:
    now = utcnow()
    by_person = attempts_by_person(course_id, cfg)
    rows = []
    for person in participants(course_id):
        attempts = by_person.get(person.id, {})
        if window.id not in attempts and window not in expected_windows(all_windows, attempts, now):
            continue
        attempt = attempts.get(window.id)
        rows.append(Row(person, attempt, state(window, attempt, now), attempt_number(all_windows, attempts, window)))
    ids = [r.attempt.id for r in rows if r.attempt is not None]
    if ids:
        latest = {}
        for e in db().scalars(select(GradeOutbox).where(GradeOutbox.source.in_((SOURCE_SUBMITTED, SOURCE_OUTCOME)),
                                                        GradeOutbox.source_id.in_(ids)).order_by(GradeOutbox.id)):
            latest[e.source_id] = e
        for r in rows:
            if r.attempt is not None:
                r.grade = latest.get(r.attempt.id)
    return rows


# -- responses ---------------------------------------------------------------------------------

def get_attempt(window: AssessmentWindow, person_id: int, *, create: bool = False,
                all_windows: Optional[list[AssessmentWindow]] = None, cfg: Optional[AssessmentConfig] = None
                ) -> Optional[AssessmentAttempt]:
    key = {"window_id": window.id, "person_id": person_id}
    attempt = db().scalar(select(AssessmentAttempt).filter_by(**key))
    if attempt is None and create:
        number = 1
        if all_windows is not None and cfg is not None:
            number = attempt_number(all_windows, attempts_by_person(window.course_id, cfg, person_id).get(person_id, {}),
                                    window)
        # Two tabs' first saves at once make one attempt.
        attempt = get_or_create(AssessmentAttempt, key, {"course_id": window.course_id, "attempt_no": number,
                                                         "answers": {}, "version": 0, "status": DRAFT})
    return attempt


# The response itself (what may be saved, submitted, and when): responses.py.


# -- extensions and voiding --------------------------------------------------------------------

def extend(attempt: AssessmentAttempt, actor_id: int, until: Optional[datetime], reason: str) -> None:
    reason = (reason or "").strip()
    if until is None:
        raise AssessmentError("Give the new deadline (date and time).")
    if not reason:
        raise AssessmentError("Give the reason for the extension: it is kept in the audit trail.")
    if len(reason) > REASON_LIMIT:
        raise AssessmentError(f"The reason is longer than {REASON_LIMIT:,} characters.")
    window = attempt.window
    if until <= window.closes_at:
        raise AssessmentError(f"An extension must end after the window's deadline ({dates.format_deadline(window.closes_at)}).")
    if until > window.closes_at + MAX_EXTENSION:
        raise AssessmentError("An extension can be at most 60 days beyond the window's deadline.")
    if attempt.outcome:
        raise AssessmentError("This attempt already has an outcome; an extension would change nothing.")
    attempt.extended_until, attempt.extension_reason = until, reason
    if attempt.submitted_at is not None:
        attempt.late = attempt.submitted_at > until  # granted after the event: judged again
    record(attempt.course_id, actor_id, "extension granted", attempt=attempt, until=until.isoformat(),
           reason=reason[:500], late=attempt.late if attempt.submitted_at else None)


def void(ctx: LaunchContext, cfg: AssessmentConfig, attempt: AssessmentAttempt, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise AssessmentError("Give the reason for voiding the attempt: the participant sees it, and it is kept in "
                              "the audit trail.")
    if len(reason) > REASON_LIMIT:
        raise AssessmentError(f"The reason is longer than {REASON_LIMIT:,} characters.")
    if attempt.outcome == VOIDED:
        raise AssessmentError("This attempt is already voided.")
    previous = attempt.outcome
    attempt.outcome, attempt.void_reason, attempt.released_at = VOIDED, reason, utcnow()
    if previous in (PASSED, FAILED):
        attempt.voided_outcome = previous  # the DfE report then retracts the completed declaration
    record(attempt.course_id, ctx.person_id, "attempt voided", attempt=attempt, reason=reason[:500],
           previous_outcome=previous)
    if attempt.submitted_at is not None:
        # Whatever the gradebook held for this attempt no longer stands.
        enqueue_score(ctx, resource_id=cfg.ref, label=cfg.title, score_given=None, score_maximum=1,
                      activity_progress="Completed", grading_progress="NotReady",
                      comment=f"Window {attempt.window.number}: attempt voided. {reason}"[:4000],
                      source=SOURCE_OUTCOME, source_id=attempt.id, person_id=attempt.person_id)


def grades_for(attempt: AssessmentAttempt) -> list[GradeOutbox]:
    return list(db().scalars(select(GradeOutbox).where(GradeOutbox.source.in_((SOURCE_SUBMITTED, SOURCE_OUTCOME)),
                                                       GradeOutbox.source_id == attempt.id,
                                                       GradeOutbox.course_id == attempt.course_id)
                             .order_by(GradeOutbox.id.desc())))


__all__ = ["AssessmentError", "Conflict", "QUEUE_STATES"]
