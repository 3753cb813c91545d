"""What a provider declares to DfE for each participant, by DfE's rules (schedules.py has the
sources): the declaration types of the NPQ's kind (retained-2 for leadership NPQs only); each
dated by the engagement evidence the tool holds, within the course's DfE schedule; `completed`
only with a passed or failed outcome (`has_passed` true or false) and only once the engagement
condition is met, otherwise held back with the reason; `voided` only to retract a completed
declaration whose outcome was voided. The outcomes report (CSV, JSON, page) is these rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Optional

from sqlalchemy import select

from .. import dates
from ..db import db, utcnow
from .engagement import PersonEngagement
from .models import FAILED, PASSED, VOIDED, AssessmentSchedule
from .pack import AssessmentConfig
from .schedules import COMPLETED, DECLARATION_LABELS, STARTED, Schedule, schedule, schedules_for


@dataclass
class Declaration:
    type: str
    label: str
    date: Optional[datetime] = None  # when it was reached; None: not (yet) declarable
    milestone_date: Optional[date] = None  # the schedule's deadline for it
    has_passed: Optional[bool] = None  # completed only
    note: str = ""  # why not yet, or that it falls in a later milestone period

    @property
    def late(self) -> bool:
        return bool(self.date and self.milestone_date and self.date.date() > self.milestone_date)


@dataclass
class Report:
    """One participant's declarations, the DfE outcome and, if any, why the outcome is held back."""

    pe: PersonEngagement
    declarations: list[Declaration]
    state: Optional[str] = None  # passed | failed | voided (the retraction of a completed declaration)
    completion_date: Optional[date] = None
    held_back: Optional[str] = None

    def declared(self, declaration_type: str) -> Optional[Declaration]:
        return next((d for d in self.declarations if d.type == declaration_type and d.date), None)


# -- the course's schedule -----------------------------------------------------------------------

def course_schedule(course_id: int, cfg: AssessmentConfig) -> Optional[Schedule]:
    key = db().scalar(select(AssessmentSchedule.schedule_key).where(AssessmentSchedule.course_id == course_id,
                                                                    AssessmentSchedule.item_ref == cfg.ref))
    found = schedule(key)
    return found if found is not None and found.kind == cfg.kind else None


def set_course_schedule(course_id: int, cfg: AssessmentConfig, key: str, actor_id: int) -> Schedule:
    """Choose the course's schedule; only one of this NPQ's kind (a specialist NPQ is never put on a
    leadership schedule, so it never gets a retained-2)."""
    found = schedule(key)
    if found is None or found.kind != cfg.kind:
        raise ValueError(f"Choose one of the DfE {cfg.kind} schedules listed.")
    row = db().scalar(select(AssessmentSchedule).where(AssessmentSchedule.course_id == course_id,
                                                       AssessmentSchedule.item_ref == cfg.ref))
    if row is None:
        row = AssessmentSchedule(course_id=course_id, item_ref=cfg.ref, schedule_key=key)
        db().add(row)
    row.schedule_key, row.set_by_id = key, actor_id
    return found


def schedule_choices(cfg: AssessmentConfig) -> list[Schedule]:
    return schedules_for(cfg.kind)


# -- declarations --------------------------------------------------------------------------------

def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


def _retention(pe: PersonEngagement, kind: str, previous: Optional[date], sched: Optional[Schedule]) -> Declaration:
    """A retention point is declarable on the first evidence of engagement after the previous
    milestone date (DfE: a declaration in a later period is paid at the next milestone)."""
    d = Declaration(kind, DECLARATION_LABELS[kind], milestone_date=sched.milestone_date(kind) if sched else None)
    if sched is None or previous is None:
        d.note = "Choose the course's DfE schedule to date this retention point."
        return d
    after = [e for e in pe.evidence if e > _end_of(previous)]
    if not after:
        d.note = f"No engagement recorded after {dates.format_date(previous)} yet."
        return d
    d.date = after[0]
    if d.late:
        d.note = "Reached after its milestone date: DfE pays it at the next milestone."
    return d


def _completed(pe: PersonEngagement, sched: Optional[Schedule]) -> tuple[Declaration, Optional[str]]:
    d = Declaration(COMPLETED, DECLARATION_LABELS[COMPLETED],
                    milestone_date=sched.milestone_date(COMPLETED) if sched else None)
    if pe.outcome not in (PASSED, FAILED):
        d.note = "Needs the outcome of the case-study assessment (passed or failed)."
        return d, None
    if not pe.met:
        reason = held_back_reason(pe)
        d.note = reason
        return d, reason
    d.date, d.has_passed = pe.outcome_at, pe.outcome == PASSED
    return d, None


def held_back_reason(pe: PersonEngagement) -> str:
    missing = pe.needed - pe.done
    return (f"Held back: engagement is {pe.shown_percent}% ({pe.done} of {pe.total} required items) and "
            f"{pe.threshold:g}% is needed before the outcome is reported; {missing} more "
            f"item{'s' if missing != 1 else ''} to complete.")


def report_for(pe: PersonEngagement, cfg: AssessmentConfig, sched: Optional[Schedule]) -> Report:
    declarations: list[Declaration] = []
    held = None
    previous: Optional[date] = None
    for kind in cfg.declaration_types:
        if kind == STARTED:
            d = Declaration(kind, DECLARATION_LABELS[kind], date=pe.first_work,
                            milestone_date=sched.milestone_date(kind) if sched else None)
            if d.date is None:
                d.note = "No work recorded yet."
            elif d.late:
                d.note = "Started after its milestone date: DfE pays it at the next milestone."
        elif kind == COMPLETED:
            d, held = _completed(pe, sched)
        else:
            d = _retention(pe, kind, previous, sched)
        previous = sched.milestone_date(kind) if sched else None
        declarations.append(d)
    report = Report(pe, declarations, held_back=held)
    done = report.declared(COMPLETED)
    if done is not None:
        report.state, report.completion_date = pe.outcome, pe.outcome_at.date()
    elif pe.outcome is None and pe.retracted_at is not None and pe.met:
        # The outcome a completed declaration carried (it could be declared: engagement met) was voided:
        # retract it; DfE then sets has_passed back to null.
        report.state, report.completion_date = VOIDED, pe.retracted_at.date()
    return report


def reports(cfg: AssessmentConfig, course_id: int, people: list[PersonEngagement]) -> list[Report]:
    sched = course_schedule(course_id, cfg)
    return [report_for(pe, cfg, sched) for pe in people]


# -- the outcomes report: CSV and JSON -------------------------------------------------------------

def _dfe_datetime(value: Optional[datetime]) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z") if value else ""


def report_columns(cfg: AssessmentConfig) -> list[str]:
    return (["participant_id", "full_name", "email", "lms_user_id", "course_identifier", "schedule_identifier",
             "engagement_percent", "engagement_threshold_met"] + list(cfg.declaration_types)
            + ["has_passed", "state", "completion_date", "held_back_reason"])


def report_rows(cfg: AssessmentConfig, sched: Optional[Schedule], found: list[Report]) -> list[dict[str, str]]:
    rows = []
    for r in found:
        pe = r.pe
        row = {"participant_id": pe.dfe_participant_id or "", "full_name": pe.person.display_name,
               "email": pe.person.email or "", "lms_user_id": pe.person.sub, "course_identifier": cfg.course_identifier,
               "schedule_identifier": sched.identifier if sched else "",
               "engagement_percent": f"{pe.percent:.1f}", "engagement_threshold_met": "yes" if pe.met else "no"}
        for d in r.declarations:
            row[d.type] = _dfe_datetime(d.date)
        done = r.declared(COMPLETED)
        row["has_passed"] = "" if done is None else ("true" if done.has_passed else "false")
        row["state"] = r.state or ""
        row["completion_date"] = r.completion_date.isoformat() if r.completion_date else ""
        row["held_back_reason"] = r.held_back or ""
        rows.append(row)
    return rows


def _declaration_json(pid: Optional[str], cfg: AssessmentConfig, d: Declaration) -> dict:
    out = {"participant_id": pid, "declaration_type": d.type, "declaration_date": _dfe_datetime(d.date),
           "course_identifier": cfg.course_identifier}
    if d.type == COMPLETED:
        out["has_passed"] = d.has_passed  # DfE: a completed declaration carries has_passed
    return out


def to_json(cfg: AssessmentConfig, course_title: str, sched: Optional[Schedule], found: list[Report]) -> dict:
    """Shaped like what the DfE Lead Provider API takes: the declarations reached (POST
    participant-declarations), the outcome, and what is held back and why."""
    out = []
    for r in found:
        pe = r.pe
        pid = pe.dfe_participant_id or None
        entry = {
            "participant_id": pid, "full_name": pe.person.display_name, "email": pe.person.email,
            "lms_user_id": pe.person.sub, "course_identifier": cfg.course_identifier,
            "schedule_identifier": sched.identifier if sched else None,
            "engagement": {"completed": pe.done, "required": pe.total, "percent": round(pe.percent, 1),
                           "threshold": cfg.engagement.threshold, "threshold_met": pe.met},
            "declarations": [_declaration_json(pid, cfg, d) for d in r.declarations if d.date],
            "outcome": ({"course_identifier": cfg.course_identifier, "state": r.state,
                         "completion_date": r.completion_date.isoformat()} if r.state else None),
            "held_back_reason": r.held_back,
        }
        if r.state == VOIDED:
            entry["void"] = {"declaration_type": COMPLETED,
                             "reason": "The assessment outcome the completed declaration reported was voided."}
        out.append(entry)
    return {"course": course_title, "programme": cfg.programme, "assessment": cfg.ref,
            "generated_at": _dfe_datetime(utcnow()), "participants": out}
